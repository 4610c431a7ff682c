"""LookbackCursor: persisted form, compatibility with TieCursor both ways, forgetting."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmbridge.connector import CorruptCursorError, LookbackCursor, TieCursor

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


# -- a stored cursor that cannot be read ------------------------------------------------


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
_CURSORISH = st.fixed_dictionaries(
    {},
    optional={
        "at": st.none() | st.text(max_size=30) | st.just(T0.isoformat()) | st.integers(),
        "ids": _JSON,
        "since": st.none() | st.text(max_size=30) | st.just(T0.isoformat()) | _JSON,
        "seen": _JSON
        | st.lists(st.tuples(st.just(T0.isoformat()) | st.text(max_size=25), _JSON), max_size=3),
    },
)


@settings(deadline=None)
@given(st.one_of(st.text(max_size=200), _JSON.map(json.dumps), _CURSORISH.map(json.dumps)))
def test_any_stored_text_decodes_or_is_a_corrupt_cursor_and_restores_safely(text: str) -> None:
    try:
        decoded = LookbackCursor.decode(text)
    except CorruptCursorError as corrupt:
        assert "read position" in corrupt.message and len(corrupt.message) < 300
        cursor, reset = LookbackCursor.restore(text)
        assert reset is not None and "read again from" in reset.message
        # The safe cursor remembers nothing: it skips no record.
        assert cursor.seen == {} and cursor.since is None
        assert cursor.admits(T0 - timedelta(days=3650), "1")
        assert LookbackCursor.decode(cursor.encode()) == cursor
    else:
        assert LookbackCursor.restore(text) == (decoded, None)


def test_a_corrupt_cursor_is_read_again_from_the_window_before_its_newest_read() -> None:
    good = LookbackCursor().advance([(T0, "1"), (T0 + S, "2")], window=WINDOW, keep=10, floor=T0)
    data = json.loads(good.encode())
    data["seen"][0][0] = "not a time"
    text = json.dumps(data)
    with pytest.raises(CorruptCursorError):
        LookbackCursor.decode(text)
    cursor, reset = LookbackCursor.restore(text)
    assert reset is not None
    assert f"the look-back window before {(T0 + S).isoformat()}" in reset.message
    assert cursor.start(WINDOW) == T0 + S - WINDOW
    assert cursor.admits(T0, "1") and cursor.admits(T0 + S, "2")


def test_an_unreadable_cursor_is_read_again_from_the_beginning() -> None:
    cursor, reset = LookbackCursor.restore("{not json")
    assert reset is not None and "from the beginning" in reset.message
    assert cursor == LookbackCursor()
