"""Substring and whole-word text operators: properties, over-match warnings, typo hints."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from crmbridge.config import parse_config
from crmbridge.ingest import _prepare, unknown_type_issue
from crmbridge.scoring.conditions import compile_condition
from crmbridge.scoring.model import CANONICAL_EVENT_TYPES, Condition
from crmbridge.scoring.overmatch import SHORT_NEEDLE_CHARS, is_short_needle
from crmbridge.scoring.text import MAX_SCORED_CHARS, normalize_text

# Letters with and without accents, upper and lower case, separators and punctuation:
# the characters job titles, URLs and form names are made of.
_ALPHABET = "aAbBcCiIoOeEéÉíñÑü -/_.,;:?&1"
texts = st.text(alphabet=_ALPHABET, max_size=40)
needles = st.text(alphabet=_ALPHABET, min_size=1, max_size=8)


def _matches(spec: dict[str, object], value: object) -> bool:
    return compile_condition(Condition.model_validate(spec))(value)


@settings(deadline=None)
@given(needle=needles, value=texts)
def test_contains_is_a_substring_test_on_the_normalised_text(needle: str, value: str) -> None:
    wanted = normalize_text(needle)
    expected = bool(wanted) and bool(value.strip()) and wanted in normalize_text(value)
    assert _matches({"contains": needle}, value) is expected


@settings(deadline=None)
@given(found=needles, others=st.lists(needles, max_size=3), value=texts)
def test_contains_any_is_any_substring(found: str, others: list[str], value: str) -> None:
    text = normalize_text(value)
    wanted = [normalize_text(n) for n in [found, *others]]
    expected = bool(value.strip()) and any(n and n in text for n in wanted)
    assert _matches({"contains_any": [found, *others]}, value) is expected


@settings(deadline=None)
@given(prefix=texts, needle=needles, suffix=texts)
def test_a_needle_written_into_a_value_is_always_found(
    prefix: str, needle: str, suffix: str
) -> None:
    value = prefix + needle.upper() + suffix
    if normalize_text(needle) and normalize_text(needle) in normalize_text(value):
        assert _matches({"contains": needle}, value)


@settings(deadline=None)
@given(needle=needles, value=texts)
def test_a_whole_word_match_is_also_a_substring_match(needle: str, value: str) -> None:
    if _matches({"contains_word": needle}, value):
        assert _matches({"contains": needle}, value)


def test_contains_reads_at_most_max_scored_chars() -> None:
    value = "x" * MAX_SCORED_CHARS + "needle"
    assert not _matches({"contains": "needle"}, value)
    assert _matches({"contains": "needle"}, "needle" + "x" * MAX_SCORED_CHARS)


def test_numbers_and_booleans_are_matched_as_text() -> None:
    assert _matches({"contains": "00"}, 1000)
    assert _matches({"contains": "ru"}, True)
    assert not _matches({"contains_word": "00"}, 1000)


@pytest.mark.parametrize(
    ("operator", "hint"),
    [
        ("whole_word", '"contains_word"'),
        ("contains_words", '"contains_any_word"'),
        ("includes", '"contains"'),
        ("containsword", '"contains_word"'),
    ],
)
def test_misspelt_text_operators_get_a_hint(operator: str, hint: str) -> None:
    with pytest.raises(ValidationError) as raised:
        Condition.model_validate({operator: "x"})
    assert hint in str(raised.value.errors()[0]["ctx"]["hint"])


# --- over-match warnings in config check --------------------------------------------------


@pytest.mark.parametrize(
    ("needle", "short"),
    [
        ("cio", True),
        ("CTO", True),
        ("Jefe", True),
        ("vp", True),
        ("ceo ", True),  # trailing spaces are trimmed by normalisation
        ("head", True),
        ("chief", False),  # SHORT_NEEDLE_CHARS characters and more are specific enough
        ("/pricing", False),
        ("b2b", False),  # digits: written as a fragment on purpose
        ("it m", False),  # a space: a phrase
        ("c-o", False),
        ("", False),
    ],
)
def test_short_needle_rule(needle: str, short: bool) -> None:
    assert SHORT_NEEDLE_CHARS == 5
    assert is_short_needle(needle) is short


_MODEL = """
[scoring]
custom_events = ["trial_started"]

