"""Account Engagement (Pardot) through the Salesforce connector against the sandbox:
``check`` proves access, Pardot's daily limit and crmbridge's share of it stop reads
gracefully and say when they resume, an expired session is renewed once, and the
prospects' score and grade reach the leads as ``pardot_score`` / ``pardot_grade``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import structlog

from connectors.salesforce.tests.conftest import SandboxHandle
from crmbridge.connector import Page
from crmbridge.errors import TransientError
from crmbridge_salesforce.connector import SalesforceConnector
from crmbridge_salesforce.pardot.budget import PardotBudget
from crmbridge_salesforce.pardot.source import PardotSource

from .pardot_harness import pardot_connector, pardot_of, pardot_requests

AN_HOUR_AGO = datetime.now(UTC) - timedelta(hours=1)


def source_of(connector: SalesforceConnector) -> PardotSource:
    assert connector.pardot is not None
    return connector.pardot


def read_all(connector: SalesforceConnector, cursor: str | None, props: list[str]) -> list[Page]:
    return list(connector.read_changes(cursor, props))


def event_ids(pages: list[Page]) -> list[str]:
    return [e.event_id or "" for page in pages for e in page.events]


def seed(sandbox: SandboxHandle, activities: int) -> tuple[str, list[int]]:
    pardot = pardot_of(sandbox.server)
    lead = sandbox.seed("Lead", {"LastName": "Ana", "Company": "Acme", "Email": "ana@acme.example"})
    prospect = pardot.add_prospect(
        email="ana@acme.example", salesforce_id=lead, score=40, grade="C"
    )
    rows = [{"type": 2, "prospect_id": prospect, "at": AN_HOUR_AGO + timedelta(seconds=n // 3)}
            for n in range(activities)]  # fmt: skip
    return lead, pardot.add_activities(rows)


def test_check_proves_access_and_names_the_setting_to_fix(
    salesforce_sandbox: SandboxHandle,
) -> None:
    server = salesforce_sandbox.server
    assert pardot_connector(server).check().ok
    wrong = pardot_connector(server, business_unit_id="0Uv5f000000OTHERAA").check()
    assert not wrong.ok
    assert any("201" in p and "business_unit_id" in p for p in wrong.problems), wrong.problems


def test_pardots_daily_limit_stops_the_read_which_resumes_where_it_stood(
    salesforce_sandbox: SandboxHandle,
) -> None:
    sandbox = salesforce_sandbox
    _, ids = seed(sandbox, 1000)
    pardot = pardot_of(sandbox.server)
    pardot.daily_limit = 3
    connector = pardot_connector(sandbox.server, page_size=100)
    now = [0.0]
    source_of(connector).client.budget = PardotBudget(25_000, 0.5, clock=lambda: now[0])

    with structlog.testing.capture_logs() as logs:
        first = read_all(connector, None, ["LastName"])
    assert len(event_ids(first)) == 300  # three pages, then code 122
    paused = [e for e in logs if e["event"] == "pardot.reads_paused"]
    assert paused and "122" in paused[0]["reason"] and paused[0]["resume"].endswith("UTC")

    calls = pardot_requests(sandbox.server)
    read_all(connector, first[-1].cursor, ["LastName"])
    assert pardot_requests(sandbox.server) == calls  # within the hour: nothing sent

    pardot.daily_limit = 25_000  # Pardot's day turned
    now[0] += 3601
    rest = read_all(connector, first[-1].cursor, ["LastName"])
    every = event_ids(first) + event_ids(rest)
    assert sorted(every) == sorted(f"pardot:activity:{i}" for i in ids)


def test_crmbridges_share_of_the_daily_calls_stops_reads_first(
    salesforce_sandbox: SandboxHandle,
) -> None:
    sandbox = salesforce_sandbox
    seed(sandbox, 500)
    connector = pardot_connector(sandbox.server, page_size=100, daily_limit=4, api_share=0.5)
    with structlog.testing.capture_logs() as logs:
        pages = read_all(connector, None, ["LastName"])
    assert len(event_ids(pages)) == 200
    assert pardot_requests(sandbox.server) == 2
    paused = [e for e in logs if e["event"] == "pardot.reads_paused"]
    assert paused and "share" in paused[0]["reason"]


def test_an_expired_session_is_renewed_once_and_the_read_completes(
    salesforce_sandbox: SandboxHandle,
) -> None:
    sandbox = salesforce_sandbox
    _, ids = seed(sandbox, 450)
    connector = pardot_connector(sandbox.server, page_size=100)
    got: list[str] = []
    logins = sandbox.server.services.sessions.issued
    for number, page in enumerate(connector.read_changes(None, ["LastName"])):
        got += [e.event_id or "" for e in page.events]
        if number == 2:
            sandbox.server.services.sessions.expire_all()
    assert sorted(got) == sorted(f"pardot:activity:{i}" for i in ids)
    assert sandbox.server.services.sessions.issued == logins + 2  # the first login, one renewal


def test_too_many_requests_at_once_is_retried_then_fails_the_read(
    salesforce_sandbox: SandboxHandle,
) -> None:
    sandbox = salesforce_sandbox
    seed(sandbox, 10)
    pardot_of(sandbox.server).max_concurrent = 0
    connector = pardot_connector(sandbox.server)
    source_of(connector).client._sleep = lambda seconds: None
    with pytest.raises(TransientError, match="66"):
        read_all(connector, None, ["LastName"])
    assert pardot_requests(sandbox.server) == 4


def test_a_next_page_on_another_host_is_not_followed(salesforce_sandbox: SandboxHandle) -> None:
    client = source_of(pardot_connector(salesforce_sandbox.server)).client
    with pytest.raises(TransientError, match="another host"):
        client.next_page("read", "https://attacker.example/api/v5/objects/prospects?x=1")
    assert pardot_requests(salesforce_sandbox.server) == 0


def records(pages: Iterator[Page] | list[Page]) -> dict[str, dict[str, str]]:
    return {r.id: dict(r.properties) for page in pages for r in page.records}


#: What the tests of score and grade read.
PROPS = ["LastName", "pardot_score", "pardot_grade"]


def two_leads(sandbox: SandboxHandle) -> tuple[str, str, SalesforceConnector]:
    """Ana (a prospect: score 40, grade C) and Bo (none), and the connector."""
    lead, _ = seed(sandbox, 0)
    other = sandbox.seed("Lead", {"LastName": "Bo", "Company": "Acme", "Email": "bo@acme.example"})
    return lead, other, pardot_connector(sandbox.server)


def test_score_and_grade_reach_the_lead_and_their_change_rereads_it(
    salesforce_sandbox: SandboxHandle,
) -> None:
    sandbox = salesforce_sandbox
    lead, other, connector = two_leads(sandbox)
    pardot = pardot_of(sandbox.server)

    first = read_all(connector, None, PROPS)
    assert records(first)[lead] == {"LastName": "Ana", "pardot_score": "40", "pardot_grade": "C"}
    assert records(first)[other] == {"LastName": "Bo"}  # no prospect: no values

    quiet = read_all(connector, first[-1].cursor, PROPS)
    assert records(quiet) == {}

    prospect = next(iter(pardot.prospects))
    pardot.update_prospect(prospect, score=95, grade="A-")
    moved = read_all(connector, first[-1].cursor, PROPS)
    assert records(moved) == {lead: {"LastName": "Ana", "pardot_score": "95", "pardot_grade": "A-"}}
    assert "pardot_score" in connector.property_names()


def test_a_score_change_read_by_a_read_that_stopped_early_reaches_the_lead_next_read(
    salesforce_sandbox: SandboxHandle,
) -> None:
    """The prospects are read first, the records whose score moved are handed over last:
    a read stopped between pages (or failed) before then hands them over next time,
    although its prospect read has moved past the change."""
    sandbox = salesforce_sandbox
    lead, other, connector = two_leads(sandbox)
    pardot = pardot_of(sandbox.server)
    cursor = read_all(connector, None, PROPS)[-1].cursor

    pardot.update_prospect(next(iter(pardot.prospects)), score=95, grade="A-")
    sandbox.admin.edit("Lead", other, {"LastName": "Bob"})
    reading = connector.read_changes(cursor, PROPS)
    stopped = next(reading)  # the process stops after the first page
    reading.close()
    assert records([stopped]) == {other: {"LastName": "Bob"}}

    again = read_all(connector, stopped.cursor, PROPS)
    assert records(again)[lead] == {"LastName": "Ana", "pardot_score": "95", "pardot_grade": "A-"}
    # Handed over once: the read after finds nothing to say.
    assert records(read_all(connector, again[-1].cursor, PROPS)) == {}


def test_a_lead_carrying_a_new_score_is_dated_no_earlier_than_the_score(
    salesforce_sandbox: SandboxHandle,
) -> None:
    """Pardot moves a score without touching the Salesforce record: the record read with
    it is dated by the prospect's change, so the property history never dates the new
    score to the record's older modification (a backtest would read it too early)."""
    sandbox = salesforce_sandbox
    long_ago = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    lead = sandbox.seed(
        "Lead", {"LastName": "Ana", "Company": "Acme", "Email": "ana@acme.example"},
        modstamp=long_ago,
    )  # fmt: skip
    pardot = pardot_of(sandbox.server)
    prospect = pardot.add_prospect(email="ana@acme.example", salesforce_id=lead, score=40,
                                   at=long_ago)  # fmt: skip
    connector = pardot_connector(sandbox.server)
    first = read_all(connector, None, PROPS)
    assert [r.updated_at for p in first for r in p.records if r.id == lead] == [long_ago]

    scored = AN_HOUR_AGO.replace(microsecond=0)
    pardot.update_prospect(prospect, at=scored, score=95)
    moved = [r for p in read_all(connector, first[-1].cursor, PROPS) for r in p.records]
    assert [(r.id, r.properties.get("pardot_score"), r.updated_at) for r in moved] == [
        (lead, "95", scored)
    ]


