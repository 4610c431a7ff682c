"""The daemon on an OAuth app across three access-token expiries: not one failed call.

The real daemon (its scheduler, polls every second and drains, on several threads)
runs against a sandbox whose access tokens live 2 s, for about 7 s, while a user keeps
editing contacts so every cycle reads and writes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import structlog
from pydantic import SecretStr
from sqlmodel import select

from crmbridge.daemon.service import Daemon
from crmbridge.store.repository import Store
from crmbridge.store.tables import SyncRunRow
from crmbridge_hubspot import HubSpotConnector
from crmbridge_hubspot.sandbox.config import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REFRESH_TOKEN,
)
from crmbridge_hubspot.sandbox.records import ChangeSource
from crmbridge_hubspot.sandbox.server import SandboxServer
from tests.integration.daemon.app_harness import make_config
from tests.integration.daemon.daemon_helpers import start_sandbox

TTL_S = 2
RUN_S = 7.0
USER = ChangeSource("CRM_UI", "userId:7")


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    running = start_sandbox(20, access_token_ttl_s=TTL_S)
    yield running
    running.stop()


def _daemon(server: SandboxServer, store: Store) -> Daemon:
    base = make_config()
    hubspot = base.connectors.hubspot.model_copy(
        update={
            "access_token": None,
            "base_url": server.url,
            "client_id": DEFAULT_CLIENT_ID,
            "client_secret": SecretStr(DEFAULT_CLIENT_SECRET),
            "refresh_token": SecretStr(DEFAULT_REFRESH_TOKEN),
        }
    )
    bridge = base.bridge.model_copy(
        update={"database_url": store.engine.url.render_as_string(hide_password=False)}
    )
    daemon = base.daemon.model_copy(
        update={"poll_interval": timedelta(seconds=1), "drain_interval": timedelta(seconds=1)}
    )
    config = base.model_copy(
        update={
            "bridge": bridge,
            "daemon": daemon,
            "connectors": base.connectors.model_copy(update={"hubspot": hubspot}),
        }
    )
    connector = HubSpotConnector.from_settings(hubspot)
    return Daemon(config, store, {"hubspot": connector}, serve_http=False)


def test_a_daemon_runs_across_three_token_expiries_without_a_failed_call(
    server: SandboxServer, tmp_path: Path
) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'store.db'}")
    daemon = _daemon(server, store)
    ids = [c.id for c in server.state.contacts()]
    editing = threading.Event()

    def edit() -> None:  # a user at work in HubSpot, so that each poll reads something
        turn = 0
        while not editing.wait(0.3):
            title = ("CIO", "Analyst")[turn % 2]
            server.state.update_contacts(
                [(ids[turn % len(ids)], {"jobtitle": title})], source=USER, as_user=True
            )
            turn += 1

    editor = threading.Thread(target=edit, daemon=True)
    with structlog.testing.capture_logs() as logs:
        daemon.preflight()
        daemon.schedule()
        daemon.scheduler.start()
        editor.start()
        time.sleep(RUN_S)
        editing.set()
        daemon.shutdown()
    editor.join(5)
    try:
        with store.session() as session:
            runs = list(session.exec(select(SyncRunRow)).all())
    finally:
        store.engine.dispose()

    requests = server.state.requests()
    # The start's schema bootstrap asks for the property group first: 404, then created.
    probe = ("GET", "/crm/v3/properties/contacts/groups/crmbridge", 404)
    failed = [(r.method, r.path, r.status) for r in requests if r.status >= 400]
    assert [f for f in failed if f != probe] == [], "no call failed, none refused as expired"
    refreshes = sum(1 for r in requests if r.path == "/oauth/v1/token")
    assert refreshes >= 4, "the first token and at least three renewals"
    assert sum(1 for r in requests if r.path.endswith("/batch/update")) >= 2, "cycles wrote"
    assert len(runs) >= 5
    assert [(r.status, r.failed, r.errors) for r in runs if r.status not in ("ok", "stopped")] == []
    assert sum(r.failed for r in runs) == 0
    assert [r.errors for r in runs if r.errors.get("messages")] == []
    said = repr(logs)
    assert DEFAULT_REFRESH_TOKEN not in said and DEFAULT_CLIENT_SECRET not in said
    assert "sandbox-oauth-" not in said, "no access token in any log line"
