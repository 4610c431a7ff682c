"""``crmbridge writes pause|resume|status`` on SQLite and Postgres."""

from __future__ import annotations

import json

import pytest

from crmbridge.store.controls import writes_state
from crmbridge.store.repository import Store
from tests.integration.helpers import cli


def test_pause_status_and_resume_share_one_switch(store: Store, store_url: str) -> None:
    before = cli(store_url, "writes", "status")
    paused = cli(store_url, "writes", "pause", "--reason", "HubSpot import running")
    status = cli(store_url, "writes", "status", "--json")
    with store.session() as session:
        stored = writes_state(session)
    resumed = cli(store_url, "writes", "resume")

    assert before.exit_code == 0 and "CRM writes are on" in before.stdout
    assert paused.exit_code == 0, paused.output
    assert "CRM writes are paused since" in paused.stdout
    assert "HubSpot import running" in paused.stdout
    answer = json.loads(status.stdout)
    assert answer["paused"] is True and answer["shadow"] is False
    assert answer["by"].startswith("cli")
    assert stored.paused and stored.reason == "HubSpot import running"
    assert "CRM writes are on" in resumed.stdout
    with store.session() as session:
        assert writes_state(session).paused is False


def test_status_says_when_shadow_mode_holds_every_write(
    store: Store, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRMBRIDGE__BRIDGE__WRITE", "false")

    human = cli(store_url, "writes", "status")
    machine = cli(store_url, "writes", "status", "--json")

    assert "shadow mode ([bridge] write = false)" in human.stdout
    assert json.loads(machine.stdout)["shadow"] is True
