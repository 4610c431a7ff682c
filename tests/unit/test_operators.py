"""Every condition operator, alone and combined, as compiled predicates."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from crmbridge.scoring.conditions import compile_condition, compile_when
from crmbridge.scoring.model import OPERATORS, Condition


def matches(spec: Any, value: Any) -> bool:
    return compile_condition(Condition.model_validate(spec))(value)


# --- eq ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "value", "expected"),
    [
        ({"eq": "approved"}, "approved", True),
        ({"eq": "approved"}, "APPROVED", True),
        ({"eq": "approved"}, " Approved ", True),
        ({"eq": "approved"}, "approved later", False),
        ({"eq": "approved"}, "in_estimation", False),
        ({"eq": "Tecnología"}, "TECNOLOGIA", True),
        ("approved", "Approved", True),  # bare scalar means eq
        ("approved", "rejected", False),
        ({"eq": True}, True, True),
        ({"eq": True}, "true", True),
        ({"eq": True}, False, False),
        (True, "TRUE", True),
        (False, False, True),
        (False, True, False),
    ],
)
def test_eq_text_and_bool(spec: Any, value: Any, expected: bool) -> None:
    assert matches(spec, value) is expected


@pytest.mark.parametrize(
    ("spec", "value", "expected"),
    [
        ({"eq": 600}, 600, True),
        ({"eq": 600}, "600", True),
        ({"eq": 600}, 600.0, True),
        ({"eq": 1000}, "1,000", True),
        ({"eq": 1000}, "1.000", True),
        ({"eq": 600}, "601", False),
        ({"eq": 600}, "n/a", False),
        ({"eq": 2.5}, "2,5", True),
        (600, "600", True),  # bare number means numeric eq
        (600, "six hundred", False),
    ],
)
def test_eq_numeric_on_string_values(spec: Any, value: Any, expected: bool) -> None:
    assert matches(spec, value) is expected


# --- in ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "value", "expected"),
    [
        ({"in": ["this_quarter", "within_30_days"]}, "this_quarter", True),
        ({"in": ["this_quarter", "within_30_days"]}, "WITHIN_30_DAYS", True),
        ({"in": ["this_quarter", "within_30_days"]}, "next_year", False),
        (["DECISION_MAKER", "BUDGET_HOLDER"], "budget_holder", True),  # bare list means in
        (["DECISION_MAKER", "BUDGET_HOLDER"], "END_USER", False),
        ([100, 200], "1,00", False),
        ([100, 200], "200", True),
        (["yes", 1], 1, True),
        (["yes", 1], "YES", True),
        (["yes", 1], "no", False),
        ({"in": []}, "anything", False),
    ],
)
def test_in(spec: Any, value: Any, expected: bool) -> None:
    assert matches(spec, value) is expected


def test_in_accepts_python_name() -> None:
    assert Condition.model_validate({"in_": ["a"]}) == Condition.model_validate({"in": ["a"]})


# --- contains / contains_any: substrings --------------------------------------------------


@pytest.mark.parametrize(
    ("needle", "value", "expected"),
    [
        ("/pricing", "https://acme.es/pricing", True),
        ("/pricing", "https://acme.es/PRICING?utm=x", True),
        ("/pricing", "https://acme.es/blog", False),
        ("nurture", "nurture-logistics", True),
        ("nurture", "Q3 Nurture", True),
        ("tecnologia", "Directora de Tecnología", True),
        ("tecnología", "DIRECTOR DE TECNOLOGIA", True),
        # a substring, as in HubSpot, Salesforce and Mautic: part of a word matches
        ("case-stud", "https://example.es/case-study/acme", True),
        ("demo", "Solicitud de demo", True),
        ("cio", "Jefe de Operaciones", True),
        ("cio", "CIO / CTO", True),
        ("director", "Directora de Sistemas", True),
        ("demo request", "demo-request", False),  # a hyphen is not a space
    ],
)
def test_contains(needle: str, value: str, expected: bool) -> None:
    assert matches({"contains": needle}, value) is expected


TITLES = ["directora de it", "director de it", "it director", "cio"]


@pytest.mark.parametrize(
    ("value", "substring", "word"),
    [
        ("Directora de IT", True, True),
        ("DIRECTOR DE IT", True, True),
        ("Director   de  IT", True, True),
        ("IT Director EMEA", True, True),
        ("CIO", True, True),
        ("Jefe de Operaciones", True, False),  # "cio" inside a word
        ("Subdirector de IT", True, False),
        ("Responsable de Compras", False, False),
        ("Auditor", False, False),
        ("", False, False),
        (None, False, False),
    ],
)
def test_contains_any_and_contains_any_word(value: Any, substring: bool, word: bool) -> None:
    assert matches({"contains_any": TITLES}, value) is substring
    assert matches({"contains_any_word": TITLES}, value) is word


def test_contains_any_with_no_usable_needle_never_matches() -> None:
    assert matches({"contains_any": ["", "  "]}, "anything") is False
    assert matches({"contains": " "}, "anything") is False


# --- contains_word / contains_any_word: whole words -----------------------------------------


@pytest.mark.parametrize(
    ("needle", "value", "expected"),
    [
        ("/pricing", "https://acme.es/pricing", True),
        ("/pricing", "https://acme.es/PRICING?utm=x", True),
        ("/pricing", "https://acme.es/pricing-plans", True),  # "/" edge: no boundary needed
        ("nurture", "nurture-logistics", True),
        ("nurture", "Q3 Nurture", True),
        ("nurture", "nurtured", False),
        ("tecnologia", "Directora de Tecnología", True),
        ("tecnología", "DIRECTOR DE TECNOLOGIA", True),
        # alphanumeric edges sit on word boundaries: "cio" is not inside "operaciones"
        ("cio", "Jefe de Operaciones", False),
        ("cio", "CIO / CTO", True),
        ("cio", "cio2", False),
        ("director", "Directora de Sistemas", False),
        ("director", "Director, Sistemas", True),
        ("case-stud", "https://example.es/case-study/acme", False),
        ("it", "Head of IT", True),
        ("it", "Digital Marketing", False),
    ],
)
def test_contains_word(needle: str, value: str, expected: bool) -> None:
    assert matches({"contains_word": needle}, value) is expected


def test_contains_any_word_with_no_usable_needle_never_matches() -> None:
    assert matches({"contains_any_word": ["", "  "]}, "anything") is False


# --- comparisons -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "bound", "value", "expected"),
    [
        ("gt", 500, "600", True),
        ("gt", 500, "500", False),
        ("gt", 500, "500+", False),  # "500+" reads as 500
        ("gt", 500, "1.000", True),
        ("gt", 500, "10k", True),
        ("gt", 500, "500-1000", False),  # a band reads as its lower bound
        ("gt", 500, 501, True),
        ("gte", 500, "500", True),
        ("gte", 500, "499", False),
        ("gte", 90, 100, True),
        ("lt", 50, "49", True),
        ("lt", 50, "50", False),
        ("lte", 50, "50", True),
        ("lte", 50, "50,5", False),
        ("lt", 3, "2,5", True),
        ("gt", 500, "n/a", False),
        ("lt", 500, "n/a", False),
        ("gt", 0, True, False),
        ("lt", 10, "", False),
    ],
)
def test_comparisons(op: str, bound: float, value: Any, expected: bool) -> None:
    assert matches({op: bound}, value) is expected


# --- exists ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expected_flag", "value", "expected"),
    [
        (True, "routes", True),
        (True, 0, True),
        (True, False, True),
        (True, "", False),
        (True, "   ", False),
        (True, None, False),
        (False, None, True),
        (False, "", True),
        (False, "  ", True),
        (False, "routes", False),
        (False, 0, False),
    ],
)
def test_exists(expected_flag: bool, value: Any, expected: bool) -> None:
    assert matches({"exists": expected_flag}, value) is expected


# --- regex -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        (r"^director(a)? de", "Directora de IT", True),
        (r"^director(a)? de", "Subdirector de IT", False),
        (r"tecnologia$", "DIRECTOR DE TECNOLOGÍA", True),  # unaccented pattern, accented value
        (r"tecnología$", "DIRECTOR DE TECNOLOGÍA", True),  # accented pattern, accented value
        (r"tecnología$", "Director de Tecnologia", True),  # accented pattern, unaccented value
        (r"niño", "NINO", True),
        (r"^\d{3}$", "600", True),
        (r"^\d{3}$", "6000", False),
        (r"acme\.es/(pricing|precios)", "https://ACME.es/Precios", True),
        (r".*", "", False),  # an empty value never matches
        (r".*", None, False),
    ],
)
def test_regex(pattern: str, value: Any, expected: bool) -> None:
    assert matches({"regex": pattern}, value) is expected


def test_invalid_regex_is_a_validation_error() -> None:
    with pytest.raises(ValidationError, match="invalid regular expression"):
        Condition.model_validate({"regex": "(unclosed"})


# --- combined and structural -----------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [("600", True), ("1,000", True), ("500", False), ("5.000", False), ("n/a", False)],
)
def test_combined_operators_all_must_hold(value: str, expected: bool) -> None:
    assert matches({"gt": 500, "lte": 1000}, value) is expected


def test_combined_text_operators() -> None:
    spec = {"contains_word": "director", "regex": "de (it|sistemas)$", "exists": True}
    assert matches(spec, "Directora de Sistemas") is False  # "director" ≠ "directora"
    assert matches(spec, "Director de Sistemas") is True
    assert matches(spec, "Director de Marketing") is False
    assert matches(spec, "Jefe de IT") is False


@pytest.mark.parametrize(
    "spec",
    [
        {"eq": "x"},
        {"eq": 5},
        {"in": ["x", 5]},
        {"contains": "x"},
        {"contains_any": ["x", "y"]},
        {"contains_word": "x"},
        {"contains_any_word": ["x", "y"]},
        {"gt": 0},
        {"gte": 0},
        {"lt": 10},
        {"lte": 10},
        {"exists": True},
        {"regex": ".*"},
        {"gt": 0, "lt": 10},
    ],
)
def test_missing_property_never_matches(spec: dict[str, Any]) -> None:
    when = compile_when({"prop": Condition.model_validate(spec)})
    assert when({}) is False
    assert when({"other": "x"}) is False
    assert when({"prop": None}) is False


def test_missing_property_matches_exists_false() -> None:
    when = compile_when({"prop": Condition.model_validate({"exists": False})})
    assert when({}) is True
    assert when({"prop": "set"}) is False


def test_every_operator_is_covered_here() -> None:
    # If an operator is added to the model, this file must learn about it.
    assert set(OPERATORS) == {
        "eq",
        "in",
        "contains",
        "contains_any",
        "contains_word",
        "contains_any_word",
        "gt",
        "gte",
        "lt",
        "lte",
        "exists",
        "regex",
    }


def test_compile_when_requires_every_condition() -> None:
    when = compile_when(
        {
            "jobtitle": Condition.model_validate({"contains_any": ["director de it", "cio"]}),
            "numemployees": Condition.model_validate({"gt": 500}),
        }
    )
    assert when({"jobtitle": "Director de IT", "numemployees": "600"}) is True
    assert when({"jobtitle": "Director de IT", "numemployees": "400"}) is False
    assert when({"jobtitle": "Analista", "numemployees": "600"}) is False
    assert when({"jobtitle": "Director de IT"}) is False


def test_unreadable_names_numbers_that_are_not_numbers() -> None:
    when = compile_when(
        {
            "jobtitle": Condition.model_validate({"contains": "cio"}),
            "numemployees": Condition.model_validate({"gt": 500}),
        }
    )
    assert when.unreadable({"jobtitle": "CIO", "numemployees": "n/a"}) == [
        "numemployees 'n/a' is not a number"
    ]
    assert when.unreadable({"jobtitle": "n/a", "numemployees": "400"}) == []
    assert when.unreadable({"jobtitle": "CIO", "numemployees": ""}) == []
    assert when.unreadable({"jobtitle": "CIO"}) == []


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"equals": "x"}, 'unknown operator "equals"'),
        ({"contains_words": "x"}, 'unknown operator "contains_words"'),
        ({}, "empty condition"),
        ({"gt": "many"}, "gt"),
    ],
)
def test_bad_conditions_are_rejected(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Condition.model_validate(spec)


def test_multi_select_values_match_each_option() -> None:
    check = compile_condition(Condition.model_validate(["DECISION_MAKER", "BUDGET_HOLDER"]))
    assert check("END_USER;DECISION_MAKER")
    assert not check("END_USER;INFLUENCER")
    assert not check("DECISION")
