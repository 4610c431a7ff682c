"""Stopping ``crmbridge run`` in the middle of a drain, and starting it again.

The sandbox is fast while the daemon starts and reads the contacts, then turns slow as
soon as the first batch of score writes lands (each request then takes seconds), so a
drain of many batches is certainly in progress when the signal comes. The store is
SQLite (one daemon; its start settles whatever a killed one left in flight).

- SIGTERM: the daemon finishes (or releases) the batch in flight and exits 0 within
  30 s, leaving work undone; a new daemon on the same store finishes it. No contact is
  written twice and every contact ends up with its score.
- A second SIGTERM during the graceful stop ends the process at once, without waiting
  for the slow request in flight; the next start settles that batch against the CRM
  and still writes nothing twice.
- SIGTERM during a long first read of the CRM (search pages so slow that the rest of the
  read would outlast the 30 s; 6 pages of 8 s, or 20 of 2 s with ``--long``): the read
  stops between pages, the process exits 0 within 30 s, and the next start reads on from
  the stored cursor; every contact is scored and written once.
"""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import pytest

from crmbridge_hubspot.sandbox.server import SandboxServer
from tests.integration.daemon.daemon_helpers import (
    SCORE,
    AppliedWrite,
    DaemonProcess,
    WriteLog,
    add_contacts,
    daemon_environment,
    free_port,
    scored,
    status_counts,
    wait_for,
)

GRACE_S = 30.0
#: The long read: contacts (200 a search page), each request's latency in ms, and the
#: pages answered before the signal. What is left of the read then takes longer than the
#: graceful stop. The restart scores and writes every contact: by default they are few.
LONG_READ, LONG_READ_FULL = (1_200, 8_000, 1), (4_000, 2_000, 2)
BATCH = 100  # HubSpot's batch update size


def _slow_after_first_batch(server: SandboxServer, latency_ms: int) -> WriteLog:
    """A write log that, once, makes every later request take ``latency_ms``."""
    done = threading.Event()

    def slow_down(_applied: list[AppliedWrite]) -> None:
        if not done.is_set():
            done.set()
            server.config.update({"latency_ms": latency_ms})

    return WriteLog(server.state, on_write=slow_down)


def _finish(
    server: SandboxServer, db: Path, folder: Path, contacts: int, log: WriteLog, name: str
) -> DaemonProcess:
    """Start a fresh daemon on the same store and wait until every contact is scored."""
    env = daemon_environment(f"sqlite:///{db}", server.url, free_port())
    daemon = DaemonProcess.start(name, folder, env)
    try:
        daemon.wait_ready(60)
        wait_for(
            lambda: (
                len(scored(server.state)) == contacts
                and set(status_counts(db, "outbox")) <= {"done"}
            ),
            90,
            "the restarted daemon to finish the work",
            watch=[daemon],
        )
        time.sleep(3)  # a late duplicate would show up now
        assert daemon.stop() == 0, daemon.tail()
    finally:
        daemon.kill()
    return daemon


def _assert_once_each(log: WriteLog, server: SandboxServer, contacts: int) -> None:
    times = log.times_written(SCORE)
    twice = {cid: n for cid, n in times.items() if n > 1}
    shown = [w for w in log.writes() if w.contact_id in list(twice)[:3]]
    assert not twice, f"{len(twice)} scores written more than once:\n" + "\n".join(
        f"{w.at:%H:%M:%S.%f} {w.contact_id} {dict(w.properties)}" for w in shown
    )
    assert len(scored(server.state)) == contacts, "a contact has no score"
    assert set(times) == set(scored(server.state))


