"""The report as JSON and as CSV files (one per table)."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from crmbridge.i18n import Texts
from crmbridge.report.collect import Report
from crmbridge.report.view import Table, definitions, tables


def report_json(report: Report, t: Texts) -> dict[str, Any]:
    """Every table by name (column keys → raw values), the periods and the definitions."""
    return {
        "period": _period(report.period),
        "previous_period": _period(report.previous_period),
        "generated_at": report.generated_at.isoformat(),
        "language": t.language,
        "cohort_days": report.cohort_days,
        "sla_business_hours": {
            stage: round(within.total_seconds() / 3600, 2)
            for stage, within in report.targets.items()
        },
        "tables": {table.name: table_records(table) for table in tables(report, t)},
        "definitions": definitions(report, t),
    }


def _period(period: Any) -> dict[str, str]:
    return {
        "label": period.label,
        "first_day": period.first.isoformat(),
        "last_day": period.last.isoformat(),
        "start": period.start.isoformat(),
        "end": period.end.isoformat(),
        "timezone": str(period.zone),
    }


def table_records(table: Table) -> list[dict[str, object]]:
    """A table's raw rows as column key → value."""
    keys = [key for key, _ in table.columns]
    return [dict(zip(keys, row, strict=True)) for row in table.raw]


def write_csv(report: Report, t: Texts, folder: Path) -> list[Path]:
    """One ``<table>.csv`` per table in ``folder`` (created), headed in ``t``'s language."""
    return write_tables(tables(report, t), folder)


def write_tables(shown: Sequence[Table], folder: Path) -> list[Path]:
    """One ``<table>.csv`` per table in ``folder`` (created).

    The files are for people (a spreadsheet): the header row is each column's heading
    as the page shows it, in the report's language. Programs read ``--json``, whose
    keys are the stable column ids.
    """
    folder.mkdir(parents=True, exist_ok=True)
    return [_write(table, folder / f"{table.name}.csv") for table in shown]


def _write(table: Table, path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([header for _, header in table.columns])
        writer.writerows([_cell(value) for value in row] for row in table.raw)
    return path


def _cell(value: object) -> object:
    """A value as written; text a spreadsheet would run as a formula is quoted."""
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in _FORMULA:
        return "'" + value
    return value


#: First characters that make a spreadsheet cell a formula.
_FORMULA = frozenset("=+-@\t\r")
