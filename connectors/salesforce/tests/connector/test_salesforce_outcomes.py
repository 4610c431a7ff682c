"""Closed opportunities for ``crmbridge backtest --from-crm``, read through the
Salesforce connector and simple-salesforce from the sandbox: contact roles and
converted leads link each opportunity to its contacts, open ones are left out, every
page of the answer is read; the sandbox refuses what Salesforce would."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from simple_salesforce.exceptions import SalesforceError, SalesforceMalformedRequest

from connectors.salesforce.tests.conftest import SandboxHandle
from connectors.salesforce.tests.connector.salesforce_harness import connector_for
from connectors.salesforce.tests.sandbox.helpers import session_client
from crmbridge_salesforce.outcomes import close_instant, parse_link
from crmbridge_salesforce.sandbox.state import OrgState

WON = date(2026, 10, 1)
LOST = date(2026, 9, 20)


def _contact(state: OrgState, n: int) -> str:
    return state.insert("Contact", {"LastName": f"C{n}", "Email": f"c{n}@example.com"})


def _deal(state: OrgState, stage: str, close: date, *contacts: str) -> str:
    deal = state.insert("Opportunity", {"Name": stage, "StageName": stage, "CloseDate": close})
    for contact in contacts:
        state.insert("OpportunityContactRole", {"OpportunityId": deal, "ContactId": contact})
    return deal


def _lead(state: OrgState, n: int) -> str:
    return state.insert("Lead", {"LastName": f"L{n}", "Company": "Acme", "Email": f"l{n}@x.io"})


def _read(sandbox: SandboxHandle, **settings: Any) -> dict[str, tuple[bool, datetime, set[str]]]:
    reader = connector_for(sandbox.server, **settings).outcomes
    return {d.deal_id: (d.won, d.closed_at, set(d.contact_ids)) for d in reader.closed_deals()}


def test_closed_opportunities_are_read_with_their_roles_and_converted_leads(
    salesforce_sandbox: SandboxHandle,
) -> None:
    state = salesforce_sandbox.server.state
    a, b, c = (_contact(state, n) for n in range(3))
    won = _deal(state, "Closed Won", WON, a, b, a)  # a named twice counts once
    lost = _deal(state, "Closed Lost", LOST, c)
    _deal(state, "Negotiation/Review", WON, c)  # open: not an outcome
    _deal(state, "Closed Won", WON)  # no contact: nothing to score
    converted = state.convert_lead(
        _lead(state, 1),
        {"Name": "From a lead", "StageName": "Closed Won", "CloseDate": LOST},
        contact_role=False,  # the role was deleted since: the lead still links it
    )
    also_role = state.convert_lead(
        _lead(state, 2), {"Name": "Both", "StageName": "Closed Lost", "CloseDate": WON}
    )
    state.convert_lead(  # converted into an opportunity still open
        _lead(state, 3), {"Name": "Open", "StageName": "Prospecting", "CloseDate": WON}
    )
    by_lead = {
        lead["ConvertedContactId"]: lead["ConvertedOpportunityId"]
        for lead in state.records["Lead"].values()
    }

    deals = _read(salesforce_sandbox)

    assert deals == {
        won: (True, datetime(2026, 10, 1, tzinfo=UTC), {a, b}),
        lost: (False, datetime(2026, 9, 20, tzinfo=UTC), {c}),
        by_lead[converted]: (True, datetime(2026, 9, 20, tzinfo=UTC), {converted}),
        by_lead[also_role]: (False, datetime(2026, 10, 1, tzinfo=UTC), {also_role}),
    }


def test_every_page_of_a_large_answer_is_read(salesforce_sandbox: SandboxHandle) -> None:
    state = salesforce_sandbox.server.state
    contacts = [_contact(state, n) for n in range(3)]
    for n in range(450):
        stage = "Closed Won" if n % 3 == 0 else "Closed Lost"
        _deal(state, stage, WON, contacts[n % 3])

    deals = _read(salesforce_sandbox, batch_size=200)

    assert len(deals) == 450
    assert sum(won for won, _, _ in deals.values()) == 150
    pages = [e for e in salesforce_sandbox.request_log() if "/query/01g" in e.path]
    assert len(pages) >= 2  # nextRecordsUrl was followed
    assert all(
        e.headers.get("sforce-query-options") == "batchSize=200"
        for e in salesforce_sandbox.request_log()
        if "/query" in e.path
    )


def test_the_sandbox_serves_opportunities_as_strictly_as_salesforce(
    salesforce_sandbox: SandboxHandle,
) -> None:
    sf = session_client(salesforce_sandbox)
    contact = sf.Contact.create({"LastName": "Rivera", "Email": "r@example.com"})["id"]
    deal = sf.Opportunity.create(
        {"Name": "Deal", "StageName": "Closed Won", "CloseDate": "2026-10-01", "Amount": 1200}
    )["id"]
    sf.OpportunityContactRole.create({"OpportunityId": deal, "ContactId": contact})
    row = sf.query(f"SELECT IsClosed, IsWon, Amount FROM Opportunity WHERE Id = '{deal}'")
    assert {k: row["records"][0][k] for k in ("IsClosed", "IsWon", "Amount")} == {
        "IsClosed": True,
        "IsWon": True,
        "Amount": 1200,
    }
    refused = [
        ({"Name": "x", "StageName": "Won", "CloseDate": "2026-10-01"}, "RESTRICTED_PICKLIST"),
        ({"Name": "x", "StageName": "Closed Won"}, "REQUIRED_FIELD_MISSING"),
        ({"Name": "x", "StageName": "Closed Won", "CloseDate": "2026-10-01", "IsWon": True},
         "INVALID_FIELD_FOR_INSERT_UPDATE"),
    ]  # fmt: skip
    for fields, code in refused:
        with pytest.raises(SalesforceError) as failure:
            sf.Opportunity.create(fields)
        assert code in str(failure.value.content)
    for wrong, code in ((deal, "FIELD_INTEGRITY_EXCEPTION"),
                        ("003000000000000AAA", "INVALID_CROSS_REFERENCE_KEY")):  # fmt: skip
        with pytest.raises(SalesforceError) as unknown:
            sf.OpportunityContactRole.create({"OpportunityId": deal, "ContactId": wrong})
        assert code in str(unknown.value.content)
    with pytest.raises(SalesforceError) as moved:
        role = sf.query("SELECT Id FROM OpportunityContactRole")["records"][0]["Id"]
        sf.OpportunityContactRole.update(role, {"OpportunityId": deal})
    assert "INVALID_FIELD_FOR_INSERT_UPDATE" in str(moved.value.content)

    answer = sf.query(
        "SELECT ContactId, Opportunity.IsWon, Opportunity.CloseDate FROM OpportunityContactRole"
    )
    (record,) = answer["records"]
    assert record["Opportunity"]["IsWon"] is True
    assert record["Opportunity"]["CloseDate"] == "2026-10-01"
    assert record["Opportunity"]["attributes"]["type"] == "Opportunity"
    lead = sf.query("SELECT Id, ConvertedOpportunity.IsWon FROM Lead")
    assert lead["records"] == []
    for soql, code in (
        ("SELECT Deal.IsWon FROM OpportunityContactRole", "INVALID_FIELD"),
        ("SELECT Opportunity.Nope FROM OpportunityContactRole", "INVALID_FIELD"),
        ("SELECT Opportunity.Account.Name FROM OpportunityContactRole", "MALFORMED_QUERY"),
        ("SELECT Id FROM OpportunityContactRole.Opportunity", "MALFORMED_QUERY"),
    ):
        with pytest.raises(SalesforceMalformedRequest) as bad:
            sf.query(soql)
        assert code in str(bad.value.content), soql


def test_a_role_whose_opportunity_is_gone_reads_a_null_parent() -> None:
    state = OrgState()
    contact = _contact(state, 1)
    deal = _deal(state, "Closed Won", WON, contact)
    state.delete("Opportunity", deal)
    from crmbridge_salesforce.sandbox.query import run

    (row,) = run(
        state,
        "SELECT ContactId, Opportunity.IsWon FROM OpportunityContactRole",
        include_deleted=False,
    )
    assert row["Opportunity"] is None
    assert run(state, CLOSED_ROLES, include_deleted=False) == []


CLOSED_ROLES = "SELECT Id FROM OpportunityContactRole WHERE Opportunity.IsClosed = true"

_VALUES = st.none() | st.booleans() | st.integers() | st.text(max_size=30)


@given(
    row=st.dictionaries(
        st.sampled_from(["OpportunityId", "ContactId", "Opportunity", "Id"]),
        _VALUES | st.dictionaries(st.sampled_from(["IsWon", "CloseDate"]), _VALUES),
    )
)
def test_any_answered_row_is_parsed_or_left_out(row: dict[str, Any]) -> None:
    link = parse_link(row, "OpportunityId", "Opportunity", "ContactId")
    if link is not None:
        deal_id, won, closed_at, contact = link
        assert isinstance(won, bool) and closed_at.tzinfo is UTC
        assert len(deal_id) in (15, 18) and len(contact) in (15, 18)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-10-01", datetime(2026, 10, 1, tzinfo=UTC)),
        ("2026-02-30", None),
        ("2026-10-01T10:00:00Z", None),
        (20261001, None),
        ("", None),
    ],
)
def test_a_close_date_is_the_start_of_its_day_in_utc(value: Any, expected: Any) -> None:
    assert close_instant(value) == expected
