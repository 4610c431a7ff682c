"""The hand-off on Salesforce end to end: the pipeline over SQLite reads the sandbox
org through the real connector, assigns a hot lead, tasks its owner once, and turns a
rep's "Unqualified" status into nurture with its reason."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from connectors.salesforce.tests.conftest import SandboxHandle
from crmbridge.config import CrmbridgeConfig, parse_config
from crmbridge.store.repository import Store
from crmbridge.sync.pipeline import Pipeline

from .salesforce_harness import connector_for, settings_for

CONFIG = """
[bridge]
timezone = "UTC"

[scoring]
mql_threshold = 30
hot_threshold = 50

[[scoring.fit]]
name = "CIO"
points = 60
when = { Title = { contains_any_word = ["cio"] } }

[assignment]
enabled = true
on = "hot"
owner_property = "OwnerId"
owners = [{ id = "REP" }]

[notifications]
enabled = true
task = { subject = "Hot lead: {name} (score {score})", due_in = "4h", priority = "HIGH" }

[sla]
feedback_property = "Status"
feedback_reason_property = "Description"
feedback_values = { "Unqualified" = "not_qualified", "Working - Contacted" = "contacted" }
"""


REPLIES = """
[replies]
enabled = true
task_subject = "{name} replied — take over"
"""
#: The connector's settings in these tests.
OPTIONS: dict[str, Any] = {"activity": True, "sales_engagement": True}


def config_for(sandbox: SandboxHandle) -> CrmbridgeConfig:
    rep = sandbox.server.state.users.rep
    config = parse_config(CONFIG.replace("REP", rep) + REPLIES, source="test").config
    salesforce = settings_for(sandbox.server, **OPTIONS)
    return config.model_copy(
        update={"connectors": config.connectors.model_copy(update={"salesforce": salesforce})}
    )


@pytest.fixture
def pipeline(salesforce_sandbox: SandboxHandle, tmp_path: Path) -> Iterator[Pipeline]:
    store = Store.open(f"sqlite:///{tmp_path / 'crmbridge.db'}")
    try:
        run = Pipeline(
            store,
            config_for(salesforce_sandbox),
            {"salesforce": connector_for(salesforce_sandbox.server, **OPTIONS)},
        )
        run.prepare()
        yield run
    finally:
        store.engine.dispose()


def cycle(pipeline: Pipeline) -> None:
    summary = pipeline.run_once(datetime.now(UTC))
    assert summary.ok, summary.errors


def tasks_of(sandbox: SandboxHandle, crm_id: str) -> list[dict[str, Any]]:
    state = sandbox.server.state
    with state.lock:
        return [dict(t) for t in state.records["Task"].values() if t.get("WhoId") == crm_id]


def tracker_states(sandbox: SandboxHandle) -> list[str]:
    """The state of every cadence tracker in the sandbox."""
    state = sandbox.server.state
    with state.lock:
        return [t["State"] for t in state.records["ActionCadenceTracker"].values()]


def test_a_hot_lead_is_assigned_tasked_once_and_recycled_on_unqualified(
    salesforce_sandbox: SandboxHandle, pipeline: Pipeline
) -> None:
    sandbox = salesforce_sandbox
    rep = sandbox.server.state.users.rep
    lead = sandbox.seed(
        "Lead",
        {"LastName": "Hopper", "Company": "Navy", "Title": "CIO", "Email": "grace@navy.example"},
    )

    cycle(pipeline)
    cycle(pipeline)

    record = sandbox.admin.record("Lead", lead)
    assert record["OwnerId"] == rep
    [task] = tasks_of(sandbox, lead)
    assert task["OwnerId"] == rep and task["Subject"].startswith("Hot lead: ")
    assert record["CRMBridge_Stage__c"] != "nurture"

    sandbox.admin.edit("Lead", lead, {"Status": "Unqualified", "Description": "No budget"})
    cycle(pipeline)

    record = sandbox.admin.record("Lead", lead)
    assert record["CRMBridge_Stage__c"] == "nurture"
    assert record["Status"] == "Unqualified", "crmbridge never writes the field it reads"
    assert len(tasks_of(sandbox, lead)) == 1


def test_a_reply_pauses_the_cadence_and_tasks_the_owner(
    salesforce_sandbox: SandboxHandle, pipeline: Pipeline
) -> None:
    sandbox = salesforce_sandbox
    rep = sandbox.server.state.users.rep
    cadence = sandbox.seed("ActionCadence", {"Name": "Inbound", "State": "Active"})
    lead = sandbox.seed(
        "Lead",
        {"LastName": "Lamarr", "Company": "MGM", "Title": "Actor", "Email": "hedy@mgm.example"},
    )
    sandbox.seed(
        "ActionCadenceTracker",
        {"ActionCadenceId": cadence, "TargetId": lead, "State": "Running", "OwnerId": rep},
    )
    cycle(pipeline)
    assert tasks_of(sandbox, lead) == []

    sandbox.seed(
        "EmailMessage",
        {"FromAddress": "hedy@mgm.example", "Incoming": True, "Subject": "Re: hello"},
    )
    cycle(pipeline)
    cycle(pipeline)

    assert tracker_states(sandbox) == ["Paused"]
    [task] = tasks_of(sandbox, lead)
    assert task["Subject"] == "Lamarr replied — take over"
    assert sandbox.admin.record("Lead", lead)["CRMBridge_Sequence_Paused__c"] == "true"


def test_a_task_create_left_unanswered_is_found_not_sent_twice(
    salesforce_sandbox: SandboxHandle, tmp_path: Path
) -> None:
    sandbox = salesforce_sandbox
    # The org creates the task at once but answers after the client's timeout.
    sandbox.faults.stall_seconds = 0.8
    sandbox.faults.add("late", path_prefix="composite/sobjects", method="POST")
    options = {**OPTIONS, "timeout": "500ms"}
    connector = connector_for(sandbox.server, **options)
    connector.handoff.index_lag_s = 1.0
    config = config_for(sandbox)
    salesforce = settings_for(sandbox.server, **options)
    config = config.model_copy(
        update={"connectors": config.connectors.model_copy(update={"salesforce": salesforce})}
    )
    lead = sandbox.seed(
        "Lead", {"LastName": "Turing", "Company": "NPL", "Title": "CIO", "Email": "at@npl.example"}
    )
    store = Store.open(f"sqlite:///{tmp_path / 'crmbridge.db'}")
    try:
        run = Pipeline(store, config, {"salesforce": connector})
        run.prepare()
        for _ in range(3):
            run.run_once(datetime.now(UTC))
    finally:
        store.engine.dispose()

    assert sandbox.faults.pending() == 0, "the stall was used"
    assert len(tasks_of(sandbox, lead)) == 1


def crmbridge_tasks(sandbox: SandboxHandle, crm_id: str) -> list[dict[str, Any]]:
    """The lead's tasks crmbridge created (the integration user's)."""
    integration = sandbox.server.state.users.integration
    return [t for t in tasks_of(sandbox, crm_id) if t["CreatedById"] == integration]


def test_an_inbound_call_logged_as_a_task_pauses_the_cadence_like_an_email(
    salesforce_sandbox: SandboxHandle, pipeline: Pipeline
) -> None:
    sandbox = salesforce_sandbox
    rep = sandbox.server.state.users.rep
    cadence = sandbox.seed("ActionCadence", {"Name": "Inbound", "State": "Active"})
    lead = sandbox.seed(
        "Lead", {"LastName": "Noether", "Company": "Erlangen", "Title": "Professor", "OwnerId": rep}
    )
    sandbox.seed(
        "ActionCadenceTracker",
        {"ActionCadenceId": cadence, "TargetId": lead, "State": "Running", "OwnerId": rep},
    )
    # An outbound call is no reply.
    sandbox.seed(
        "Task",
        {"WhoId": lead, "Subject": "Call", "Type": "Call", "CallType": "Outbound",
         "Status": "Completed", "OwnerId": rep},
    )  # fmt: skip
    cycle(pipeline)
    assert crmbridge_tasks(sandbox, lead) == []

    sandbox.seed(
        "Task",
        {"WhoId": lead, "Subject": "Call from Emmy", "Type": "Call", "CallType": "Inbound",
         "Status": "Completed", "OwnerId": rep},
    )  # fmt: skip
    cycle(pipeline)
    cycle(pipeline)

    assert tracker_states(sandbox) == ["Paused"]
    [task] = crmbridge_tasks(sandbox, lead)
    assert task["Subject"] == "Noether replied — take over" and task["OwnerId"] == rep
    assert sandbox.admin.record("Lead", lead)["CRMBridge_Sequence_Paused__c"] == "true"


def test_subject_rules_find_a_logged_reply_but_never_crmbridges_own_task(
    salesforce_sandbox: SandboxHandle, tmp_path: Path
) -> None:
    sandbox = salesforce_sandbox
    # Rules that would match crmbridge's own hot-lead task, were it not crmbridge's.
    options = {"activity": True, "reply_task_subjects": ["Hot lead", "RE:"]}
    config = config_for(sandbox)
    salesforce = settings_for(sandbox.server, **options)
    config = config.model_copy(
        update={"connectors": config.connectors.model_copy(update={"salesforce": salesforce})}
    )
    lead = sandbox.seed("Lead", {"LastName": "Curie", "Company": "Sorbonne", "Title": "CIO"})
    store = Store.open(f"sqlite:///{tmp_path / 'crmbridge.db'}")
    try:
        run = Pipeline(store, config, {"salesforce": connector_for(sandbox.server, **options)})
        run.prepare()
        cycle(run)
        [hot] = crmbridge_tasks(sandbox, lead)
        assert hot["Subject"].startswith("Hot lead: ")
        # The rep closes it: its completion must not read as the lead's reply.
        sandbox.admin.edit("Task", hot["Id"], {"Status": "Completed"})
        cycle(run)
        cycle(run)
        assert len(crmbridge_tasks(sandbox, lead)) == 1
        assert sandbox.admin.record("Lead", lead)["CRMBridge_Sequence_Paused__c"] != "true"

        sandbox.seed(
            "Task",
            {"WhoId": lead, "Subject": "re: pricing question", "Type": "Email",
             "Status": "Completed", "OwnerId": sandbox.server.state.users.rep},
        )  # fmt: skip
        cycle(run)
        cycle(run)
    finally:
        store.engine.dispose()
    tasks = {t["Subject"]: t for t in crmbridge_tasks(sandbox, lead)}
    assert sorted(tasks) == ["Curie replied — take over", hot["Subject"]]
    # Without Sales Engagement the owner is told what Salesforce did not do.
    assert "Sales Engagement is off" in tasks["Curie replied — take over"]["Description"]
    assert sandbox.admin.record("Lead", lead)["CRMBridge_Sequence_Paused__c"] == "true"
