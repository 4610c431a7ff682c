"""``crmbridge run`` as a real process: health through CRM failures, logs, stopping, refusals.

- Through a CRM that refuses reads and writes (400), then the token, then the daily
  quota: intake stays open (``/readyz`` 200, events 202) while ``/healthz`` names the
  failure kind, the auth and rate-limit state and turns 503 after the configured
  intervals; the metrics count failures by kind and failed/dead writes; every line the
  process writes is one JSON object, with one ``daemon.started`` line saying where it
  listens; a clean SIGTERM exits 0 without a ``cycle.error`` and leaves no cycle
  "running".
- The SQLite file deleted under the running daemon: events and webhooks get 503.
- A CRM that stops answering: SIGTERM ends the process within the 30 s grace; the cycle
  it abandoned is closed as "aborted" by the next start; a SIGTERM during the start-up
  checks (a server that never answers) ends the start at once; console log format.
- A host or port the daemon cannot listen on: exit 2 with the setting named.
"""

from __future__ import annotations

import json
import signal
import socket
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from crmbridge_hubspot.sandbox.server import SandboxServer
from tests.integration.daemon.daemon_helpers import (
    DaemonProcess,
    add_contacts,
    contact_email,
    daemon_environment,
    free_port,
    metric_value,
    pricing_view,
    scored,
    status_counts,
    wait_for,
)

CONTACTS = 12
GRACE_S = 30.0


def _running(db: Path) -> int:
    """Cycles recorded as still running."""
    return status_counts(db, "sync_runs").get("running", 0)


def _json_lines(text: str) -> list[dict[str, Any]]:
    """Every non-empty line parsed as one JSON object (fails on the first that is not)."""
    parsed = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError:
            raise AssertionError(f"line {number} is not JSON: {line!r}") from None
        assert isinstance(value, dict), f"line {number} is not an object: {line!r}"
        parsed.append(value)
    return parsed


def _health(daemon: DaemonProcess) -> tuple[int, dict[str, Any]]:
    answer = daemon.get("/healthz")
    return answer.status_code, answer.json()


def _hubspot(daemon: DaemonProcess) -> dict[str, Any]:
    return dict(_health(daemon)[1]["connectors"]["hubspot"])


def _events(daemon: DaemonProcess, tag: str, indexes: range) -> int:
    now = datetime.now(UTC).replace(microsecond=0)
    batch = [pricing_view(contact_email(i), now, f"{tag}-{i}") for i in indexes]
    return daemon.post_events(batch).status_code


def _env(db: Path, sandbox: SandboxServer, **extra: str) -> dict[str, str]:
    return daemon_environment(
        f"sqlite:///{db}",
        sandbox.url,
        free_port(),
        poll_interval="1s",
        drain_interval="1s",
        extra={
            "CRMBRIDGE__DAEMON__UNHEALTHY_AFTER_CYCLES": "2",
            "CRMBRIDGE__OUTBOX__MAX_ATTEMPTS": "1",
            **extra,
        },
    )


