"""The daemon rides out a Postgres outage.

A daemon on Postgres has synced its contacts. Events arrive for ten of them, and the
Postgres server is stopped (``pg_ctl stop``) at the worst moment: the CRM has applied
their new scores but has not answered yet, so the daemon cannot record the write. It
stays down for about 30 s. Meanwhile:

- the process stays alive; ``/readyz`` answers 503 naming the database and
  ``/healthz`` answers 503 saying the store cannot take writes;
- events posted to ``/v1/events`` are refused with 503 and ``Retry-After`` (the sender
  keeps them and retries; nothing is half-stored).

After the restart the daemon becomes ready again by itself, the events posted before
the outage are scored and their scores written to the CRM (once), the cut-off write is
reconciled against the CRM instead of being sent again, and the refused events, sent
again, are all accepted as new and written too. The outbox lease is 15 s here (10 min
by default): a write left in flight is reconciled once it expires.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from crmbridge_hubspot.sandbox.server import SandboxServer
from tests.integration.daemon.daemon_helpers import (
    AppliedWrite,
    DaemonProcess,
    WriteLog,
    contact_email,
    daemon_environment,
    free_port,
    outbox_rows,
    pricing_view,
    scored,
    start_sandbox,
    wait_for,
)

CONTACTS = 30
OUTAGE_S = 30.0
BEFORE = range(0, 10)  # contacts whose events are posted just before the outage
DURING = range(10, 20)  # contacts whose events are posted during it (refused)


def _pg_ctl(cluster: Any, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*cluster.pg_ctl, *args], capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture
def cluster(postgres_cluster: Any) -> Iterator[Any]:
    """The session's cluster, running again after the test whatever happened."""
    if not postgres_cluster.pg_ctl:
        pytest.fail("the postgres_cluster fixture does not say how to run pg_ctl")
    yield postgres_cluster
    if _pg_ctl(postgres_cluster, "status").returncode != 0:
        started = _pg_ctl(postgres_cluster, *postgres_cluster.start_args)
        assert started.returncode == 0, started.stderr


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    server = start_sandbox(CONTACTS)
    yield server
    server.stop()


def _ids_by_email(server: SandboxServer) -> dict[str, str]:
    return {c.properties["email"]: c.id for c in server.state.contacts()}


def _in_flight(url: str) -> int:
    return outbox_rows(url, "<> 'done'")


def test_postgres_outage(
    cluster: Any, postgres_url: str, sandbox: SandboxServer, tmp_path: Path
) -> None:
    state = sandbox.state
    armed = threading.Event()
    down = threading.Event()

    def stop_postgres(_applied: list[AppliedWrite]) -> None:
        # Runs inside the CRM's handler: the write is applied, the answer not sent yet.
        if armed.is_set() and not down.is_set():
            stopped = _pg_ctl(cluster, "-m", "fast", "-w", "stop")
            assert stopped.returncode == 0, stopped.stderr
            down.set()

    writes = WriteLog(state, on_write=stop_postgres)
    env = daemon_environment(
        postgres_url, sandbox.url, free_port(), extra={"CRMBRIDGE__OUTBOX__LEASE": "15s"}
    )
    daemon = DaemonProcess.start("daemon", tmp_path, env)
    ids = _ids_by_email(sandbox)
    try:
        daemon.wait_synced(state, CONTACTS)
        baseline = scored(state)
        pid = daemon.pid

        # Events; the database goes away while the CRM applies their scores.
        now = datetime.now(UTC).replace(microsecond=0)
        before = [pricing_view(contact_email(i), now, f"before-{i}") for i in BEFORE]
        written_then = len(writes.writes())
        armed.set()
        answer = daemon.post_events(before)
        assert answer.status_code == 202, answer.text
        assert answer.json()["ingested"] == len(before)
        assert down.wait(30), f"no write of the events reached the CRM:\n{daemon.tail()}"
        down_at = time.monotonic()

        refused = []
        probes = 0
        while time.monotonic() - down_at < OUTAGE_S:
            assert daemon.alive(), f"the daemon died during the outage:\n{daemon.tail()}"
            health = daemon.get("/healthz")
            assert health.status_code == 503, health.text
            assert health.json()["store"]["writable"] is False, health.text
            ready = daemon.get("/readyz")
            assert ready.status_code == 503, ready.text
            assert "database" in ready.json()["down"], ready.text
            index = DURING[probes % len(DURING)]
            event = pricing_view(contact_email(index), now, f"during-{index}")
            answer = daemon.post_events([event])
            assert answer.status_code == 503, (answer.status_code, answer.text)
            assert answer.headers.get("Retry-After"), answer.headers
            assert "database" in answer.json()["detail"], answer.text
            refused.append(event)
            probes += 1
            time.sleep(1.0)
        assert probes >= 10

        started = _pg_ctl(cluster, *cluster.start_args)
        assert started.returncode == 0, started.stderr
        back = wait_for(
            lambda: daemon.get("/readyz").status_code == 200,
            60,
            "readiness after the restart",
            every=0.5,
            watch=[daemon],
        )

        # Nothing posted before the outage is lost.
        targets = {ids[contact_email(i)] for i in BEFORE}

        def rescored(contacts: set[str]) -> bool:
            now_held = scored(state)
            return all(float(now_held[c]) > float(baseline[c]) for c in contacts)

        wait_for(
            lambda: rescored(targets), 90, "the events before the outage written", watch=[daemon]
        )

        # The refused events were not half-stored: sent again, every one is new.
        unique = list({e["event_id"]: e for e in refused}.values())
        answer = daemon.post_events(unique)
        assert answer.status_code == 202, answer.text
        assert answer.json()["ingested"] == len(unique), answer.text
        retried = {ids[e["contact"]["email"]] for e in unique}
        wait_for(lambda: rescored(retried), 60, "the retried events written", watch=[daemon])
        # The write cut off by the outage is settled, not left in flight for ever.
        wait_for(lambda: _in_flight(postgres_url) == 0, 60, "an empty outbox", watch=[daemon])
        assert daemon.pid == pid and daemon.alive()
        code = daemon.stop()
    finally:
        daemon.kill()
    assert code == 0, daemon.tail()
    # Every write after the events applied once: the cut-off one was reconciled, not resent.
    late = writes.writes()[written_then:]
    applied = Counter(
        (w.contact_id, name, value) for w in late for name, value in w.properties.items()
    )
    again = {key: n for key, n in applied.items() if n > 1}
    assert not again, f"written more than once after the outage: {again}"
    scores = {w.contact_id for w in late if "crmbridge_score" in w.properties}
    assert scores == targets | retried
    print(f"ready again {back:.1f} s after the restart; {probes} probes during the outage")
