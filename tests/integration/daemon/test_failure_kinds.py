"""A CRM's refusals reach the cycle summary, ``/healthz`` and the metrics as typed kinds.

Through the real HubSpot connector and the HubSpot sandbox over HTTP, with the daemon's
own ``poll`` job: a token that lacks the scope to read contacts (HubSpot's 403
``MISSING_SCOPES``) is kind ``missing_scope``; a token HubSpot does not know (401) is
kind ``auth``. Only the latter marks the connector's credentials as failed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from crmbridge.daemon.http import create_app
from crmbridge.daemon.service import Daemon
from crmbridge.store.repository import Store
from crmbridge_hubspot import HubSpotConnector
from crmbridge_hubspot.sandbox.config import DEFAULT_TOKEN
from crmbridge_hubspot.sandbox.server import SandboxServer
from crmbridge_hubspot.settings import HubSpotSettings

from .app_harness import make_config
from .daemon_helpers import metric_value

#: Scopes of a token that cannot read contacts (HubSpot accepts the write scope for reads).
CANNOT_READ = [
    "crm.schemas.contacts.read",
    "crm.schemas.contacts.write",
    "crm.objects.owners.read",
]
UNKNOWN_TOKEN = "pat-na1-0e9d8c7b-6a5f-4e3d-2c1b-0a9f8e7d6c5b"


def _daemon(store: Store, server: SandboxServer, token: str) -> Daemon:
    settings = HubSpotSettings(enabled=True, access_token=SecretStr(token), base_url=server.url)
    connector = HubSpotConnector.from_settings(settings)
    base = make_config()
    bridge = base.bridge.model_copy(
        update={"database_url": store.engine.url.render_as_string(hide_password=False)}
    )
    config = base.model_copy(update={"bridge": bridge})
    return Daemon(config, store, {"hubspot": connector}, serve_http=False)


@pytest.mark.parametrize(
    ("scopes", "token", "kind", "note", "auth"),
    [
        (CANNOT_READ, DEFAULT_TOKEN, "missing_scope", "(missing scope)", "unknown"),
        (None, UNKNOWN_TOKEN, "auth", "(authentication)", "failed"),
    ],
    ids=["403-missing-scope", "401-unknown-token"],
)
def test_a_refused_read_is_typed_in_the_summary_healthz_and_metrics(
    sqlite_store: Store,
    sandbox: SandboxServer,
    tmp_path: Path,
    scopes: list[str] | None,
    token: str,
    kind: str,
    note: str,
    auth: str,
) -> None:
    sandbox.config.update({"tokens": {DEFAULT_TOKEN: scopes}})
    daemon = _daemon(sqlite_store, sandbox, token)

    summary = daemon.pipeline.run_once(daemon.clock())
    daemon.poll("hubspot")
    health = TestClient(create_app(sqlite_store, daemon.config, health=daemon.health))
    body = health.get("/healthz").json()["connectors"]["hubspot"]
    text = daemon.metrics.render().decode()

    (failure,) = summary.failures
    assert (failure.connector, failure.stage, failure.kind) == ("hubspot", "read", kind)
    (line,) = summary.errors
    assert line.startswith(f"hubspot: read failed {note}: "), line
    assert token not in line
    counts = body["consecutive_failures"]
    assert counts[kind] == 1
    assert sum(counts.values()) == 1, counts
    assert body["auth"] == auth
    assert body["last_error"].startswith("read: ")
    series = f'crmbridge_cycle_failures_total{{connector="hubspot",kind="{kind}"}}'
    assert metric_value(text, series) == 1.0
    other = "auth" if kind == "missing_scope" else "missing_scope"
    assert (
        metric_value(
            text, f'crmbridge_cycle_failures_total{{connector="hubspot",kind="{other}"}}', default=0
        )
        == 0
    )
