"""One lead from a person's records in several CRMs: the merge rule.

A person held by several CRMs with the same email (see
:mod:`crmbridge.store.lead_links`) is scored once, from all of their records:

- **properties**: for each property, the value of the record changed most recently in
  its CRM (``updated_at`` as the CRM reports it) wins; an empty value never replaces
  a value another record holds; on a tie the CRM whose name sorts first wins;
- **events**: every record's events, each once (by its dedupe key);
- **the lead's home**: the record in the system of record of ``<prefix>_score``
  (``[writeback] owner``/``owners``), else the record stored first. The hand-off
  (owner, tasks, sequences) runs there only, so a hot lead is told to sales once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from crmbridge.scoring.properties import contact_with_company
from crmbridge.scoring.types import Contact, Event

_OLDEST = datetime.min.replace(tzinfo=UTC)


class Record(Protocol):
    """What the merge reads of a stored contact row."""

    id: Any
    crm: str
    properties: Any
    crm_updated_at: datetime | None


def _empty(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def merged_properties(records: Sequence[Record]) -> dict[str, Any]:
    """Each property's value from the newest record that holds one (see above)."""
    newest_first = sorted(records, key=lambda r: r.crm)
    newest_first.sort(key=lambda r: r.crm_updated_at or _OLDEST, reverse=True)
    merged: dict[str, Any] = {}
    for record in newest_first:
        for name, value in (record.properties or {}).items():
            if _empty(merged.get(name)) and not _empty(value):
                merged[name] = value
            else:
                merged.setdefault(name, value)
    return merged


def merged_events(lists: Iterable[Sequence[Event]]) -> list[Event]:
    """Every record's events, each once, oldest first."""
    seen: set[object] = set()
    events: list[Event] = []
    for found in lists:
        for event in found:
            key = event.event_id or (event.type, event.occurred_at, repr(event.properties))
            if key not in seen:
                seen.add(key)
                events.append(event)
    events.sort(key=lambda e: e.occurred_at)
    return events


R = TypeVar("R", bound=Record)


def home(records: Sequence[R], score_owner: str) -> R:
    """The record the lead's hand-off runs on: in ``score_owner``'s CRM, else the first."""
    for record in records:
        if record.crm == score_owner:
            return record
    return min(records, key=lambda r: int(r.id))


def newest(records: Sequence[Record]) -> datetime | None:
    """When the lead last changed in any CRM."""
    stamps = [r.crm_updated_at for r in records if r.crm_updated_at is not None]
    return max(stamps) if stamps else None


def first_company(
    companies: Mapping[int, Mapping[str, Any]], records: Sequence[Record]
) -> Mapping[str, Any] | None:
    """The company of the first record (by id) that has one."""
    for record in sorted(records, key=lambda r: int(r.id)):
        found = companies.get(int(record.id))
        if found:
            return found
    return None


class StoredRecord(Record, Protocol):
    """A stored contact row, as the lead's scoring reads it."""

    crm_id: str
    email: str | None
    stage: str | None


S = TypeVar("S", bound=StoredRecord)


def lead_inputs(
    records: Sequence[S],
    events: Mapping[int, Sequence[Event]],
    companies: Mapping[int, Mapping[str, Any]],
    score_owner: str,
) -> tuple[S, Contact, list[Event]]:
    """What the engine scores a lead from: its home record, the merged contact (with
    its company's properties as ``company.`` names) and the merged events."""
    first = home(records, score_owner)
    contact = Contact(
        first.crm_id, merged_properties(records), first.email, first.crm, newest(records)
    )
    contact = contact_with_company(contact, first_company(companies, records))
    return first, contact, merged_events(events.get(int(r.id), []) for r in records)
