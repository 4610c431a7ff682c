"""The shape of every call the Salesforce connector makes, against scripted answers.

simple-salesforce sends through ``requests``, so ``responses`` sees each call as it
leaves: its URL, headers, body and the timeout crmbridge's session added.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import pytest
import responses

from crmbridge.connector import FieldSpec, LookbackCursor, Write
from crmbridge.errors import AuthError, MissingScope, RateLimited
from crmbridge_salesforce.activity import ACTIVITY_FIELDS, EMAIL, TASK
from crmbridge_salesforce.session import redirected

from .scripted import (
    CONTACT_1,
    DATA,
    INSTANCE,
    LEAD_1,
    LEAD_2,
    LOGIN,
    PASSWORD,
    SESSION,
    TOKEN,
    connector,
    describe,
    query_page,
    sent_json,
    soql_of,
)

EXPIRED = [{"errorCode": "INVALID_SESSION_ID", "message": "Session expired or invalid"}]
LIMIT = [{"errorCode": "REQUEST_LIMIT_EXCEEDED", "message": "TotalRequests Limit exceeded."}]


def lead(rid: str, stamp: str, **fields: object) -> dict[str, object]:
    return {"Id": rid, "SystemModstamp": stamp, "IsDeleted": False, "IsConverted": False, **fields}


# -- session and sign-in ----------------------------------------------------------------


def test_every_call_carries_the_configured_timeout(org: responses.RequestsMock) -> None:
    org.get(f"{DATA}/queryAll/", json=query_page([]))

    list(connector(objects=["Lead"]).read_changes(None, ["FirstName"]))

    assert [c.request.req_kwargs["timeout"] for c in org.calls] == [(7.0, 7.0)] * len(org.calls)
    assert len(org.calls) == 3  # sign-in, describe, query


def test_the_test_host_receives_only_salesforce_hosts() -> None:
    assert redirected("https://login.salesforce.com/services/Soap/u/62.0", "127.0.0.1:8443") == (
        "https://127.0.0.1:8443/services/Soap/u/62.0"
    )
    assert redirected("https://acme.my.salesforce.com/x?q=1", "127.0.0.1:1").endswith("/x?q=1")
    assert redirected("https://example.com/x", "127.0.0.1:1") == "https://example.com/x"
    assert redirected("https://salesforce.com.evil.example/x", "h:1").startswith("https://sales")


def test_an_expired_session_is_renewed_once(org: responses.RequestsMock) -> None:
    org.get(f"{DATA}/queryAll/", json=EXPIRED, status=401)
    org.get(f"{DATA}/queryAll/", json=query_page([lead(LEAD_1, "2026-11-20T10:00:00.000+0000")]))
    sf = connector(objects=["Lead"])

    pages = list(sf.read_changes(None, ["FirstName"]))

    assert [r.id for p in pages for r in p.records] == [LEAD_1]
    assert sf.client.logins == 2


def test_a_session_refused_after_renewal_is_an_auth_error_naming_the_setting(
    org: responses.RequestsMock,
) -> None:
    org.get(f"{DATA}/queryAll/", json=EXPIRED, status=401)
    sf = connector(objects=["Lead"])

    with pytest.raises(AuthError) as failure:
        list(sf.read_changes(None, ["FirstName"]))

    text = f"{failure.value} {failure.value.detail}"
    assert "connectors.salesforce.password" in text
    assert sf.client.logins == 2, "renewed exactly once"
    for secret in (PASSWORD, TOKEN, SESSION):
        assert secret not in text
        assert secret not in repr(sf)


def test_a_refused_sign_in_names_the_setting_and_no_secret() -> None:
    fault = (
        '<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/'
        'soap/envelope/" xmlns:sf="urn:fault.partner.soap.sforce.com"><soapenv:Body>'
        "<soapenv:Fault><faultcode>INVALID_LOGIN</faultcode><detail><sf:LoginFault>"
        "<sf:exceptionCode>INVALID_LOGIN</sf:exceptionCode><sf:exceptionMessage>Invalid "
        "username, password, security token; or user locked out.</sf:exceptionMessage>"
        "</sf:LoginFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    )
    with responses.RequestsMock() as mock:
        mock.post(LOGIN, body=fault, status=500, content_type="text/xml")
        report = connector().check()

    assert not report.ok
    text = "\n".join(report.problems)
    assert "connectors.salesforce.password and connectors.salesforce.security_token" in text
    assert "INVALID_LOGIN" in text
    assert PASSWORD not in text and TOKEN not in text


def test_a_session_id_cannot_be_renewed() -> None:
    with responses.RequestsMock() as mock:
        mock.get(f"{DATA}/sobjects/Lead/describe", json=EXPIRED, status=401)
        sf = connector(
            username=None,
            password=None,
            security_token=None,
            session_id=SESSION,
            instance_url=INSTANCE,
        )
        with pytest.raises(AuthError) as failure:
            sf.write([Write(LEAD_1, {"crmbridge_score": "5"})])
        assert len(mock.calls) == 1, "no sign-in is attempted"

    assert "connectors.salesforce.session_id" in str(failure.value)
    assert SESSION not in f"{failure.value} {failure.value.detail}"


# -- reads --------------------------------------------------------------------------------


def test_a_read_pages_through_next_records_url_oldest_first(
    org: responses.RequestsMock,
) -> None:
    more = "/services/data/v62.0/queryAll/01gxx0000004Xyz-200"
    org.get(
        f"{DATA}/queryAll/",
        json=query_page([lead(LEAD_1, "2026-11-20T10:00:00.000+0000", FirstName="Ana")], more),
    )
    org.get(
        f"{INSTANCE}{more}",
        json=query_page([lead(LEAD_2, "2026-11-20T10:00:01.000+0000", CRMBridge_Score__c=87.0)]),
    )
    sf = connector(objects=["Lead"])

    pages = list(sf.read_changes(None, ["FirstName", "crmbridge_score", "Title"]))

    query = soql_of(org.calls[2])
    assert query.startswith("SELECT Id, SystemModstamp, Email, IsDeleted, MasterRecordId")
    assert query.endswith("FROM Lead ORDER BY SystemModstamp, Id")
    assert "CRMBridge_Score__c" in query and "Title" not in query  # Title is not readable
    assert all(c.request.headers["Sforce-Query-Options"] == "batchSize=200" for c in org.calls[2:])
    records = [r for p in pages for r in p.records]
    assert [r.id for r in records] == [LEAD_1, LEAD_2]
    assert records[0].properties == {"FirstName": "Ana"}
    assert records[1].properties == {"crmbridge_score": "87"}
    assert records[1].updated_at == datetime(2026, 11, 20, 10, 0, 1, tzinfo=UTC)


def test_a_resumed_read_starts_a_lookback_before_and_drops_what_it_read(
    org: responses.RequestsMock,
) -> None:
    org.get(
        f"{DATA}/queryAll/",
        json=query_page(
            [
                lead(LEAD_1, "2026-11-20T10:00:00.000+0000"),
                lead(LEAD_2, "2026-11-20T09:59:30.000+0000"),  # committed late
            ]
        ),
    )
    read = {LEAD_1: datetime(2026, 11, 20, 10, 0, tzinfo=UTC)}
    position = LookbackCursor(datetime(2026, 11, 20, 10, 0, tzinfo=UTC), read)
    cursor = json.dumps({"Lead": position.encode()})

    pages = list(connector(objects=["Lead"], lookback="10m").read_changes(cursor, []))

    assert "WHERE SystemModstamp >= 2026-11-20T09:50:00+00:00 ORDER BY" in soql_of(org.calls[-1])
    assert [r.id for p in pages for r in p.records] == [LEAD_2]


def test_an_injection_attempt_in_an_id_or_a_property_stays_out_of_soql(
    org: responses.RequestsMock,
) -> None:
    org.get(f"{DATA}/query/", json=query_page([]))
    evil_id = "00Q' OR Name != '"
    evil_property = "Email FROM User WHERE Name != ''"
    sf = connector(objects=["Lead"])

    found = sf.read_values([evil_id, LEAD_1], ["FirstName", evil_property])

    assert found == {}
    query = soql_of(org.calls[-1])
    assert (
        query == f"SELECT Id, SystemModstamp, Email, IsDeleted, MasterRecordId, "
        f"LastModifiedById, IsConverted, ConvertedContactId, FirstName FROM Lead "
        f"WHERE Id IN ('{LEAD_1}')"
    )


def test_deleted_merged_and_converted_leads_are_followed(org: responses.RequestsMock) -> None:
    survivor = "00Q000000000009AAA"
    gone = "00Q000000000008AAA"
    org.get(
        f"{DATA}/queryAll/",
        json=query_page(
            [
                lead(
                    LEAD_1,
                    "2026-11-20T10:00:00.000+0000",
                    IsConverted=True,
                    ConvertedContactId=CONTACT_1,
                ),
                lead(
                    LEAD_2, "2026-11-20T10:00:01.000+0000", IsDeleted=True, MasterRecordId=survivor
                ),
                lead(gone, "2026-11-20T10:00:01.500+0000", IsDeleted=True),
            ]
        ),
    )
    org.get(f"{DATA}/query/", json=query_page([lead(survivor, "2026-11-20T10:00:02.000+0000")]))
    org.get(
        f"{DATA}/query/",
        json={
            "done": True,
            "records": [{"Id": CONTACT_1, "SystemModstamp": "2026-11-20T10:00:03.000+0000"}],
        },
    )
    sf = connector()

    pages = list(sf.read_changes('{"Contact":"{\\"at\\":\\"2030-01-01T00:00:00Z\\"}"}', []))

    merged = {r.id: r.merged_ids for p in pages for r in p.records}
    assert merged[survivor] == (LEAD_2,)
    assert merged[CONTACT_1] == (LEAD_1,)
    assert LEAD_1 not in merged and LEAD_2 not in merged and gone not in merged
    assert [i for p in pages for i in p.gone] == [gone]


# -- writes -------------------------------------------------------------------------------


def test_writes_go_through_collections_200_a_call_without_auto_assignment(
    org: responses.RequestsMock,
) -> None:
    ids = [f"00Q{n:012d}AAA" for n in range(450)]
    answers = [
        [{"id": i, "success": True, "errors": []} for i in ids[b : b + 200]]
        for b in range(0, 450, 200)
    ]
    for answer in answers:
        org.patch(f"{DATA}/composite/sobjects", json=answer)
    sf = connector(objects=["Lead"])

    results = sf.write(
        [
            Write(i, {"crmbridge_score": "87", "crmbridge_hot": "true", "crmbridge_reasons": None})
            for i in ids
        ]
    )

    writes = [c for c in org.calls if c.request.method == "PATCH"]
    assert len(writes) == 3
    assert all(c.request.headers["Sforce-Auto-Assign"] == "FALSE" for c in writes)
    first = sent_json(writes[0])
    assert first["allOrNone"] is False
    assert len(first["records"]) == 200
    assert first["records"][0] == {
        "attributes": {"type": "Lead"},
        "id": ids[0],
        "CRMBridge_Score__c": 87,
        "CRMBridge_Hot__c": True,
        "CRMBridge_Reasons__c": None,
    }
    assert all(r.ok for r in results) and [r.crm_id for r in results] == ids


def test_each_save_result_lands_on_its_record(org: responses.RequestsMock) -> None:
    org.patch(
        f"{DATA}/composite/sobjects",
        json=[
            {"id": LEAD_1, "success": True, "errors": []},
            {
                "success": False,
                "errors": [
                    {
                        "statusCode": "UNABLE_TO_LOCK_ROW",
                        "message": "unable to obtain lock",
                        "fields": [],
                    }
                ],
            },
            {
                "success": False,
                "errors": [
                    {
                        "statusCode": "CANNOT_UPDATE_CONVERTED_LEAD",
                        "message": "cannot reference converted lead",
                    }
                ],
            },
        ],
    )
    third = "00Q000000000003AAA"
    batch = [Write(i, {"crmbridge_score": "1"}) for i in (LEAD_1, LEAD_2, third)]
    batch.insert(1, Write("not-an-id", {"crmbridge_score": "1"}))
    batch.append(Write(third, {"crmbridge_score": "many"}))

    results = connector(objects=["Lead"]).write(batch)

    assert [(r.crm_id, r.ok, r.retriable) for r in results] == [
        (LEAD_1, True, False),
        ("not-an-id", False, False),
        (LEAD_2, False, True),
        (third, False, False),
        (third, False, False),
    ]
    assert "converted" in (results[3].error or "")
    assert "not a finite number" in (results[4].error or "") or "many" in (results[4].error or "")


def test_the_daily_limit_pauses_writes_until_a_call_goes_through(
    org: responses.RequestsMock,
) -> None:
    org.patch(f"{DATA}/composite/sobjects", json=LIMIT, status=403)
    sf = connector(objects=["Lead"])
    batch = [Write(LEAD_1, {"crmbridge_score": "3"})]

    with pytest.raises(RateLimited) as first:
        sf.write(batch)
    with pytest.raises(RateLimited) as second:
        sf.write(batch)

    assert "REQUEST_LIMIT_EXCEEDED" in str(first.value)
    assert "paused" in str(second.value)
    assert len([c for c in org.calls if c.request.method == "PATCH"]) == 1, "no call while paused"

    org.get(
        f"{DATA}/query/",
        json=query_page([]),
        headers={"Sforce-Limit-Info": "api-usage=14000/15000"},
    )
    sf.read_values([LEAD_1], ["FirstName"])
    org.replace(
        responses.PATCH,
        f"{DATA}/composite/sobjects",
        json=[{"id": LEAD_1, "success": True, "errors": []}],
    )

    assert sf.write(batch)[0].ok


def test_the_share_of_the_daily_limit_caps_crmbridge(org: responses.RequestsMock) -> None:
    org.get(f"{DATA}/query/", json=query_page([]), headers={"Sforce-Limit-Info": "api-usage=5/20"})
    sf = connector(objects=["Lead"], api_share=0.2)  # 4 calls a day
    sf.read_values([LEAD_1], ["FirstName"])
    sf.read_values([LEAD_1], ["FirstName"])
    sf.read_values([LEAD_1], ["FirstName"])

    with pytest.raises(RateLimited) as failure:
        sf.write([Write(LEAD_1, {"crmbridge_score": "3"})])

    assert "share (20%)" in str(failure.value)
    assert not [c for c in org.calls if c.request.method == "PATCH"]


def test_a_write_above_the_threshold_is_one_bulk_job_with_failures_read_back(
    org: responses.RequestsMock,
) -> None:
    ids = [f"00Q{n:012d}AAA" for n in range(5)]
    jobs = f"{DATA}/jobs/ingest"
    org.post(jobs, json={"id": "7505e000001", "state": "Open"})
    org.put(f"{jobs}/7505e000001/batches", status=201)
    org.patch(f"{jobs}/7505e000001", json={"id": "7505e000001", "state": "UploadComplete"})
    org.get(
        f"{jobs}/7505e000001",
        json={"state": "JobComplete", "numberRecordsFailed": 2, "numberRecordsProcessed": 5},
    )
    org.get(
        f"{jobs}/7505e000001/failedResults",
        body='"sf__Id","sf__Error",CRMBridge_Score__c,Id\n'
        f'"","ENTITY_IS_DELETED:entity is deleted:--",5,{ids[1]}\n'
        f'"","UNABLE_TO_LOCK_ROW:unable to obtain exclusive access:--",5,{ids[2]}\n',
    )
    sf = connector(objects=["Lead"], bulk_threshold=3)

    results = sf.write([Write(i, {"crmbridge_score": "5", "crmbridge_reasons": None}) for i in ids])

    assert [(r.crm_id, r.ok, r.retriable) for r in results] == [
        (ids[0], True, False),
        (ids[1], False, False),
        (ids[2], False, True),
        (ids[3], True, False),
        (ids[4], True, False),
    ]
    assert "ENTITY_IS_DELETED" in (results[1].error or "")
    created = next(c for c in org.calls if c.request.method == "POST" and c.request.url == jobs)
    assert sent_json(created) == {
        "operation": "update",
        "columnDelimiter": "COMMA",
        "lineEnding": "LF",
        "object": "Lead",
        "contentType": "CSV",
    }
    assert created.request.headers["Sforce-Auto-Assign"] == "FALSE"
    upload = next(c for c in org.calls if c.request.method == "PUT")
    rows = list(csv.DictReader(io.StringIO(upload.request.body.decode())))
    assert rows[0] == {"CRMBridge_Reasons__c": "#N/A", "CRMBridge_Score__c": "5", "Id": ids[0]}
    assert len(rows) == 5
    assert not [c for c in org.calls if "composite" in c.request.url]
    job_calls = [c for c in org.calls if "/jobs/ingest" in c.request.url]
    polls = [c for c in job_calls if c.request.method == "GET" and c.request.url.endswith("001")]
    assert len(job_calls) - len(polls) == 4, "create, upload, close, failed rows"


def test_a_bulk_job_leaves_alone_the_fields_a_record_does_not_change(
    org: responses.RequestsMock,
) -> None:
    ids = [f"00Q{n:012d}AAA" for n in range(3)]
    jobs = f"{DATA}/jobs/ingest"
    org.post(jobs, json={"id": "7505e000002", "state": "Open"})
    org.put(f"{jobs}/7505e000002/batches", status=201)
    org.patch(f"{jobs}/7505e000002", json={"id": "7505e000002", "state": "UploadComplete"})
    org.get(
        f"{jobs}/7505e000002",
        json={"state": "JobComplete", "numberRecordsFailed": 0, "numberRecordsProcessed": 3},
    )
    org.get(f"{jobs}/7505e000002/failedResults", body='"sf__Id","sf__Error",Id\n')
    sf = connector(objects=["Lead"], bulk_threshold=2)

    results = sf.write(
        [
            Write(ids[0], {"crmbridge_score": "5"}),
            Write(ids[1], {"crmbridge_reasons": None}),
            Write(ids[2], {"crmbridge_score": "7", "crmbridge_reasons": "Pricing page +10"}),
        ]
    )

    assert all(r.ok for r in results)
    upload = next(c for c in org.calls if c.request.method == "PUT")
    rows = {r["Id"]: r for r in csv.DictReader(io.StringIO(upload.request.body.decode()))}
    # Empty leaves a field unchanged in Bulk 2.0; #N/A empties it: only where asked.
    assert rows[ids[0]] == {"CRMBridge_Reasons__c": "", "CRMBridge_Score__c": "5", "Id": ids[0]}
    assert rows[ids[1]] == {"CRMBridge_Reasons__c": "#N/A", "CRMBridge_Score__c": "", "Id": ids[1]}
    assert rows[ids[2]]["CRMBridge_Reasons__c"] == "Pricing page +10"


def test_tasks_and_email_messages_become_canonical_events(org: responses.RequestsMock) -> None:
    # The org lacks a few of the fields crmbridge would read: they are left out.
    for sobject, absent in ((TASK, {"CompletedDateTime"}), (EMAIL, {"Subject", "CreatedDate"})):
        names = [n for n in ACTIVITY_FIELDS[sobject] if n not in absent]
        org.get(
            f"{DATA}/sobjects/{sobject}/describe", json={"fields": [{"name": n} for n in names]}
        )
    stamp = "2026-11-20T10:00:00.000+0000"
    org.get(f"{DATA}/queryAll/", json=query_page([]))  # leads
    org.get(
        f"{DATA}/queryAll/",
        json=query_page(
            [
                {
                    "Id": "00T1",
                    "SystemModstamp": stamp,
                    "WhoId": LEAD_1,
                    "TaskSubtype": "Call",
                    "CreatedDate": stamp,
                    "Subject": "Intro call",
                },
                {
                    "Id": "00T2",
                    "SystemModstamp": stamp,
                    "WhoId": LEAD_1,
                    "Type": "Meeting",
                    "CreatedDate": stamp,
                },
                {
                    "Id": "00T3",
                    "SystemModstamp": stamp,
                    "WhoId": LEAD_1,
                    "Type": "Other",
                    "CreatedDate": stamp,
                },
            ]
        ),
    )
    org.get(
        f"{DATA}/queryAll/",
        json=query_page(
            [
                {
                    "Id": "02s1",
                    "SystemModstamp": stamp,
                    "Incoming": True,
                    "FromAddress": "Ana@Acme.example",
                    "MessageDate": stamp,
                },
                {
                    "Id": "02s2",
                    "SystemModstamp": stamp,
                    "Incoming": False,
                    "ToAddress": "ana@acme.example; boss@acme.example",
                    "MessageDate": stamp,
                },
                {
                    "Id": "02s3",
                    "SystemModstamp": stamp,
                    "Incoming": True,
                    "FromAddress": "not an address",
                    "MessageDate": stamp,
                },
            ]
        ),
    )
    sf = connector(objects=["Lead"], activity=True)

    pages = list(sf.read_changes(None, []))

    events = [(e.event_id, e.type, e.properties.get("source")) for p in pages for e in p.events]
    assert events == [
        ("salesforce:task:00T1", "sales_activity", "call"),
        ("salesforce:task:00T2", "meeting_booked", "task"),
        ("salesforce:email:02s1", "email_reply", "sales_email"),
        ("salesforce:email:02s2", "sales_activity", "email"),
    ]
    replies = [e for p in pages for e in p.events if e.type == "email_reply"]
    assert replies[0].contact.email == "ana@acme.example"
    queries = [soql_of(c) for c in org.calls if "/queryAll/" in c.request.url]
    assert queries[1].startswith("SELECT Id, SystemModstamp, IsDeleted, WhoId, Subject")
    assert "CompletedDateTime" not in queries[1]
    assert queries[1].endswith("FROM Task ORDER BY SystemModstamp, Id")
    assert json.loads(pages[-1].cursor).keys() == {"Task", "EmailMessage", "Lead.deleted"}


# -- check and schema ---------------------------------------------------------------------


def test_check_reports_the_org_the_version_and_the_daily_budget(
    org: responses.RequestsMock,
) -> None:
    org.get(
        f"{DATA}/query/",
        json={"done": True, "records": [{"Id": "00D000000000001EAA", "Name": "Acme"}]},
    )
    org.get(f"{DATA}/limits/", json={"DailyApiRequests": {"Max": 15000, "Remaining": 14000}})
    org.replace(
        responses.GET,
        f"{DATA}/sobjects/Lead/describe",
        json=describe("Lead", ("CRMBridge_Grade__c", "picklist", False)),
    )

    report = connector(objects=["Lead"]).check()

    assert report.account_id == "00D000000000001EAA"
    assert report.account == (
        "Salesforce org Acme (00D000000000001EAA), API v62.0; daily API requests: 1,000 of "
        "15,000 used, crmbridge allows itself 20% (3,000)"
    )
    assert report.problems == (
        "Lead.CRMBridge_Grade__c is read-only to the integration user: grant Edit on it "
        "(field-level security)",
    )


def test_fields_crmbridge_may_not_create_are_listed_with_their_definitions(
    org: responses.RequestsMock,
) -> None:
    refused = [{"errorCode": "INSUFFICIENT_ACCESS", "message": "insufficient access rights"}]
    org.post(f"{DATA}/tooling/sobjects/CustomField", json=refused, status=403)
    # One of them exists, hidden from the integration user by field-level security.
    hidden = {"DeveloperName": "CRMBridge_Notes", "TableEnumOrId": "Lead"}
    org.get(f"{DATA}/tooling/query", json={"done": True, "records": [hidden]})
    fields = [
        FieldSpec("crmbridge_score", "Lead score", "number"),
        FieldSpec("crmbridge_grade", "Lead grade", "enumeration", ("A", "B", "C", "D")),
        FieldSpec("crmbridge_bant", "BANT", "string"),
        FieldSpec("crmbridge_sequence_paused", "Sequence paused (replied)", "bool"),
        FieldSpec("crmbridge_notes", "Notes", "string"),
    ]

    with pytest.raises(MissingScope) as failure:
        connector(objects=["Lead"]).ensure_schema(fields)

    text = str(failure.value)
    assert "Customize Application" in text
    assert (
        'Lead.CRMBridge_Grade__c: Picklist restricted, values A, B, C, D, label "Lead grade"'
        in text
    )
    assert 'Lead.CRMBridge_Bant__c: Text(255), label "BANT"' in text
    assert "Lead.CRMBridge_Sequence_Paused__c: Picklist restricted, values true, false" in text
    assert "CRMBridge_Score__c" not in text, "an existing field is not listed"
    assert "CRMBridge_Notes__c: " not in text, "a hidden field is not to be created"
    assert (
        "field-level security hides them from the integration user: Lead.CRMBridge_Notes__c" in text
    )
    assert "Assign the permission set Crmbridge_Integration" in text
