"""Queries through simple-salesforce: batches, cursors, deleted rows, FLS, ties, late commits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from simple_salesforce import format_soql
from simple_salesforce.exceptions import SalesforceMalformedRequest

from connectors.salesforce.tests.conftest import SandboxHandle
from connectors.salesforce.tests.sandbox.helpers import lead, session_client

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def test_batches_follow_the_batch_size_header_and_next_records_url(
    salesforce_sandbox: SandboxHandle,
) -> None:
    for n in range(450):
        salesforce_sandbox.seed("Lead", lead(n), modstamp=T0 + timedelta(seconds=n))
    sf = session_client(salesforce_sandbox)
    headers = {"Sforce-Query-Options": "batchSize=200"}
    first = sf.query("SELECT Id, Email FROM Lead ORDER BY SystemModstamp", headers=headers)
    assert (first["totalSize"], len(first["records"]), first["done"]) == (450, 200, False)
    assert first["nextRecordsUrl"].startswith("/services/data/v59.0/query/01g")
    rows = list(sf.query_all_iter("SELECT Id, Email FROM Lead ORDER BY SystemModstamp",
                                  headers=headers))  # fmt: skip
    assert [r["Email"] for r in rows] == [f"lead{n}@example.com" for n in range(450)]
    sizes = [e.headers.get("sforce-query-options") for e in salesforce_sandbox.request_log()]
    assert sizes[-3:] == ["batchSize=200"] * 3


def test_a_batch_size_out_of_range_is_brought_within_200_to_2000(
    salesforce_sandbox: SandboxHandle,
) -> None:
    for n in range(250):
        salesforce_sandbox.seed("Lead", lead(n))
    sf = session_client(salesforce_sandbox)
    small = sf.query("SELECT Id FROM Lead", headers={"Sforce-Query-Options": "batchSize=5"})
    assert len(small["records"]) == 200
    assert len(sf.query("SELECT Id FROM Lead")["records"]) == 250


def test_an_unknown_or_dropped_cursor_is_invalid_query_locator(
    salesforce_sandbox: SandboxHandle,
) -> None:
    for n in range(210):
        salesforce_sandbox.seed("Lead", lead(n))
    salesforce_sandbox.server.config.max_cursors = 1
    sf = session_client(salesforce_sandbox)
    headers = {"Sforce-Query-Options": "batchSize=200"}
    older = sf.query("SELECT Id FROM Lead", headers=headers)
    sf.query("SELECT Id FROM Contact", headers=headers)  # no cursor: one batch
    sf.query("SELECT Email FROM Lead", headers=headers)  # a second cursor drops the first
    with pytest.raises(SalesforceMalformedRequest) as failure:
        sf.query_more(older["nextRecordsUrl"], identifier_is_url=True)
    assert failure.value.content[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


def test_query_all_sees_deleted_and_merged_records(salesforce_sandbox: SandboxHandle) -> None:
    keep = salesforce_sandbox.seed("Lead", lead(1))
    gone = salesforce_sandbox.seed("Lead", lead(2))
    salesforce_sandbox.admin.delete("Lead", gone, merged_into=keep)
    sf = session_client(salesforce_sandbox)
    assert [r["Id"] for r in sf.query_all("SELECT Id FROM Lead")["records"]] == [keep]
    rows = sf.query_all("SELECT Id, IsDeleted, MasterRecordId FROM Lead WHERE IsDeleted = true",
                        include_deleted=True)["records"]  # fmt: skip
    assert [(r["Id"], r["MasterRecordId"]) for r in rows] == [(gone, keep)]


def test_fields_hidden_by_field_level_security_are_absent(
    salesforce_sandbox: SandboxHandle,
) -> None:
    salesforce_sandbox.seed("Lead", lead(1, AnnualRevenue=5e6))
    salesforce_sandbox.admin.hide_field("Lead", "AnnualRevenue")
    sf = session_client(salesforce_sandbox)
    names = {f["name"] for f in sf.Lead.describe()["fields"]}
    assert "AnnualRevenue" not in names
    assert {"Email", "SystemModstamp", "LastModifiedById", "ConvertedContactId"} <= names
    with pytest.raises(SalesforceMalformedRequest) as failure:
        sf.query("SELECT Id, AnnualRevenue FROM Lead")
    assert failure.value.content[0]["errorCode"] == "INVALID_FIELD"


def test_a_tie_safe_cursor_reads_every_row_of_a_shared_modstamp(
    salesforce_sandbox: SandboxHandle,
) -> None:
    ids = sorted(salesforce_sandbox.seed("Lead", lead(n), modstamp=T0) for n in range(5))
    sf = session_client(salesforce_sandbox)
    soql = format_soql(
        "SELECT Id, SystemModstamp FROM Lead WHERE SystemModstamp > {ts} "
        "OR (SystemModstamp = {ts} AND Id > {last}) ORDER BY SystemModstamp, Id LIMIT 2",
        ts=T0,
        last=ids[1],
    )
    rows = sf.query(soql)["records"]
    assert [r["Id"] for r in rows] == ids[2:4]
    assert rows[0]["SystemModstamp"] == "2026-11-30T09:00:00.000+0000"


def test_a_late_commit_appears_below_the_newest_modstamp_already_read(
    salesforce_sandbox: SandboxHandle,
) -> None:
    salesforce_sandbox.seed("Lead", lead(1), modstamp=T0 + timedelta(minutes=5))
    late = salesforce_sandbox.seed("Lead", lead(2), modstamp=T0 + timedelta(minutes=1), staged=True)
    sf = session_client(salesforce_sandbox)
    since = format_soql("SELECT Id FROM Lead WHERE SystemModstamp >= {t}", t=T0)
    assert len(sf.query(since)["records"]) == 1
    salesforce_sandbox.admin.commit(late)
    assert late in {r["Id"] for r in sf.query(since)["records"]}


@pytest.mark.parametrize(
    "soql",
    [
        "SELECT Id FROM Lead WHERE Email = 'x' OR 1=1",
        "SELECT Id FROM Lead WHERE Email = 'x'; DELETE FROM Lead",
        "SELECT Id FROM Lead WHERE Email = 'x' AND LastName = 'y' OR Company = 'z'",
        "SELECT Id FROM Lead WHERE Email = :email",
        "SELECT Id, (SELECT Id FROM Tasks) FROM Lead",
        "SELECT Owner.Name FROM Lead",
        "SELECT Id FROM Lead WHERE CreatedDate > TODAY",
        "SELECT Id FROM Lead WHERE SystemModstamp > '2026-01-01T00:00:00Z'",
        "SELECT Id FROM Lead WHERE Email = 'unterminated",
        "",
    ],
)
def test_malformed_or_injected_queries_are_refused(
    salesforce_sandbox: SandboxHandle, soql: str
) -> None:
    sf = session_client(salesforce_sandbox)
    with pytest.raises(SalesforceMalformedRequest) as failure:
        sf.query(soql)
    assert failure.value.content[0]["errorCode"] in ("MALFORMED_QUERY", "INVALID_FIELD")


def test_an_escaped_value_is_matched_literally(salesforce_sandbox: SandboxHandle) -> None:
    tricky = "o'brien\\' OR Email != '@x.io"
    salesforce_sandbox.seed("Lead", lead(1, Email="a@x.io", LastName=tricky))
    salesforce_sandbox.seed("Lead", lead(2, Email="b@x.io"))
    sf = session_client(salesforce_sandbox)
    rows = sf.query(format_soql("SELECT Email FROM Lead WHERE LastName = {n}", n=tricky))
    assert [r["Email"] for r in rows["records"]] == ["a@x.io"]


def test_every_answer_carries_the_api_usage(salesforce_sandbox: SandboxHandle) -> None:
    salesforce_sandbox.server.config.daily_limit = 3
    sf = session_client(salesforce_sandbox)
    sf.query("SELECT Id FROM Lead")
    assert (sf.api_usage["api-usage"].used, sf.api_usage["api-usage"].total) == (1, 3)
    assert sf.limits()["DailyApiRequests"] == {"Max": 3, "Remaining": 1}
