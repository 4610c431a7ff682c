"""``plan --csv``: one row per change, and no cell a spreadsheet would run."""

from __future__ import annotations

import csv
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from crmbridge.cli.plan_render import (
    CSV_COLUMNS,
    CSV_NAME,
    FORMULA_START,
    csv_cell,
    write_csv,
)
from crmbridge.sync.rescore import PlannedChange


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_a_folder_gets_the_plan_file_and_every_change_is_a_row(tmp_path: Path) -> None:
    changes = [
        PlannedChange("hubspot", "7", "a@example.com", "crmbridge_score", None, "55"),
        PlannedChange("hubspot", "7", "a@example.com", "action:task", None, 'task "Hot lead"'),
    ]

    path = write_csv(tmp_path, changes, [])

    assert path == tmp_path / CSV_NAME
    rows = _rows(path)
    assert list(rows[0]) == list(CSV_COLUMNS)
    assert [(r["kind"], r["property"], r["old"], r["new"]) for r in rows] == [
        ("property", "crmbridge_score", "", "55"),
        ("action", "task", "", 'task "Hot lead"'),
    ]


@given(st.text(max_size=40))
def test_no_cell_starts_a_formula_unless_it_is_a_number(value: str) -> None:
    cell = csv_cell(value)

    if cell.startswith(FORMULA_START):
        float(cell)  # only a number may start with a sign
    assert cell in (value, "'" + value)


def test_a_queued_action_s_payload_is_json() -> None:
    assert csv_cell({"b": 1, "a": "x"}) == '{"a": "x", "b": 1}'


def test_the_printed_plan_names_an_owner_the_configuration_names() -> None:
    from io import StringIO

    from rich.console import Console

    from crmbridge.cli.plan_render import print_changes

    changes = [
        PlannedChange("hubspot", "7", "a@example.com", "hubspot_owner_id", "11", "12"),
        PlannedChange("hubspot", "8", "b@example.com", "hubspot_owner_id", None, "13"),
    ]
    shown = StringIO()
    names = {"11": "Ana Ruiz", "12": "Luis Gil"}
    print_changes(Console(file=shown, width=200), changes, 0, ("hubspot_owner_id", names))
    text = shown.getvalue()
    assert "Ana Ruiz (11) → Luis Gil (12)" in text
    assert "∅ → 13" in text  # no name known: the id
