"""``crmbridge explain EMAIL|CRM-ID`` on a lead the pipeline synced into the store (SQLite
and PostgreSQL): its rules, score history, outbox rows and SLA clock; an unknown lead; and
``--live`` against the local HubSpot sandbox through the real SDK.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from connectors.hubspot.tests.connector.hubspot_harness import TOKEN, sandbox
from crmbridge.cli import app
from crmbridge.records import CanonicalEvent, ContactRecord
from crmbridge.store.repository import Store
from crmbridge.testing.fake import FakeConnector
from crmbridge_hubspot.sandbox.records import ChangeSource
from tests.integration.daemon.daemon_helpers import add_contacts, contact_email

from .helpers import NOW, NOW_TEXT, FlakyCrm, cli, example_events, example_leads, pipeline, seed_crm

JORGE = "jorge.martin@transportes-norte.es"
JORGE_ID = "102"
LATER = NOW + timedelta(days=45)
LATER_TEXT = LATER.isoformat().replace("+00:00", "Z")
USER = ChangeSource("CRM_UI", "userId:7")


@pytest.fixture
def crm(tmp_path: Path) -> FakeConnector:
    return seed_crm(tmp_path / "crm", example_leads())


def _synced(store: Store, crm: FakeConnector) -> None:
    """Two cycles: the first scores every lead, the second, weeks later, decays them."""
    store.insert_events([CanonicalEvent.model_validate(e) for e in example_events()])
    pipe = pipeline(store, crm)
    assert pipe.run_once(NOW).ok
    assert pipe.run_once(LATER).ok


def _explained(store_url: str, *args: str) -> dict[str, Any]:
    result = cli(store_url, "explain", *args, "--json", "--now", LATER_TEXT)
    assert result.exit_code == 0, result.output
    payload: dict[str, Any] = json.loads(result.stdout)
    return payload


def test_a_synced_lead_is_explained_from_the_store_by_email_and_by_crm_id(
    store: Store, store_url: str, crm: FakeConnector
) -> None:
    _synced(store, crm)

    by_email = _explained(store_url, JORGE)
    by_id = _explained(store_url, JORGE_ID)
    by_option = _explained(store_url, "--lead", JORGE.upper())

    assert by_email == by_id == by_option
    assert (by_email["crm"], by_email["crm_id"]) == ("hubspot", JORGE_ID)
    score = by_email["score"]
    assert score["email"] == JORGE
    assert score["contributions"], "every rule that matched is listed"
    assert any(c["capped_at"] is not None for c in score["contributions"])
    history = by_email["history"]
    assert len(history) == 2, "decay changed the score: two rows, newest first"
    assert history[0]["scored_at"] > history[1]["scored_at"]
    assert all(h["model_version"] and h["stage_transition"] and h["reasons"] for h in history)
    assert history[0]["total"] == score["total"]
    assert by_email["stored_model_version"] == score["model_version"] == history[0]["model_version"]
    outbox = by_email["outbox"]
    assert outbox and {w["status"] for w in outbox} == {"done"}
    assert {w["target"] for w in outbox} >= {"crmbridge_score", "crmbridge_stage"}
    assert all(w["last_error"] is None and "attempts" in w for w in outbox)
    assert isinstance(by_email["sla_clocks"], list)


def test_the_text_explanation_shows_rules_history_and_writes(
    store: Store, store_url: str, crm: FakeConnector
) -> None:
    _synced(store, crm)

    result = cli(store_url, "explain", JORGE, "--now", LATER_TEXT)

    assert result.exit_code == 0, result.output
    for title in ("Rules that fired", "Score history", "Writes and actions", "SLA clocks"):
        assert title in result.stdout
    assert "crmbridge_score" in result.stdout


def test_an_unknown_lead_is_refused_with_the_near_emails(
    store: Store, store_url: str, crm: FakeConnector
) -> None:
    _synced(store, crm)

    result = cli(store_url, "explain", "jorge.martim@transportes-norte.es", "--now", NOW_TEXT)

    assert result.exit_code == 1
    said = " ".join(result.output.split())
    assert "no contact with email or CRM id 'jorge.martim@transportes-norte.es'" in said
    assert f"did you mean: {JORGE}" in said


def test_live_shows_a_value_changed_in_the_crm(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db_url = f"sqlite:///{tmp_path / 'store.db'}"
    with sandbox() as server:
        monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", TOKEN)
        monkeypatch.setenv("HUBSPOT_APP_SECRET", "sandbox-secret")
        monkeypatch.setenv("CRMBRIDGE__CONNECTORS__HUBSPOT__BASE_URL", server.url)
        monkeypatch.setenv("CRMBRIDGE__BRIDGE__DATABASE_URL", db_url)
        add_contacts(server.state, 5)
        runner = CliRunner()
        synced = runner.invoke(app, ["run", "--once"])
        assert synced.exit_code == 0, synced.output
        email = contact_email(0)
        contact = next(c for c in server.state.contacts() if c.properties["email"] == email)
        assert contact.properties["crmbridge_score"] != "7"
        server.state.update_contacts([(contact.id, {"crmbridge_score": "7"})], source=USER)

        result = runner.invoke(app, ["explain", email, "--live", "--json"])

    assert result.exit_code == 0, result.output
    live = json.loads(result.stdout)["live"]
    assert live["crmbridge_score"]["crm"] == "7"
    assert live["crmbridge_score"]["differs"] is True
    assert live["crmbridge_stage"]["differs"] is False


def test_an_email_two_connectors_share_lists_both_and_crm_picks_one(
    store: Store, store_url: str, crm: FakeConnector
) -> None:
    _synced(store, crm)
    twin = ContactRecord(crm="salesforce", id="00Q1", email=JORGE, properties={})
    store.store_page("salesforce", "contacts", [twin], "c1", [])

    both = cli(store_url, "explain", JORGE, "--now", LATER_TEXT)
    one = _explained(store_url, JORGE, "--crm", "hubspot")

    assert both.exit_code == 1
    said = " ".join(both.output.split())
    assert "2 contacts match" in said
    assert f"hubspot {JORGE_ID} {JORGE}" in said and f"salesforce 00Q1 {JORGE}" in said
    assert (one["crm"], one["crm_id"]) == ("hubspot", JORGE_ID)


def test_a_write_the_crm_refused_shows_its_status_attempts_and_error(
    store: Store, store_url: str, tmp_path: Path
) -> None:
    FakeConnector.seed(tmp_path / "flaky", example_leads())
    flaky = FlakyCrm(tmp_path / "flaky", failures={JORGE_ID: 1_000})
    store.insert_events([CanonicalEvent.model_validate(e) for e in example_events()])
    pipeline(store, flaky).run_once(NOW)

    outbox = _explained(store_url, JORGE_ID)["outbox"]

    assert outbox and {w["status"] for w in outbox} == {"failed"}
    assert {(w["attempts"], w["last_error"]) for w in outbox} == {(1, "HTTP 503 unavailable")}
    assert all(w["next_attempt_at"] for w in outbox)
