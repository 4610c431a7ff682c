"""Reading an outcomes file from outside: bad rows are listed by line and the rest is
read; nothing a file holds makes the reader crash or run long."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmbridge.backtest.outcomes import (
    MAX_FIELD,
    MAX_PROBLEMS,
    Outcome,
    OutcomeFileError,
    per_lead,
    read_outcomes,
)

HEADER = "email,crm_id,outcome,closed_at\n"


def test_good_rows_are_read_in_any_column_order_with_a_bom_and_extra_columns() -> None:
    text = (
        "\ufeffClosed_At , Outcome,amount,EMAIL,crm_id\n"
        "2026-03-01,WON,100,Ana@Example.com,\n"
        '2026-03-02T10:00:00+02:00,lost,"1,000",,0031\n'
        "\n"
    )
    parsed = read_outcomes(text)
    assert parsed.problems == [] and parsed.refused == 0
    first, second = parsed.outcomes
    assert first == Outcome("ana@example.com", True, True, datetime(2026, 3, 1, tzinfo=UTC))
    assert (second.key, second.by_email, second.won) == ("0031", False, False)
    assert second.closed_at == datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def test_each_bad_row_is_listed_with_its_line_and_the_good_ones_are_kept() -> None:
    text = HEADER + "\n".join(
        [
            "a@example.com,,won,2026-01-01",
            ",,won,2026-01-01",
            "not-an-email,,won,2026-01-01",
            "b@example.com,,tied,2026-01-01",
            "c@example.com,,lost,yesterday",
            "d@example.com,,lost,",
            "e@example.com,,lost",
            "x" * (MAX_FIELD + 1) + ",,won,2026-01-01",
            ",1,won,2026-01-02",
        ]
    )
    parsed = read_outcomes(text)
    assert [o.key for o in parsed.outcomes] == ["a@example.com", "1"]
    assert [(p.line, p.reason.split(" ")[0]) for p in parsed.problems] == [
        (3, "neither"),
        (4, "email"),
        (5, "outcome"),
        (6, "closed_at"),
        (7, "closed_at"),
        (8, "closed_at"),
        (9, "a"),
    ]
    assert parsed.refused == 7


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("name,outcome,closed_at\n", "neither"),
        ("email,closed_at\n", '"outcome"'),
        ("email,outcome\n", '"closed_at"'),
        ("email," + "y" * (MAX_FIELD * 5) + "\n", "longer"),
    ],
)
def test_a_file_that_cannot_be_read_as_a_whole_says_why(text: str, reason: str) -> None:
    with pytest.raises(OutcomeFileError, match=reason):
        read_outcomes(text)


def test_problems_listed_are_bounded_and_all_are_counted() -> None:
    parsed = read_outcomes(HEADER + "bad,,won,2026-01-01\n" * (MAX_PROBLEMS + 50))
    assert len(parsed.problems) == MAX_PROBLEMS
    assert parsed.refused == MAX_PROBLEMS + 50


_CELL = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["won", "lost", "WON", "2026-01-01", "2026-13-45", "a@b.c", '"', "\r", ","]),
)


@settings(deadline=None)
@given(
    header=st.lists(_CELL, max_size=6),
    rows=st.lists(st.lists(_CELL, max_size=6), max_size=20),
    separator=st.sampled_from(["\n", "\r\n", "\r"]),
)
def test_absurd_files_never_crash_and_every_row_is_read_or_refused(
    header: list[str], rows: list[list[str]], separator: str
) -> None:
    text = separator.join([",".join(header), *(",".join(row) for row in rows)])
    try:
        parsed = read_outcomes(text)
    except OutcomeFileError as exc:
        assert str(exc)
        return
    assert len(parsed.outcomes) + parsed.refused <= max(len(rows), text.count("\n") + 1) * 2
    assert all(problem.reason and problem.line >= 2 for problem in parsed.problems)
    for outcome in parsed.outcomes:
        assert outcome.closed_at.tzinfo is not None
        assert outcome.key and len(outcome.key) <= 320


@settings(deadline=None)
@given(st.text(max_size=400))
def test_any_text_at_all_is_read_or_refused_as_a_whole(text: str) -> None:
    try:
        read_outcomes(HEADER + text)
    except OutcomeFileError as exc:
        assert str(exc)


def test_a_lead_with_several_deals_counts_once_won_as_of_its_first_won_close() -> None:
    day = [datetime(2026, 1, d, tzinfo=UTC) for d in range(1, 5)]
    deals = [
        Outcome("a@x.es", True, False, day[0]),
        Outcome("a@x.es", True, True, day[3]),
        Outcome("a@x.es", True, True, day[2]),
        Outcome("b@x.es", True, False, day[3]),
        Outcome("b@x.es", True, False, day[1]),
    ]
    assert per_lead(deals) == [
        Outcome("a@x.es", True, True, day[2]),
        Outcome("b@x.es", True, False, day[1]),
    ]
