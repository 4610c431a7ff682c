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


READ_FROM = CLOSE - timedelta(days=10)  # the model started reading `industry` then
LEARNED = PropertyChange("industry", None, "Logistics", CLOSE + timedelta(days=3))


def test_a_newly_read_property_first_seen_after_the_close_is_kept_but_not_exact() -> None:
    current = {"jobtitle": "CIO", "industry": "Logistics"}
    found = properties_as_of(
        current, SINCE, [LEARNED], CLOSE, newly_read={"industry": READ_FROM}, last_read=CLOSE
    )
    assert found.values == current and not found.exact
    plain = properties_as_of(current, SINCE, [LEARNED], CLOSE)
    assert plain.values == {"jobtitle": "CIO"} and plain.exact


def test_a_newly_read_property_never_seen_is_known_empty_only_after_a_read() -> None:
    current = {"jobtitle": "CIO"}
    read = {"industry": READ_FROM}
    assert properties_as_of(current, SINCE, [], CLOSE, newly_read=read, last_read=CLOSE).exact
    for last_read in (None, READ_FROM - timedelta(days=1)):
        found = properties_as_of(current, SINCE, [], CLOSE, newly_read=read, last_read=last_read)
        assert not found.exact
    early = CLOSE - timedelta(days=20)
    assert not properties_as_of(current, SINCE, [], early, newly_read=read, last_read=CLOSE).exact


def test_a_contact_stored_after_the_property_was_read_has_its_whole_history() -> None:
    stored = READ_FROM + timedelta(days=1)
    found = properties_as_of(
        {"industry": "Logistics"},
        stored,
        [LEARNED],
        CLOSE,
        newly_read={"industry": READ_FROM},
        last_read=CLOSE,
    )
    assert found.values == {} and found.exact
