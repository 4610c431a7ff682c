"""LookbackCursor: persisted form, compatibility with TieCursor both ways, forgetting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from crmbridge.connector import LookbackCursor, TieCursor

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
S = timedelta(seconds=1)
WINDOW = timedelta(seconds=30)


def test_a_tie_cursor_decodes_and_reads_on_from_where_it_stood() -> None:
    old = TieCursor(T0, frozenset({"7", "8"})).encode()
    cursor = LookbackCursor.decode(old)
    assert cursor.start(WINDOW) == T0  # nothing remembered before it: no look-back yet
    assert not cursor.admits(T0, "7")
    assert cursor.admits(T0, "9")
    assert not cursor.admits(T0 - S, "9")
    assert cursor.admits(T0 + S, "7")


def test_an_empty_cursor_reads_everything() -> None:
    for text in (None, "", TieCursor().encode()):
        cursor = LookbackCursor.decode(text)
        assert cursor.start(WINDOW) is None
        assert cursor.admits(T0, "1")


def test_the_encoding_round_trips_and_an_older_crmbridge_reads_it_as_a_tie_cursor() -> None:
    cursor = LookbackCursor().advance(
        [(T0, "1"), (T0 + S, "2"), (T0 + S, "3")], window=WINDOW, keep=10, floor=T0 + S
    )
    text = cursor.encode()
    assert LookbackCursor.decode(text) == cursor
    assert TieCursor.decode(text) == TieCursor(T0 + S, frozenset({"2", "3"}))


def test_the_window_is_re_read_and_what_was_read_is_dropped() -> None:
    cursor = LookbackCursor().advance(
        [(T0, "1"), (T0 + 10 * S, "2")], window=WINDOW, keep=10, floor=T0 + 10 * S
    )
    assert cursor.start(WINDOW) == T0 + 10 * S - WINDOW
    assert not cursor.admits(T0, "1")
    assert cursor.admits(T0 + 5 * S, "3")  # indexed late: read when it shows up
    assert cursor.admits(T0 + 11 * S, "1")  # a newer version of a record read
    assert not cursor.admits(T0 - S, "1")  # an older one never is


def test_records_older_than_the_window_are_forgotten() -> None:
    cursor = LookbackCursor().advance([(T0, "1")], window=WINDOW, keep=10, floor=T0)
    later = T0 + WINDOW + S
    cursor = cursor.advance([(later, "2")], window=WINDOW, keep=10, floor=later)
    assert set(cursor.seen) == {"2"}
    assert cursor.since == later - WINDOW
    assert cursor.start(WINDOW) == later - WINDOW


def test_keep_bounds_what_is_remembered_but_never_splits_the_newest_ties() -> None:
    page = [(T0 + i * S, str(i)) for i in range(10)]
    cursor = LookbackCursor().advance(page, window=WINDOW, keep=4, floor=T0 + 9 * S)
    assert set(cursor.seen) == {"6", "7", "8", "9"}
    assert cursor.start(WINDOW) == T0 + 6 * S
    ties = [(T0, str(i)) for i in range(10)]
    cursor = LookbackCursor().advance(ties, window=WINDOW, keep=4, floor=T0)
    assert len(cursor.seen) == 10


def test_nothing_the_sweep_will_meet_again_is_forgotten() -> None:
    # The sweep is still at T0 (the look-back): a record far ahead must not make it
    # forget what it will meet on its way there.
    cursor = LookbackCursor().advance(
        [(T0, "1"), (T0 + S, "2")], window=WINDOW, keep=10, floor=T0 + S
    )
    far = T0 + 10 * WINDOW
    cursor = cursor.advance([(far, "3")], window=WINDOW, keep=1, floor=T0)
    assert {"1", "2", "3"} == set(cursor.seen)
