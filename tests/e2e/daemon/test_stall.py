"""A HubSpot that accepts a request and never answers, under a running daemon.

The daemon runs with ``[connectors.hubspot] timeout = "1s"``. The sandbox holds every
score write unanswered: the cycle fails that call about a second later, says so in its
log, and keeps the writes. Then every API path stalls and SIGTERM arrives while a call
is held: the daemon still stops gracefully (exit 0) well within its 30-second grace.
"""

from __future__ import annotations

import time
from pathlib import Path

from crmbridge_hubspot.sandbox.server import SandboxServer
from tests.integration.daemon.daemon_helpers import (
    DaemonProcess,
    add_contacts,
    daemon_environment,
    free_port,
    status_counts,
    wait_for,
)

GRACE_S = 30.0
TIMEOUT_S = 1.0
UPDATE = "/crm/v3/objects/contacts/batch/update"
#: The line a cycle logs for a call that got no answer in time.
TIMED_OUT = "no answer in time (read timeout)"


def _stalls(sandbox: SandboxServer) -> int:
    return int(sandbox.state.counters().get("stalls_injected", 0))


def test_a_stalled_call_fails_after_the_timeout_and_the_daemon_stops_in_time(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    db = tmp_path / "crmbridge.db"
    env = daemon_environment(
        f"sqlite:///{db}",
        sandbox.url,
        free_port(),
        extra={"CRMBRIDGE__CONNECTORS__HUBSPOT__TIMEOUT": f"{TIMEOUT_S:g}s"},
    )
    daemon = DaemonProcess.start("stalled", tmp_path, env)
    try:
        daemon.wait_ready(60)
        sandbox.config.update({"stall_rate": 1.0, "stall_s": 120, "fault_paths": [UPDATE]})
        add_contacts(sandbox.state, 20)

        wait_for(lambda: _stalls(sandbox) >= 1, 30, "a score write held", watch=[daemon])
        held_at = time.monotonic()
        waited = wait_for(
            lambda: TIMED_OUT in daemon.output(), 15, "the cycle to fail the call", watch=[daemon]
        )
        # The call failed after the timeout, not after retries of it.
        assert time.monotonic() - held_at < TIMEOUT_S + 5, waited
        assert "batch update contacts" in daemon.output()
        assert status_counts(db, "outbox").get("dead", 0) == 0

        # Now everything stalls: the next poll's search is held when the signal comes.
        before = _stalls(sandbox)
        sandbox.config.update({"fault_paths": []})
        wait_for(lambda: _stalls(sandbox) > before, 30, "a poll held", watch=[daemon])
        code, took = daemon.terminate(GRACE_S + 5)
    finally:
        sandbox.config.update({"stall_rate": 0})
        daemon.kill()
    assert code is not None, f"still running {GRACE_S + 5:g} s after SIGTERM"
    assert took <= TIMEOUT_S + 10, f"took {took:.1f} s to stop"
    assert code == 0, f"exit code {code}\n{daemon.tail()}"
    output = daemon.output()
    assert "daemon.stopped" in output and "daemon.shutdown_timeout" not in output
    # The writes were kept for a later cycle, none given up.
    assert set(status_counts(db, "outbox")) <= {"pending", "failed", "in_flight"}