def test_sigterm_during_a_drain_exits_in_time_and_a_restart_finishes(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    contacts = 1000
    db = tmp_path / "crmbridge.db"
    log = _slow_after_first_batch(sandbox, 1500)
    env = daemon_environment(f"sqlite:///{db}", sandbox.url, free_port())
    daemon = DaemonProcess.start("first", tmp_path, env)
    try:
        daemon.wait_ready(60)
        add_contacts(sandbox.state, contacts)
        wait_for(
            lambda: len(log.times_written(SCORE)) >= 2 * BATCH,
            60,
            "two batches of scores written",
            every=0.05,
            watch=[daemon],
        )
        written_before = len(log.times_written(SCORE))
        assert written_before < contacts, "the drain finished before the signal"
        code, took = daemon.terminate(GRACE_S + 5)
    finally:
        daemon.kill()
    assert code is not None, f"still running {GRACE_S + 5:g} s after SIGTERM"
    assert took <= GRACE_S, f"took {took:.1f} s to stop"
    assert code == 0, f"exit code {code}\n{daemon.tail()}"
    assert "daemon.stopped" in daemon.output()
    left = contacts - len(log.times_written(SCORE))
    assert left > 0, "the shutdown did not interrupt the work (nothing left to finish)"

    sandbox.config.update({"latency_ms": 0})
    _finish(sandbox, db, tmp_path, contacts, log, "second")
    _assert_once_each(log, sandbox, contacts)


def test_second_signal_during_shutdown_exits_at_once(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    contacts = 400
    slow_ms = 8000
    db = tmp_path / "crmbridge.db"
    log = _slow_after_first_batch(sandbox, slow_ms)
    env = daemon_environment(f"sqlite:///{db}", sandbox.url, free_port())
    daemon = DaemonProcess.start("first", tmp_path, env)
    try:
        daemon.wait_ready(60)
        add_contacts(sandbox.state, contacts)
        wait_for(
            lambda: len(log.times_written(SCORE)) >= BATCH,
            60,
            "a first batch of scores written",
            every=0.05,
            watch=[daemon],
        )
        time.sleep(0.5)  # the next batch is on its way to the (now slow) CRM
        first = time.monotonic()
        daemon.send(signal.SIGTERM)
        time.sleep(0.5)
        assert daemon.alive(), "the first SIGTERM did not wait for the batch in flight"
        daemon.send(signal.SIGTERM)
        code = daemon.wait(slow_ms / 1000)
        took = time.monotonic() - first
    finally:
        daemon.kill()
    assert code is not None, "a second SIGTERM did not end the process"
    assert code != 0, "a forced stop must not look like a clean one"
    assert took < 0.5 + 2.0, f"exited {took:.1f} s after the first signal"

    # Let the abandoned request reach the CRM (or not) before anyone looks at it again.
    sandbox.config.update({"latency_ms": 0})
    time.sleep(max(0.0, first + slow_ms / 1000 + 1 - time.monotonic()))
    _finish(sandbox, db, tmp_path, contacts, log, "second")
    _assert_once_each(log, sandbox, contacts)


def test_sigterm_during_a_long_read_exits_in_time_and_loses_nothing(
    sandbox: SandboxServer, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    long = request.config.getoption("--long")
    contacts, latency_ms, first_pages = LONG_READ_FULL if long else LONG_READ
    assert (contacts // 200 - first_pages) * latency_ms / 1000 > GRACE_S
    db = tmp_path / "crmbridge.db"
    log = WriteLog(sandbox.state)
    env = daemon_environment(f"sqlite:///{db}", sandbox.url, free_port())
    daemon = DaemonProcess.start("first", tmp_path, env)
    try:
        daemon.wait_ready(60)
        sandbox.config.update({"latency_ms": latency_ms})
        add_contacts(sandbox.state, contacts)
        seen = len(sandbox.state.requests())
        wait_for(
            lambda: (
                sum(r.path.endswith("/search") for r in sandbox.state.requests()[seen:])
                >= first_pages
            ),
            60,
            "the first pages of the read",
            every=0.05,
            watch=[daemon],
        )
        code, took = daemon.terminate(GRACE_S + 15)
    finally:
        daemon.kill()
    assert code is not None, f"still running {GRACE_S + 15:g} s after SIGTERM"
    assert took <= GRACE_S, f"took {took:.1f} s to stop"
    assert code == 0, f"exit code {code}\n{daemon.tail()}"

    sandbox.config.update({"latency_ms": 0})
    _finish(sandbox, db, tmp_path, contacts, log, "second")
    _assert_once_each(log, sandbox, contacts)
