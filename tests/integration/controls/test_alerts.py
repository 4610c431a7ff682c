"""The alert hook: a Slack-compatible post when authentication fails (or a scope that
reading or writing needs is revoked), when writes die or when no cycle succeeds for a
while — once per incident, with a recovery message — to a local HTTP receiver, from a
daemon syncing the HubSpot sandbox."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from crmbridge.config import CrmbridgeConfig
from crmbridge.daemon.service import Daemon
from crmbridge.errors import ConfigError
from crmbridge.logging import configure_logging
from crmbridge.records import CanonicalEvent
from crmbridge.settings import AlertSettings
from crmbridge.store.erasure import find_person, forget
from crmbridge.store.repository import Store
from crmbridge_hubspot.sandbox.server import SandboxServer
from tests.integration.handoff.harness import (
    TOKEN,
    LeadSpec,
    add_leads,
    connector_for,
    make_sandbox,
)

from .helpers import config_with

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=6)
#: Slack's webhook URLs are secrets: this path must never reach a log line.
SECRET_PATH = "/services/T0SECRET/B0HOOK/xoxsecretpart"


class Receiver:
    """A local HTTP endpoint recording each posted JSON body; it can fail or stall."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, object]] = []
        self.status = 200
        self.delay_s = 0.0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                receiver.bodies.append(json.loads(self.rfile.read(length)))
                time.sleep(receiver.delay_s)
                self.send_response(receiver.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *_args: object) -> None:
                return

        class Quiet(ThreadingHTTPServer):
            def handle_error(self, *_args: object) -> None:
                return  # a stalled answer the client gave up on: expected here

        self.server = Quiet(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{SECRET_PATH}"

    @property
    def texts(self) -> list[str]:
        return [str(body["text"]) for body in self.bodies]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver()
    yield made
    made.close()


@pytest.fixture
def crm() -> Iterator[SandboxServer]:
    with make_sandbox() as server:
        yield server


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(f"sqlite:///{tmp_path / 'crmbridge.db'}")
    yield opened
    opened.engine.dispose()


def _config(url: str, *, timeout: str = "5s") -> CrmbridgeConfig:
    base = config_with()
    alerts = AlertSettings.model_validate({"webhook_url": url, "timeout": timeout})
    # Stale after two poll intervals of one second (the daemon's own scheduler is not
    # started: the test runs each poll itself).
    daemon = base.daemon.model_copy(
        update={"poll_interval": timedelta(seconds=1), "unhealthy_after_cycles": 2}
    )
    return base.model_copy(update={"alerts": alerts, "daemon": daemon})


@pytest.fixture
def clock() -> list[datetime]:
    return [T0]


@pytest.fixture
def make_daemon(
    crm: SandboxServer, store: Store, clock: list[datetime]
) -> Iterator[type[Daemon] | object]:
    made: list[Daemon] = []

    def build(config: CrmbridgeConfig) -> Daemon:
        daemon = Daemon(
            config,
            store,
            {"hubspot": connector_for(crm)},
            clock=lambda: clock[0],
            serve_http=False,
        )
        daemon.preflight()
        made.append(daemon)
        return daemon

    yield build
    for daemon in made:
        if daemon.guard is not None:
            daemon.guard.release()


def test_auth_failure_and_a_stale_sync_alert_once_each_then_recover(
    crm: SandboxServer, receiver: Receiver, make_daemon: object, clock: list[datetime]
) -> None:
    add_leads(crm.state, [LeadSpec(1), LeadSpec(2)], T0 - timedelta(days=3))
    daemon = make_daemon(_config(receiver.url))  # type: ignore[operator]
    daemon.poll("hubspot")
    assert receiver.texts == []

    crm.config.update({"tokens": {}})  # the private app's token is revoked
    for _ in range(3):  # well within two poll intervals of the last success
        daemon.poll("hubspot")
        daemon.drain()
    auth = [t for t in receiver.texts if "cannot authenticate with hubspot" in t]
    assert len(auth) == 1, receiver.texts

    def stale() -> list[str]:
        return [t for t in receiver.texts if "no sync cycle of hubspot" in t]

    deadline = time.monotonic() + 10
    while not stale() and time.monotonic() < deadline:
        daemon.check_alerts()
        time.sleep(0.1)
    daemon.check_alerts()
    daemon.poll("hubspot")  # still refused: nothing new to say
    assert len(receiver.texts) == 2, receiver.texts
    assert stale() == [
        ":rotating_light: no sync cycle of hubspot has succeeded for 2 poll intervals (2 s)"
    ]

    crm.config.update({"tokens": {TOKEN: None}})  # a new token
    daemon.poll("hubspot")
    daemon.poll("hubspot")
    assert receiver.texts[2:] == [
        ":white_check_mark: crmbridge authenticates with hubspot again",
        ":white_check_mark: hubspot syncs again: a cycle succeeded",
    ]
    assert daemon.alerts.open_incidents == []


def test_a_revoked_read_scope_alerts_once_naming_the_scope_then_recovers(
    crm: SandboxServer, receiver: Receiver, make_daemon: object
) -> None:
    add_leads(crm.state, [LeadSpec(1)], T0 - timedelta(days=3))
    daemon = make_daemon(_config(receiver.url))  # type: ignore[operator]
    daemon.poll("hubspot")
    # HubSpot answers 403 MISSING_SCOPES: the token is valid, the permission is not.
    crm.config.update({"tokens": {TOKEN: ["crm.schemas.contacts.read"]}})

    daemon.poll("hubspot")
    daemon.poll("hubspot")
    crm.config.update({"tokens": {TOKEN: None}})
    daemon.poll("hubspot")

    opened, closed = receiver.texts
    assert opened.startswith(":rotating_light: crmbridge lacks a permission in hubspot to read")
    assert "crm.objects.contacts.read" in opened
    assert "cannot authenticate" not in opened
    assert closed == ":white_check_mark: crmbridge authenticates with hubspot again"


def test_dead_writes_alert_once_across_a_restart_and_recover_when_none_is_left(
    crm: SandboxServer, receiver: Receiver, make_daemon: object, store: Store
) -> None:
    gone, kept = add_leads(crm.state, [LeadSpec(1), LeadSpec(2)], T0 - timedelta(days=3))
    daemon = make_daemon(_config(receiver.url))  # type: ignore[operator]
    daemon.poll("hubspot")
    # Deleted in HubSpot without a webhook: crmbridge's next write for it fails for good.
    crm.state.delete_contact(gone, source=crm.services.api_source)
    event = CanonicalEvent.model_validate(
        {
            "event_id": "late-visit",
            "type": "page_view",
            "occurred_at": T0.isoformat(),
            "contact": {"crm": "hubspot", "id": gone},
            "properties": {"url": "https://acme.example/pricing"},
        }
    )
    store.insert_events([event])
    daemon.drain()
    daemon.drain()
    assert len(receiver.texts) == 1, receiver.texts
    assert "CRM writes gave up after retries (dead outbox rows)" in receiver.texts[0]

    # A restart (or another replica) knows the incident was announced.
    assert daemon.guard is not None
    daemon.guard.release()
    restarted = make_daemon(_config(receiver.url))  # type: ignore[operator]
    restarted.drain()
    assert len(receiver.texts) == 1, receiver.texts
    assert restarted.alerts.open_incidents == ["dead"]

    with store.engine.begin() as connection:
        forget(connection, find_person(connection, gone, "hubspot"))
    restarted.drain()
    daemon.drain()
    assert receiver.texts[1:] == [":white_check_mark: no dead CRM writes are left in the outbox"]
    assert kept


@pytest.mark.parametrize("trouble", ["error", "timeout"])
def test_a_failing_receiver_is_logged_without_the_url_and_never_stops_a_cycle(
    crm: SandboxServer,
    receiver: Receiver,
    make_daemon: object,
    capsys: pytest.CaptureFixture[str],
    trouble: str,
) -> None:
    add_leads(crm.state, [LeadSpec(1)], T0 - timedelta(days=3))
    if trouble == "error":
        receiver.status = 500
    else:
        receiver.delay_s = 3.0
    configure_logging(json_output=True, secrets=[receiver.url])
    daemon = make_daemon(_config(receiver.url, timeout="0.5s"))  # type: ignore[operator]
    crm.config.update({"tokens": {}})

    started = time.monotonic()
    daemon.poll("hubspot")
    took = time.monotonic() - started

    assert len(receiver.bodies) == 1  # it was tried once
    assert took < 2.5  # the post gave up after its timeout
    logged = capsys.readouterr().err
    failures = [
        json.loads(line)
        for line in logged.splitlines()
        if line.startswith("{") and '"alert.post_failed"' in line
    ]
    assert len(failures) == 1, logged[-3000:]
    assert failures[0]["error"] == ("HTTP 500" if trouble == "error" else "ReadTimeout")
    assert "T0SECRET" not in logged and "xoxsecretpart" not in logged
    assert daemon.alerts.open_incidents == ["auth:hubspot"]


def test_a_refused_start_alerts_once_across_restarts_and_recovers_when_one_passes(
    crm: SandboxServer, receiver: Receiver, store: Store
) -> None:
    config = _config(receiver.url)
    crm.config.update({"tokens": {}})

    for _ in range(2):  # a container restarting in a loop
        daemon = Daemon(config, store, {"hubspot": connector_for(crm)}, serve_http=False)
        with pytest.raises(ConfigError):
            daemon.preflight()
        assert daemon.guard is not None
        daemon.guard.release()
    assert len(receiver.texts) == 1, receiver.texts
    assert receiver.texts[0].startswith(":rotating_light: crmbridge refuses to start: ")
    assert TOKEN not in receiver.texts[0]

    crm.config.update({"tokens": {TOKEN: None}})
    daemon = Daemon(config, store, {"hubspot": connector_for(crm)}, serve_http=False)
    daemon.preflight()
    assert daemon.guard is not None
    daemon.guard.release()
    assert receiver.texts[1:] == [
        ":white_check_mark: crmbridge started: its start-up checks pass again"
    ]
