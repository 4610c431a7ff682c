"""Normalisation of CRM free text and of numbers typed by people."""

from __future__ import annotations

import pytest

from crmbridge.scoring.text import normalize_text, parse_number, to_text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("DIRECTOR DE TECNOLOGÍA", "director de tecnologia"),
        ("director de tecnologia", "director de tecnologia"),
        ("Directora de Tecnología", "directora de tecnologia"),
        ("  Jefe   de\tOperaciones \n", "jefe de operaciones"),
        ("Ñandú CAFÉ", "nandu cafe"),
        ("Straße", "strasse"),
        ("", ""),
    ],
)
def test_normalize_text(raw: str, expected: str) -> None:
    assert normalize_text(raw) == expected


def test_case_and_accents_do_not_matter() -> None:
    assert normalize_text("DIRECTOR DE TECNOLOGÍA") == normalize_text("director de tecnologia")
    assert normalize_text("DIRECTOR DE TECNOLOGÍA") != normalize_text("director de sistemas")


@pytest.mark.parametrize(
    ("value", "expected"),
    [(True, "true"), (False, "false"), (600, "600"), ("  CIO / CTO ", "cio / cto")],
)
def test_to_text(value: object, expected: str) -> None:
    assert to_text(value) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (600, 600.0),
        (2.5, 2.5),
        ("600", 600.0),
        (" 600 ", 600.0),
        ("1,000", 1000.0),
        ("1.000", 1000.0),
        ("1 000", 1000.0),
        ("10,000,000", 10_000_000.0),
        ("500+", 500.0),
        ("2,5", 2.5),
        ("2.5", 2.5),
        ("10k", 10_000.0),
        ("10K", 10_000.0),
        ("1.5k", 1500.0),
        ("2m", 2_000_000.0),
        ("500-1000", 500.0),
        ("500 - 1,000", 500.0),
        ("1.000-5.000", 1000.0),
        ("500 to 1000", 500.0),
        ("-5", -5.0),
    ],
)
def test_parse_number(raw: object, expected: float) -> None:
    assert parse_number(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["n/a", "N/A", "", "   ", None, True, False, "abc", "k", "NaN", "nan", "inf", "-Infinity"],
)
def test_parse_number_rejects_non_numbers(raw: object) -> None:
    assert parse_number(raw) is None


def test_parse_number_rejects_non_finite_floats() -> None:
    assert parse_number(float("nan")) is None
    assert parse_number(float("inf")) is None
