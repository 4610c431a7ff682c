"""Writes through simple-salesforce: sObject Collections with per-record errors, single
records, assignment rules, the daily limit and injected faults."""

from __future__ import annotations

from datetime import timedelta

import pytest
from simple_salesforce.exceptions import (
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
)

from connectors.salesforce.tests.conftest import SandboxHandle
from connectors.salesforce.tests.sandbox.helpers import lead, session_client
from crmbridge import clock

NO_ASSIGN = {"Sforce-Auto-Assign": "FALSE"}


def _patch(sf: object, records: list[dict[str, object]], all_or_none: bool = False) -> object:
    return sf.restful(  # type: ignore[attr-defined]
        "composite/sobjects",
        method="PATCH",
        json={"allOrNone": all_or_none, "records": records},
        headers=NO_ASSIGN,
    )


def test_each_record_gets_its_own_result_in_order(salesforce_sandbox: SandboxHandle) -> None:
    ok = salesforce_sandbox.seed("Lead", lead(1))
    converted = salesforce_sandbox.seed("Lead", lead(2))
    contact = salesforce_sandbox.admin.convert(converted)
    deleted = salesforce_sandbox.seed("Lead", lead(3))
    salesforce_sandbox.admin.delete("Lead", deleted)
    sf = session_client(salesforce_sandbox)
    results = _patch(
        sf,
        [
            {"attributes": {"type": "Lead"}, "id": ok, "Rating": "Hot"},
            {"attributes": {"type": "Lead"}, "id": converted, "Rating": "Hot"},
            {"attributes": {"type": "Lead"}, "id": deleted, "Rating": "Hot"},
            {"attributes": {"type": "Lead"}, "id": ok, "IsConverted": True},
            {"attributes": {"type": "Lead"}, "id": ok, "Nope__c": 1},
            {"attributes": {"type": "Lead"}, "id": ok, "NumberOfEmployees": "many"},
            {"attributes": {"type": "Contact"}, "id": contact, "Title": "CTO"},
        ],
    )
    codes = [None if r["success"] else r["errors"][0]["statusCode"] for r in results]
    assert codes == [
        None,
        "CANNOT_UPDATE_CONVERTED_LEAD",
        "ENTITY_IS_DELETED",
        "INVALID_FIELD_FOR_INSERT_UPDATE",
        "INVALID_FIELD",
        "INVALID_TYPE_ON_FIELD_IN_RECORD",
        None,
    ]
    assert results[3]["errors"][0]["fields"] == ["IsConverted"]
    record = salesforce_sandbox.admin.record("Lead", ok)
    assert record["Rating"] == "Hot"
    assert record["LastModifiedById"] == salesforce_sandbox.server.state.users.integration
    assert salesforce_sandbox.admin.record("Contact", contact)["Title"] == "CTO"


def test_all_or_none_rolls_every_record_back(salesforce_sandbox: SandboxHandle) -> None:
    good = salesforce_sandbox.seed("Lead", lead(1))
    sf = session_client(salesforce_sandbox)
    results = _patch(
        sf,
        [
            {"attributes": {"type": "Lead"}, "id": good, "Rating": "Hot"},
            {"attributes": {"type": "Lead"}, "id": "00Q000000000000AAA", "Rating": "Hot"},
        ],
        all_or_none=True,
    )
    assert [r["errors"][0]["statusCode"] for r in results] == [
        "ALL_OR_NONE_OPERATION_ROLLED_BACK",
        "INVALID_CROSS_REFERENCE_KEY",
    ]
    assert salesforce_sandbox.admin.record("Lead", good)["Rating"] is None


def test_more_than_200_records_are_refused_whole(salesforce_sandbox: SandboxHandle) -> None:
    sf = session_client(salesforce_sandbox)
    records = [{"attributes": {"type": "Lead"}, "id": "00Q000000000000AAA"}] * 201
    with pytest.raises(SalesforceMalformedRequest) as failure:
        _patch(sf, records)
    assert failure.value.content[0]["errorCode"] == "EXCEEDED_ID_LIMIT"


