"""Deal outcomes: won or lost, closed when, for which lead; read from a CSV file.

The CSV has a header row naming its columns (any order, any case, extra columns
ignored): ``email`` or ``crm_id`` (one of the two per row, the e-mail wins when both
are given), ``outcome`` (``won`` or ``lost``) and ``closed_at`` (an ISO-8601 date or
instant; a date is midnight UTC, an instant without a zone is UTC).

A file from outside is never trusted: every field is bounded, a bad row is reported
with its line number while the rest is read, and parsing is one pass over the text.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from crmbridge.clock import parse_instant

#: Longest e-mail (RFC 5321 path), CRM id and date accepted.
MAX_EMAIL = 320
MAX_CRM_ID = 64
MAX_DATE = 40
#: Longest field of any column (extra columns included): beyond it the file is refused.
MAX_FIELD = 4096
#: Rows read from one file.
MAX_ROWS = 1_000_000
#: Row problems listed; the rest are only counted.
MAX_PROBLEMS = 100

WON = "won"
LOST = "lost"
_OUTCOMES = {"won": True, "lost": False}


@dataclass(frozen=True, slots=True)
class Outcome:
    """One closed deal of one lead: ``key`` is the lead's e-mail (lower case) when
    ``by_email``, else its CRM id; ``crm`` narrows a CRM id to one connector."""

    key: str
    by_email: bool
    won: bool
    closed_at: datetime
    crm: str | None = None


@dataclass(frozen=True, slots=True)
class RowProblem:
    """A row left out, with its line in the file and why."""

    line: int
    reason: str


@dataclass(frozen=True, slots=True)
class OutcomeFile:
    """What a file gave: the outcomes read, the rows refused (the first
    :data:`MAX_PROBLEMS`) and how many rows were refused in all."""

    outcomes: list[Outcome]
    problems: list[RowProblem]
    refused: int


class OutcomeFileError(ValueError):
    """The file as a whole cannot be read (no header, no key column, too large)."""


def read_outcomes(text: str) -> OutcomeFile:
    """Parse the CSV text; raises :class:`OutcomeFileError` only for the file as a whole."""
    reader = csv.reader(_bounded_lines(text), strict=False)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise OutcomeFileError(f"the header row cannot be read: {exc}") from None
    if header is None:
        raise OutcomeFileError("the file is empty: a header row is needed")
    columns = _columns(header)
    outcomes: list[Outcome] = []
    problems: list[RowProblem] = []
    refused = 0
    while True:
        try:
            row = next(reader, None)
        except csv.Error as exc:
            raise OutcomeFileError(f"line {reader.line_num}: {exc}") from None
        if row is None:
            break
        if reader.line_num > MAX_ROWS + 1:
            raise OutcomeFileError(f"more than {MAX_ROWS:,} rows: split the file")
        if not any(cell.strip() for cell in row):
            continue
        try:
            outcomes.append(_outcome(row, columns))
        except ValueError as exc:
            refused += 1
            if len(problems) < MAX_PROBLEMS:
                problems.append(RowProblem(reader.line_num, str(exc)))
    return OutcomeFile(outcomes, problems, refused)


def _bounded_lines(text: str) -> Iterable[str]:
    """The file's lines; a line longer than any valid row could be is refused at once."""
    for line in io.StringIO(text, newline=""):
        if len(line) > MAX_FIELD * 4:
            raise OutcomeFileError(f"a line is longer than {MAX_FIELD * 4:,} characters")
        yield line


def _columns(header: Sequence[str]) -> dict[str, int]:
    names = [cell.strip().lower().lstrip("\ufeff") for cell in header]
    columns = {name: index for index, name in reversed(list(enumerate(names))) if name}
    if "email" not in columns and "crm_id" not in columns:
        raise OutcomeFileError('the header names neither "email" nor "crm_id"')
    for needed in ("outcome", "closed_at"):
        if needed not in columns:
            raise OutcomeFileError(f'the header has no "{needed}" column')
    return columns


def _cell(row: Sequence[str], columns: dict[str, int], name: str, limit: int) -> str:
    index = columns.get(name)
    if index is None or index >= len(row):
        return ""
    value = row[index].strip()
    if len(value) > limit:
        raise ValueError(f"{name} is longer than {limit} characters")
    return value


def _outcome(row: Sequence[str], columns: dict[str, int]) -> Outcome:
    if any(len(cell) > MAX_FIELD for cell in row):
        raise ValueError(f"a field is longer than {MAX_FIELD} characters")
    email = _cell(row, columns, "email", MAX_EMAIL).lower()
    crm_id = _cell(row, columns, "crm_id", MAX_CRM_ID)
    if email and ("@" not in email or any(c.isspace() for c in email)):
        raise ValueError(f"email {email[:60]!r} is not an e-mail address")
    if not email and not crm_id:
        raise ValueError("neither email nor crm_id is given")
    word = _cell(row, columns, "outcome", 16).lower()
    if word not in _OUTCOMES:
        raise ValueError(f'outcome {word!r} is neither "won" nor "lost"')
    closed = _cell(row, columns, "closed_at", MAX_DATE)
    if not closed:
        raise ValueError("closed_at is empty")
    try:
        closed_at = parse_instant(closed)
    except ValueError:
        raise ValueError(f"closed_at {closed!r} is not an ISO-8601 date") from None
    return Outcome(email or crm_id, bool(email), _OUTCOMES[word], closed_at)


def per_lead(outcomes: Iterable[Outcome]) -> list[Outcome]:
    """One outcome per lead: a lead with several deals is won as of its first won
    deal's close, else lost as of its first lost deal's close. Input order is kept."""
    chosen: dict[tuple[str | None, bool, str], Outcome] = {}
    for outcome in outcomes:
        key = (outcome.crm, outcome.by_email, outcome.key)
        held = chosen.get(key)
        if held is None or _better(outcome, held):
            chosen[key] = outcome
    return list(chosen.values())


def _better(candidate: Outcome, held: Outcome) -> bool:
    if candidate.won != held.won:
        return candidate.won
    return candidate.closed_at < held.closed_at
