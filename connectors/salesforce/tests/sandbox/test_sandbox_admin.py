"""The ``/_sandbox`` endpoints (what ``crmbridge sandbox`` users drive over HTTP) and the
faults they inject."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
import requests
from simple_salesforce import format_soql
from simple_salesforce.exceptions import (
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
)

from connectors.salesforce.tests.conftest import SandboxHandle
from connectors.salesforce.tests.sandbox.helpers import lead, session_client
from crmbridge import clock


def _admin(sandbox: SandboxHandle, method: str, path: str, **body: object) -> requests.Response:
    with sandbox.http_session() as http:
        return http.request(method, f"{sandbox.instance_url}/_sandbox/{path}", json=body or None)


def test_a_staged_record_commits_late_with_its_old_modstamp(
    salesforce_sandbox: SandboxHandle,
) -> None:
    sf = session_client(salesforce_sandbox)
    stamp = clock.now() - timedelta(minutes=10)
    created = _admin(salesforce_sandbox, "POST", "records/Lead",
                     fields=lead(1), modstamp=stamp.isoformat(), staged=True)  # fmt: skip
    assert created.status_code == 201
    lead_id = created.json()["id"]
    since = format_soql("SELECT Id, SystemModstamp FROM Lead WHERE SystemModstamp >= {t}",
                        t=stamp - timedelta(seconds=1))  # fmt: skip
    assert sf.query(since)["totalSize"] == 0
    assert _admin(salesforce_sandbox, "POST", f"commit/{lead_id}").status_code == 204
    [row] = sf.query(since)["records"]
    assert row["Id"] == lead_id
    assert row["SystemModstamp"].startswith(stamp.strftime("%Y-%m-%dT%H:%M:%S"))


def test_a_rep_edit_is_by_the_rep(salesforce_sandbox: SandboxHandle) -> None:
    lead_id = salesforce_sandbox.seed("Lead", lead(1))
    edited = _admin(salesforce_sandbox, "PATCH", f"records/Lead/{lead_id}",
                    fields={"Title": "CFO"})  # fmt: skip
    assert edited.status_code == 204
    record = salesforce_sandbox.admin.record("Lead", lead_id)
    assert (record["Title"], record["LastModifiedById"]) == (
        "CFO", salesforce_sandbox.server.state.users.rep,
    )  # fmt: skip


def test_faults_over_http_and_the_log(salesforce_sandbox: SandboxHandle) -> None:
    sf = session_client(salesforce_sandbox)
    assert _admin(salesforce_sandbox, "POST", "faults", kind="502").status_code == 204
    with pytest.raises(SalesforceGeneralError) as failure:
        sf.query("SELECT Id FROM Lead")
    assert failure.value.status == 502 and "Bad Gateway" in str(failure.value.content)
    assert _admin(salesforce_sandbox, "POST", "faults", kind="lock").status_code == 204
    with pytest.raises(SalesforceMalformedRequest) as locked:
        sf.query("SELECT Id FROM Lead")
    assert locked.value.content[0]["errorCode"] == "UNABLE_TO_LOCK_ROW"
    refused = _admin(salesforce_sandbox, "POST", "faults", kind="meteor")
    assert refused.status_code == 400
    log = _admin(salesforce_sandbox, "GET", "log").json()
    assert [(e["method"], e["status"]) for e in log] == [("GET", 502), ("GET", 400)]
    assert "Authorization" not in str(log) and "Bearer" not in str(log)


def test_a_stall_holds_the_request(salesforce_sandbox: SandboxHandle) -> None:
    sf = session_client(salesforce_sandbox)
    salesforce_sandbox.faults.stall_seconds = 0.5
    salesforce_sandbox.faults.add("stall")
    with pytest.raises(requests.Timeout):
        sf.session.get(f"{sf.base_url}limits/", headers=sf.headers, timeout=0.2)
    assert sf.query("SELECT Id FROM Lead")["done"] is True


def test_a_random_fault_rate_fails_about_that_share(salesforce_sandbox: SandboxHandle) -> None:
    sf = session_client(salesforce_sandbox)
    salesforce_sandbox.faults.rate = 0.5
    statuses = []
    for _ in range(40):
        try:
            sf.query("SELECT Id FROM Lead")
            statuses.append(200)
        except SalesforceGeneralError as error:
            statuses.append(error.status)
    assert set(statuses) <= {200, 500, 503}
    assert 8 <= statuses.count(200) <= 32


def test_completed_tasks_get_their_completion_time(salesforce_sandbox: SandboxHandle) -> None:
    lead_id = salesforce_sandbox.seed("Lead", lead(1))
    sf = session_client(salesforce_sandbox)
    task = sf.Task.create({"WhoId": lead_id, "Subject": "Call", "Status": "Not Started"})["id"]
    [open_task] = sf.query(f"SELECT CompletedDateTime FROM Task WHERE Id = '{task}'")["records"]
    assert open_task["CompletedDateTime"] is None
    sf.Task.update(task, {"Status": "Completed"})
    [done] = sf.query(f"SELECT CompletedDateTime FROM Task WHERE Id = '{task}'")["records"]
    assert done["CompletedDateTime"]
    updated = sf.Task.updated(clock.now() - timedelta(hours=1), clock.now() + timedelta(minutes=1))
    assert updated["ids"] == [task]


def test_too_many_long_requests_at_once_refuse_the_next(
    salesforce_sandbox: SandboxHandle,
) -> None:
    config = salesforce_sandbox.server.config
    config.long_request_seconds, config.max_long_requests = 0.1, 1
    salesforce_sandbox.faults.stall_seconds = 1.0
    salesforce_sandbox.faults.add("stall")
    sf = session_client(salesforce_sandbox)
    answers: list[object] = []
    stalled = threading.Thread(
        target=lambda: answers.append(session_client(salesforce_sandbox).limits())
    )
    stalled.start()
    try:
        time.sleep(0.4)
        with pytest.raises(SalesforceRefusedRequest) as refused:
            sf.query("SELECT Id FROM Lead")
        assert refused.value.content[0] == {
            "message": "ConcurrentPerOrgLongTxn Limit exceeded.",
            "errorCode": "REQUEST_LIMIT_EXCEEDED",
        }
    finally:
        stalled.join(5)
    assert answers and "DailyApiRequests" in answers[0]  # type: ignore[operator]
    assert sf.query("SELECT Id FROM Lead")["done"] is True


def test_admin_records_are_typed_like_api_writes(salesforce_sandbox: SandboxHandle) -> None:
    unknown = _admin(salesforce_sandbox, "POST", "records/Lead", fields={"Nope": 1})
    assert unknown.status_code == 400 and unknown.json()[0]["errorCode"] == "INVALID_FIELD"
    bad = _admin(salesforce_sandbox, "POST", "records/Lead", fields={"NumberOfEmployees": "x"})
    assert bad.json()[0]["errorCode"] == "INVALID_TYPE_ON_FIELD_IN_RECORD"
    made = _admin(salesforce_sandbox, "POST", "records/EmailMessage",
                  fields={"Subject": "Re: hi", "Incoming": True,
                          "MessageDate": "2026-11-30T10:00:00Z"})  # fmt: skip
    assert made.status_code == 201
    sf = session_client(salesforce_sandbox)
    rows = sf.query("SELECT Id FROM EmailMessage WHERE MessageDate > 2026-11-30T09:00:00Z")
    assert [r["Id"] for r in rows["records"]] == [made.json()["id"]]
    missing = _admin(salesforce_sandbox, "PATCH", "records/Lead/00Q000000000000AAA",
                     fields={"Title": "x"})  # fmt: skip
    assert missing.status_code == 400


def test_a_system_update_moves_only_the_modstamp(salesforce_sandbox: SandboxHandle) -> None:
    stamp = clock.now() - timedelta(hours=1)
    lead_id = salesforce_sandbox.seed("Lead", lead(1), modstamp=stamp)
    assert _admin(salesforce_sandbox, "POST", f"touch/Lead/{lead_id}").status_code == 204
    record = salesforce_sandbox.admin.record("Lead", lead_id)
    assert record["LastModifiedDate"] < record["SystemModstamp"]
    assert record["LastModifiedById"] == salesforce_sandbox.server.state.users.rep