def test_a_cycle_of_next_pages_fails_the_read_at_once(salesforce_sandbox: SandboxHandle) -> None:
    """A page naming one already answered as the next would be read again and again
    (within one page, so no stop between pages ends it), spending the daily calls."""
    sandbox = salesforce_sandbox
    _, ids = seed(sandbox, 450)
    pardot_of(sandbox.server).looping_pages = True
    connector = pardot_connector(sandbox.server, page_size=100, daily_limit=200)
    got: list[str] = []
    with pytest.raises(TransientError, match="already answered"):
        for page in connector.read_changes(None, ["LastName"]):
            got += [e.event_id or "" for e in page.events]
    assert pardot_requests(sandbox.server) == 2  # the second page named itself: not asked again
    assert got == [f"pardot:activity:{i}" for i in ids[:200]]  # what was read is kept


def test_a_model_without_pardot_properties_reads_no_prospects(
    salesforce_sandbox: SandboxHandle,
) -> None:
    sandbox = salesforce_sandbox
    seed(sandbox, 0)
    read_all(pardot_connector(sandbox.server), None, ["LastName"])
    assert not [r for r in sandbox.request_log() if r.path.endswith("/prospects")]


def test_an_answer_larger_than_the_bound_is_refused_not_read_whole(
    salesforce_sandbox: SandboxHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    from crmbridge_salesforce.pardot import client as pardot_client

    seed(salesforce_sandbox, 50)
    monkeypatch.setattr(pardot_client, "MAX_BODY", 2000)
    connector = pardot_connector(salesforce_sandbox.server)
    with pytest.raises(TransientError, match="larger than 2000 bytes"):
        read_all(connector, None, ["LastName"])


def test_a_token_sequence_that_stops_early_loses_nothing(
    salesforce_sandbox: SandboxHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pardot ends a token sequence after 100,000 records (here 300): the next read goes
    on from where the cursor stands. It moves on because a read re-reads at most about
    ``lookback_records`` (at most 50,000, below the 100,000)."""
    from crmbridge_salesforce.sandbox import api_pardot

    _, ids = seed(salesforce_sandbox, 1000)
    monkeypatch.setattr(api_pardot, "TOKEN_RECORDS", 300)
    connector = pardot_connector(salesforce_sandbox.server, page_size=100, lookback_records=100)
    cursor, got = None, []
    for _ in range(6):
        pages = read_all(connector, cursor, ["LastName"])
        got += event_ids(pages)
        cursor = pages[-1].cursor if pages else cursor
    assert sorted(got) == sorted(f"pardot:activity:{i}" for i in ids)


def test_a_corrupt_pardot_position_is_reported_and_read_again_from_its_start(
    salesforce_sandbox: SandboxHandle,
) -> None:
    from crmbridge.connector import CorruptCursorError

    _, ids = seed(salesforce_sandbox, 20)
    connector = pardot_connector(salesforce_sandbox.server)
    first = read_all(connector, None, ["LastName"])
    broken = first[-1].cursor.replace(
        '"pardot.visitor-activities":"{', '"pardot.visitor-activities":"{]'
    )
    got: list[str] = []
    with pytest.raises(CorruptCursorError, match=r"pardot\.visitor-activities"):
        for page in connector.read_changes(broken, ["LastName"]):
            got += [e.event_id or "" for e in page.events]
    assert sorted(got) == sorted(f"pardot:activity:{i}" for i in ids)
