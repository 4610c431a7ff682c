"""``crmbridge backtest --from-crm`` against the local HubSpot sandbox through the real
SDK: closed deals (won and lost) and their contacts are read, open deals and deals
without a close date or a contact are left out; the sandbox refuses deals HubSpot
would refuse."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hubspot.crm.deals import ApiException, SimplePublicObjectInputForCreate
from typer.testing import CliRunner

from connectors.hubspot.tests.connector.hubspot_harness import TOKEN, connector_for, sandbox
from crmbridge.cli import app
from crmbridge_hubspot.sandbox.server import SandboxServer
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
