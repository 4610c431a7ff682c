"""Assignment on hand-built leads: who gets a hot lead, and who never loses one."""

from __future__ import annotations

from collections import Counter

from crmbridge.handoff.assignment import AssignmentStep, weighted_cycle
from crmbridge.handoff.lead import HandoffPlan, OwnerPool
from crmbridge.handoff.settings import AssignmentSettings

from .helpers import NOW, config, lead, pool

OWNERS = pool("11", "12", "13", "14", "15")


def settings(text: str = "") -> AssignmentSettings:
    return config(f"[assignment]\nenabled = true\n{text}").assignment


def assign_many(step: AssignmentStep, count: int, **options: object) -> list[str]:
    """Assign ``count`` new hot leads; the owner each got."""
    given = []
    for index in range(count):
        one = lead(str(1000 + index), **options)  # type: ignore[arg-type]
        plan = HandoffPlan()
        step.plan(one, plan)
        given.append(plan.properties["hubspot_owner_id"])
        assert one.state["owner_id"] == given[-1]
        assert plan.assignments == [
            {"owner_id": given[-1], "strategy": plan.assignments[0]["strategy"]}
        ]
    return given


def test_round_robin_skips_unavailable_and_inactive_owners() -> None:
    step = AssignmentStep(
        settings(
            """
owners = [{ id = "11" }, { id = "12", available = false }, { id = "13" }, { id = "14" }]
"""
        ),
        pool("11", "12", "13", "14", inactive=["14"]),
    )
    assert assign_many(step, 6) == ["11", "13", "11", "13", "11", "13"]


def test_the_rotation_resumes_from_the_stored_count() -> None:
    text = 'owners = [{ id = "11" }, { id = "12" }, { id = "13" }]'
    first = AssignmentStep(settings(text), OWNERS)
    assert assign_many(first, 2) == ["11", "12"]
    # The next cycle's planner (or another replica's) reads the two stored rows.
    again = AssignmentStep(settings(text), OwnerPool(OWNERS.owners, {"round_robin": 2}))
    assert assign_many(again, 2) == ["13", "11"]


def test_weighted_is_proportional_and_spread() -> None:
    assert weighted_cycle([("a", 3), ("b", 1)]) == ["a", "a", "b", "a"]
    assert weighted_cycle([("a", 200), ("b", 100)]) == ["a", "b", "a"]
    step = AssignmentStep(
        settings(
            """
strategy = "weighted"
owners = [{ id = "11", weight = 3 }, { id = "12", weight = 2 }, { id = "13" }]
"""
        ),
        OWNERS,
    )
    given = assign_many(step, 60)
    assert Counter(given) == {"11": 30, "12": 20, "13": 10}
    # Never three in a row for anyone: the turns are interleaved.
    assert all(len(set(given[i : i + 3])) > 1 for i in range(58))


def test_territory_first_then_the_pool() -> None:
    step = AssignmentStep(
        settings(
            """
owners = [{ id = "11" }, { id = "12" }]

[[assignment.territories]]
name = "Iberia"
when = { country = ["Spain", "Portugal"] }
owners = ["14", "15"]
"""
        ),
        OWNERS,
    )
    spain = assign_many(step, 3, properties={"country": "Spain"})
    france = assign_many(step, 2, properties={"country": "France"})
    assert (spain, france) == (["14", "15", "14"], ["11", "12"])


def test_a_territory_with_nobody_available_falls_back_to_the_pool() -> None:
    step = AssignmentStep(
        settings(
            """
owners = [{ id = "11" }, { id = "15", available = false }]

[[assignment.territories]]
name = "Iberia"
when = { country = "Spain" }
owners = ["15"]
"""
        ),
        OWNERS,
    )
    plan = HandoffPlan()
    step.plan(lead(properties={"country": "Spain"}), plan)
    assert plan.properties == {"hubspot_owner_id": "11"}
    assert any("Iberia" in note for note in plan.notes)


