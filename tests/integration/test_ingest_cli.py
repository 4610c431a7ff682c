"""``crmbridge ingest``: bad lines are reported by number and never cost a good line;
exit code 1 with a count when a line failed; large files go through the two-process path
and store every line exactly once.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from crmbridge import ingest
from crmbridge.store.repository import Store
from crmbridge.store.tables import EventRow

from .helpers import NOW_TEXT, cli, event, example_events, write_jsonl

GOOD = event("ana@acme.es", "page_view", "2026-11-18T10:00:00Z", "good-1", url="/pricing")


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


@pytest.fixture
def stored(db_url: str) -> Iterator[Store]:
    """The store the CLI wrote to (opened after the command ran)."""
    store = Store.open(db_url)
    yield store
    store.engine.dispose()


def events_by_key(store: Store) -> dict[str, EventRow]:
    with store.session() as session:
        return {row.dedupe_key: row for row in session.exec(select(EventRow))}


def messy_file(path: Path) -> Path:
    """One line of each kind of trouble between good lines (line numbers in comments)."""
    too_long = json.dumps({**GOOD, "event_id": "huge", "properties": {"x": "a" * (11 * 2**20)}})
    with path.open("wb") as out:
        for line in [
            json.dumps(GOOD),  # 1 good
            '{"type": "page_view", "occurred_at": "2026-11-18T10:00:00Z", "contact": ',  # 2
            json.dumps({**GOOD, "event_id": "unknown-1", "type": "podcast_listened"}),  # 3
            json.dumps({k: v for k, v in GOOD.items() if k != "occurred_at"}),  # 4
            json.dumps({**GOOD, "event_id": "naive-1", "occurred_at": "2026-11-18T10:00:00"}),
            json.dumps({**GOOD, "event_id": "future-1", "occurred_at": "2026-11-20T11:00:00Z"}),
            json.dumps({**GOOD, "event_id": "soon-1", "occurred_at": "2026-11-20T10:03:00Z"}),
            "",  # 8 blank: skipped, not an error
            too_long,  # 9
            json.dumps({**GOOD, "event_id": "after-huge"}),  # 10 good, right after the huge one
            "[1, 2, 3]",  # 11
            json.dumps(GOOD),  # 12 duplicate of line 1
            json.dumps({**GOOD, "event_id": "no-contact", "contact": {}}),  # 13
        ]:
            out.write(line.encode() + b"\n")
        out.write(b"\xff\xfe not utf-8\n")  # 14
        out.write(json.dumps({**GOOD, "event_id": "last-no-newline"}).encode())  # 15
    return path


ERROR_LINES = {2: "Invalid JSON", 4: "occurred_at", 6: "future", 9: "10 MB", 11: "object"}
ERROR_LINES |= {13: "contact", 14: "Invalid JSON"}


def test_each_bad_line_is_reported_by_number_and_every_good_line_is_kept(
    tmp_path: Path, db_url: str
) -> None:
    source = messy_file(tmp_path / "messy.jsonl")

    result = cli(db_url, "ingest", str(source), "--json", "--now", NOW_TEXT)

    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    errors = {i["line"]: i["reason"] for i in report["issues"] if i["severity"] == "error"}
    warnings = {i["line"]: i["reason"] for i in report["issues"] if i["severity"] == "warning"}
    assert set(errors) == set(ERROR_LINES)
    for line, words in ERROR_LINES.items():
        assert words in errors[line], (line, errors[line])
    assert set(warnings) == {5}
    assert "timezone" in warnings[5]
    assert report["unknown_types"] == {"podcast_listened": 1}
    assert (report["lines"], report["failed"], report["warnings"]) == (14, 7, 1)
    assert (report["ingested"], report["duplicates"]) == (6, 1)

    store = Store.open(db_url)
    kept = events_by_key(store)
    assert set(kept) == {
        "good-1",
        "unknown-1",
        "naive-1",
        "soon-1",
        "after-huge",
        "last-no-newline",
    }
    assert kept["unknown-1"].type == "podcast_listened"
    assert kept["naive-1"].occurred_at == datetime(2026, 11, 18, 10, tzinfo=UTC)
    store.engine.dispose()


def test_the_human_report_names_lines_and_counts_failures(tmp_path: Path, db_url: str) -> None:
    messy_file(tmp_path / "messy.jsonl")  # tmp_path is the working directory

    result = cli(db_url, "ingest", "messy.jsonl", "--now", NOW_TEXT)

    assert result.exit_code == 1
    shown = " ".join(result.stderr.split())  # stderr wraps at 80 columns
    for line in ERROR_LINES:
        assert f"error messy.jsonl line {line}:" in shown
    assert "warning messy.jsonl line 5: occurred_at has no timezone" in shown
    assert "6 events ingested, 1 duplicates, 7 failed, 1 warnings" in result.stdout
    assert "podcast_listened (1)" in result.stdout


def test_a_clean_file_exits_zero_and_a_second_run_only_finds_duplicates(
    tmp_path: Path, db_url: str, stored: Store
) -> None:
    source = write_jsonl(tmp_path / "events.jsonl", example_events())
    count = len(example_events())

    first = cli(db_url, "ingest", str(source), "--json", "--now", NOW_TEXT)
    second = cli(db_url, "ingest", str(source), "--now", NOW_TEXT)

    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout) | {"seconds": 0} == {
        "lines": count,
        "ingested": count,
        "duplicates": 0,
        "failed": 0,
        "warnings": 0,
        "issues": [],
        "unknown_types": {},
        "seconds": 0,
    }
    assert second.exit_code == 0, second.output
    assert f"0 events ingested, {count} duplicates, 0 failed" in second.stdout
    assert stored.event_count() == count


def test_warnings_alone_do_not_fail_the_command(tmp_path: Path, db_url: str) -> None:
    source = write_jsonl(tmp_path / "naive.jsonl", [{**GOOD, "occurred_at": "2026-11-18T10:00:00"}])

    result = cli(db_url, "ingest", str(source), "--json", "--now", NOW_TEXT)

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["warnings"] == 1


def test_events_can_come_from_stdin(db_url: str, stored: Store) -> None:
    lines = "\n".join(json.dumps({**GOOD, "event_id": f"s-{i}"}) for i in range(3)) + "\n{bad\n"

    result = cli(db_url, "ingest", "-", "--now", NOW_TEXT, input=lines)

    assert result.exit_code == 1
    assert "error stdin line 4:" in result.stderr
    assert stored.event_count() == 3


def test_a_missing_file_is_a_clear_error(tmp_path: Path, db_url: str) -> None:
    result = cli(db_url, "ingest", str(tmp_path / "nope.jsonl"), "--now", NOW_TEXT)

    assert result.exit_code == 1
    assert "cannot read" in result.stderr


def _large_input(path: Path) -> tuple[int, set[str], dict[int, str], int]:
    """> 2 batches of lines: unique events, duplicates across batch boundaries, bad lines.

    Returns (lines, the dedupe keys expected, bad line numbers, duplicate count).
    """
    base = datetime(2026, 8, 1, tzinfo=UTC)
    rows: list[dict[str, Any] | str] = []
    expected: set[str] = set()
    bad: dict[int, str] = {}
    duplicates = 0
    total = 2 * ingest.BATCH + 5_000
    for n in range(1, total + 1):
        if n in (1_000, ingest.BATCH, ingest.BATCH + 1, 2 * ingest.BATCH + 7):
            rows.append('{"type": "page_view", "occurred_at": 17')  # malformed
            bad[n] = "Invalid JSON"
            continue
        if n % 997 == 0 and n > 1:
            # The event of line n - 20_001 again (often in an earlier batch).
            twin = max(1, n - 20_001)
            rows.append(_numbered_event(twin, base))
            if twin in bad:
                bad[n] = "Invalid JSON"
            else:
                duplicates += 1
            continue
        item = _numbered_event(n, base)
        rows.append(item)
        expected.add(item.get("event_id") or "")
    write_jsonl(path, rows)
    expected.discard("")
    return total, expected, bad, duplicates


def _numbered_event(n: int, base: datetime) -> dict[str, Any]:
    email = f"lead{n % 500}@example.com"
    at = base + timedelta(seconds=n * 97)
    return event(email, "page_view", at, f"bulk-{n}", url=f"https://acme.es/p/{n % 37}")


def test_a_large_file_takes_the_two_process_path_and_stores_each_line_once(
    tmp_path: Path, store_url: str, store: Store
) -> None:
    """On SQLite and on PostgreSQL (store_url is a database of each backend)."""
    source = tmp_path / "large.jsonl"
    total, expected, bad, duplicates = _large_input(source)
    assert total > 2 * ingest.BATCH  # more than one batch: validated on a second process

    result = cli(store_url, "ingest", str(source), "--json", "--now", NOW_TEXT)

    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert report["lines"] == total
    assert report["ingested"] == len(expected)
    assert report["duplicates"] == duplicates
    assert report["failed"] == len(bad)
    assert {i["line"] for i in report["issues"]} == set(bad)
    assert set(events_by_key(store)) == expected
    assert store.event_count() == len(expected)