[[scoring.fit]]
name = "CIO"
points = 30
when = { jobtitle = { contains = "cio" } }

[[scoring.fit]]
name = "Tech leaders"
points = 20
when = { jobtitle = { contains_any = ["chief technology", "cto", "vp"] } }

[[scoring.fit]]
name = "Whole words are fine"
points = 10
when = { jobtitle = { contains_any_word = ["cio", "cto"] }, url = { contains = "/p" } }

[[scoring.engagement]]
name = "Demo form"
event = "form_submit"
where = { form = { contains = "demo" } }
points = 10

[bant]
authority = { property = "jobtitle", qualified = { contains = "ceo" } }
"""


def _warnings(text: str) -> list[str]:
    return parse_config(text, source="test.toml").warnings


def test_config_check_warns_about_short_substrings_with_path_and_fix() -> None:
    warnings = [w for w in _warnings(_MODEL) if "whole words" in w]
    assert [w.split(":", 1)[0] for w in warnings] == [
        "scoring.fit[0].when.jobtitle.contains",
        "scoring.fit[1].when.jobtitle.contains_any",
        "scoring.engagement[0].where.form.contains",
        "bant.authority.qualified.contains",
    ]
    assert '"cio"' in warnings[0] and "use contains_word" in warnings[0]
    assert '"cto", "vp"' in warnings[1] and "chief" not in warnings[1]
    assert "use contains_any_word" in warnings[1]


def test_config_check_is_quiet_about_long_or_whole_word_needles() -> None:
    model = """
[[scoring.fit]]
name = "IT"
points = 30
when = { jobtitle = { contains_any = ["director de it", "chief"], contains_word = "cio" } }
"""
    assert not [w for w in _warnings(model) if "whole words" in w]


# --- unknown event types ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "nearest"),
    [
        ("page_veiw", "page_view"),
        ("pageview", "page_view"),
        ("email_replied", "email_reply"),
        ("form_submitted", "form_submit"),
        ("meeting_book", "meeting_booked"),
    ],
)
def test_unknown_event_type_names_the_nearest_known_one(typed: str, nearest: str) -> None:
    issue = unknown_type_issue(typed, 7, CANONICAL_EVENT_TYPES)
    assert issue is not None
    assert (issue.line, issue.severity) == (7, "warning")
    assert f'did you mean "{nearest}"?' in issue.reason
    assert f'"{typed}"' in issue.reason


@pytest.mark.parametrize("typed", ["podcast_listened", "purchase", "x" * 64])
def test_a_type_close_to_none_is_not_flagged(typed: str) -> None:
    assert unknown_type_issue(typed, 1, CANONICAL_EVENT_TYPES) is None


def _line(number: int, event_type: str) -> tuple[int, str]:
    body = (
        f'{{"type": "{event_type}", "occurred_at": "2026-11-18T10:00:00Z",'
        f' "contact": {{"email": "a@acme.es"}}, "event_id": "e{number}"}}'
    )
    return number, body


def test_ingest_lines_carry_the_suggestion_and_custom_types_are_known() -> None:
    now = datetime(2026, 11, 18, 12, tzinfo=UTC)
    lines = [_line(1, "page_veiw"), _line(2, "page_view"), _line(3, "page_veiw")]
    lines.append(_line(4, "trial_startd"))
    prepared = _prepare(lines, now, timedelta(minutes=5), (*CANONICAL_EVENT_TYPES, "trial_started"))
    assert [(i.line, i.severity) for i in prepared.issues] == [
        (1, "warning"),
        (3, "warning"),
        (4, "warning"),
    ]
    assert 'did you mean "trial_started"?' in prepared.issues[2].reason
    assert len(prepared.rows) == 4  # stored all the same
    assert dict(prepared.unknown_types) == {"page_veiw": 2, "trial_startd": 1}
    custom = _prepare([_line(1, "trial_started")], now, timedelta(minutes=5), ("trial_started",))
    assert custom.issues == [] and not custom.unknown_types


def test_word_operator_search_stays_a_regex_of_literals() -> None:
    # The whole-word pattern is built from escaped literals: no needle can inject syntax.
    check = compile_condition(Condition.model_validate({"contains_word": "a.b(c"}))
    assert check("x a.b(c y") and not check("x aXb(c y")
