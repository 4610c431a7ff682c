"""The lifecycle stage machine, alone and as the engine drives it."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from crmbridge.scoring import (
    BantModel,
    Contact,
    Event,
    LifecycleModel,
    ScoringEngine,
    ScoringModel,
)
from crmbridge.scoring.lifecycle import EXPLICIT, RANK, TRANSITIONS, StageMachine, StageSignals
from crmbridge.scoring.model import LADDER, STAGES

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)

MACHINE = StageMachine(LifecycleModel())


def signals(
    target: str = "lead",
    inactive: float | None = None,
    feedback: str | None = None,
    engaged_after: bool = False,
) -> StageSignals:
    return StageSignals(target, inactive, feedback, engaged_after)


def decide(previous: str | None, **kwargs: Any) -> tuple[str, str]:
    decision = MACHINE.decide(previous, signals(**kwargs))
    return decision.stage, decision.transition


# --- every transition --------------------------------------------------------------------


@pytest.mark.parametrize("target", LADDER)
def test_entered_on_first_scoring(target: str) -> None:
    assert decide(None, target=target) == (target, "entered")


def test_unknown_previous_stage_counts_as_new() -> None:
    assert decide("marketingqualifiedlead", target="lead") == ("lead", "entered")


@pytest.mark.parametrize(
    ("previous", "target"),
    [
        ("subscriber", "lead"),
        ("lead", "mql"),
        ("mql", "sql"),
        ("subscriber", "sql"),
        ("sql", "opportunity"),
        ("opportunity", "customer"),
        ("lead", "customer"),
    ],
)
def test_advanced(previous: str, target: str) -> None:
    assert decide(previous, target=target) == (target, "advanced")


@pytest.mark.parametrize("stage", LADDER)
def test_unchanged(stage: str) -> None:
    assert decide(stage, target=stage) == (stage, "unchanged")


@pytest.mark.parametrize(
    ("previous", "target"),
    [
        ("lead", "subscriber"),
        ("mql", "lead"),
        ("sql", "mql"),
        ("sql", "subscriber"),
        ("opportunity", "sql"),
        ("customer", "opportunity"),
        ("customer", "lead"),
    ],
)
def test_held(previous: str, target: str) -> None:
    assert decide(previous, target=target) == (previous, "held")


@pytest.mark.parametrize("status", ["not_qualified", "bad_timing", "no_budget", "NOT_QUALIFIED"])
@pytest.mark.parametrize("previous", [None, "lead", "mql", "sql"])
def test_sales_feedback_sends_to_nurture(previous: str | None, status: str) -> None:
    assert decide(previous, target="sql", feedback=status) == ("nurture", "sales_feedback")


def test_other_feedback_does_not_nurture() -> None:
    assert decide("mql", target="sql", feedback="qualified") == ("sql", "advanced")


def test_nurture_stays_while_the_feedback_stands() -> None:
    assert decide("nurture", target="sql", feedback="bad_timing") == ("nurture", "unchanged")


def test_requalified_by_engagement_after_the_feedback() -> None:
    assert decide("nurture", target="mql", feedback="bad_timing", engaged_after=True) == (
        "mql",
        "requalified",
    )


def test_requalified_by_a_later_feedback() -> None:
    assert decide("nurture", target="lead", feedback="go_on") == ("lead", "requalified")


@pytest.mark.parametrize("previous", [None, "subscriber", "lead", "mql", "sql", "nurture"])
def test_went_quiet(previous: str | None) -> None:
    assert decide(previous, target="mql", inactive=90) == ("reactivation", "went_quiet")
    assert decide(previous, target="mql", inactive=119.9) == ("reactivation", "went_quiet")


def test_not_quiet_before_reactivation_after_days() -> None:
    assert decide("mql", target="mql", inactive=89.9) == ("mql", "unchanged")


def test_quiet_beats_sales_feedback() -> None:
    assert decide("mql", target="mql", inactive=95, feedback="bad_timing") == (
        "reactivation",
        "went_quiet",
    )


def test_long_quiet_goes_straight_to_archive() -> None:
    assert decide("sql", target="sql", inactive=120) == ("archived", "went_quiet")


def test_no_response() -> None:
    assert decide("reactivation", target="lead", inactive=120) == ("archived", "no_response")


@pytest.mark.parametrize(
    ("previous", "inactive", "stage"),
    [
        ("reactivation", 95, "reactivation"),
        ("archived", 95, "archived"),
        ("archived", 500, "archived"),
    ],
)
def test_quiet_side_states_stay(previous: str, inactive: float, stage: str) -> None:
    assert decide(previous, target="mql", inactive=inactive) == (stage, "unchanged")


@pytest.mark.parametrize("previous", ["reactivation", "archived"])
def test_reengaged(previous: str) -> None:
    assert decide(previous, target="mql", inactive=2) == ("mql", "reengaged")
    # A re-engaged lead the sales team still said no to goes back to nurture.
    assert decide(previous, target="mql", inactive=2, feedback="no_budget") == (
        "nurture",
        "reengaged",
    )


@pytest.mark.parametrize("previous", ["reactivation", "archived"])
def test_no_engagement_at_all_is_not_reengagement(previous: str) -> None:
    assert decide(previous, target="mql", inactive=None) == (previous, "unchanged")


def test_every_transition_is_described() -> None:
    assert set(TRANSITIONS) == {
        "entered",
        "advanced",
        "unchanged",
        "held",
        "sales_feedback",
        "requalified",
        "went_quiet",
        "no_response",
        "reengaged",
    }
    assert set(TRANSITIONS) >= EXPLICIT
    assert {"entered", "advanced", "unchanged", "held"}.isdisjoint(EXPLICIT)


# --- opportunity and customer ----------------------------------------------------------


@pytest.mark.parametrize("previous", ["opportunity", "customer"])
@pytest.mark.parametrize(
    "kwargs",
    [
        {"target": "subscriber"},
        {"target": "lead", "inactive": 500},
        {"target": "mql", "inactive": 95},
        {"target": "sql", "feedback": "not_qualified"},
        {"target": "lead", "inactive": 2, "feedback": "bad_timing"},
    ],
)
def test_opportunity_and_customer_are_never_left(previous: str, kwargs: dict[str, Any]) -> None:
    assert decide(previous, **kwargs) == (previous, "held")


@pytest.mark.parametrize("target", ["opportunity", "customer"])
def test_crm_stage_wins_over_quiet_and_feedback(target: str) -> None:
    assert decide("mql", target=target, inactive=500, feedback="bad_timing") == (
        target,
        "advanced",
    )


def test_ladder_never_moves_back() -> None:
    for previous, target in itertools.product(LADDER, LADDER):
        stage, transition = decide(previous, target=target)
        assert RANK[stage] == max(RANK[previous], RANK[target]), (previous, target)
        assert transition not in EXPLICIT


# --- driven by the engine ----------------------------------------------------------------

IT_DIRECTOR = {
    "name": "IT director",
    "when": {"jobtitle": {"contains": "director de it"}, "numemployees": {"gt": 500}},
    "points": 50,
}
DOWNLOAD = {"name": "Guide download", "event": "content_download", "points": 10}
BANT = {
    "budget": {"property": "crmbridge_budget", "qualified": ["approved"]},
    "authority": {"property": "hs_buying_role", "qualified": ["DECISION_MAKER"]},
    "need": {"property": "crmbridge_need", "qualified": {"exists": True}},
    "timeline": {"property": "crmbridge_timeline", "qualified": ["this_quarter"]},
}
DIRECTOR = {"jobtitle": "Director de IT", "numemployees": "600"}
BANT3 = {"crmbridge_budget": "approved", "hs_buying_role": "DECISION_MAKER", "crmbridge_need": "x"}


def engine(lifecycle: dict[str, Any] | None = None) -> ScoringEngine:
    return ScoringEngine(
        ScoringModel.model_validate({"fit": [IT_DIRECTOR], "engagement": [DOWNLOAD]}),
        BantModel.model_validate(BANT),
        LifecycleModel.model_validate(lifecycle or {}),
    )


ENGINE = engine()


def at(days_ago: float) -> datetime:
    return NOW - timedelta(days=days_ago)


def download(days_ago: float) -> Event:
    return Event("content_download", at(days_ago), {})


def feedback(days_ago: float, status: str | None) -> Event:
    return Event("sales_feedback", at(days_ago), {} if status is None else {"status": status})


def stage_of(
    props: dict[str, Any],
    events: list[Event],
    previous: str | None = None,
    scorer: ScoringEngine = ENGINE,
) -> tuple[str, str, bool]:
    result = scorer.score(Contact("c-1", props), events, NOW, previous_stage=previous)
    return result.stage.stage, result.stage.transition, result.stage.needs_nurture


@pytest.mark.parametrize(
    ("props", "events", "stage"),
    [
        ({}, [], "subscriber"),
        ({}, [download(1)], "lead"),
        (DIRECTOR, [], "lead"),
        (DIRECTOR, [download(1)], "mql"),  # 60 = mql_threshold
        ({**BANT3, "crmbridge_timeline": "this_quarter"}, [], "sql"),
        ({"lifecyclestage": "opportunity"}, [], "opportunity"),
        (
            {"lifecyclestage": "Opportunity", **BANT3, "crmbridge_timeline": "this_quarter"},
            [],
            "opportunity",
        ),
        ({"lifecyclestage": "customer"}, [], "customer"),
        ({"lifecyclestage": "lead"}, [], "subscriber"),
    ],
)
def test_target_stage_from_score_bant_and_crm(
    props: dict[str, Any], events: list[Event], stage: str
) -> None:
    assert stage_of(props, events) == (stage, "entered", False)


def test_engaged_but_zero_points_is_a_lead() -> None:
    scorer = ScoringEngine(
        ScoringModel.model_validate(
            {"engagement": [DOWNLOAD], "inactivity": {"after_days": 30, "points": -10}}
        )
    )
    result = scorer.score(Contact("c-1", {}), [download(40)], NOW)
    assert result.total == 0
    assert result.stage.stage == "lead"


def test_bant_three_of_four_is_mql_that_needs_nurture() -> None:
    result = ENGINE.score(Contact("c-1", BANT3), [], NOW)
    assert result.total == 0
    assert (result.stage.stage, result.stage.needs_nurture) == ("mql", True)
    assert result.notes == ("BANT 3/4, missing timeline: nurture",)
    assert result.reasons == ("BANT 3/4, missing timeline: nurture",)
    assert result.as_dict()["needs_nurture"] is True


def test_mql_by_score_alone_needs_no_nurture() -> None:
    assert stage_of(DIRECTOR, [download(1)]) == ("mql", "entered", False)


def test_bant_four_of_four_is_sql() -> None:
    assert stage_of({**BANT3, "crmbridge_timeline": "this_quarter"}, [], "mql") == (
        "sql",
        "advanced",
        False,
    )


def test_bant_three_held_at_sql_needs_no_nurture() -> None:
    assert stage_of(BANT3, [], "sql") == ("sql", "held", False)


def test_opportunity_comes_from_the_crm_and_stays() -> None:
    assert stage_of({"lifecyclestage": "opportunity"}, [], "sql") == (
        "opportunity",
        "advanced",
        False,
    )
    # The deal went away in the CRM, the lead went quiet, sales gave feedback: still held.
    events = [download(400), feedback(1, "not_qualified")]
    assert stage_of({"lifecyclestage": "lead"}, events, "opportunity") == (
        "opportunity",
        "held",
        False,
    )
    assert stage_of({"lifecyclestage": "customer"}, events, "opportunity") == (
        "customer",
        "advanced",
        False,
    )
    assert stage_of({}, events, "customer") == ("customer", "held", False)


def test_custom_crm_conditions() -> None:
    scorer = engine(
        {
            "opportunity_when": {"hs_deal_stage": ["appointmentscheduled"]},
            "customer_when": {"closed_won": True},
        }
    )
    assert stage_of({"hs_deal_stage": "AppointmentScheduled"}, [], None, scorer)[0] == (
        "opportunity"
    )
    assert stage_of({"closed_won": "true"}, [], None, scorer)[0] == "customer"
    assert stage_of({"lifecyclestage": "customer"}, [], None, scorer)[0] == "subscriber"


def test_sales_feedback_then_requalified_by_engagement() -> None:
    events = [download(10), feedback(5, "Not_Qualified")]
    assert stage_of(DIRECTOR, events, "mql") == ("nurture", "sales_feedback", False)
    assert stage_of(DIRECTOR, events, "nurture") == ("nurture", "unchanged", False)
    events.append(download(1))
    assert stage_of(DIRECTOR, events, "nurture") == ("mql", "requalified", False)


def test_latest_feedback_wins_and_future_feedback_is_ignored() -> None:
    events = [download(10), feedback(5, "bad_timing"), feedback(2, "ready")]
    assert stage_of(DIRECTOR, events, "nurture") == ("mql", "requalified", False)
    events = [download(10), feedback(5, "ready"), feedback(2, "bad_timing")]
    assert stage_of(DIRECTOR, events, "mql") == ("nurture", "sales_feedback", False)
    future = Event("sales_feedback", NOW + timedelta(hours=1), {"status": "bad_timing"})
    assert stage_of(DIRECTOR, [download(10), future], "mql") == ("mql", "unchanged", False)


def test_feedback_property_is_configurable() -> None:
    scorer = engine({"feedback_property": "verdict", "nurture_feedback": ["Not Now"]})
    events = [download(10), Event("sales_feedback", at(1), {"verdict": "NOT NOW"})]
    assert stage_of(DIRECTOR, events, "mql", scorer) == ("nurture", "sales_feedback", False)
    events = [download(10), Event("sales_feedback", at(1), {"status": "not_qualified"})]
    assert stage_of(DIRECTOR, events, "mql", scorer) == ("mql", "unchanged", False)


def test_quiet_reactivation_archive_and_reengagement() -> None:
    assert stage_of(DIRECTOR, [download(95)], "mql") == ("reactivation", "went_quiet", False)
    assert stage_of(DIRECTOR, [download(125)], "reactivation") == (
        "archived",
        "no_response",
        False,
    )
    assert stage_of(DIRECTOR, [download(125), download(1)], "archived") == (
        "mql",
        "reengaged",
        False,
    )


def test_archived_lead_without_any_engagement_stays_archived() -> None:
    # Fit alone (50) and a sales verdict are not engagement.
    events = [Event("email_open", at(1), {}), feedback(1, "ready")]
    assert stage_of(DIRECTOR, events, "archived") == ("archived", "unchanged", False)
    assert stage_of(DIRECTOR, [], "reactivation") == ("reactivation", "unchanged", False)


def test_quiet_timings_are_configurable() -> None:
    scorer = engine({"reactivation_after_days": 10, "archive_after_days": 5})
    assert stage_of({}, [download(9)], "lead", scorer)[:2] == ("lead", "unchanged")
    assert stage_of({}, [download(10)], "lead", scorer)[:2] == ("reactivation", "went_quiet")
    assert stage_of({}, [download(15)], "reactivation", scorer)[:2] == (
        "archived",
        "no_response",
    )


def test_every_stage_is_reachable_through_the_engine() -> None:
    seen = {
        stage_of({}, [])[0],
        stage_of({}, [download(1)])[0],
        stage_of(DIRECTOR, [download(1)])[0],
        stage_of({**BANT3, "crmbridge_timeline": "this_quarter"}, [])[0],
        stage_of({"lifecyclestage": "opportunity"}, [])[0],
        stage_of({"lifecyclestage": "customer"}, [])[0],
        stage_of(DIRECTOR, [download(5), feedback(1, "no_budget")], "mql")[0],
        stage_of(DIRECTOR, [download(95)], "mql")[0],
        stage_of(DIRECTOR, [download(125)], "reactivation")[0],
    }
    assert seen == set(STAGES)
