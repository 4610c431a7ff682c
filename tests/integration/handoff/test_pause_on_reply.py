"""The issue's headline: a replied lead's sequence is paused within one cycle, in 100% of
the generated cases (every combination below once; 200 cases with ``--long``).

Each case is a lead enrolled in a sequence (by crmbridge's own pricing trigger, or by a
rep in HubSpot, with or without an owner) who then replies — once or several times,
before or after the enrollment instant or exactly on a cycle boundary — with the reply
reaching crmbridge by the poll alone, by a signed HubSpot webhook, or by ``POST
/v1/events``. After ONE cycle every lead has ``crmbridge_sequence_paused = true`` in
HubSpot, exactly one "replied — take over" task, and no active enrollment; a later
pricing visit that enrolls unreplied leads never re-enrolls a replied one.
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from crmbridge_hubspot.sandbox.server import SandboxServer
from crmbridge_hubspot.sandbox.state import SandboxState

from .harness import (
    DEMO_SEQUENCE,
    OWNERS,
    PAUSED,
    REP_SEQUENCE,
    Bridge,
    LeadSpec,
    add_leads,
    bridge_over,
    enrollments,
    event,
    make_sandbox,
    pricing_visits,
    prop,
    reply,
    reply_notification,
    reply_tasks,
)

#: Cases with ``--long`` (every combination once, then random ones); without it, the
#: combinations alone.
LONG_CASES, CONTROLS, SEED = 200, 20, 20261126
CHANNELS = ("poll", "webhook", "event_api")
#: When the (last) reply happened, relative to the enrollment and the cycles' instants.
TIMINGS = ("before_enrollment", "after_enrollment", "at_previous_cycle", "at_cycle", "after_cycle")
#: Who enrolled the lead, and whether it has an owner.
ENROLLED_BY = ("trigger", "rep", "rep_no_owner")
REPLY_COUNTS = (1, 2, 3)
CYCLE_GAP = timedelta(minutes=10)
#: Every combination of channel, timing, enrolment and replies once.
GRID = list(itertools.product(CHANNELS, TIMINGS, ENROLLED_BY, REPLY_COUNTS))


@dataclass(frozen=True)
class Case:
    """One generated lead and how it replies."""

    index: int
    channel: str
    timing: str
    enrolled_by: str
    replies: int

    @property
    def spec(self) -> LeadSpec:
        owner = None if self.enrolled_by == "rep_no_owner" else OWNERS[self.index % 3][0]
        return LeadSpec(self.index, owner=owner)


def generate(rng: random.Random, count: int) -> list[Case]:
    """Every combination once, then random ones up to ``count`` cases."""
    chosen = GRID + [rng.choice(GRID) for _ in range(count - len(GRID))]
    rng.shuffle(chosen)
    return [Case(i, *combo) for i, combo in enumerate(chosen)]


def reply_instants(case: Case, rng: random.Random, t0: datetime, t1: datetime) -> list[datetime]:
    """The case's reply instants, oldest first; the last one sets the timing."""
    last = {
        "before_enrollment": t0 - timedelta(hours=rng.uniform(1, 48)),
        "after_enrollment": t0 + timedelta(seconds=rng.uniform(1, CYCLE_GAP.total_seconds() - 1)),
        "at_previous_cycle": t0,
        "at_cycle": t1,
        "after_cycle": t1 + timedelta(milliseconds=1),
    }[case.timing]
    last = last.replace(microsecond=last.microsecond // 1000 * 1000)
    earlier = [
        last - timedelta(minutes=rng.randint(2, 90) * n) for n in range(case.replies - 1, 0, -1)
    ]
    return [*earlier, last]


@dataclass
class World:
    """The sandbox, crmbridge and the generated cases after the replying cycle."""

    state: SandboxState
    bridge: Bridge
    cases: list[Case]
    ids: dict[int, str]
    controls: list[str]
    t1: datetime
    enrolled_before_replies: Counter[tuple[str, str]]


def case_count(request: pytest.FixtureRequest) -> int:
    """How many cases this run generates."""
    return LONG_CASES if request.config.getoption("--long") else len(GRID)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> World:
    rng = random.Random(SEED)
    cases = generate(rng, case_count(request))
    # In the past, so that no event is "from the future" for the event API's clock.
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    t1 = t0 + CYCLE_GAP
    server: SandboxServer = make_sandbox().start()
    folder = tmp_path_factory.mktemp("pause-on-reply")
    state = server.state
    specs = [case.spec for case in cases]
    control_specs = [LeadSpec(LONG_CASES + i, owner=OWNERS[i % 3][0]) for i in range(CONTROLS)]
    created = t0 - timedelta(days=7)
    ids = dict(zip((c.index for c in cases), add_leads(state, specs, created), strict=True))
    controls = add_leads(state, control_specs, created)
    with bridge_over(server, folder) as bridge:
        # Cycle 0: crmbridge's trigger enrolls its cohort; reps enrolled the others.
        triggered = [ids[c.index] for c in cases if c.enrolled_by == "trigger"]
        bridge.post_events([e for crm_id in triggered for e in pricing_visits(crm_id, t0)])
        for case in cases:
            if case.enrolled_by != "trigger":
                _, email, _, _, user_id = OWNERS[2]
                state.enroll(ids[case.index], REP_SEQUENCE, email, user_id)
        bridge.cycle(t0)
        before = enrollments(state)
        for crm_id in triggered:
            assert before[(crm_id, DEMO_SEQUENCE)] == 1, "the pricing trigger enrolls its cohort"
            assert state.active_enrollment(crm_id) is not None
        # The replies, by their channels; then ONE cycle.
        _deliver_replies(bridge, state, cases, ids, rng, t0, t1)
        bridge.cycle(t1)
        yield World(state, bridge, cases, ids, controls, t1, before)
    server.stop()


def _deliver_replies(
    bridge: Bridge,
    state: SandboxState,
    cases: list[Case],
    ids: dict[int, str],
    rng: random.Random,
    t0: datetime,
    t1: datetime,
) -> None:
    notifications, api_events = [], []
    for case in cases:
        crm_id = ids[case.index]
        for n, at in enumerate(reply_instants(case, rng, t0, t1)):
            reply(state, crm_id, at)
            if case.channel == "webhook":
                notifications.append(reply_notification(len(notifications) + 1, crm_id, at))
            elif case.channel == "event_api":
                # An email tool's own event of the same reply: its own id, same instant.
                api_events.append(
                    event(
                        "email_reply",
                        crm_id,
                        at,
                        {"source": "mail_tool"},
                        event_id=f"mt:{crm_id}:{n}",
                    )
                )
    for start in range(0, len(notifications), 100):  # HubSpot sends at most 100 at once
        bridge.post_webhook(notifications[start : start + 100])
    bridge.post_events(api_events)


def test_every_case_of_the_grid_is_generated(world: World, request: pytest.FixtureRequest) -> None:
    combos = {(c.channel, c.timing, c.enrolled_by, c.replies) for c in world.cases}
    assert len(world.cases) == case_count(request)
    assert len(combos) == len(CHANNELS) * len(TIMINGS) * len(ENROLLED_BY) * len(REPLY_COUNTS)


def test_every_replied_lead_is_paused_within_one_cycle(world: World) -> None:
    state = world.state
    paused = [c for c in world.cases if prop(state, world.ids[c.index], PAUSED) == "true"]
    one_task = [c for c in world.cases if len(reply_tasks(state, world.ids[c.index])) == 1]
    unenrolled = [c for c in world.cases if state.active_enrollment(world.ids[c.index]) is None]
    cases = len(world.cases)
    print(f"paused within one cycle: {len(paused)}/{cases}; one task: {len(one_task)}/{cases}")
    assert len(paused) == cases
    assert len(one_task) == cases
    assert len(unenrolled) == cases


def test_the_task_goes_to_the_owner_and_says_hubspot_cannot_pause(world: World) -> None:
    for case in world.cases:
        (task,) = reply_tasks(world.state, world.ids[case.index])
        assert task.properties.get("hubspot_owner_id") == case.spec.owner
        assert task.properties["hs_task_priority"] == "HIGH"
        body = task.properties["hs_task_body"]
        assert "HubSpot's API cannot pause or unenroll" in body
        assert f"Lead{case.index} Example replied to a sales email" in body
    # Leads that did not reply get no such task.
    assert not any(reply_tasks(world.state, crm_id) for crm_id in world.controls)


def test_a_later_trigger_never_re_enrolls_a_replied_lead(world: World) -> None:
    state, bridge = world.state, world.bridge
    later = world.t1 + timedelta(minutes=5)
    replied = [world.ids[c.index] for c in world.cases]
    bridge.post_events(
        [e for crm_id in [*replied, *world.controls] for e in pricing_visits(crm_id, later)]
    )
    before = enrollments(state)
    bridge.cycle(later + timedelta(minutes=5))
    bridge.cycle(later + timedelta(minutes=10))
    after = enrollments(state)
    # The same visits enroll every unreplied control lead once: the trigger did fire.
    assert all(after[(crm_id, DEMO_SEQUENCE)] == 1 for crm_id in world.controls)
    new = {key: n for key, n in (after - before).items() if key[0] in set(replied)}
    assert new == {}
    assert all(state.active_enrollment(crm_id) is None for crm_id in replied)
    assert all(len(reply_tasks(state, crm_id)) == 1 for crm_id in replied)
    assert bridge.outbox_depth().get("dead", 0) == 0