def test_a_field_without_edit_permission_cannot_be_written(
    salesforce_sandbox: SandboxHandle,
) -> None:
    lead_id = salesforce_sandbox.seed("Lead", lead(1))
    salesforce_sandbox.admin.hide_field("Lead", "Rating")
    sf = session_client(salesforce_sandbox)
    result = _patch(sf, [{"attributes": {"type": "Lead"}, "id": lead_id, "Rating": "Hot"}])
    assert result[0]["errors"][0]["statusCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"


def test_lead_writes_rerun_assignment_unless_told_not_to(
    salesforce_sandbox: SandboxHandle,
) -> None:
    rep = salesforce_sandbox.server.state.users.rep
    lead_id = salesforce_sandbox.seed("Lead", lead(1, OwnerId=rep))
    sf = session_client(salesforce_sandbox)
    sf.Lead.update(lead_id, {"Rating": "Warm"}, headers=NO_ASSIGN)
    assert salesforce_sandbox.admin.record("Lead", lead_id)["OwnerId"] == rep
    sf.Lead.update(lead_id, {"Rating": "Hot"})
    owner = salesforce_sandbox.admin.record("Lead", lead_id)["OwnerId"]
    assert owner == salesforce_sandbox.server.state.users.assignment_owner


def test_tasks_are_created_for_the_owner(salesforce_sandbox: SandboxHandle) -> None:
    lead_id = salesforce_sandbox.seed("Lead", lead(1))
    sf = session_client(salesforce_sandbox)
    created = sf.Task.create(
        {"WhoId": lead_id, "Subject": "Call back", "ActivityDate": "2026-12-03"}
    )
    task = salesforce_sandbox.admin.record("Task", created["id"])
    assert (task["Status"], task["Priority"], str(task["ActivityDate"])) == (
        "Not Started", "Normal", "2026-12-03",
    )  # fmt: skip
    with pytest.raises(SalesforceMalformedRequest) as failure:
        sf.Task.create({"WhoId": "not-an-id", "Subject": "x"})
    assert failure.value.content[0]["errorCode"] == "MALFORMED_ID"


def test_the_daily_limit_refuses_with_request_limit_exceeded(
    salesforce_sandbox: SandboxHandle,
) -> None:
    salesforce_sandbox.server.config.daily_limit = 2
    sf = session_client(salesforce_sandbox)
    sf.query("SELECT Id FROM Lead")
    sf.query("SELECT Id FROM Lead")
    with pytest.raises(SalesforceRefusedRequest) as failure:
        sf.query("SELECT Id FROM Lead")
    assert failure.value.status == 403
    assert failure.value.content == [
        {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
    ]
    assert salesforce_sandbox.server.state.api_used == 2


def test_injected_faults_hit_the_next_matching_requests(
    salesforce_sandbox: SandboxHandle,
) -> None:
    sf = session_client(salesforce_sandbox)
    salesforce_sandbox.faults.add("503", path_prefix="composite/")
    salesforce_sandbox.faults.add("limit")
    with pytest.raises(SalesforceRefusedRequest):
        sf.query("SELECT Id FROM Lead")
    records = [{"attributes": {"type": "Lead"}, "id": "00Q000000000000AAA"}]
    with pytest.raises(SalesforceGeneralError) as failure:
        _patch(sf, records)
    assert failure.value.status == 503
    assert salesforce_sandbox.faults.pending() == 0
    assert sf.query("SELECT Id FROM Lead")["done"] is True


def test_the_daily_count_rolls_over_after_24_hours(
    salesforce_sandbox: SandboxHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    salesforce_sandbox.server.config.daily_limit = 2
    sf = session_client(salesforce_sandbox)
    sf.query("SELECT Id FROM Lead")
    sf.query("SELECT Id FROM Lead")
    with pytest.raises(SalesforceRefusedRequest):
        sf.query("SELECT Id FROM Lead")

    later = clock.now() + timedelta(hours=24)
    monkeypatch.setattr(clock, "now", lambda: later)

    assert sf.query("SELECT Id FROM Lead")["done"]
    assert salesforce_sandbox.server.state.api_used == 1
