"""No secret ever reaches the daemon's output.

One ``crmbridge run`` process, at DEBUG level, on Postgres with a password in the
database URL, goes through a full life with distinctive secrets: start-up checks, polls
and write-backs, events on ``/v1/events`` (and a request carrying a secret as a wrong
bearer token), signed webhooks from the sandbox and built here (one forged), CRM errors
(refused reads, then a revoked token), metrics and readiness, and a SIGTERM. Everything
it wrote on stdout and stderr is then searched for every secret, as written and in the
encodings a log line could carry it in.
"""

from __future__ import annotations

import base64
import json
import secrets
import signal
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests

from crmbridge_hubspot.sandbox.records import ChangeSource
from crmbridge_hubspot.sandbox.server import SandboxServer, build
from crmbridge_hubspot.sandbox.webhooks import sign_v3
from tests.integration.daemon.daemon_helpers import (
    DaemonProcess,
    add_contacts,
    contact_email,
    daemon_environment,
    free_port,
    pricing_view,
    scored,
    wait_for,
)

CONTACTS = 20


def _secret(kind: str) -> str:
    return f"{kind}-{secrets.token_hex(12)}"


def _variants(secret: str) -> set[str]:
    """The secret as a log line could carry it: raw, URL-quoted, JSON-escaped, base64."""
    return {
        secret,
        quote(secret, safe=""),
        json.dumps(secret)[1:-1],
        base64.b64encode(secret.encode()).decode().rstrip("="),
    }


def _webhook(url: str, secret: str, events: list[dict[str, Any]]) -> requests.Response:
    body = json.dumps(events).encode()
    stamp = str(int(time.time() * 1000))
    headers = {
        "Content-Type": "application/json",
        "X-HubSpot-Request-Timestamp": stamp,
        "X-HubSpot-Signature-v3": sign_v3(secret, "POST", url, body, stamp),
    }
    return requests.post(url, data=body, headers=headers, timeout=10)


def test_no_secret_in_any_output(postgres_url: str, tmp_path: Path) -> None:
    token = _secret("pat-hubspot")
    app_secret = _secret("hs-app-secret")
    ingest_token = _secret("ingest")
    password = _secret("pg-password")
    url = postgres_url.replace("postgres@", f"postgres:{password}@", 1)
    assert password in url

    port = free_port()
    hook_url = f"http://127.0.0.1:{port}/webhooks/hubspot"
    state, config = build(
        "empty",
        token,
        app_secret=app_secret,
        webhook_url=hook_url,
        webhook_properties=["jobtitle"],
    )
    ids = add_contacts(state, CONTACTS)
    sandbox = SandboxServer(state, config).start()
    env = daemon_environment(
        url,
        sandbox.url,
        port,
        ingest_token=ingest_token,
        access_token=token,
        app_secret=app_secret,
        extra={"CRMBRIDGE_LOG_LEVEL": "DEBUG"},
    )
    daemon = DaemonProcess.start("daemon", tmp_path, env)
    try:
        daemon.wait_synced(state, CONTACTS)

        # Events: accepted with the token; refused (and not echoed) with a secret as bearer.
        now = datetime.now(UTC).replace(microsecond=0)
        events = [pricing_view(contact_email(i), now, f"ev-{i}") for i in range(5)]
        assert daemon.post_events(events).status_code == 202
        wrong = daemon.post_events(events, token=app_secret)
        assert wrong.status_code == 401
        assert app_secret not in wrong.text

        # A change in the CRM comes back as a webhook signed with the app secret.
        state.update_contacts(
            [(ids[0], {"jobtitle": "Chief Information Officer"})],
            source=ChangeSource("CRM_UI"),
            as_user=True,
        )
        wait_for(
            lambda: any(d.status == 200 for d in sandbox.services.webhooks.deliveries()),
            30,
            "a webhook delivered",
            watch=[daemon],
        )
        notification = {
            "eventId": 77001,
            "subscriptionId": 501000,
            "portalId": config.portal_id,
            "appId": config.app_id,
            "occurredAt": int(time.time() * 1000),
            "subscriptionType": "contact.propertyChange",
            "attemptNumber": 0,
            "objectId": int(ids[1]),
            "changeSource": "CRM_UI",
            "propertyName": "jobtitle",
            "propertyValue": "CTO",
        }
        assert _webhook(hook_url, app_secret, [notification]).status_code == 200
        forged = _webhook(hook_url, app_secret[::-1], [{**notification, "eventId": 77002}])
        assert forged.status_code == 401
        assert app_secret not in forged.text

        # The CRM fails: it refuses the reads for a while, then the token is revoked.
        config.update({"fault_rate": 1.0, "fault_statuses": [400]})
        add_contacts(state, 3, start=CONTACTS)
        wait_for(lambda: "read failed" in daemon.output(), 30, "a failed read", watch=[daemon])
        config.update({"fault_rate": 0.0, "tokens": {"someone-else": None}})
        wait_for(
            lambda: "rejected the access token" in daemon.output(),
            30,
            "a poll refused by the CRM",
            watch=[daemon],
        )
        # Intake stays open; the sync health names the refused token.
        assert daemon.get("/readyz").status_code == 200
        wait_for(
            lambda: daemon.get("/healthz").json()["connectors"]["hubspot"]["auth"] == "failed",
            30,
            "the health report naming the refused token",
            watch=[daemon],
        )
        config.update({"tokens": {token: None}})
        wait_for(lambda: len(scored(state)) == CONTACTS + 3, 60, "recovery", watch=[daemon])
        assert daemon.get("/metrics").status_code == 200
        daemon.send(signal.SIGTERM)
        code = daemon.wait(35)
    finally:
        daemon.kill()
        sandbox.stop()
    assert code == 0, daemon.tail()

    output = daemon.output()
    # The run went through what it was meant to (so the search below means something).
    for marker in (
        "daemon.started",
        "events.ingested",
        "webhook.received",
        "webhook.rejected",
        "cycle.error",
        "daemon.stopped",
    ):
        assert marker in output, f"{marker} not in the output:\n{daemon.tail(60)}"
    assert "Authentication" in output or "authentication" in output

    for name, secret in (
        ("HubSpot access token", token),
        ("HubSpot app secret", app_secret),
        ("ingest token", ingest_token),
        ("Postgres password", password),
    ):
        for form in _variants(secret):
            where = output.find(form)
            assert where < 0, (
                f"the {name} appears in the daemon's output:\n"
                + output[max(0, where - 300) : where + 100]
            )
