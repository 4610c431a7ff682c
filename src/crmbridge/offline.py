"""Offline inputs for ``score``/``explain``: contact and event files, bundled examples.

Files are read leniently: a bad line is reported with its number and reason, and every
good line is still used. Contacts come as JSON (an object, an array or JSON lines) or
as a CSV export from HubSpot or Salesforce (see :mod:`crmbridge.contact_csv`).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from crmbridge.contact_csv import is_csv, read_contacts
from crmbridge.external import loads
from crmbridge.records import CanonicalEvent, ContactRecord, validation_reason
from crmbridge.scoring.types import Event

#: The bundled example leads are a snapshot; they are scored as of this instant unless
#: ``--now`` says otherwise, so the README's output never drifts.
EXAMPLES_AS_OF = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class LineError:
    """A record that could not be read, with where it was."""

    source: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.reason}"


@dataclass
class Workload:
    """Contacts and the events that belong to each, ready to score."""

    contacts: list[ContactRecord] = field(default_factory=list)
    events: dict[str, list[Event]] = field(default_factory=lambda: defaultdict(list))
    errors: list[LineError] = field(default_factory=list)
    #: Said once about the whole file (a column kept under its label, an encoding).
    warnings: list[str] = field(default_factory=list)
    unmatched_events: int = 0
    #: The contacts were one JSON object (``score --json`` then prints one object).
    one_object: bool = False

    def events_for(self, contact: ContactRecord) -> list[Event]:
        """Every event of this contact, by email or by CRM id."""
        found = list(self.events.get(f"id:{contact.crm}:{contact.id}", []))
        if contact.email:
            found.extend(self.events.get(f"email:{contact.email}", []))
        return found


def _json_records(text: str, source: str) -> Iterator[tuple[int, Any | LineError]]:
    """Yield (line number, object) from a JSON object, a JSON array, or JSON lines."""
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            items = loads(text)
        except (ValueError, RecursionError) as exc:
            line = getattr(exc, "lineno", 1)
            yield line, LineError(source, line, f"invalid JSON: {_reason(exc)}")
            return
        yield from ((i, item) for i, item in enumerate(items, start=1))
        return
    if stripped.startswith("{") and "\n{" not in stripped:
        try:
            yield 1, loads(text)
        except (ValueError, RecursionError) as exc:
            line = getattr(exc, "lineno", 1)
            yield line, LineError(source, line, f"invalid JSON: {_reason(exc)}")
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield number, loads(line)
        except (ValueError, RecursionError) as exc:
            yield number, LineError(source, number, f"invalid JSON: {_reason(exc)}")


def _reason(exc: Exception) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return exc.msg
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return str(exc)


def load_workload(
    contacts_text: str,
    events_text: str | None,
    *,
    contacts_source: str,
    events_source: str = "events",
) -> Workload:
    """Parse JSON contacts and events; events are matched to contacts by email or CRM id."""
    work = Workload()
    _add_json_contacts(work, contacts_text, contacts_source)
    _add_events(work, events_text, events_source)
    return work


def _add_json_contacts(work: Workload, text: str, source: str) -> None:
    stripped = text.lstrip()
    work.one_object = stripped.startswith("{") and "\n{" not in stripped
    for number, item in _json_records(text, source):
        if isinstance(item, LineError):
            work.errors.append(item)
            continue
        try:
            work.contacts.append(ContactRecord.model_validate(item))
        except ValidationError as exc:
            work.errors.append(LineError(source, number, validation_reason(exc)))


def _add_csv_contacts(work: Workload, text: str, source: str) -> None:
    found = read_contacts(text)
    work.warnings.extend(f"{source}: {warning}" for warning in found.warnings)
    for line, row in found.rows:
        if isinstance(row, str):
            work.errors.append(LineError(source, line, row))
        else:
            work.contacts.append(row)


def _add_events(work: Workload, text: str | None, source: str) -> None:
    if text is None:
        return
    single = work.contacts[0] if len(work.contacts) == 1 else None
    for number, item in _json_records(text, source):
        if isinstance(item, LineError):
            work.errors.append(item)
            continue
        if single is not None and isinstance(item, dict) and "contact" not in item:
            # A file of events for the one contact being scored need not repeat who it is.
            item = {**item, "contact": {"crm": single.crm, "id": single.id}}
        try:
            event = CanonicalEvent.model_validate(item)
        except ValidationError as exc:
            work.errors.append(LineError(source, number, validation_reason(exc)))
            continue
        ref = event.contact
        key = f"email:{ref.email}" if ref.email else f"id:{ref.crm}:{ref.id}"
        work.events[key].append(event.to_event())
    known = {f"id:{c.crm}:{c.id}" for c in work.contacts}
    known |= {f"email:{c.email}" for c in work.contacts if c.email}
    work.unmatched_events = sum(len(v) for k, v in work.events.items() if k not in known)


def _decode(data: bytes, source: str, *, lenient: bool) -> tuple[str, LineError | str | None]:
    """UTF-8 text (a byte-order mark dropped). Not UTF-8: an error, or with ``lenient``
    (CSV, which Excel saves as Windows-1252) that reading and a warning saying so."""
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        if not lenient:
            return "", LineError(source, line, f"not UTF-8 text ({exc.reason} at byte {exc.start})")
        text = data.decode("cp1252", errors="replace")
        return text, f"{source}: not UTF-8 (line {line}); read as Windows-1252"


def load_files(contacts: Path, events: Path | None) -> Workload:
    """Read contact (JSON or CSV) and event files from disk (``-`` is not accepted here)."""
    work = Workload()
    source = str(contacts)
    data = contacts.read_bytes()
    probe = data[:4096].decode("utf-8", errors="replace")
    csv_file = is_csv(contacts, probe)
    text, problem = _decode(data, source, lenient=csv_file)
    if isinstance(problem, LineError):
        work.errors.append(problem)
    elif problem:
        work.warnings.append(problem)
    if csv_file:
        _add_csv_contacts(work, text, source)
    elif not isinstance(problem, LineError):
        _add_json_contacts(work, text, source)
    if events is not None:
        events_text, events_problem = _decode(events.read_bytes(), str(events), lenient=False)
        if isinstance(events_problem, LineError):
            work.errors.append(events_problem)
        else:
            _add_events(work, events_text, str(events))
    return work


def load_examples() -> Workload:
    """The bundled example leads and their events."""
    folder = resources.files("crmbridge.examples")
    return load_workload(
        folder.joinpath("leads.jsonl").read_text("utf-8"),
        folder.joinpath("events.jsonl").read_text("utf-8"),
        contacts_source="examples/leads.jsonl",
        events_source="examples/events.jsonl",
    )
