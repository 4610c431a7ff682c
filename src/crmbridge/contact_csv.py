"""Contacts from a CSV export (HubSpot, Salesforce, or any sheet with an email column).

Read leniently, like the JSON contact files: a bad row is reported with its line number
and reason and every other row is still read. The delimiter (``,`` ``;`` or tab) is
sniffed from the start of the file, a UTF-8 byte-order mark is dropped, and no cell
longer than :data:`MAX_CELL` characters is read.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from crmbridge.export_columns import (
    EMAIL_PROPERTY,
    ID_PROPERTY,
    LOCAL,
    Column,
    detect_crm,
    map_columns,
)
from crmbridge.records import ContactRecord, validation_reason

#: Longer cells make their row an error: no property scoring reads is this long, and a
#: runaway quote would otherwise swallow the rest of the file into one value.
MAX_CELL = 10_000
#: How much of the file the delimiter is sniffed from (the sniffer is not linear).
SNIFF_BYTES = 4_096
DELIMITERS = ",;\t"
CSV_SUFFIXES = (".csv", ".tsv")
JSON_SUFFIXES = (".json", ".jsonl", ".ndjson")


def is_csv(path: Path, text: str) -> bool:
    """A CSV file by its extension, else by content: JSON starts with ``{`` or ``[``."""
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        return True
    if suffix in JSON_SUFFIXES:
        return False
    return text.lstrip("\ufeff \t\r\n")[:1] not in ("{", "[", "")


def sniff_delimiter(text: str) -> str:
    """``,``, ``;`` or tab: the sniffer's guess when the header holds it, else the most
    frequent of them in the header, else ``,``."""
    sample = text[:SNIFF_BYTES]
    if len(text) > SNIFF_BYTES and "\n" in sample:
        sample = sample[: sample.rindex("\n")]
    header = sample.split("\n", 1)[0]
    try:
        guess = csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        guess = ""
    if guess and guess in header:
        return guess
    counts = {d: header.count(d) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


@dataclass
class CsvContacts:
    """The contacts of one export: each with its line, or the reason its row failed."""

    crm: str
    rows: list[tuple[int, ContactRecord | str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def read_contacts(text: str) -> CsvContacts:
    """Parse an export (already decoded) into contact records and per-row errors."""
    text = text.removeprefix("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sniff_delimiter(text))
    rows = _rows(reader)
    line, headers = next(rows, (1, "no header row: the file is empty"))
    if isinstance(headers, str):
        return CsvContacts(LOCAL, rows=[(line, headers)])
    crm = detect_crm(headers)
    columns = map_columns(headers, crm)
    found = CsvContacts(crm, warnings=_header_warnings(columns, crm))
    for line, row in rows:
        if isinstance(row, str):
            found.rows.append((line, row))
        elif any(cell.strip() for cell in row):
            found.rows.append((line, _contact(row, columns, crm)))
    return found


def _rows(reader: Iterator[list[str]]) -> Iterator[tuple[int, list[str] | str]]:
    """(first line of the row, its cells or why it could not be read)."""
    line_num = getattr(reader, "line_num", 0)
    while True:
        start = line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            # The reader resumes at the next line; only this row is lost.
            line_num = getattr(reader, "line_num", start)
            yield start, f"not a CSV row: {exc}"
            continue
        line_num = getattr(reader, "line_num", start)
        yield start, row


def _header_warnings(columns: list[Column], crm: str) -> list[str]:
    warnings = []
    unknown = [c.header.strip() for c in columns if c.unknown]
    if unknown:
        warnings.append(
            "columns kept under their header (not a known property label; name the column "
            "after the property's internal name to use it in a rule): " + ", ".join(unknown)
        )
    names = [c.name for c in columns]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        warnings.append(
            "several columns fill " + ", ".join(twice) + "; the first non-empty one is used"
        )
    if ID_PROPERTY[crm] not in names and EMAIL_PROPERTY[crm] not in names:
        warnings.append("no id or email column: every row will be an error")
    return warnings


def _contact(row: list[str], columns: list[Column], crm: str) -> ContactRecord | str:
    if len(row) > len(columns):
        return f"{len(row)} cells, but the header has {len(columns)} columns"
    properties: dict[str, str] = {}
    for column, cell in zip(columns, row, strict=False):
        if len(cell) > MAX_CELL:
            return (
                f"column {column.header.strip()!r} holds {len(cell):,} characters "
                f"(at most {MAX_CELL:,} are read)"
            )
        value = cell.strip()
        if value and column.name not in properties:
            properties[column.name] = column.value(value)
    record_id = properties.pop(ID_PROPERTY[crm], None)
    email = properties.get(EMAIL_PROPERTY[crm])
    if not record_id and not email:
        return "the row names no contact: its id and email cells are empty"
    try:
        return ContactRecord(
            crm=crm, id=record_id or email or "", email=email, properties=properties
        )
    except ValidationError as exc:
        return validation_reason(exc)
