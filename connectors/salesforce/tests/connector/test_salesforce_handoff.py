"""The hand-off on the sandbox org through simple-salesforce: owners, the lead's
assignment (``OwnerId``, assignment rules kept out), and tasks found again by their
reference after a crash."""

from __future__ import annotations

from typing import Any

from connectors.salesforce.tests.conftest import SandboxHandle
from crmbridge.connector import Action, Write
from crmbridge_salesforce.handoff import SalesforceHandoff
from crmbridge_salesforce.tasks import reference

from .salesforce_harness import connector_for


def lead(sandbox: SandboxHandle, last: str = "Lovelace") -> str:
    return sandbox.seed("Lead", {"LastName": last, "Company": "Analytical", "Email": "a@x.io"})


def task(crm_id: str, key: str, owner: str | None, **payload: Any) -> Action:
    fields = {"subject": "Call the hot lead", "body": "Score 92, grade A", **payload}
    if owner:
        fields["owner_id"] = owner
    return Action("task", crm_id, key, fields)


def tasks_of(sandbox: SandboxHandle, crm_id: str) -> list[dict[str, Any]]:
    state = sandbox.server.state
    with state.lock:
        return [dict(t) for t in state.records["Task"].values() if t.get("WhoId") == crm_id]


def handoff_of(sandbox: SandboxHandle, **overrides: Any) -> SalesforceHandoff:
    handoff = connector_for(sandbox.server, **overrides).handoff
    handoff.index_lag_s = 0.05  # the second look, without the production wait
    return handoff


def test_owners_are_the_users_inactive_ones_marked(salesforce_sandbox: SandboxHandle) -> None:
    sandbox = salesforce_sandbox
    users = sandbox.server.state.users
    gone = sandbox.seed(
        "User", {"Username": "old@x.io", "LastName": "Gone", "Email": "old@x.io", "IsActive": False}
    )

    owners = {o.id: o for o in handoff_of(sandbox).owners()}

    assert {users.rep, users.integration, users.assignment_owner} <= set(owners)
    assert owners[users.rep].active and "@" in owners[users.rep].email
    assert owners[gone].active is False
    assert not any(o.startswith("00G") for o in owners), "queues only when configured"


def test_queues_are_owners_when_configured(salesforce_sandbox: SandboxHandle) -> None:
    sandbox = salesforce_sandbox
    queue = sandbox.seed("Group", {"Name": "Iberia leads", "Type": "Queue"})
    sandbox.seed("Group", {"Name": "Sales team", "Type": "Regular"})

    owners = handoff_of(sandbox, queue_owners=True).owners()

    queues = [o for o in owners if o.id.startswith("00G")]
    assert [(o.id, o.name, o.user_id) for o in queues] == [(queue, "Iberia leads", None)]


def test_assignment_is_an_owner_update_that_assignment_rules_leave_alone(
    salesforce_sandbox: SandboxHandle,
) -> None:
    sandbox = salesforce_sandbox
    rep = sandbox.server.state.users.rep
    lead_id = lead(sandbox)

    [result] = connector_for(sandbox.server).write([Write(lead_id, {"OwnerId": rep})])

    assert result.ok, result.error
    assert sandbox.admin.record("Lead", lead_id)["OwnerId"] == rep


def test_a_hot_lead_gets_one_task_owned_by_its_owner(salesforce_sandbox: SandboxHandle) -> None:
    sandbox = salesforce_sandbox
    rep = sandbox.server.state.users.rep
    lead_id = lead(sandbox)
    action = task(lead_id, f"hot-task:{lead_id}:2026-12-02", rep, due_at="2026-12-03T09:00:00Z")
    handoff = handoff_of(sandbox)

    assert handoff.performed_batch([action], wait_for_index=False) == set()
    [result] = handoff.perform_batch([action])

    assert result.ok, result.error
    [created] = tasks_of(sandbox, lead_id)
    assert created["OwnerId"] == rep
    assert created["Subject"] == "Call the hot lead"
    assert str(created["ActivityDate"]) == "2026-12-03"
    assert (created["Priority"], created["Status"]) == ("High", "Not Started")
    assert created["Description"].endswith(f"Ref: {reference(action.key)}")


def test_after_a_crash_the_task_is_found_and_not_created_again(
    salesforce_sandbox: SandboxHandle,
) -> None:
    sandbox = salesforce_sandbox
    rep = sandbox.server.state.users.rep
    leads = [lead(sandbox, f"L{i}") for i in range(3)]
    actions = [task(crm_id, f"hot-task:{crm_id}", rep) for crm_id in leads]
    # Created, then the process died before the outbox marked the rows sent.
    assert all(r.ok for r in handoff_of(sandbox).perform_batch(actions[:2]))

    restarted = handoff_of(sandbox)
    held = restarted.performed_batch(actions)
    assert held == {actions[0].key, actions[1].key}
    assert restarted.performed(actions[0]) and not restarted.performed(actions[2])
    # A second task for the same lead under another key is another action.
    other = task(leads[0], f"sla-task:{leads[0]}", rep)
    assert other.key not in restarted.performed_batch([other])

    pending = [a for a in actions if a.key not in held]
    assert all(r.ok for r in restarted.perform_batch(pending))
    assert [len(tasks_of(sandbox, crm_id)) for crm_id in leads] == [1, 1, 1]


