"""``crmbridge backtest --from-crm`` against the local HubSpot and Salesforce sandboxes
through the real SDKs: closed deals (won and lost) and their contacts are read, open
deals and deals without a close date or a contact are left out; the HubSpot sandbox
refuses deals HubSpot would refuse."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from hubspot.crm.deals import ApiException, SimplePublicObjectInputForCreate
from typer.testing import CliRunner

from connectors.hubspot.tests.connector.hubspot_harness import TOKEN, connector_for, sandbox
from crmbridge.cli import app
from crmbridge.config import example_config_text
from crmbridge_hubspot.sandbox.server import SandboxServer
from crmbridge_salesforce.sandbox import SandboxServer as SalesforceSandbox
from tests.integration.daemon.daemon_helpers import add_contacts, contact_email

WON_AT = "2026-10-01T09:00:00.000Z"
LOST_AT = "2026-09-20T12:00:00.000Z"


def _deal(server: SandboxServer, contacts: list[str], **values: str) -> str:
    deal = server.state.deals.create({"dealname": "Deal", **values})
    for contact in contacts:
        server.state.deals.associate(deal.id, contact)
    return deal.id


def test_closed_deals_are_read_with_their_contacts_and_backtested(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with sandbox() as server:
        monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", TOKEN)
        monkeypatch.setenv("HUBSPOT_APP_SECRET", "sandbox-secret")
        monkeypatch.setenv("CRMBRIDGE__CONNECTORS__HUBSPOT__BASE_URL", server.url)
        monkeypatch.setenv("CRMBRIDGE__BRIDGE__DATABASE_URL", f"sqlite:///{tmp_path / 's.db'}")
        ids = add_contacts(server.state, 6)
        runner = CliRunner()
        synced = runner.invoke(app, ["run", "--once"])
        assert synced.exit_code == 0, synced.output
        _deal(server, ids[:2], dealstage="closedwon", closedate=WON_AT)
        _deal(server, [ids[2]], dealstage="closedlost", closedate=LOST_AT)
        _deal(server, [ids[3]], dealstage="contractsent", closedate=WON_AT)
        _deal(server, [], dealstage="closedwon", closedate=WON_AT)
        _deal(server, [ids[4]], dealstage="closedlost")

        result = runner.invoke(app, ["backtest", "--from-crm", "--json"])

    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert (payload["source"], payload["leads"], payload["won"]) == ("hubspot", 3, 2)
    scored = {row["lead"]: row for row in payload["models"][0]["scores"]}
    assert set(scored) == {contact_email(0), contact_email(1), contact_email(2)}
    assert scored[contact_email(0)]["closed_at"] == "2026-10-01T09:00:00+00:00"
    assert scored[contact_email(2)]["won"] is False


def test_the_outcome_reader_pages_past_one_search_answer() -> None:
    with sandbox() as server:
        ids = add_contacts(server.state, 3)
        for index in range(205):
            stage = "closedwon" if index % 2 else "closedlost"
            _deal(server, [ids[index % 3]], dealstage=stage, closedate=WON_AT)
        deals = list(connector_for(server).outcomes.closed_deals())
    assert len(deals) == 205
    assert sum(deal.won for deal in deals) == 102
    assert {deal.contact_ids for deal in deals} == {(i,) for i in ids}


def test_the_sandbox_refuses_a_deal_hubspot_would_refuse() -> None:
    with sandbox() as server:
        deals = connector_for(server).client.sdk.crm.deals.basic_api
        made = deals.create(
            SimplePublicObjectInputForCreate(
                properties={"dealname": "Good", "dealstage": "closedwon", "closedate": WON_AT}
            )
        )
        assert made.properties["dealstage"] == "closedwon"
        stored = server.state.deals.get(made.id)
        assert stored is not None and stored.properties["hs_is_closed_won"] == "true"
        contact = add_contacts(server.state, 1)[0]
        link = {
            "to": {"id": contact},
            "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 3}],
        }
        linked = deals.create(
            SimplePublicObjectInputForCreate(
                properties={"dealname": "Linked", "dealstage": "closedlost", "closedate": WON_AT},
                associations=[link],
            )
        )
        assert server.state.deals.contacts(linked.id) == [contact]
        before = len(server.state.deals.deals())
        for links in ([{"to": {"id": contact}}], [{**link, "to": {"id": "999999"}}]):
            with pytest.raises(ApiException) as refused_link:
                deals.create(
                    SimplePublicObjectInputForCreate(
                        properties={"dealname": "Bad link", "dealstage": "closedwon"},
                        associations=links,
                    )
                )
            assert refused_link.value.status == 400
        assert len(server.state.deals.deals()) == before
        for bad in (
            {"dealname": "No stage"},
            {"dealname": "Odd stage", "dealstage": "won"},
            {"dealname": "Calculated", "dealstage": "closedwon", "hs_is_closed_won": "true"},
        ):
            with pytest.raises(ApiException) as refused:
                deals.create(SimplePublicObjectInputForCreate(properties=bad))
            assert refused.value.status == 400
            assert json.loads(refused.value.body)["category"] == "VALIDATION_ERROR"


def _salesforce_config(server: SalesforceSandbox, database: Path) -> str:
    """The example model with Salesforce, signed in with a password, as its only CRM."""
    config = server.config
    text = example_config_text()
    hubspot = "[connectors.hubspot]\nenabled = true"
    salesforce = "[connectors.salesforce]\nenabled = false"
    assert hubspot in text and salesforce in text
    return (
        text.replace(hubspot, "[connectors.hubspot]\nenabled = false")
        .replace(
            salesforce,
            "[connectors.salesforce]\nenabled = true\n"
            f'username = "{config.username}"\npassword = "{config.password}"\n'
            f'security_token = "{config.security_token}"\n'
            f'login_host = "{server.login_host}"\nca_bundle = "{server.ca_bundle}"\n'
            'objects = ["Lead", "Contact"]',
        )
        .replace(
            'database_url = "sqlite:///crmbridge.db"', f'database_url = "sqlite:///{database}"'
        )
    )


def test_salesforce_opportunities_are_backtested_from_the_crm(tmp_path: Path) -> None:
    """Opportunities closed won and lost, linked by contact role and by lead conversion,
    are matched with the leads crmbridge synced; an open one is left out."""
    with SalesforceSandbox() as server:
        state = server.state
        people = [
            state.insert(
                "Lead",
                {
                    "LastName": f"L{n}",
                    "Company": "Acme",
                    "Email": f"lead{n}@acme.example",
                    "Title": "IT Director" if n % 2 else "Analyst",
                    "NumberOfEmployees": 900,
                },
            )
            for n in range(4)
        ]
        state.convert_lead(
            people[0], {"Name": "A", "StageName": "Closed Won", "CloseDate": date(2026, 10, 1)}
        )
        state.convert_lead(
            people[1],
            {"Name": "B", "StageName": "Closed Lost", "CloseDate": date(2026, 9, 20)},
            contact_role=False,
        )
        state.convert_lead(  # still open: not an outcome
            people[2], {"Name": "C", "StageName": "Prospecting", "CloseDate": date(2026, 12, 1)}
        )
        role_only = state.insert("Contact", {"LastName": "R", "Email": "role@acme.example"})
        deal = state.insert(
            "Opportunity", {"Name": "D", "StageName": "Closed Won", "CloseDate": date(2026, 8, 3)}
        )
        state.insert("OpportunityContactRole", {"OpportunityId": deal, "ContactId": role_only})
        config = tmp_path / "crmbridge.toml"
        config.write_text(_salesforce_config(server, tmp_path / "s.db"), "utf-8")
        runner = CliRunner()
        assert runner.invoke(app, ["check", "--config", str(config)]).exit_code == 0
        synced = runner.invoke(app, ["run", "--once", "--config", str(config)])
        assert synced.exit_code == 0, synced.output

        result = runner.invoke(app, ["backtest", "--from-crm", "--json", "--config", str(config)])

    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert (payload["source"], payload["leads"], payload["won"]) == ("salesforce", 3, 2)
    scored = {row["lead"]: row for row in payload["models"][0]["scores"]}
    assert set(scored) == {"lead0@acme.example", "lead1@acme.example", "role@acme.example"}
    assert scored["lead1@acme.example"]["won"] is False
    assert scored["lead1@acme.example"]["closed_at"] == "2026-09-20T00:00:00+00:00"
    assert payload["unmatched_outcomes"] == 0
