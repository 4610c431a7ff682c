"""Property tests of the scoring engine over random models, contacts and events."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmbridge.scoring import (
    BantModel,
    Contact,
    EngagementRule,
    Event,
    LifecycleModel,
    ScoringEngine,
    ScoringModel,
)
from crmbridge.scoring.lifecycle import EXPLICIT, RANK, TRANSITIONS, StageMachine, StageSignals
from crmbridge.scoring.model import STAGES

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)

PROPERTIES = settings(
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

EVENT_TYPES = ("page_view", "content_download", "webinar_attended", "email_click", "form_submit")
KINDS = ("a", "b")
GROUPS = ("g1", "g2")

halves = st.integers(min_value=2, max_value=200).map(lambda n: n / 2)  # 1.0, 1.5, ... 100.0
points = st.one_of(
    st.integers(min_value=-30, max_value=60),
    st.integers(min_value=-60, max_value=120).map(lambda n: n / 2),
    st.floats(min_value=-30, max_value=60, allow_nan=False, allow_infinity=False),
).filter(lambda p: p != 0)


@st.composite
def engagement_rules(draw: st.DrawFn, index: int) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "name": f"rule {index}",
        "event": draw(
            st.one_of(
                st.sampled_from(EVENT_TYPES),
                st.lists(st.sampled_from(EVENT_TYPES), min_size=1, max_size=3, unique=True),
            )
        ),
        "points": draw(st.one_of(points.filter(lambda p: p > 0), points)),  # mostly positive
    }
    kind = draw(st.sampled_from((None, *KINDS)))
    if kind is not None:
        rule["where"] = {"kind": kind}
    if draw(st.booleans()):
        rule["max_points"] = draw(halves)
    if draw(st.booleans()):
        rule["group"] = draw(st.sampled_from(GROUPS))
    if draw(st.booleans()):
        rule["window_days"] = draw(st.sampled_from((1, 7, 30, 90.5)))
    if draw(st.booleans()):
        rule["half_life_days"] = draw(st.sampled_from((1, 3.5, 10, 30)))
    return rule


FIT_RULES = [
    {"name": "director", "when": {"jobtitle": {"contains_any": ["director", "cio"]}}},
    {"name": "big", "when": {"numemployees": {"gt": 500}}},
    {"name": "spain", "when": {"country": "ES"}},
    {"name": "small", "when": {"numemployees": {"lte": 50}, "country": ["ES", "PT"]}},
]


@st.composite
def models(draw: st.DrawFn, inactivity: bool | None = None) -> ScoringModel:
    fit = [
        {**rule, "points": draw(points)}
        for rule in draw(st.lists(st.sampled_from(FIT_RULES), max_size=4, unique_by=str))
    ]
    engagement = [draw(engagement_rules(i)) for i in range(draw(st.integers(1, 5)))]
    mql = draw(st.integers(min_value=10, max_value=80))
    data: dict[str, Any] = {
        "mql_threshold": mql,
        "hot_threshold": mql + draw(st.integers(min_value=0, max_value=60)),
        "groups": {g: {"max_points": draw(halves)} for g in GROUPS},
        "fit": fit,
        "engagement": engagement,
    }
    if inactivity or (inactivity is None and draw(st.booleans())):
        data["inactivity"] = {
            "after_days": draw(st.integers(min_value=1, max_value=60)),
            "points": draw(st.sampled_from((-1, -2.5, -10, -25))),
            "floor": draw(st.sampled_from((-20, 0, 0.5, 15, 40))),
        }
    return ScoringModel.model_validate(data)


BANT = BantModel.model_validate(
    {
        "budget": {"property": "budget", "qualified": ["approved"]},
        "authority": {"property": "role", "qualified": ["DECISION_MAKER"]},
        "need": {"property": "need", "qualified": {"exists": True}},
        "timeline": {"property": "timeline", "qualified": ["this_quarter"]},
    }
)

contacts = st.fixed_dictionaries(
    {},
    optional={
        "jobtitle": st.sampled_from(["Director de IT", "CIO", "Analista", "", "DIRECTORA"]),
        "numemployees": st.sampled_from(["45", "600", "1.000", "500+", "n/a", "", 50, 2500]),
        "country": st.sampled_from(["ES", "pt", "FR"]),
        "lifecyclestage": st.sampled_from(["lead", "opportunity", "customer"]),
        "budget": st.just("approved"),
        "role": st.just("DECISION_MAKER"),
        "need": st.sampled_from(["routes", ""]),
        "timeline": st.sampled_from(["this_quarter", "next_year"]),
    },
).map(lambda props: Contact("c-1", props))

offsets = st.integers(min_value=-2 * 1440, max_value=400 * 1440)  # minutes before NOW


@st.composite
def events(draw: st.DrawFn) -> Event:
    kind = draw(st.sampled_from((*EVENT_TYPES, "sales_feedback", "tiktok_like")))
    props: dict[str, Any] = {}
    if kind == "sales_feedback":
        props["status"] = draw(st.sampled_from(["not_qualified", "bad_timing", "ready"]))
    else:
        value = draw(st.sampled_from((None, *KINDS)))
        if value is not None:
            props["kind"] = value
    return Event(kind, NOW - timedelta(minutes=draw(offsets)), props)


event_lists = st.lists(events(), max_size=15)
previous_stages = st.sampled_from((None, "junk", *STAGES))


def engine_for(model: ScoringModel) -> ScoringEngine:
    return ScoringEngine(model, BANT, LifecycleModel())


@PROPERTIES
@given(models(), contacts, event_lists, previous_stages)
def test_same_inputs_same_score(
    model: ScoringModel, contact: Contact, evs: list[Event], previous: str | None
) -> None:
    first = engine_for(model).score(contact, evs, NOW, previous)
    rebuilt = ScoringModel.model_validate(model.model_dump(by_alias=True))
    second = engine_for(rebuilt).score(contact, list(evs), NOW, previous)
    assert first == second
    assert first.total == first.fit + first.engagement + first.inactivity
    assert first.total == sum(c.points for c in first.contributions)


def rules_matching(model: ScoringModel, event: Event) -> list[EngagementRule]:
    """Which rules count this event, worked out from the rule text (not by the engine)."""
    return [
        rule
        for rule in model.engagement
        if event.type in rule.event_types
        and all(event.properties.get(name) == cond.eq for name, cond in rule.where.items())
    ]


@PROPERTIES
@given(models(inactivity=True), contacts, event_lists, st.data())
def test_adding_a_positive_event_never_lowers_the_total(
    model: ScoringModel, contact: Contact, evs: list[Event], data: st.DataObject
) -> None:
    positive = [rule for rule in model.engagement if rule.points > 0]
    if not positive:
        return
    rule = data.draw(st.sampled_from(positive))
    kind = rule.where["kind"].eq if rule.where else data.draw(st.sampled_from((None, *KINDS)))
    extra = Event(
        data.draw(st.sampled_from(rule.event_types)),
        NOW - timedelta(minutes=data.draw(offsets)),
        {} if kind is None else {"kind": kind},
    )
    matched = rules_matching(model, extra)
    assert rule in matched
    if any(other.points < 0 for other in matched):
        return  # the same event also feeds a negative rule: not this property
    engine = engine_for(model)
    before = engine.score(contact, evs, NOW)
    after = engine.score(contact, [*evs, extra], NOW)
    assert after.total >= before.total
    assert after.engagement >= before.engagement


@PROPERTIES
@given(models(), contacts, event_lists)
def test_rule_and_group_caps_are_never_exceeded(
    model: ScoringModel, contact: Contact, evs: list[Event]
) -> None:
    result = engine_for(model).score(contact, evs, NOW)
    rules = {rule.name: rule for rule in model.engagement}
    group_totals: dict[str, int] = defaultdict(int)
    for contribution in result.contributions:
        if contribution.kind != "engagement":
            continue
        rule = rules[contribution.rule]
        assert contribution.events > 0
        assert contribution.group == rule.group
        if rule.max_points is not None:
            assert abs(contribution.points) <= rule.max_points
        if rule.group is not None and contribution.points > 0:
            group_totals[rule.group] += contribution.points
    for group, total in group_totals.items():
        assert total <= model.groups[group].max_points
    if model.inactivity is not None and result.inactivity < 0:
        assert result.total >= model.inactivity.floor


def assert_forward_only(previous: str | None, stage: str, transition: str) -> None:
    assert stage in STAGES
    assert transition in TRANSITIONS
    if previous in RANK:
        if stage in RANK:
            assert RANK[stage] >= RANK[previous] or transition in EXPLICIT
        else:
            assert transition in EXPLICIT  # leaving the ladder is always a named transition
    if previous in ("opportunity", "customer"):
        assert stage in ("opportunity", "customer")
        assert RANK[stage] >= RANK[previous]
    if previous in STAGES and stage != previous:
        assert transition not in ("unchanged", "held")


@PROPERTIES
@given(models(), contacts, event_lists, previous_stages)
def test_engine_stage_never_moves_back_without_a_named_transition(
    model: ScoringModel, contact: Contact, evs: list[Event], previous: str | None
) -> None:
    decision = engine_for(model).score(contact, evs, NOW, previous).stage
    assert_forward_only(previous, decision.stage, decision.transition)


MACHINE = StageMachine(LifecycleModel())

signals = st.builds(
    StageSignals,
    target=st.sampled_from(tuple(RANK)),
    inactive_days=st.one_of(st.none(), st.floats(min_value=0, max_value=400)),
    feedback_status=st.sampled_from((None, "not_qualified", "bad_timing", "no_budget", "ready")),
    engaged_after_feedback=st.booleans(),
)


@PROPERTIES
@given(previous_stages, signals)
def test_machine_stage_never_moves_back_without_a_named_transition(
    previous: str | None, signal: StageSignals
) -> None:
    decision = MACHINE.decide(previous, signal)
    assert_forward_only(previous, decision.stage, decision.transition)
    if decision.transition == "entered":
        assert decision.stage == signal.target