def test_health_and_metrics_through_crm_failures_while_intake_stays_open(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    db = tmp_path / "crmbridge.db"
    state, config = sandbox.state, sandbox.config
    add_contacts(state, CONTACTS)
    daemon = DaemonProcess.start("daemon", tmp_path, _env(db, sandbox))
    try:
        daemon.wait_synced(state, CONTACTS)
        wait_for(lambda: _hubspot(daemon)["last_success"] is not None, 30, "a successful poll")
        code, body = _health(daemon)
        assert code == 200, body
        assert body["connectors"]["hubspot"]["auth"] == "ok"
        text = daemon.get("/metrics").text
        assert metric_value(text, 'crmbridge_writes_total{connector="hubspot",status="done"}') > 0
        assert metric_value(text, 'crmbridge_last_success_timestamp_seconds{connector="hubspot"}')

        # The CRM refuses every call (400): reads fail, each write is declared dead.
        config.update({"fault_rate": 1.0, "fault_statuses": [400]})
        assert _events(daemon, "refused", range(0, 4)) == 202
        wait_for(
            lambda: _hubspot(daemon)["consecutive_failures"]["bad_record"] >= 2,
            60,
            "failed polls counted",
            watch=[daemon],
        )
        wait_for(
            lambda: (
                metric_value(
                    daemon.get("/metrics").text,
                    'crmbridge_writes_total{connector="hubspot",status="dead"}',
                    default=0,
                )
                >= 1
            ),
            60,
            "dead writes counted",
            watch=[daemon],
        )
        wait_for(lambda: _health(daemon)[0] == 503, 30, "/healthz 503", watch=[daemon])
        code, body = _health(daemon)
        assert body["unhealthy"] == ["hubspot"], body
        assert daemon.get("/readyz").status_code == 200

        # The token is revoked: auth state "failed", intake still open.
        config.update({"fault_rate": 0.0, "tokens": {"someone-else": None}})
        wait_for(lambda: _hubspot(daemon)["auth"] == "failed", 60, "auth failed", watch=[daemon])
        assert daemon.get("/readyz").status_code == 200
        assert _events(daemon, "revoked", range(4, 6)) == 202

        # The daily quota is used up: rate limited, intake still open.
        token = daemon.env["HUBSPOT_ACCESS_TOKEN"]
        config.update({"tokens": {token: None}, "daily_limit": 1})
        wait_for(lambda: _hubspot(daemon)["rate_limited"], 60, "rate limited", watch=[daemon])
        hubspot = _hubspot(daemon)
        assert hubspot["consecutive_failures"]["rate_limited"] >= 1
        assert hubspot["last_rate_limited"] is not None
        assert daemon.get("/readyz").status_code == 200
        assert _events(daemon, "limited", range(6, 8)) == 202

        # The CRM answers again: healthy.
        config.update({"daily_limit": 650_000})
        wait_for(lambda: _health(daemon)[0] == 200, 60, "/healthz 200 again", watch=[daemon])
        text = daemon.get("/metrics").text
        for kind in ("bad_record", "auth", "rate_limited"):
            series = f'crmbridge_cycle_failures_total{{connector="hubspot",kind="{kind}"}}'
            assert metric_value(text, series) >= 1, kind

        daemon.send(signal.SIGTERM)
        code = daemon.wait(GRACE_S + 5)
    finally:
        daemon.kill()
    assert code == 0, daemon.tail()

    lines = _json_lines(daemon.stderr())
    started = [line for line in lines if line["event"] == "daemon.started"]
    assert len(started) == 1, started
    assert started[0]["listening_on"] == f"http://127.0.0.1:{daemon.port}"
    names = [line["event"] for line in lines]
    after_signal = names[names.index("daemon.stopping") :]
    assert "cycle.error" not in after_signal, after_signal
    assert "daemon.stopped" in after_signal
    assert _running(db) == 0, status_counts(db, "sync_runs")


def test_a_deleted_store_turns_intake_away(sandbox: SandboxServer, tmp_path: Path) -> None:
    db = tmp_path / "crmbridge.db"
    daemon = DaemonProcess.start("daemon", tmp_path, _env(db, sandbox))
    try:
        daemon.wait_ready(60)
        assert _events(daemon, "before", range(2)) == 202

        db.unlink()

        assert _events(daemon, "after", range(2, 4)) == 503
        assert daemon.get("/readyz").status_code == 503
        assert daemon.get("/healthz").status_code == 503
        daemon.send(signal.SIGTERM)
        assert daemon.wait(GRACE_S + 5) is not None
    finally:
        daemon.kill()
    assert "store.gone" in daemon.stderr()
    assert not db.exists(), "the daemon created a new, empty store in place of the lost one"


def test_sigterm_with_a_hanging_crm_ends_in_time_and_the_next_start_closes_its_cycle(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    db = tmp_path / "crmbridge.db"
    # The longest timeout HubSpot calls take: a call still hangs past the grace period.
    env = _env(db, sandbox, CRMBRIDGE__CONNECTORS__HUBSPOT__TIMEOUT="5m")
    daemon = DaemonProcess.start("hung", tmp_path, env)
    try:
        daemon.wait_ready(60)
        sandbox.config.update({"latency_ms": 600_000})  # every call now hangs
        add_contacts(sandbox.state, 3)
        wait_for(lambda: _running(db) > 0, 30, "a cycle waiting on the CRM")
        time.sleep(1)
        code, took = daemon.terminate(GRACE_S + 5)
    finally:
        daemon.kill()
    assert code is not None, f"still running {GRACE_S + 5:g} s after SIGTERM"
    assert took <= GRACE_S, f"took {took:.1f} s to stop"
    _json_lines(daemon.stderr())
    assert "daemon.shutdown_timeout" in daemon.stderr()
    assert _running(db) > 0, "the abandoned cycle should be left running"

    # A start whose checks hang on the CRM (a server that accepts and never answers)
    # ends at once on SIGTERM.
    with _Silent() as silent:
        env = _env(db, sandbox, CRMBRIDGE__CONNECTORS__HUBSPOT__BASE_URL=silent.url)
        stuck = DaemonProcess.start("stuck", tmp_path, env)
        try:
            assert silent.called.wait(60), f"the start-up checks never called:\n{stuck.tail()}"
            time.sleep(0.5)
            assert stuck.alive(), stuck.tail()
            code, took = stuck.terminate(10)
        finally:
            stuck.kill()
    assert code == 0, stuck.tail()
    assert took < 5, f"took {took:.1f} s to stop during the start-up checks"
    # Its start closed the cycle the first process abandoned.
    assert "cycle.aborted_by_previous_process" in stuck.stderr()
    assert _running(db) == 0, status_counts(db, "sync_runs")

    # The next start logs for a person, and finds the abandoned cycle closed.
    sandbox.config.update({"latency_ms": 0})
    again = DaemonProcess.start(
        "again", tmp_path, _env(db, sandbox, CRMBRIDGE__DAEMON__LOG_FORMAT="console")
    )
    try:
        again.wait_ready(60)
        runs = status_counts(db, "sync_runs")
        assert runs.get("aborted", 0) >= 1, runs
        assert again.stop() == 0, again.tail()
    finally:
        again.kill()
    text = again.stderr()
    assert "daemon.started" in text
    assert not text.lstrip().startswith("{"), text[:200]


def test_a_crm_out_of_quota_at_start_does_not_keep_intake_down(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    db = tmp_path / "crmbridge.db"
    add_contacts(sandbox.state, CONTACTS)
    sandbox.config.update({"daily_limit": 1})  # every call but the token check: 429
    daemon = DaemonProcess.start("daemon", tmp_path, _env(db, sandbox))
    try:
        daemon.wait_ready(60)
        assert _events(daemon, "early", range(3)) == 202
        wait_for(
            lambda: _hubspot(daemon)["consecutive_failures"]["rate_limited"] >= 1,
            30,
            "the rate limit reported",
            watch=[daemon],
        )
        assert not scored(sandbox.state), "nothing can have been written"

        sandbox.config.update({"daily_limit": 650_000})
        wait_for(
            lambda: len(scored(sandbox.state)) == CONTACTS,
            60,
            "the sync once the CRM answers",
            watch=[daemon],
        )
        wait_for(lambda: _health(daemon)[0] == 200, 30, "/healthz 200", watch=[daemon])
        assert daemon.stop() == 0, daemon.tail()
    finally:
        daemon.kill()
    events = [line["event"] for line in _json_lines(daemon.stderr())]
    assert "connector.unreachable" in events
    assert "connector.checked" in events


class _Silent:
    """A TCP server that accepts connections and never answers (a hung CRM)."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}"
        self.called = threading.Event()
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            self.held.append(connection)
            self.called.set()

    def __enter__(self) -> _Silent:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.close()
        for connection in self.held:
            connection.close()


@pytest.mark.parametrize("what", ["host", "port"])
def test_a_host_or_port_it_cannot_use_exits_2(
    what: str, sandbox: SandboxServer, tmp_path: Path
) -> None:
    env = _env(tmp_path / "crmbridge.db", sandbox)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        if what == "host":
            env["CRMBRIDGE__DAEMON__HOST"] = "no-such-host.invalid"
        else:
            env["CRMBRIDGE__DAEMON__PORT"] = str(taken.getsockname()[1])
        daemon = DaemonProcess.start(what, tmp_path, env)
        try:
            code = daemon.wait(60)
        finally:
            daemon.kill()
    assert code == 2, daemon.tail()
    assert f"daemon.{what}" in daemon.stderr()
    assert "Traceback" not in daemon.output()
