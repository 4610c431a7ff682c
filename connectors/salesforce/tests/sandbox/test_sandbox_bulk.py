"""Bulk API 2.0 ingest through simple-salesforce's ``bulk2``: rows saved, rows refused."""

from __future__ import annotations

import csv
import io

import pytest
from simple_salesforce.exceptions import SalesforceOperationError

from connectors.salesforce.tests.conftest import SandboxHandle
from connectors.salesforce.tests.sandbox.helpers import lead, session_client


def test_an_update_job_reports_failed_rows_with_their_errors(
    salesforce_sandbox: SandboxHandle,
) -> None:
    rep = salesforce_sandbox.server.state.users.rep
    good = [salesforce_sandbox.seed("Lead", lead(n, OwnerId=rep)) for n in range(3)]
    converted = salesforce_sandbox.seed("Lead", lead(9))
    salesforce_sandbox.admin.convert(converted)
    sf = session_client(salesforce_sandbox)
    records = [{"Id": i, "Rating": "Hot", "Title": "#N/A"} for i in good]
    records.append({"Id": converted, "Rating": "Hot", "Title": ""})
    records.append({"Id": good[0], "Rating": "Hot", "Title": "x" * 300})
    [job] = sf.bulk2.Lead.update(records=records, wait=0.05)
    assert (job["numberRecordsProcessed"], job["numberRecordsFailed"]) == (5, 2)
    failed = list(csv.DictReader(io.StringIO(sf.bulk2.Lead.get_failed_records(job["job_id"]))))
    assert [(row["sf__Id"], row["sf__Error"].split(":")[0]) for row in failed] == [
        (converted, "CANNOT_UPDATE_CONVERTED_LEAD"),
        (good[0], "STRING_TOO_LONG"),
    ]
    assert failed[1]["sf__Error"].endswith(":Title")
    done = list(csv.DictReader(io.StringIO(sf.bulk2.Lead.get_successful_records(job["job_id"]))))
    assert [row["sf__Id"] for row in done] == good
    stored = salesforce_sandbox.admin.record("Lead", good[1])
    # #N/A clears a field; bulk runs no assignment rule.
    assert (stored["Rating"], stored["Title"], stored["OwnerId"]) == ("Hot", None, rep)
    polls = [e.method for e in salesforce_sandbox.request_log() if "/jobs/ingest/" in e.path]
    assert polls.count("GET") >= 3  # InProgress at least once, then JobComplete, results


def test_a_column_naming_no_field_fails_the_whole_job(salesforce_sandbox: SandboxHandle) -> None:
    lead_id = salesforce_sandbox.seed("Lead", lead(1))
    sf = session_client(salesforce_sandbox)
    with pytest.raises(SalesforceOperationError, match="Field name not found : Nope__c"):
        sf.bulk2.Lead.update(records=[{"Id": lead_id, "Nope__c": "1"}], wait=0.05)
    assert salesforce_sandbox.admin.record("Lead", lead_id)["Rating"] is None


def test_an_insert_job_creates_tasks(salesforce_sandbox: SandboxHandle) -> None:
    lead_id = salesforce_sandbox.seed("Lead", lead(1))
    sf = session_client(salesforce_sandbox)
    [job] = sf.bulk2.Task.insert(
        records=[{"WhoId": lead_id, "Subject": "Call"}, {"WhoId": "bad", "Subject": "x"}],
        wait=0.05,
    )
    assert job["numberRecordsFailed"] == 1
    done = list(csv.DictReader(io.StringIO(sf.bulk2.Task.get_successful_records(job["job_id"]))))
    assert done[0]["sf__Created"] == "true"
    assert salesforce_sandbox.admin.record("Task", done[0]["sf__Id"])["WhoId"] == lead_id
