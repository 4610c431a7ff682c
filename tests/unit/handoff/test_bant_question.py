"""The next BANT question: the first missing letter [bant] maps, asked in discovery
order, in the CRM property and at the end of the lead's tasks, in the configured
language; nothing for a lead not in sales' hands or that has told everything."""

from __future__ import annotations

from dataclasses import replace

import pytest

from crmbridge.handoff.planner import HandoffPlanner
from crmbridge.scoring.types import BantResult

from .helpers import config, lead

BANT = """
[bant]
budget    = { property = "crmbridge_budget",   qualified = ["approved"] }
authority = { property = "hs_buying_role",     qualified = ["DECISION_MAKER"] }
need      = { property = "crmbridge_need",     qualified = { exists = true } }
timeline  = { property = "crmbridge_timeline", qualified = ["this_quarter"] }
[notifications]
enabled = true
"""
PROPERTY = "crmbridge_bant_question"


def planned(toml: str, bant: BantResult, *, hot: bool = True, stage: str = "sql") -> tuple:
    one = lead(hot=hot, stage=stage)
    one.score = replace(one.score, bant=bant)
    plan = HandoffPlanner(config(toml)).plan(one)
    bodies = [str(a.payload["body"]) for a in plan.actions if a.kind == "task"]
    return plan.properties.get(PROPERTY), bodies


@pytest.mark.parametrize(
    ("known", "question"),
    [
        ((False, False, False, False), "What problem do you need to solve"),
        ((False, False, True, False), "By when do you need a solution in place?"),
        ((False, False, True, True), "Who else takes part in the decision"),
        ((False, True, True, True), "Is there a budget set aside for this"),
    ],
)
def test_the_first_missing_letter_in_discovery_order_is_asked(
    known: tuple[bool, bool, bool, bool], question: str
) -> None:
    written, bodies = planned(BANT, BantResult(*known))
    assert written is not None and written.startswith(question)
    (body,) = bodies
    assert body.endswith(f"Next question: {written}")


def test_a_lead_that_told_everything_or_is_not_in_sales_hands_is_asked_nothing() -> None:
    written, (body,) = planned(BANT, BantResult(True, True, True, True))
    assert written == "" and "Next question" not in body
    written, _ = planned(BANT, BantResult(), hot=False, stage="lead")
    assert written == ""
    # A nurtured lead (BANT 3/4) is asked for the letter it lacks.
    written, _ = planned(BANT, BantResult(True, True, True, False), hot=False, stage="nurture")
    assert written == "By when do you need a solution in place?"


def test_a_letter_bant_does_not_map_is_never_asked() -> None:
    only_budget = '[bant]\nbudget = { property = "crmbridge_budget", qualified = ["approved"] }\n'
    written, _ = planned(only_budget, BantResult(False, False, False, False))
    assert written == "Is there a budget set aside for this, and roughly how much?"
    assert planned("", BantResult())[0] == ""  # no [bant]: nothing to ask


def test_the_question_is_written_in_spanish_and_can_be_switched_off() -> None:
    spanish = BANT + '[bridge]\nlanguage = "es"\n'
    written, bodies = planned(spanish, BantResult(True, True, True, False))
    assert written == "¿Para cuándo necesitan tener una solución en marcha?"
    assert bodies[0].endswith(
        "Siguiente pregunta: ¿Para cuándo necesitan tener una solución en marcha?"
    )
    off = BANT + "[profiling.bant]\nenabled = false\n"
    written, bodies = planned(off, BantResult())
    assert written is None and "Next question" not in bodies[0]


def test_an_unknown_stage_is_a_config_error_at_its_path() -> None:
    from crmbridge.config import parse_config
    from crmbridge.errors import ConfigError

    with pytest.raises(ConfigError) as refused:
        parse_config('[profiling.bant]\nstages = ["sqll"]\n', source="t.toml")
    assert "profiling.bant.stages" in str(refused.value)
