"""Event ingestion: validate canonical events line by line and store the good ones.

Used by ``crmbridge ingest FILE.jsonl`` and by the HTTP event endpoint. A bad line is
reported with its number and reason and never stops the others; nothing good is lost.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import BinaryIO

from pydantic import ValidationError

from crmbridge.external import loads
from crmbridge.records import CanonicalEvent, validation_reason
from crmbridge.scoring.model import CANONICAL_EVENT_TYPES, suggest
from crmbridge.store.repository import EventValues, Store, event_row

MAX_LINE_BYTES = 10 * 1024 * 1024
BATCH = 20_000
#: Reports keep at most this many line issues (the counts stay exact).
MAX_ISSUES = 1_000


@dataclass(frozen=True, slots=True)
class LineIssue:
    """A problem with one input line."""

    line: int
    reason: str
    severity: str = "error"

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass
class IngestReport:
    """What an ingestion did: counts exact, issues capped at :data:`MAX_ISSUES`."""

    lines: int = 0
    ingested: int = 0
    duplicates: int = 0
    failed: int = 0
    warnings: int = 0
    issues: list[LineIssue] = field(default_factory=list)
    unknown_types: Counter[str] = field(default_factory=Counter)

    def add(self, issue: LineIssue) -> None:
        """Count an issue and keep it if there is room."""
        if issue.severity == "error":
            self.failed += 1
        else:
            self.warnings += 1
        if len(self.issues) < MAX_ISSUES:
            self.issues.append(issue)

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form (the HTTP endpoint's response body)."""
        return {
            "lines": self.lines,
            "ingested": self.ingested,
            "duplicates": self.duplicates,
            "failed": self.failed,
            "warnings": self.warnings,
            "issues": [
                {"line": i.line, "severity": i.severity, "reason": i.reason} for i in self.issues
            ],
            "unknown_types": dict(self.unknown_types),
        }


class _TooLong:
    """Marker for a line over :data:`MAX_LINE_BYTES` (its bytes are skipped, not held)."""


def read_lines(
    stream: BinaryIO, limit: int = MAX_LINE_BYTES
) -> Iterator[tuple[int, bytes | _TooLong]]:
    """Number the lines of a byte stream without ever holding more than ``limit`` bytes."""
    number = 0
    while True:
        chunk = stream.readline(limit + 1)
        if not chunk:
            return
        number += 1
        if len(chunk) > limit and not chunk.endswith(b"\n"):
            while chunk and not chunk.endswith(b"\n"):
                chunk = stream.readline(limit + 1)
            yield number, _TooLong()
            continue
        yield number, chunk


def check_event(
    raw: bytes | str, number: int, now: datetime, max_skew: timedelta
) -> tuple[CanonicalEvent | None, list[LineIssue]]:
    """Validate one line; the event (or None) and any issues about it."""
    try:
        data = loads(raw)
    except ValueError as exc:  # JSONDecodeError, or bytes that are not UTF-8 text
        return None, [LineIssue(number, f"Invalid JSON: {_decode_reason(exc)}")]
    except RecursionError:
        return None, [LineIssue(number, "Invalid JSON: nested too deeply")]
    if not isinstance(data, dict):
        return None, [LineIssue(number, "record: an event must be a JSON object")]
    try:
        event = CanonicalEvent.model_validate(data)
    except ValidationError as exc:
        return None, [LineIssue(number, validation_reason(exc))]
    issues = []
    if not event.had_timezone:
        issues.append(LineIssue(number, "occurred_at has no timezone; read as UTC", "warning"))
    if event.occurred_at_utc > now + max_skew:
        moment = event.occurred_at_utc.isoformat()
        return None, [
            LineIssue(number, f"occurred_at {moment} is in the future (beyond {max_skew})")
        ]
    return event, issues


def _decode_reason(exc: ValueError) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at column {exc.colno}"
    if isinstance(exc, UnicodeDecodeError):
        return f"not UTF-8 text (byte {exc.start})"
    return str(exc)


@dataclass
class _Prepared:
    """A chunk of lines validated and flattened (the worker's answer)."""

    lines: int = 0
    duplicates: int = 0
    rows: list[EventValues] = field(default_factory=list)
    issues: list[LineIssue] = field(default_factory=list)
    unknown_types: Counter[str] = field(default_factory=Counter)