def test_a_queue_owner_needs_the_fallback_user_and_fails_alone(
    salesforce_sandbox: SandboxHandle,
) -> None:
    sandbox = salesforce_sandbox
    users = sandbox.server.state.users
    queue = "00G5g000001AbCdEAK"
    first, second = lead(sandbox, "Queued"), lead(sandbox, "Owned")
    actions = [task(first, "k-queue", queue), task(second, "k-rep", users.rep)]

    refused, created = handoff_of(sandbox).perform_batch(actions)

    assert not refused.ok and "task_owner_fallback" in (refused.error or "")
    assert created.ok and tasks_of(sandbox, first) == []

    with_fallback = handoff_of(sandbox, task_owner_fallback=users.rep)
    [result] = with_fallback.perform_batch(actions[:1])
    assert result.ok, result.error
    assert tasks_of(sandbox, first)[0]["OwnerId"] == users.rep


def test_a_task_salesforce_refuses_fails_alone(salesforce_sandbox: SandboxHandle) -> None:
    sandbox = salesforce_sandbox
    rep = sandbox.server.state.users.rep
    bad, good = lead(sandbox, "Bad"), lead(sandbox, "Good")
    results = handoff_of(sandbox).perform_batch(
        [task(bad, "k-bad", "005-not-an-id"), task(good, "k-good", rep)]
    )

    assert not results[0].ok and "refused" in (results[0].error or "")
    assert results[1].ok
    assert (len(tasks_of(sandbox, bad)), len(tasks_of(sandbox, good))) == (0, 1)


def test_logged_activity_names_the_rep_who_logged_it(salesforce_sandbox: SandboxHandle) -> None:
    sandbox = salesforce_sandbox
    users = sandbox.server.state.users
    lead_id = lead(sandbox)
    sandbox.seed("Task", {"WhoId": lead_id, "Type": "Call", "Subject": "Intro"}, by=users.rep)
    sandbox.seed(
        "EmailMessage",
        {"ToAddress": "a@x.io", "Subject": "Hello", "Incoming": False},
        by=users.assignment_owner,
    )

    pages = connector_for(sandbox.server, activity=True).read_changes(None, [])
    events = {e.properties.get("source"): e for page in pages for e in page.events}

    assert events["call"].type == "sales_activity"
    assert events["call"].properties["owner_id"] == users.rep
    assert events["email"].properties["owner_id"] == users.assignment_owner


def members_of(sandbox: SandboxHandle, campaign: str) -> list[dict[str, Any]]:
    state = sandbox.server.state
    with state.lock:
        return [
            dict(m)
            for m in state.records["CampaignMember"].values()
            if m.get("CampaignId") == campaign and not m["IsDeleted"]
        ]


def test_a_list_is_a_campaign_joined_once(salesforce_sandbox: SandboxHandle) -> None:
    sandbox = salesforce_sandbox
    campaign = sandbox.seed("Campaign", {"Name": "Quarterly contact", "IsActive": True})
    lead_id = lead(sandbox)
    join = Action("list_add", lead_id, f"list:{lead_id}", {"list_id": campaign})
    handoff = handoff_of(sandbox)

    first, again = handoff.perform(join), handoff.perform(join)

    assert first.ok and again.ok, (first.error, again.error)
    [member] = members_of(sandbox, campaign)
    assert member["LeadId"] == lead_id
    unknown = Action("list_add", lead_id, "k", {"list_id": "7015g000000AbCdAAK"})
    refused = handoff.perform(unknown)
    assert not refused.ok and "INVALID_CROSS_REFERENCE_KEY" in (refused.error or "")


def test_a_task_of_a_lead_whose_owner_left_goes_to_the_fallback_user(
    salesforce_sandbox: SandboxHandle,
) -> None:
    sandbox = salesforce_sandbox
    rep = sandbox.server.state.users.rep
    gone = sandbox.seed(
        "User", {"Username": "old@x.io", "LastName": "Gone", "Email": "old@x.io", "IsActive": False}
    )
    kept, left = lead(sandbox, "Kept"), lead(sandbox, "Left")
    actions = [task(kept, "hot:kept", rep), task(left, "hot:left", gone)]

    alone = handoff_of(sandbox).perform_batch(actions)
    assert alone[0].ok and not alone[1].ok and not alone[1].retriable
    assert "INACTIVE_OWNER_OR_USER" in str(alone[1].error)
    assert "task_owner_fallback" in str(alone[1].error)
    assert tasks_of(sandbox, left) == []

    fallback = handoff_of(sandbox, task_owner_fallback=rep).perform_batch([actions[1]])
    assert fallback[0].ok
    [made] = tasks_of(sandbox, left)
    assert made["OwnerId"] == rep
    assert handoff_of(sandbox).performed(actions[1])
