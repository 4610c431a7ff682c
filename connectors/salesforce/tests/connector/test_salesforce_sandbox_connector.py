"""The Salesforce connector against the sandbox org, through the real simple-salesforce:
each way of signing in, a session ended mid-read, the daily limit, deletions, merges
and conversions followed into the store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from connectors.salesforce.tests.conftest import SandboxHandle
from crmbridge import clock
from crmbridge.config import example_config_text, parse_config
from crmbridge.connector import Write
from crmbridge.errors import AuthError, RateLimited
from crmbridge.store.repository import Store
from crmbridge.sync.pipeline import Pipeline

from .salesforce_harness import connector_for

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def seed_leads(sandbox: SandboxHandle, count: int) -> list[str]:
    """Leads modified a month ago, a second apart."""
    start = datetime.now(UTC) - timedelta(days=30)
    return [
        sandbox.seed(
            "Lead",
            {"LastName": f"Lead {n}", "Company": "Acme", "Email": f"lead{n}@acme.example"},
            modstamp=start + timedelta(seconds=n),
        )
        for n in range(count)
    ]


def read_ids(sandbox: SandboxHandle, **settings: object) -> list[str]:
    connector = connector_for(sandbox.server, **settings)
    return [r.id for page in connector.read_changes(None, ["LastName"]) for r in page.records]


def test_every_way_of_signing_in_reads_the_org(salesforce_sandbox: SandboxHandle) -> None:
    sandbox = salesforce_sandbox
    ids = seed_leads(sandbox, 3)
    jwt = {
        "password": None,
        "security_token": None,
        "consumer_key": sandbox.consumer_key,
        "private_key_file": sandbox.private_key_path,
    }
    client_credentials = {
        "username": None,
        "password": None,
        "security_token": None,
        "client_id": sandbox.client_id,
        "client_secret": SecretStr(sandbox.client_secret),
        "domain": "acme.my",
    }
    session = {
        "username": None,
        "password": None,
        "security_token": None,
        "session_id": SecretStr(sandbox.session_id()),
        "instance_url": sandbox.instance_url,
    }

    for settings in ({}, jwt, client_credentials, session):
        assert read_ids(sandbox, **settings) == ids, settings


def test_a_session_ended_mid_read_is_renewed_once_and_the_read_completes(
    salesforce_sandbox: SandboxHandle,
) -> None:
    sandbox = salesforce_sandbox
    ids = seed_leads(sandbox, 450)
    connector = connector_for(sandbox.server)
    seen: list[str] = []

    for number, page in enumerate(connector.read_changes(None, ["LastName"])):
        seen.extend(r.id for r in page.records)
        if number == 0:
            sandbox.admin.expire_sessions()

    assert seen == ids
    assert connector.client.logins == 2


def test_a_session_refused_again_after_renewal_names_the_setting(
    salesforce_sandbox: SandboxHandle,
) -> None:
    sandbox = salesforce_sandbox
    seed_leads(sandbox, 2)
    sandbox.faults.add("expired", count=2)

    with pytest.raises(AuthError) as failure:
        read_ids(sandbox)

    text = f"{failure.value} {failure.value.detail}"
    assert "connectors.salesforce.password" in text
    assert sandbox.password not in text and sandbox.security_token not in text


def test_the_daily_limit_stops_writes_and_nothing_is_sent_until_it_allows(
    salesforce_sandbox: SandboxHandle,
) -> None:
    sandbox = salesforce_sandbox
    (lead,) = seed_leads(sandbox, 1)
    connector = connector_for(sandbox.server)
    connector.read_values([lead], ["LastName"])  # signed in, described
    sandbox.admin.set_usage(sandbox.server.config.daily_limit)

    with pytest.raises(RateLimited) as refused:
        connector.read_values([lead], ["LastName"])
    assert "REQUEST_LIMIT_EXCEEDED" in str(refused.value)


def test_deleted_merged_and_converted_leads_are_followed_in_the_store(
    salesforce_sandbox: SandboxHandle, tmp_path: Path
) -> None:
    sandbox = salesforce_sandbox
    deleted, loser, survivor, converted = seed_leads(sandbox, 4)
    config = parse_config(example_config_text()).config
    store = Store.open(f"sqlite:///{tmp_path / 'sf.db'}")
    connector = connector_for(sandbox.server, objects=["Lead", "Contact"])
    pipeline = Pipeline(store, config, {connector.name: connector})
    try:
        summary = pipeline.run_once(NOW)
        assert summary.read == 4
        sandbox.admin.delete("Lead", deleted)
        sandbox.admin.delete("Lead", loser, merged_into=survivor)
        contact = sandbox.admin.convert(converted)

        pipeline.read(connector, summary)

        with store.session() as session:
            held = {row.crm_id for row in Store.contacts_after(session, 0, 100, "salesforce")}
    finally:
        store.engine.dispose()
    assert held == {survivor, contact}


def test_a_field_hidden_from_the_integration_user_is_reported_not_guessed(
    salesforce_sandbox: SandboxHandle,
) -> None:
    sandbox = salesforce_sandbox
    (lead,) = seed_leads(sandbox, 1)
    sandbox.admin.edit("Lead", lead, {"FirstName": "Ada"})
    sandbox.admin.hide_field("Lead", "FirstName")
    connector = connector_for(sandbox.server)

    (record,) = [
        r for p in connector.read_changes(None, ["FirstName", "LastName"]) for r in p.records
    ]

    assert record.properties == {"LastName": "Lead 0"}
    assert "FirstName" not in connector.property_names()
    (result,) = connector.write([Write(lead, {"FirstName": "Grace"})])
    assert not result.ok and "not editable by the integration user" in (result.error or "")
    assert sandbox.admin.record("Lead", lead)["FirstName"] == "Ada"


def test_a_lead_emptied_from_the_recycle_bin_is_found_by_get_deleted(
    salesforce_sandbox: SandboxHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox = salesforce_sandbox
    kept, purged = seed_leads(sandbox, 2)
    connector = connector_for(sandbox.server)
    cursor = [p.cursor for p in connector.read_changes(None, ["LastName"])][-1]
    sandbox.admin.delete("Lead", purged)
    sandbox.admin.empty_recycle_bin("Lead", purged)

    soon = list(connector.read_changes(cursor, ["LastName"]))
    # Within the hour: getDeleted is not asked, and queryAll no longer sees the row.
    assert not any(page.gone for page in soon)
    later = datetime.now(UTC) + timedelta(hours=2)
    monkeypatch.setattr(clock, "now", lambda: later)
    pages = list(connector.read_changes(cursor, ["LastName"]))

    assert [gone for page in pages for gone in page.gone] == [purged]
    assert kept not in {gone for page in pages for gone in page.gone}
    # The next check starts where this one ended: the deletion is reported once.
    again = list(connector.read_changes(pages[-1].cursor, ["LastName"]))
    assert not any(page.gone for page in again)
