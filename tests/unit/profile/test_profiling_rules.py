"""Which field to ask next: step order, score bands, hot leads and the phone rule."""

from __future__ import annotations

from typing import Any

import pytest

from crmbridge.handoff.profiling import Standing, known_fields, matches, next_question
from crmbridge.handoff.settings import ProfilingSettings, ProfilingStep

DEFAULT = ProfilingSettings()


def ask(
    settings: ProfilingSettings, stage: str | None, score: float | None, hot: bool, **have: Any
) -> str:
    return next_question(settings, Standing(stage, score, hot), have.get)


def test_a_subscriber_is_asked_name_then_title_then_company() -> None:
    assert ask(DEFAULT, "subscriber", 0, False) == "firstname"
    assert ask(DEFAULT, "subscriber", 0, False, firstname="Ana") == "jobtitle"
    assert ask(DEFAULT, "subscriber", 0, False, firstname="Ana", jobtitle="CIO") == "company"
    done = {"firstname": "Ana", "jobtitle": "CIO", "company": "Acme"}
    assert ask(DEFAULT, "subscriber", 0, False, **done) == ""


def test_blank_answers_count_as_not_given() -> None:
    assert ask(DEFAULT, "subscriber", 0, False, firstname="  ", jobtitle=None) == "firstname"
    # Anything else is an answer, even a zero or a "false".
    assert ask(DEFAULT, "lead", 5, False, jobtitle="x", company="y", numemployees=0) == ""


def test_the_phone_is_never_asked_before_the_lead_is_hot() -> None:
    eager = ProfilingSettings(steps=[ProfilingStep(ask=["phone", "mobilephone", "jobtitle"])])

    assert ask(eager, "mql", 90, False) == "jobtitle"
    assert ask(eager, "mql", 90, False, jobtitle="CIO") == ""
    assert ask(eager, "sql", 120, True) == "phone"
    assert ask(eager, "sql", 120, True, phone="+34 600") == "mobilephone"


def test_a_hot_lead_gets_the_hot_step_once_its_stage_step_is_done() -> None:
    mql = {"crmbridge_need": "routes", "crmbridge_timeline": "this_quarter"}
    assert ask(DEFAULT, "mql", 110, True) == "crmbridge_need"
    assert ask(DEFAULT, "mql", 110, True, **mql) == "crmbridge_budget"
    assert ask(DEFAULT, "mql", 110, True, crmbridge_budget="approved", **mql) == "phone"
    assert ask(DEFAULT, "mql", 80, False, **mql) == ""


def test_steps_are_tried_in_order_and_the_first_with_a_question_wins() -> None:
    settings = ProfilingSettings(
        steps=[
            ProfilingStep(min_score=50, ask=["company"]),
            ProfilingStep(stages=["lead"], ask=["jobtitle"]),
            ProfilingStep(ask=["city"]),
        ]
    )
    assert ask(settings, "lead", 60, False) == "company"
    assert ask(settings, "lead", 40, False) == "jobtitle"
    assert ask(settings, "lead", 60, False, company="Acme") == "jobtitle"
    assert ask(settings, "mql", 60, False, company="Acme") == "city"


@pytest.mark.parametrize(
    ("score", "expected"),
    [(None, False), (19.9, False), (20, True), (49, True), (50, False), (80, False)],
)
def test_a_score_band_includes_its_minimum_and_excludes_its_maximum(
    score: float | None, expected: bool
) -> None:
    band = ProfilingStep(min_score=20, max_score=50, ask=["jobtitle"])
    assert matches(band, Standing("lead", score, False)) is expected


def test_profiling_off_asks_nothing() -> None:
    assert ask(ProfilingSettings(enabled=False), "subscriber", 0, False) == ""


def test_known_fields_are_listed_once_in_configured_order() -> None:
    have = {"company": "Acme", "phone": "+34", "firstname": "Ana", "unrelated": "x"}
    assert known_fields(DEFAULT, have.get) == ["firstname", "company", "phone"]
