"""The scoring engine: fit, engagement, inactivity, grade, hot, BANT, reasons, version."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from crmbridge.config import example_config_text, parse_config
from crmbridge.scoring import (
    BantModel,
    Contact,
    Event,
    LifecycleModel,
    Score,
    ScoringEngine,
    ScoringModel,
)
from crmbridge.scoring.lifecycle import RANK

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)

IT_DIRECTOR = {
    "name": "IT director at a 500+ employee company",
    "when": {
        "jobtitle": {
            "contains_any_word": ["director de it", "directora de it", "it director", "cio"]
        },
        "numemployees": {"gt": 500},
    },
    "points": 50,
}
PRICING = {
    "name": "Pricing page visit",
    "event": "page_view",
    "where": {"url": {"contains": "/pricing"}},
    "points": 15,
}
DOWNLOAD = {
    "name": "Guide download",
    "event": "content_download",
    "where": {"asset_type": ["guide", "case_study"]},
    "points": 10,
}
INACTIVITY = {"after_days": 30, "points": -10}

BANT = {
    "budget": {"property": "crmbridge_budget", "qualified": ["approved"]},
    "authority": {"property": "hs_buying_role", "qualified": ["DECISION_MAKER", "BUDGET_HOLDER"]},
    "need": {"property": "crmbridge_need", "qualified": {"exists": True}},
    "timeline": {"property": "crmbridge_timeline", "qualified": ["this_quarter", "within_30_days"]},
    "committee": {
        "property": "hs_buying_role",
        "roles": {
            "economic_buyer": ["BUDGET_HOLDER", "DECISION_MAKER"],
            "technical": ["TECHNICAL_EVALUATOR"],
            "user": ["END_USER"],
            "influencer": ["INFLUENCER", "CHAMPION"],
        },
    },
}


def make_engine(bant: dict[str, Any] | None = None, **scoring: Any) -> ScoringEngine:
    return ScoringEngine(
        ScoringModel.model_validate(scoring),
        BantModel.model_validate(bant or {}),
        LifecycleModel(),
    )


def ago(days: float = 0, hours: float = 0) -> datetime:
    return NOW - timedelta(days=days, hours=hours)


def ev(kind: str, when: datetime, **props: Any) -> Event:
    return Event(kind, when, props)


def contact(**props: Any) -> Contact:
    return Contact("c-1", props)


def score(
    engine: ScoringEngine,
    props: dict[str, Any] | None = None,
    events: Sequence[Event] = (),
    **kwargs: Any,
) -> Score:
    return engine.score(contact(**(props or {})), events, NOW, **kwargs)


def by_rule(result: Score) -> dict[str, int]:
    return {c.rule: c.points for c in result.contributions}


DIRECTOR = {"jobtitle": "Directora de IT", "numemployees": "600"}


# --- fit --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("props", "expected"),
    [
        (DIRECTOR, 50),
        ({"jobtitle": "DIRECTOR DE IT", "numemployees": "1.000"}, 50),
        ({"jobtitle": "CIO", "numemployees": 501}, 50),
        ({"jobtitle": "Directora de IT", "numemployees": "500"}, 0),
        ({"jobtitle": "Directora de IT", "numemployees": "500+"}, 0),
        ({"jobtitle": "Jefe de Operaciones", "numemployees": "600"}, 0),
        ({"jobtitle": "Directora de IT"}, 0),
        ({"numemployees": "600"}, 0),
        ({}, 0),
    ],
)
def test_fit_rule_needs_every_condition(props: dict[str, Any], expected: int) -> None:
    result = score(make_engine(fit=[IT_DIRECTOR]), props)
    assert result.fit == expected
    assert result.total == expected
    assert result.notes == ()


def test_fit_rules_add_up() -> None:
    spain = {"name": "Spain", "when": {"country": "ES"}, "points": 10}
    junior = {"name": "Junior title", "when": {"jobtitle": {"contains": "becario"}}, "points": -20}
    engine = make_engine(fit=[IT_DIRECTOR, spain, junior])
    assert score(engine, {**DIRECTOR, "country": "es"}).fit == 60
    assert score(engine, {"jobtitle": "Becario", "country": "ES"}).fit == -10
    result = score(engine, {**DIRECTOR, "country": "FR"})
    assert result.fit == 50
    assert [c.kind for c in result.contributions] == ["fit"]


def test_unreadable_number_is_no_match_and_a_note() -> None:
    engine = make_engine(fit=[IT_DIRECTOR])
    result = score(engine, {"jobtitle": "Directora de IT", "numemployees": "n/a"})
    assert result.fit == 0
    assert result.total == 0
    assert result.contributions == ()
    assert result.notes == ("numemployees 'n/a' is not a number",)
    assert "numemployees 'n/a' is not a number" in result.reasons
    assert result.reasons_text == "numemployees 'n/a' is not a number"


def test_unreadable_note_once_even_if_two_rules_read_the_property() -> None:
    big = {"name": "Big company", "when": {"numemployees": {"gte": 1000}}, "points": 5}
    result = score(make_engine(fit=[IT_DIRECTOR, big]), {"numemployees": "lots"})
    assert result.notes == ("numemployees 'lots' is not a number",)


def test_empty_number_is_not_a_note() -> None:
    result = score(make_engine(fit=[IT_DIRECTOR]), {"jobtitle": "CIO", "numemployees": ""})
    assert result.fit == 0
    assert result.notes == ()


@pytest.mark.parametrize(("points", "expected"), [(12.5, 13), (-12.5, -13), (12.4, 12)])
def test_fractional_points_round_half_away_from_zero(points: float, expected: int) -> None:
    rule = {"name": "Any", "when": {"x": {"exists": True}}, "points": points}
    assert score(make_engine(fit=[rule]), {"x": 1}).fit == expected


# --- engagement -------------------------------------------------------------------------


def test_points_per_matching_event() -> None:
    engine = make_engine(engagement=[PRICING])
    events = [
        ev("page_view", ago(1), url="https://acme.es/pricing"),
        ev("page_view", ago(2), url="https://acme.es/PRICING?utm=x"),
        ev("page_view", ago(3), url="https://acme.es/blog"),
        ev("page_view", ago(4)),
        ev("content_download", ago(1), url="https://acme.es/pricing"),
    ]
    result = score(engine, events=events)
    assert result.engagement == 30
    assert result.total == 30
    (only,) = result.contributions
    assert (only.kind, only.rule, only.points, only.events) == (
        "engagement",
        "Pricing page visit",
        30,
        2,
    )
    assert result.last_engagement_at == ago(1)


def test_where_with_several_conditions() -> None:
    rule = {
        "name": "Case-study click in a nurture email",
        "event": "email_click",
        "where": {"url": {"contains": "case-study"}, "campaign": {"contains": "nurture"}},
        "points": 20,
    }
    engine = make_engine(engagement=[rule])
    url = "https://acme.es/case-study/acme"

    def click(**props: Any) -> int:
        return score(engine, events=[ev("email_click", ago(1), **props)]).total

    assert click(url=url, campaign="Nurture-Q3") == 20
    assert click(url=url, campaign="newsletter") == 0
    assert click(url=url) == 0
    assert click(url="https://acme.es/blog", campaign="nurture") == 0


def test_rule_with_a_list_of_event_types() -> None:
    rule = {"name": "Hand raised", "event": ["form_submit", "email_reply"], "points": 5}
    engine = make_engine(engagement=[rule])
    events = [
        ev("form_submit", ago(1)),
        ev("email_reply", ago(2)),
        ev("email_open", ago(3)),
    ]
    result = score(engine, events=events)
    assert result.engagement == 10
    assert result.contributions[0].events == 2


def test_one_event_can_feed_several_rules() -> None:
    any_view = {"name": "Any page", "event": "page_view", "points": 1}
    engine = make_engine(engagement=[PRICING, any_view])
    result = score(engine, events=[ev("page_view", ago(1), url="/pricing")])
    assert by_rule(result) == {"Pricing page visit": 15, "Any page": 1}


def test_max_points_caps_a_rule() -> None:
    engine = make_engine(engagement=[{**PRICING, "max_points": 45}])
    events = [ev("page_view", ago(d), url="/pricing") for d in (1, 2, 3, 4)]
    result = score(engine, events=events)
    assert result.engagement == 45
    (capped,) = result.contributions
    assert capped.capped_at == 45
    assert capped.raw_points == 60
    assert capped.events == 4
    assert capped.describe() == "+45 Pricing page visit (4×, capped at 45)"
    # Below the cap nothing is marked.
    under = score(engine, events=events[:3]).contributions[0]
    assert (under.points, under.capped_at) == (45, None)


def test_max_points_caps_a_negative_rule() -> None:
    bounce = {"name": "Bounce", "event": "email_open", "points": -4, "max_points": 10}
    result = score(make_engine(engagement=[bounce]), events=[ev("email_open", ago(1))] * 4)
    assert result.engagement == -10


def test_fractional_caps_are_not_exceeded_by_rounding() -> None:
    rule = {**PRICING, "points": 10, "max_points": 25.5}
    events = [ev("page_view", ago(d), url="/pricing") for d in (1, 2, 3)]
    result = score(make_engine(engagement=[rule]), events=events)
    assert result.engagement == 25


def test_group_cap_is_shared_by_its_rules() -> None:
    webinar = {
        "name": "Webinar watched",
        "event": "webinar_attended",
        "where": {"watched_percent": {"gte": 90}},
        "points": 25,
        "group": "content",
    }
    engine = make_engine(
        groups={"content": {"max_points": 40}},
        engagement=[{**DOWNLOAD, "group": "content"}, webinar, PRICING],
    )
    events = [
        ev("content_download", ago(1), asset_type="guide"),
        ev("content_download", ago(2), asset_type="case_study"),
        ev("webinar_attended", ago(3), watched_percent=95),
        ev("page_view", ago(1), url="/pricing"),
    ]
    result = score(engine, events=events)
    assert by_rule(result) == {
        "Guide download": 20,
        "Webinar watched": 20,
        "Pricing page visit": 15,
    }
    assert result.engagement == 55
    full = result.contributions[1]
    assert full.capped_at == 40
    assert full.group == "content"
    assert full.describe() == "+20 Webinar watched (capped at 40, group content full)"
    # A second webinar adds nothing once the group is full.
    more = score(engine, events=[*events, ev("webinar_attended", ago(4), watched_percent=100)])
    assert more.engagement == 55


def test_group_cap_fills_to_zero_for_later_rules() -> None:
    engine = make_engine(
        groups={"content": {"max_points": 20}},
        engagement=[{**DOWNLOAD, "group": "content"}, {**PRICING, "group": "content"}],
    )
    events = [ev("content_download", ago(d), asset_type="guide") for d in (1, 2, 3)]
    events.append(ev("page_view", ago(1), url="/pricing"))
    result = score(engine, events=events)
    assert by_rule(result) == {"Guide download": 20, "Pricing page visit": 0}
    assert result.engagement == 20
    assert all(reason.startswith("+20 Guide download") for reason in result.reasons)


def test_fractional_group_cap_is_not_exceeded_by_rounding() -> None:
    engine = make_engine(
        groups={"content": {"max_points": 20.5}},
        engagement=[{**DOWNLOAD, "group": "content"}],
    )
    events = [ev("content_download", ago(d), asset_type="guide") for d in (1, 2, 3)]
    assert score(engine, events=events).engagement == 20


@pytest.mark.parametrize(("age_days", "counted"), [(0, True), (29, True), (30, True), (31, False)])
def test_window_days(age_days: float, counted: bool) -> None:
    engine = make_engine(engagement=[{**PRICING, "window_days": 30}])
    result = score(engine, events=[ev("page_view", ago(age_days), url="/pricing")])
    assert result.engagement == (15 if counted else 0)


def test_window_days_counts_only_recent_events() -> None:
    engine = make_engine(engagement=[{**PRICING, "window_days": 30}])
    events = [ev("page_view", ago(d), url="/pricing") for d in (5, 25, 35, 300)]
    result = score(engine, events=events)
    assert result.engagement == 30
    assert result.contributions[0].events == 2


@pytest.mark.parametrize(
    ("points", "half_life", "ages", "expected"),
    [
        (40, 10, [0], 40),
        (40, 10, [10], 20),
        (40, 10, [20], 10),
        (40, 10, [10, 20], 30),
        (40, 10, [5], 28),  # 40 × 2^-0.5 = 28.28
        (40, 10, [30, 30], 10),  # 5 + 5
        (5, 1, [1], 3),  # 2.5 rounds half away from zero
        (16, 7, [28], 1),  # 16 / 16
        (16, 7, [35], 1),  # 0.5 → 1
        (16, 7, [42], 0),  # 0.25 → 0
    ],
)
def test_half_life_decay(points: int, half_life: float, ages: list[float], expected: int) -> None:
    engine = make_engine(engagement=[{**PRICING, "points": points, "half_life_days": half_life}])
    result = score(engine, events=[ev("page_view", ago(a), url="/pricing") for a in ages])
    assert result.engagement == expected
    contribution = result.contributions[0]
    assert contribution.decayed is True
    assert contribution.raw_points == pytest.approx(
        sum(points * 0.5 ** (a / half_life) for a in ages)
    )


def test_decayed_reason_says_so() -> None:
    engine = make_engine(engagement=[{**PRICING, "half_life_days": 10}])
    events = [ev("page_view", ago(10), url="/pricing"), ev("page_view", ago(10), url="/pricing")]
    result = score(engine, events=events)
    assert result.engagement == 15
    assert result.reasons == ("+15 Pricing page visit (2×, decayed)",)


def test_decay_then_cap() -> None:
    rule = {**PRICING, "points": 20, "half_life_days": 10, "max_points": 30}
    events = [ev("page_view", ago(0), url="/pricing")] * 3  # 60 raw, not decayed yet
    result = score(make_engine(engagement=[rule]), events=events)
    assert result.engagement == 30


def test_events_after_now_are_ignored() -> None:
    engine = make_engine(engagement=[PRICING])
    future = ev("page_view", NOW + timedelta(seconds=1), url="/pricing")
    at_now = ev("page_view", NOW, url="/pricing")
    assert score(engine, events=[future]).total == 0
    assert score(engine, events=[future]).contributions == ()
    assert score(engine, events=[future]).last_engagement_at is None
    assert score(engine, events=[at_now]).total == 15
    assert score(engine, events=[future, at_now]).total == 15


def test_unknown_event_types_are_ignored() -> None:
    engine = make_engine(engagement=[PRICING])
    result = score(engine, events=[ev("tiktok_like", ago(1), url="/pricing")])
    assert result.total == 0
    assert result.contributions == ()
    assert result.last_engagement_at is None
    assert result.stage.stage == "subscriber"


# --- inactivity -------------------------------------------------------------------------


def inactive_engine(**inactivity: Any) -> ScoringEngine:
    unsubscribe = {
        "name": "Unsubscribed",
        "event": "form_submit",
        "where": {"form": "unsubscribe"},
        "points": -5,
    }
    return make_engine(
        fit=[IT_DIRECTOR],
        engagement=[DOWNLOAD, unsubscribe],
        inactivity={**INACTIVITY, **inactivity},
    )


@pytest.mark.parametrize(
    ("idle_days", "penalty"),
    [(0, 0), (29.9, 0), (30, -10), (59, -10), (60, -20), (65, -20), (95, -30)],
)
def test_inactivity_per_full_period(idle_days: float, penalty: int) -> None:
    events = [ev("content_download", ago(idle_days), asset_type="guide") for _ in range(4)]
    result = score(inactive_engine(), DIRECTOR, events)
    assert result.inactivity == penalty
    assert result.total == 50 + 40 + penalty
    inactive = [c for c in result.contributions if c.kind == "inactivity"]
    if penalty:
        assert [(c.rule, c.points) for c in inactive] == [
            (f"{-penalty * 3} days inactive", penalty)
        ]
    else:
        assert inactive == []


def test_inactivity_counts_from_the_last_positive_engagement() -> None:
    events = [
        ev("content_download", ago(100), asset_type="guide"),
        ev("content_download", ago(70), asset_type="guide"),
        ev("content_download", ago(65), asset_type="guide"),
        ev("form_submit", ago(1), form="unsubscribe"),  # negative rule: not engagement
        ev("email_open", ago(1)),  # no rule: not engagement
        ev("content_download", ago(1), asset_type="whitepaper"),  # where fails: not engagement
    ]
    result = score(inactive_engine(), DIRECTOR, events)
    assert result.last_engagement_at == ago(65)
    assert result.inactivity == -20
    assert result.total == 50 + 30 - 5 - 20


def test_inactivity_floor_limits_the_penalty() -> None:
    events = [ev("content_download", ago(95), asset_type="guide") for _ in range(4)]
    result = score(inactive_engine(floor=70), DIRECTOR, events)
    assert result.inactivity == -20  # raw -30, but 90 - 30 < 70
    assert result.total == 70
    assert result.reasons[-1] == "-20 90 days inactive (floor 70)"


def test_inactivity_erodes_engagement_never_fit() -> None:
    events = [ev("content_download", ago(95), asset_type="guide")]
    result = score(inactive_engine(floor=-100), DIRECTOR, events)
    assert result.inactivity == -10  # raw -30, but only 10 engagement points to lose
    assert result.total == 50
    assert result.reasons[-1] == "-10 90 days inactive (all engagement lost)"


def test_default_floor_is_zero() -> None:
    events = [ev("content_download", ago(200), asset_type="guide")]
    result = score(inactive_engine(), {}, events)
    assert result.inactivity == -10
    assert result.total == 0


def test_fractional_floor_is_not_crossed_by_rounding() -> None:
    events = [ev("content_download", ago(95), asset_type="guide") for _ in range(4)]
    result = score(inactive_engine(floor=70.5), DIRECTOR, events)
    assert result.total == 71


def test_no_penalty_below_the_floor_already() -> None:
    events = [ev("content_download", ago(95), asset_type="guide")]
    result = score(inactive_engine(floor=100), DIRECTOR, events)
    assert result.inactivity == 0
    assert result.total == 60


def test_no_events_no_penalty() -> None:
    result = score(inactive_engine(), DIRECTOR, [])
    assert result.inactivity == 0
    assert result.total == 50
    assert [c.kind for c in result.contributions] == ["fit"]
    assert result.last_engagement_at is None


def test_no_inactivity_table_no_penalty() -> None:
    engine = make_engine(fit=[IT_DIRECTOR], engagement=[DOWNLOAD])
    result = score(engine, DIRECTOR, [ev("content_download", ago(400), asset_type="guide")])
    assert result.total == 60


# --- grade and hot ----------------------------------------------------------------------


def points_engine(points: float, **scoring: Any) -> ScoringEngine:
    rule = {"name": "Points", "when": {"x": {"exists": True}}, "points": points}
    return make_engine(fit=[rule], **scoring)


@pytest.mark.parametrize(
    ("fit", "grade"),
    [
        (80, "A"),
        (50, "A"),
        (49, "B"),
        (30, "B"),
        (29, "C"),
        (15, "C"),
        (14, "D"),
        (0, "D"),
        (-5, "D"),
    ],
)
def test_grade_from_default_fit_thresholds(fit: int, grade: str) -> None:
    assert score(points_engine(fit), {"x": 1}).grade == grade


@pytest.mark.parametrize(("fit", "grade"), [(80, "A"), (79, "B"), (40, "B"), (10, "C"), (9, "D")])
def test_grade_from_configured_thresholds(fit: int, grade: str) -> None:
    engine = points_engine(fit, grades={"A": 80, "B": 40, "C": 10})
    assert score(engine, {"x": 1}).grade == grade


def test_grade_ignores_engagement() -> None:
    engine = make_engine(engagement=[{**PRICING, "points": 100}])
    result = score(engine, events=[ev("page_view", ago(1), url="/pricing")])
    assert (result.total, result.grade) == (100, "D")


@pytest.mark.parametrize(("total", "hot"), [(99, False), (100, True), (150, True)])
def test_hot_at_threshold(total: int, hot: bool) -> None:
    assert score(points_engine(total), {"x": 1}).hot is hot


def test_hot_threshold_is_configurable() -> None:
    assert score(points_engine(70, hot_threshold=70), {"x": 1}).hot is True
    assert score(points_engine(69, hot_threshold=70), {"x": 1}).hot is False


# --- BANT -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("props", "letters", "count", "role"),
    [
        ({}, "- - - -", 0, None),
        (
            {
                "crmbridge_budget": "approved",
                "hs_buying_role": "DECISION_MAKER",
                "crmbridge_need": "route planning",
            },
            "B A N -",
            3,
            "economic_buyer",
        ),
        (
            {
                "crmbridge_budget": "Approved",
                "hs_buying_role": "budget_holder",
                "crmbridge_need": "x",
                "crmbridge_timeline": "this_quarter",
            },
            "B A N T",
            4,
            "economic_buyer",
        ),
        (
            {
                "crmbridge_budget": "in_estimation",
                "crmbridge_need": "",
                "crmbridge_timeline": "next_year",
                "hs_buying_role": "TECHNICAL_EVALUATOR",
            },
            "- - - -",
            0,
            "technical",
        ),
        (
            {"crmbridge_timeline": "within_30_days", "hs_buying_role": "END_USER;CHAMPION"},
            "- - - T",
            1,
            "user",
        ),
        ({"hs_buying_role": "UNKNOWN;champion"}, "- - - -", 0, "influencer"),
        ({"hs_buying_role": "someone"}, "- - - -", 0, None),
    ],
)
def test_bant(props: dict[str, Any], letters: str, count: int, role: str | None) -> None:
    result = score(make_engine(bant=BANT), props)
    assert result.bant.letters == letters
    assert result.bant.count == count
    assert result.bant.committee_role == role
    assert result.as_dict()["bant"] == letters


def test_bant_missing_letters() -> None:
    result = score(make_engine(bant=BANT), {"crmbridge_budget": "approved"})
    assert result.bant.missing == ("authority", "need", "timeline")


def test_bant_without_a_mapping_qualifies_nothing() -> None:
    result = score(make_engine(), {"crmbridge_budget": "approved", "hs_buying_role": "CHAMPION"})
    assert result.bant.letters == "- - - -"
    assert result.bant.committee_role is None


# --- reasons ----------------------------------------------------------------------------


def reasons_engine(**scoring: Any) -> ScoringEngine:
    unsubscribe = {
        "name": "Unsubscribed",
        "event": "form_submit",
        "where": {"form": "unsubscribe"},
        "points": -30,
    }
    return make_engine(
        fit=[IT_DIRECTOR],
        engagement=[{**PRICING, "max_points": 45}, DOWNLOAD, unsubscribe],
        inactivity=INACTIVITY,
        **scoring,
    )


REASON_EVENTS = [
    *(ev("page_view", ago(d), url="/pricing") for d in (31, 32, 33, 34)),
    ev("content_download", ago(40), asset_type="guide"),
    ev("form_submit", ago(1), form="unsubscribe"),
]


def test_reasons_positives_first_negatives_last() -> None:
    result = score(reasons_engine(), DIRECTOR, REASON_EVENTS)
    assert result.total == 50 + 45 + 10 - 30 - 10
    assert result.reasons == (
        "+50 IT director at a 500+ employee company",
        "+45 Pricing page visit (4×, capped at 45)",
        "+10 Guide download",
        "-30 Unsubscribed",
        "-10 30 days inactive",
    )
    assert result.reasons_text.startswith("+50 IT director at a 500+ employee company; +45 ")


def test_reasons_shown_keeps_the_largest_then_orders_them() -> None:
    result = score(reasons_engine(reasons_shown=3), DIRECTOR, REASON_EVENTS)
    assert result.reasons == (
        "+50 IT director at a 500+ employee company",
        "+45 Pricing page visit (4×, capped at 45)",
        "-30 Unsubscribed",
    )


def test_notes_follow_the_reasons() -> None:
    props = {"jobtitle": "CIO", "numemployees": "n/a"}
    result = score(reasons_engine(), props, [ev("content_download", ago(1), asset_type="guide")])
    assert result.reasons == ("+10 Guide download", "numemployees 'n/a' is not a number")


def test_zero_point_contributions_are_not_reasons() -> None:
    engine = make_engine(
        groups={"content": {"max_points": 10}},
        engagement=[{**DOWNLOAD, "group": "content"}, {**PRICING, "group": "content"}],
    )
    events = [
        ev("content_download", ago(1), asset_type="guide"),
        ev("page_view", ago(1), url="/pricing"),
    ]
    assert score(engine, events=events).reasons == ("+10 Guide download",)


# --- version and determinism ------------------------------------------------------------


def test_model_version_is_stable_for_the_same_model() -> None:
    first = make_engine(fit=[IT_DIRECTOR], engagement=[PRICING], bant=BANT)
    second = make_engine(fit=[dict(IT_DIRECTOR)], engagement=[dict(PRICING)], bant=dict(BANT))
    assert first.version == second.version
    assert len(first.version) == 12
    int(first.version, 16)
    assert score(first).model_version == first.version


@pytest.mark.parametrize(
    "change",
    [
        {"engagement": [{**PRICING, "points": 16}]},
        {"engagement": [{**PRICING, "max_points": 45}]},
        {"fit": [IT_DIRECTOR, {"name": "Spain", "when": {"country": "ES"}, "points": 5}]},
        {"hot_threshold": 120},
        {"bant": {**BANT, "timeline": {"property": "t", "qualified": ["now"]}}},
    ],
)
def test_model_version_changes_with_the_model(change: dict[str, Any]) -> None:
    base: dict[str, Any] = {"fit": [IT_DIRECTOR], "engagement": [PRICING], "bant": BANT}
    assert make_engine(**{**base, **change}).version != make_engine(**base).version


def test_lifecycle_change_changes_model_version() -> None:
    scoring = ScoringModel.model_validate({"fit": [IT_DIRECTOR]})
    default = ScoringEngine(scoring, BantModel(), LifecycleModel())
    slower = ScoringEngine(scoring, BantModel(), LifecycleModel(reactivation_after_days=120))
    assert default.version != slower.version


def test_same_inputs_same_score() -> None:
    engine = reasons_engine()
    events = list(REASON_EVENTS)
    first = engine.score(contact(**DIRECTOR), events, NOW, previous_stage="lead")
    second = engine.score(contact(**DIRECTOR), list(events), NOW, previous_stage="lead")
    assert first == second
    assert first.as_dict() == second.as_dict()


def test_event_order_does_not_matter() -> None:
    engine = reasons_engine()
    events = list(REASON_EVENTS)
    expected = 50 + 45 + 10 - 30 - 10
    rng = random.Random(7)
    for _ in range(10):
        rng.shuffle(events)
        result = engine.score(contact(**DIRECTOR), iter(events), NOW)
        assert result.total == expected
        assert result.last_engagement_at == ago(31)


# --- golden: the seed's worked example with the bundled example model ------------------


@pytest.fixture
def example_engine(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScoringEngine]:
    for key in list(os.environ):
        if key.upper().startswith("CRMBRIDGE__"):
            monkeypatch.delenv(key)
    config = parse_config(example_config_text()).config
    yield ScoringEngine(config.scoring, config.bant, config.lifecycle)


def test_worked_example(example_engine: ScoringEngine) -> None:
    now = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    lead = Contact("lead-1", {"jobtitle": "Directora de IT", "numemployees": "600"}, crm="hubspot")
    day = timedelta(days=1)
    steps: list[list[Event]] = [
        [],
        [Event("content_download", now - 8 * day, {"asset_type": "guide"})],
        [Event("webinar_attended", now - 7 * day, {"watched_percent": 100})],
        [Event("email_open", now - d * day, {"campaign": "nurture-logistics"}) for d in (6, 4, 2)],
        [
            Event(
                "email_click",
                now - 2 * day + timedelta(minutes=5),
                {"url": "https://acme.es/case-study/acme", "campaign": "nurture-logistics"},
            )
        ],
    ]
    expected = [  # (total, engagement, hot, stage, transition)
        (50, 0, False, "lead", "entered"),
        (60, 10, False, "mql", "advanced"),
        (85, 35, False, "mql", "unchanged"),
        (85, 35, False, "mql", "unchanged"),
        (105, 55, True, "mql", "unchanged"),
    ]
    events: list[Event] = []
    previous: str | None = None
    results = []
    for new_events, (total, engagement, hot, stage, transition) in zip(
        steps, expected, strict=True
    ):
        events.extend(new_events)
        result = example_engine.score(lead, events, now, previous_stage=previous)
        assert (result.total, result.fit, result.engagement, result.inactivity) == (
            total,
            50,
            engagement,
            0,
        )
        assert result.hot is hot
        assert (result.stage.stage, result.stage.transition) == (stage, transition)
        assert result.grade == "A"
        assert result.bant.letters == "- - - -"
        assert result.notes == ()
        previous = result.stage.stage
        results.append(result)

    final = results[-1]
    assert RANK[final.stage.stage] >= RANK["mql"]
    assert final.reasons == (
        "+50 IT director at a company of more than 500 employees",
        "+25 Webinar watched to the end",
        "+20 Case-study click in a nurture email",
        "+10 Case-study or guide download",
    )
    assert final.last_engagement_at == now - 2 * day + timedelta(minutes=5)
    assert final.as_dict()["total"] == 105
    # The same journey scored fresh (no previous stage) lands on the same numbers.
    fresh = example_engine.score(lead, events, now)
    assert (fresh.total, fresh.hot, fresh.stage.stage) == (105, True, "mql")


def test_worked_example_goes_quiet(example_engine: ScoringEngine) -> None:
    """Forty days after the last click the same lead has lost one inactivity period."""
    click_at = datetime(2026, 3, 8, 12, 5, tzinfo=UTC)
    lead = Contact("lead-1", {"jobtitle": "Directora de IT", "numemployees": "600"})
    events = [
        Event("content_download", click_at - timedelta(days=6), {"asset_type": "guide"}),
        Event("webinar_attended", click_at - timedelta(days=5), {"watched_percent": 100}),
        Event("email_click", click_at, {"url": "/case-study/acme", "campaign": "nurture-x"}),
    ]
    result = example_engine.score(lead, events, click_at + timedelta(days=40))
    assert (result.total, result.inactivity, result.hot) == (95, -10, False)


def test_example_model_counts_a_sales_email_reply_as_engagement(
    example_engine: ScoringEngine,
) -> None:
    now = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    lead = Contact("lead-1", {"jobtitle": "Jefe de Operaciones"}, crm="hubspot")
    replies = [
        Event("email_reply", now - timedelta(days=d), {"source": "sales_email"}) for d in (1, 5, 9)
    ]
    result = example_engine.score(lead, replies, now)
    # 20 points a reply, capped at 40; "cio" is a whole word in the example: no fit points.
    assert (result.fit, result.engagement) == (0, 40)
    assert result.reasons == ("+40 Reply to a sales email (3×, capped at 40)",)
