"""The sandbox's query results against a plain-Python reading of the same condition."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from simple_salesforce import format_soql

from crmbridge_salesforce.sandbox.query import run
from crmbridge_salesforce.sandbox.state import OrgState

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def _org(stamps: list[int]) -> OrgState:
    state = OrgState()
    for n, second in enumerate(stamps):
        state.insert("Lead", {"LastName": f"L{n}", "Company": "C", "Email": f"l{n}@x.io"},
                     modstamp=T0 + timedelta(seconds=second))  # fmt: skip
    return state


@settings(deadline=None)
@given(
    stamps=st.lists(st.integers(0, 6), min_size=0, max_size=40),
    page=st.integers(1, 7),
)
def test_a_tie_safe_cursor_reads_every_row_once(stamps: list[int], page: int) -> None:
    state = _org(stamps)
    seen: list[str] = []
    cursor: tuple[datetime, str] | None = None
    for _ in range(len(stamps) + 2):
        if cursor is None:
            where = ""
        else:
            where = format_soql(
                " WHERE SystemModstamp > {ts} OR (SystemModstamp = {ts} AND Id > {id})",
                ts=cursor[0], id=cursor[1],
            )  # fmt: skip
        soql = (
            f"SELECT Id, SystemModstamp FROM Lead{where} ORDER BY SystemModstamp, Id LIMIT {page}"
        )
        rows = run(state, soql, include_deleted=False)
        if not rows:
            break
        seen.extend(r["Id"] for r in rows)
        cursor = (rows[-1]["SystemModstamp"], rows[-1]["Id"])
    expected = sorted(state.records["Lead"].values(), key=lambda r: (r["SystemModstamp"], r["Id"]))
    assert seen == [r["Id"] for r in expected]


@settings(deadline=None)
@given(
    stamps=st.lists(st.integers(0, 6), min_size=1, max_size=20),
    low=st.integers(0, 6),
    high=st.integers(0, 6),
    negate=st.booleans(),
)
def test_range_conditions_match_python(
    stamps: list[int], low: int, high: int, negate: bool
) -> None:
    state = _org(stamps)
    condition = format_soql(
        "SystemModstamp >= {a} AND SystemModstamp < {b}",
        a=T0 + timedelta(seconds=low), b=T0 + timedelta(seconds=high),
    )  # fmt: skip
    if negate:
        condition = f"NOT ({condition})"
    rows = run(state, f"SELECT Id FROM Lead WHERE {condition}", include_deleted=False)

    def inside(record: dict[str, object]) -> bool:
        stamp = record["SystemModstamp"]
        assert isinstance(stamp, datetime)
        hit = T0 + timedelta(seconds=low) <= stamp < T0 + timedelta(seconds=high)
        return hit != negate

    expected = {r["Id"] for r in state.records["Lead"].values() if inside(r)}
    assert {r["Id"] for r in rows} == expected
