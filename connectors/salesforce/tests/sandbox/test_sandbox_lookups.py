"""Lookups are checked as Salesforce checks them: a Task naming a lead that does not
exist, an account as its "Name", a queue or an inactive user as its owner, is refused
per record; a cadence assignment sent by someone who is no active user is refused."""

from __future__ import annotations

from typing import Any

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from connectors.salesforce.tests.conftest import SandboxHandle
from connectors.salesforce.tests.sandbox.helpers import lead, session_client

#: A lead id of the right form that no record has.
NO_SUCH_LEAD = "00Q5g00000ZZZZZEAA"


def _create(sf: Any, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    answer = sf.restful(
        "composite/sobjects", method="POST", json={"allOrNone": False, "records": records}
    )
    assert isinstance(answer, list)
    return answer


def _task(**fields: Any) -> dict[str, Any]:
    return {"attributes": {"type": "Task"}, "Subject": "Call back", **fields}


def test_a_task_is_refused_unless_it_names_a_live_lead_and_an_active_user(
    salesforce_sandbox: SandboxHandle,
) -> None:
    sandbox = salesforce_sandbox
    live = sandbox.seed("Lead", lead(1))
    gone = sandbox.seed("Lead", lead(2))
    sandbox.admin.delete("Lead", gone)
    account = sandbox.seed("Account", {"Name": "Acme"})
    queue = sandbox.seed("Group", {"Name": "Inbound", "Type": "Queue"})
    retired = sandbox.seed(
        "User",
        {"Username": "old@x.example", "LastName": "Old", "Email": "old@x.example",
         "IsActive": False},
    )  # fmt: skip
    rep = sandbox.server.state.users.rep
    results = _create(
        session_client(sandbox),
        [
            _task(WhoId=live, OwnerId=rep),
            _task(WhoId=NO_SUCH_LEAD, OwnerId=rep),
            _task(WhoId=gone, OwnerId=rep),
            _task(WhoId=account, OwnerId=rep),
            _task(WhoId=live, OwnerId=queue),
            _task(WhoId=live, OwnerId=retired),
            _task(WhoId=live[:15], OwnerId=rep, CallType="Inbound"),
            _task(WhoId=live, CallType="Sideways"),
        ],
    )
    codes = [None if r["success"] else r["errors"][0]["statusCode"] for r in results]
    assert codes == [
        None,
        "INVALID_CROSS_REFERENCE_KEY",
        "ENTITY_IS_DELETED",
        "FIELD_INTEGRITY_EXCEPTION",
        "FIELD_INTEGRITY_EXCEPTION",
        "INACTIVE_OWNER_OR_USER",
        None,
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
    ]
    assert results[3]["errors"][0]["message"].startswith("Name ID: id value of incorrect type")
    assert results[4]["errors"][0]["fields"] == ["OwnerId"]
    state = sandbox.server.state
    with state.lock:
        held = [t["WhoId"] for t in state.records["Task"].values()]
    # Only the two valid tasks exist, each naming the lead by its 18-character id.
    assert held == [live, live]


def test_an_owner_update_to_a_user_that_does_not_exist_is_refused(
    salesforce_sandbox: SandboxHandle,
) -> None:
    sandbox = salesforce_sandbox
    one = sandbox.seed("Lead", lead(1))
    answer = session_client(sandbox).restful(
        "composite/sobjects",
        method="PATCH",
        json={
            "allOrNone": False,
            "records": [
                {"attributes": {"type": "Lead"}, "id": one, "OwnerId": "0055g00000ZZZZZAAA"}
            ],
        },
        headers={"Sforce-Auto-Assign": "FALSE"},
    )
    assert answer[0]["errors"][0]["statusCode"] == "INVALID_CROSS_REFERENCE_KEY"
    assert sandbox.admin.record("Lead", one)["OwnerId"] != "0055g00000ZZZZZAAA"


def test_a_cadence_assignment_needs_an_active_sender(salesforce_sandbox: SandboxHandle) -> None:
    sandbox = salesforce_sandbox
    sandbox.seed("ActionCadence", {"Name": "Inbound", "State": "Active"})
    target = sandbox.seed("Lead", lead(1))
    sf = session_client(sandbox)
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.restful(
            "actions/standard/assignTargetToSalesCadence",
            method="POST",
            json={"inputs": [{"salesCadenceNameOrId": "Inbound", "targetId": target,
                              "userId": "0055g00000ZZZZZAAA"}]},
        )  # fmt: skip
    [result] = refused.value.content
    assert result["isSuccess"] is False and "active user" in result["errors"][0]["message"]
    state = sandbox.server.state
    with state.lock:
        assert state.records["ActionCadenceTracker"] == {}