def test_the_account_owner_comes_first_when_available() -> None:
    text = 'account_owner_property = "company_owner"\nowners = [{ id = "11" }]'
    step = AssignmentStep(settings(text), OWNERS)
    plan = HandoffPlan()
    step.plan(lead(properties={"company_owner": "13"}), plan)
    assert plan.assignments == [{"owner_id": "13", "strategy": "account_owner"}]
    # An account owner who left the company (inactive) does not get it.
    step = AssignmentStep(settings(text), pool("11", "13", inactive=["13"]))
    plan = HandoffPlan()
    step.plan(lead(properties={"company_owner": "13"}), plan)
    assert plan.properties == {"hubspot_owner_id": "11"}


def test_an_existing_owner_is_kept_and_a_given_one_never_changes() -> None:
    step = AssignmentStep(settings(), OWNERS)
    plan = HandoffPlan()
    step.plan(lead(properties={"hubspot_owner_id": "99"}), plan)
    assert plan.properties == {} and plan.assignments == []

    replace = AssignmentStep(settings("keep_existing_owner = false"), OWNERS)
    owned = lead(properties={"hubspot_owner_id": "99"})
    plan = HandoffPlan()
    replace.plan(owned, plan)
    assert plan.properties == {"hubspot_owner_id": "11"}
    # Later cycles: crmbridge's own choice stands.
    for _ in range(3):
        plan = HandoffPlan()
        replace.plan(owned, plan)
        assert plan.properties == {} and plan.assignments == []


def test_only_hot_leads_or_sql_when_configured() -> None:
    step = AssignmentStep(settings(), OWNERS)
    plan = HandoffPlan()
    step.plan(lead(hot=False, stage="sql"), plan)
    assert plan.assignments == []
    on_sql = AssignmentStep(settings('on = "sql"'), OWNERS)
    for hot, stage, wanted in ((True, "mql", 0), (False, "sql", 1)):
        plan = HandoffPlan()
        on_sql.plan(lead(hot=hot, stage=stage), plan)
        assert len(plan.assignments) == wanted


def test_an_empty_pool_waits_and_asks_for_the_next_cycle() -> None:
    step = AssignmentStep(settings(), OwnerPool())
    one = lead()
    plan = HandoffPlan()
    step.plan(one, plan)
    assert plan.properties == {} and plan.assignments == []
    assert "no owner available" in plan.notes[0]
    assert one.state["recheck_at"] == NOW.isoformat()


def test_every_active_crm_owner_when_no_pool_is_configured() -> None:
    step = AssignmentStep(settings(), pool("21", "22", "23", inactive=["22"]))
    assert assign_many(step, 4) == ["21", "23", "21", "23"]


def test_sla_reassignment_takes_the_next_available_owner() -> None:
    step = AssignmentStep(
        settings('owners = [{ id = "11" }, { id = "12", available = false }, { id = "13" }]'),
        OWNERS,
    )
    one = lead(state={"owner_id": "13"})
    plan = HandoffPlan()
    assert step.reassign(one, plan, "13") == "11"
    assert plan.assignments == [{"owner_id": "11", "strategy": "sla_reassign"}]
    assert one.state["owner_id"] == "11"


def test_an_owner_listed_as_unowned_counts_as_none() -> None:
    queue15, queue18 = "00G5g000001AbCd", "00G5g000001AbCdEAK"
    step = AssignmentStep(settings(f'unowned = ["{queue15}", "005INTEGRATION"]'), OWNERS)

    for held in (queue18, queue15, "005INTEGRATION"):
        plan = HandoffPlan()
        step.plan(lead(properties={"hubspot_owner_id": held}), plan)
        assert plan.properties["hubspot_owner_id"] in {"11", "12", "13", "14", "15"}

    plan = HandoffPlan()
    step.plan(lead(properties={"hubspot_owner_id": "00G5g000001ZzZzEAK"}), plan)
    assert plan.properties == {}, "another queue is an owner: kept"