def unknown_type_issue(event_type: str, number: int, known: tuple[str, ...]) -> LineIssue | None:
    """A warning naming the nearest known type, when ``event_type`` looks like a typo of one.

    A type close to no known one is taken as deliberate (it is still counted in
    ``unknown_types``), so a file of custom events does not warn on every line.
    """
    nearest = suggest(event_type, known)
    if nearest is None:
        return None
    return LineIssue(
        number,
        f'type "{event_type}" is not a known event type: stored, but no rule counts it; '
        f'did you mean "{nearest}"? (a type of your own: list it in scoring.custom_events)',
        "warning",
    )


def _prepare(
    chunk: list[tuple[int, bytes | str | _TooLong]],
    now: datetime,
    skew: timedelta,
    known: tuple[str, ...] = CANONICAL_EVENT_TYPES,
) -> _Prepared:
    """Validate a chunk of numbered lines into event rows, deduplicated within the chunk."""
    out = _Prepared()
    seen: set[str] = set()
    # difflib is slow next to the rest of a line: each unknown type is looked up once.
    typo_hints: dict[str, bool] = {}
    for number, raw in chunk:
        if isinstance(raw, _TooLong):
            out.lines += 1
            out.issues.append(
                LineIssue(number, f"line is longer than {MAX_LINE_BYTES // 2**20} MB")
            )
            continue
        if not raw.strip():
            continue
        out.lines += 1
        event, issues = check_event(raw, number, now, skew)
        out.issues.extend(issues)
        if event is None:
            continue
        if event.type not in known:
            out.unknown_types[event.type] += 1
            if typo_hints.get(event.type, True):
                issue = unknown_type_issue(event.type, number, known)
                typo_hints[event.type] = issue is not None
                if issue is not None:
                    out.issues.append(issue)
        row = event_row(event)
        if row[0] in seen:
            out.duplicates += 1
        else:
            seen.add(row[0])
            out.rows.append(row)
    return out


def _chunks(
    lines: Iterable[tuple[int, bytes | str | _TooLong]], size: int
) -> Iterator[list[tuple[int, bytes | str | _TooLong]]]:
    chunk: list[tuple[int, bytes | str | _TooLong]] = []
    for item in lines:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class Ingestor:
    """Validates lines and stores events in batches.

    Large inputs are validated on a second process while this one writes the previous
    batch, so parsing and storage overlap on two cores; small inputs stay in-process.
    """

    def __init__(
        self, store: Store, max_future_skew: timedelta, custom_types: Iterable[str] = ()
    ) -> None:
        self.store = store
        self.max_future_skew = max_future_skew
        #: Event types the scoring model knows: the canonical ones and its custom_events.
        self.known_types = (*CANONICAL_EVENT_TYPES, *custom_types)

    def ingest_lines(
        self,
        lines: Iterable[tuple[int, bytes | str | _TooLong]],
        now: datetime,
        progress: Callable[[int], None] | None = None,
    ) -> IngestReport:
        """Ingest numbered lines; blank lines are skipped."""
        report = IngestReport()
        chunks = _chunks(lines, BATCH)
        first = next(chunks, None)
        if first is None:
            return report
        second = next(chunks, None)
        if second is None:
            self._store(
                _prepare(first, now, self.max_future_skew, self.known_types), report, progress
            )
            return report
        skew = self.max_future_skew
        known = self.known_types
        with ProcessPoolExecutor(max_workers=1) as worker:
            ahead = [
                worker.submit(_prepare, first, now, skew, known),
                worker.submit(_prepare, second, now, skew, known),
            ]
            for chunk in chunks:
                self._store(ahead.pop(0).result(), report, progress)
                ahead.append(worker.submit(_prepare, chunk, now, skew, known))
            for future in ahead:
                self._store(future.result(), report, progress)
        return report

    def ingest_stream(
        self, stream: BinaryIO, now: datetime, progress: Callable[[int], None] | None = None
    ) -> IngestReport:
        """Ingest a JSON-lines byte stream (a file or stdin)."""
        return self.ingest_lines(read_lines(stream), now, progress)

    def _store(
        self, prepared: _Prepared, report: IngestReport, progress: Callable[[int], None] | None
    ) -> None:
        report.lines += prepared.lines
        for issue in prepared.issues:
            report.add(issue)
        report.unknown_types.update(prepared.unknown_types)
        report.duplicates += prepared.duplicates
        if prepared.rows:
            result = self.store.insert_event_rows(prepared.rows)
            report.ingested += result.inserted
            report.duplicates += result.duplicates
        if progress is not None:
            progress(prepared.lines)
