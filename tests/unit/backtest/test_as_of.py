"""A lead's properties as of its close: changes at or after the close are undone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from crmbridge.backtest.as_of import properties_as_of
from crmbridge.store.property_history import PropertyChange

CLOSE = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SINCE = CLOSE - timedelta(days=60)
CHANGES = [
    PropertyChange("jobtitle", "Student", "Analyst", CLOSE - timedelta(days=30)),
    PropertyChange("jobtitle", "Analyst", "CIO", CLOSE),
    PropertyChange("numemployees", None, "900", CLOSE + timedelta(days=1)),
    PropertyChange("jobtitle", "CIO", "CEO", CLOSE + timedelta(days=2)),
]
CURRENT = {"jobtitle": "CEO", "numemployees": "900", "email": "x@example.com"}


def test_every_change_from_the_close_on_is_undone_and_those_before_it_kept() -> None:
    found = properties_as_of(CURRENT, SINCE, CHANGES, CLOSE)
    assert found.values == {"jobtitle": "Analyst", "email": "x@example.com"}
    assert (found.exact, found.undone) == (True, 3)


def test_a_second_after_the_change_it_counts() -> None:
    found = properties_as_of(CURRENT, SINCE, CHANGES, CLOSE + timedelta(seconds=1))
    assert found.values["jobtitle"] == "CIO"
    assert "numemployees" not in found.values


def test_history_starting_at_or_after_the_close_is_not_exact() -> None:
    assert not properties_as_of(CURRENT, CLOSE, CHANGES, CLOSE).exact
    assert not properties_as_of(CURRENT, None, [], CLOSE).exact
    oldest = properties_as_of(CURRENT, CLOSE, CHANGES, SINCE)
    assert oldest.values == {"jobtitle": "Student", "email": "x@example.com"}


def test_no_change_reads_the_current_values() -> None:
    found = properties_as_of(CURRENT, SINCE, [], CLOSE)
    assert found.values == CURRENT and found.exact
