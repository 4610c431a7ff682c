"""The hand-off end to end, the same tests on HubSpot and on Salesforce.

Each test runs the daemon's cycle (read → score → plan → outbox → write) through the
real connector against the CRM's sandbox, over a SQLite store, and checks what the CRM
holds afterwards (owners, tasks, the paused flag, cadences or sequences, list or
campaign members) and what crmbridge recorded (assignments, SLA clocks). The ``crm``
fixture (:mod:`.crm_worlds`) is the only place where the two CRMs differ.

- a hot lead gets an owner and exactly one task; round robin over available owners,
  across a restart;
- a reply flags the lead paused and tasks its owner once (on Salesforce its cadence is
  paused too);
- an SLA breach makes one task for the manager; the owner's logged contact stops it;
- a lead quiet for 90 days is enrolled in the reactivation sequence, 30 days more and
  it is archived into the quarterly-contact list, once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

import pytest

from crmbridge_salesforce.sandbox.tls import Certificates, make_certificates

from .crm_worlds import ASSIGN, CrmWorld, hubspot_world, real_now, salesforce_world

SLA = (
    ASSIGN
    + """
[sla]
enabled = true

[sla.stages]
mql = { within = "4h" }
"""
)
REPLIES = """
[replies]
enabled = true
task_subject = "{name} replied — take over"
due_in = "1h"
"""

WorldOf = Callable[[str], CrmWorld]


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("sf-certs"))


@pytest.fixture(params=["hubspot", "salesforce"])
def crm(
    request: pytest.FixtureRequest, tmp_path: Path, certificates: Certificates
) -> Iterator[WorldOf]:
    """A factory of started worlds of one CRM: ``crm(handoff_toml)``."""
    with ExitStack() as stack:

        def start(handoff: str) -> CrmWorld:
            if request.param == "hubspot":
                made = stack.enter_context(hubspot_world(tmp_path))
            else:
                made = stack.enter_context(salesforce_world(tmp_path, certificates))
            made.configure(handoff)  # type: ignore[attr-defined]
            made.start()  # type: ignore[attr-defined]
            return made

        yield start


def test_a_hot_lead_gets_an_owner_and_exactly_one_task(crm: WorldOf) -> None:
    w = crm(ASSIGN)
    hot = w.lead("Hortensia")
    cold = w.lead("Claudio", cio=False)
    now = real_now()
    actions = [w.cycle(now + timedelta(minutes=m)).actions for m in (0, 5, 10, 15)]
    assert actions == [1, 0, 0, 0]  # the task, in the first cycle only
    assert w.owner_of(hot) == w.owners["ana"]
    assert w.owner_of(cold) is None and w.tasks_of(cold) == []
    (task,) = w.tasks_of(hot)
    assert task.subject == "Hot lead: Hortensia Test (score 50)"
    assert (task.priority, task.owner) == ("HIGH", w.owners["ana"])
    assert task.due == (now + timedelta(hours=4)).date()
    assert "Score 50" in task.body and "+50 CIO of the company" in task.body
    assert [(a.owner_id, a.strategy) for a in w.assignments()] == [  # type: ignore[attr-defined]
        (w.owners["ana"], "round_robin")
    ]


def test_round_robin_spreads_ten_hot_leads_over_two_available_owners(crm: WorldOf) -> None:
    w = crm(ASSIGN)
    now = real_now()
    first = [w.lead(f"First{i}") for i in range(5)]
    w.cycle(now)
    second = [w.lead(f"Second{i}") for i in range(5)]
    # A restarted daemon: a new pipeline, the rotation comes back from the store.
    w.cycle(now + timedelta(minutes=5), restarted=True)
    owners = Counter(w.owner_of(crm_id) for crm_id in first + second)
    assert owners == {w.owners["ana"]: 5, w.owners["carla"]: 5}
    assert all(len(w.tasks_of(crm_id)) == 1 for crm_id in first + second)


def test_a_reply_flags_the_lead_paused_and_tasks_its_owner_once(crm: WorldOf) -> None:
    w = crm(ASSIGN + REPLIES)
    lead = w.lead("Renata")
    quiet = w.lead("Quintín")
    now = real_now()
    w.cycle(now)
    owner = w.owner_of(lead)
    assert owner is not None and w.paused(lead) in (None, "false")

    w.reply(lead, now + timedelta(minutes=1))
    for minutes in (5, 10, 15):
        w.cycle(now + timedelta(minutes=minutes))
    assert w.paused(lead) == "true"
    replies = [t for t in w.tasks_of(lead) if t.subject == "Renata Test replied — take over"]
    assert len(replies) == 1 and replies[0].owner == owner
    assert "Renata Test replied to a sales email" in replies[0].body
    assert w.paused(quiet) in (None, "false")
    assert [t.subject for t in w.tasks_of(quiet)] == ["Hot lead: Quintín Test (score 50)"]


def test_on_salesforce_a_reply_pauses_the_cadence_the_lead_is_in(crm: WorldOf) -> None:
    w = crm(ASSIGN + REPLIES)
    if w.crm != "salesforce":
        pytest.skip("HubSpot's API cannot pause a sequence (HubSpot ends it itself)")
    cadence = w.new_sequence("Outreach")
    lead = w.lead("Paola")
    now = real_now()
    w.cycle(now)
    server = w.server  # type: ignore[attr-defined]
    server.admin.create(
        "ActionCadenceTracker",
        {"ActionCadenceId": cadence, "TargetId": lead, "State": "Running",
         "OwnerId": w.owner_of(lead)},
    )  # fmt: skip
    w.reply(lead, now + timedelta(minutes=1))
    w.cycle(now + timedelta(minutes=5))
    with server.state.lock:
        states = [t["State"] for t in server.state.records["ActionCadenceTracker"].values()]
    assert states == ["Paused"]


def test_an_sla_breach_makes_one_task_for_the_manager(crm: WorldOf) -> None:
    w = crm(SLA)
    lead = w.lead("Benito")
    now = real_now()
    w.cycle(now)
    (clock,) = w.clocks()  # type: ignore[attr-defined]
    assert (clock.stage, clock.owner_id, clock.breached_at) == ("mql", w.owners["ana"], None)
    late = now + timedelta(days=10)
    for hours in (0, 1, 2):
        w.cycle(late + timedelta(hours=hours))
    breach = [t for t in w.tasks_of(lead) if t.subject.startswith("SLA")]
    assert len(breach) == 1
    assert breach[0].owner == w.owners["marta"]
    (clock,) = w.clocks()  # type: ignore[attr-defined]
    assert clock.breached_at == late and clock.escalated_at == late
    assert clock.contacted_at is None


def test_the_owners_logged_contact_stops_the_clock(crm: WorldOf) -> None:
    w = crm(SLA)
    lead = w.lead("Carmen")
    now = real_now()
    w.cycle(now)
    called = now + timedelta(minutes=30)
    w.owner_contacted(lead, called)
    w.cycle(now + timedelta(hours=1))
    for days in (10, 11):
        w.cycle(now + timedelta(days=days))
    (clock,) = w.clocks()  # type: ignore[attr-defined]
    assert clock.contacted_at == called and clock.breached_at is None
    assert [t.subject for t in w.tasks_of(lead)] == ["Hot lead: Carmen Test (score 50)"]


def test_quiet_for_90_days_is_reactivated_then_archived_into_the_list_once(
    crm: WorldOf,
) -> None:
    # The sequence is sent by the lead's owner: assignment gives it one.
    w = crm(ASSIGN)
    sequence = w.new_sequence("Reactivation 90 days")
    quarterly = w.new_list("Quarterly contact")
    w.configure(  # type: ignore[attr-defined]
        ASSIGN + f'\n[reactivation]\nsequence_id = "{sequence}"\narchive_list_id = "{quarterly}"\n'
    )
    w.start()  # type: ignore[attr-defined]
    lead = w.lead("Quieta")
    now = real_now()
    w.cycle(now)
    engaged = now - timedelta(days=1)
    w.engage(lead, engaged)  # type: ignore[attr-defined]
    assert w.cycle(now + timedelta(minutes=1)).scored == 1
    assert w.enrolled(lead) == [] and w.members(quarterly) == set()

    quiet = engaged + timedelta(days=90, hours=1)
    w.cycle(quiet)
    w.cycle(quiet + timedelta(days=1))
    assert w.enrolled(lead) == [sequence]

    archived = engaged + timedelta(days=120, hours=1)
    for days in (0, 1, 40):
        w.cycle(archived + timedelta(days=days))
    assert w.members(quarterly) == {lead}
    assert w.enrolled(lead) == [sequence], "enrolled once"
