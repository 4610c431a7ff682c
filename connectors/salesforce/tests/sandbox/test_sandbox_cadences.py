"""Sales cadence actions and the trackers they leave."""

from __future__ import annotations

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceResourceNotFound

from connectors.salesforce.tests.conftest import SandboxHandle
from connectors.salesforce.tests.sandbox.helpers import lead, session_client


def _act(sf: object, name: str, **inputs: object) -> object:
    return sf.restful(  # type: ignore[attr-defined]
        f"actions/standard/{name}", method="POST", json={"inputs": [inputs]}
    )


def test_a_target_goes_through_assign_pause_resume_and_remove(
    salesforce_sandbox: SandboxHandle,
) -> None:
    cadence = salesforce_sandbox.seed("ActionCadence", {"Name": "Inbound", "State": "Active"})
    lead_id = salesforce_sandbox.seed("Lead", lead(1))
    sf = session_client(salesforce_sandbox)
    [assigned] = _act(sf, "assignTargetToSalesCadence", salesCadenceNameOrId="Inbound",
                      targetId=lead_id)  # fmt: skip
    assert assigned["isSuccess"] is True
    tracker_id = assigned["outputValues"]["actionCadenceTrackerId"]

    def state() -> tuple[str, str | None]:
        [row] = sf.query(
            f"SELECT State, CompletionReason, ActionCadenceId FROM ActionCadenceTracker "
            f"WHERE TargetId = '{lead_id}'"
        )["records"]
        assert row["ActionCadenceId"] == cadence
        return row["State"], row["CompletionReason"]

    assert state() == ("Running", None)
    _act(sf, "pauseSalesCadenceTracker", targetId=lead_id)
    assert state() == ("Paused", None)
    _act(sf, "resumeSalesCadenceTracker", targetId=lead_id)
    _act(sf, "removeTargetFromSalesCadence", actionCadenceTrackerId=tracker_id,
         completionReasonCode="ManuallyRemoved")  # fmt: skip
    assert state() == ("Complete", "ManuallyRemoved")


def test_refusals_come_back_per_input(salesforce_sandbox: SandboxHandle) -> None:
    salesforce_sandbox.seed("ActionCadence", {"Name": "Inbound", "State": "Active"})
    converted = salesforce_sandbox.seed("Lead", lead(1))
    salesforce_sandbox.admin.convert(converted)
    sf = session_client(salesforce_sandbox)
    with pytest.raises(SalesforceMalformedRequest) as failure:
        _act(sf, "assignTargetToSalesCadence", salesCadenceNameOrId="Inbound",
             targetId=converted)  # fmt: skip
    [result] = failure.value.content
    assert result["isSuccess"] is False
    assert "converted lead" in result["errors"][0]["message"]
    with pytest.raises(SalesforceMalformedRequest):
        _act(sf, "pauseSalesCadenceTracker", targetId=converted)


def test_pause_needs_api_50(salesforce_sandbox: SandboxHandle) -> None:
    old = Salesforce(
        instance_url=salesforce_sandbox.instance_url,
        session_id=salesforce_sandbox.session_id(),
        session=salesforce_sandbox.http_session(),
        version="49.0",
    )
    with pytest.raises(SalesforceResourceNotFound):
        _act(old, "pauseSalesCadenceTracker", targetId="00Q000000000000AAA")
