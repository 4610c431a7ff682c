"""The sandbox's SOQL parser: what it accepts, what it refuses, and that it never crashes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from simple_salesforce import format_soql

from crmbridge_salesforce.sandbox.soql import (
    MAX_QUERY_LENGTH,
    Comparison,
    Junction,
    Literal,
    SoqlError,
    like_matches,
    parse,
)


def test_the_connector_s_cursor_query_parses() -> None:
    query = parse(
        "select Id, Email FROM Lead WHERE SystemModstamp > 2026-11-30T09:00:00Z OR "
        "(SystemModstamp = 2026-11-30T09:00:00.250+01:00 AND Id > '00Q5g0000000001AAA') "
        "ORDER BY SystemModstamp ASC, Id DESC NULLS LAST LIMIT 2000"
    )
    assert query.fields == ("Id", "Email")
    assert query.limit == 2000
    assert isinstance(query.where, Junction) and query.where.op == "OR"
    inner = query.where.parts[1]
    assert isinstance(inner, Junction)
    moment = inner.parts[0]
    assert isinstance(moment, Comparison)
    assert moment.value == Literal("datetime", datetime(2026, 11, 30, 8, 0, 0, 250000, tzinfo=UTC))
    assert [(k.field, k.descending, k.nulls_first) for k in query.order] == [
        ("SystemModstamp", False, True),
        ("Id", True, False),
    ]


@pytest.mark.parametrize(
    "value",
    ["o'brien", 'say "hi"', "back\\slash", "new\nline\ttab", "100%_sure", "ünïcødé", "\\'"],
)
def test_format_soql_values_round_trip(value: str) -> None:
    where = parse(format_soql("SELECT Id FROM Lead WHERE LastName = {v}", v=value)).where
    assert isinstance(where, Comparison)
    assert where.value == Literal("string", value)


def test_in_lists_and_like() -> None:
    where = parse(format_soql("SELECT Id FROM Lead WHERE Id IN {ids}", ids=["a", "b"])).where
    assert isinstance(where, Comparison) and where.op == "IN"
    assert like_matches("acme\\_%", "ACME_corp")
    assert not like_matches("acme\\_%", "acmeXcorp")
    assert like_matches("%a%b%", "xxaxxbxx")


@pytest.mark.parametrize(
    "soql",
    [
        "SELECT FROM Lead",
        "SELECT Id FROM",
        "SELECT Id FROM Lead WHERE",
        "SELECT Id FROM Lead LIMIT -1",
        "SELECT Id FROM Lead WHERE a = 'x' AND b = 'y' OR c = 'z'",
        "SELECT Id FROM Lead WHERE Email = 'bad \\q escape'",
        "SELECT Id FROM Lead WHERE CreatedDate > 2026-02-30T00:00:00Z",
        "SELECT Id FROM Lead WHERE CreatedDate > 2026-01-01T00:00:00",
        "SELECT COUNT() FROM Lead",
        "SELECT Id FROM Lead Lead2",
        "SELECT Id FROM Lead WHERE Email = 'x' /* comment */",
    ],
)
def test_refused_with_malformed_query(soql: str) -> None:
    with pytest.raises(SoqlError) as failure:
        parse(soql)
    assert failure.value.code == "MALFORMED_QUERY"


def test_huge_and_deeply_nested_input_is_refused_without_recursion() -> None:
    with pytest.raises(SoqlError):
        parse("SELECT Id FROM Lead WHERE " + "(" * 5000 + "Id = 'x'" + ")" * 5000)
    with pytest.raises(SoqlError):
        parse("SELECT Id FROM Lead WHERE Email = '" + "x" * MAX_QUERY_LENGTH + "'")
    # The longest accepted statement: a 99,000-character string literal.
    long_value = "y" * 99_000
    where = parse(f"SELECT Id FROM Lead WHERE Email = '{long_value}'").where
    assert isinstance(where, Comparison) and where.value == Literal("string", long_value)
    assert not like_matches("%" * 300 + "z", "a" * 300)


_ALPHABET = st.sampled_from(
    list("SELECTFROMWHEREANDORNOTINLIKE ()',=<>!:\\.%_-+0123456789TZ\n\tabcxyz\"ü")
)


@settings(deadline=None)
@given(st.text(_ALPHABET, max_size=300))
def test_any_text_is_parsed_or_refused_never_crashes(text: str) -> None:
    try:
        parse(text)
    except SoqlError as error:
        assert error.code == "MALFORMED_QUERY"


@settings(deadline=None)
@given(st.text(max_size=200), st.sampled_from(["=", "!=", "<", ">="]))
def test_any_value_escaped_by_format_soql_stays_one_literal(value: str, op: str) -> None:
    where = parse(format_soql(f"SELECT Id FROM Lead WHERE Email {op} {{v}}", v=value)).where
    assert isinstance(where, Comparison)
    assert where.value == Literal("string", value)
