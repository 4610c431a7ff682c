"""Several ``crmbridge run`` replicas: one Postgres database, one CRM, one request budget.

Three replicas start together against one migrated Postgres database and one sandbox
holding 600 contacts that limits the token to 30 requests per rolling 10 s (a request
refused with 429 still counts, as HubSpot does). Every contact needs its score written
back once. The replicas must split the outbox between them without doing a row twice,
and together stay under the CRM's budget: not one 429, and no 10-second window of the
sandbox's request log holding more than the limit.

A second daemon on a SQLite file another daemon uses is refused at start: exit code 2
and a message pointing at Postgres.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from crmbridge_hubspot.sandbox.records import RequestRecord
from crmbridge_hubspot.sandbox.server import SandboxServer
from tests.integration.daemon.daemon_helpers import (
    SCORE,
    DaemonProcess,
    WriteLog,
    busiest_window,
    counts_in_window,
    daemon_environment,
    free_port,
    scored,
    start_sandbox,
    wait_for,
)

CONTACTS = 600
REPLICAS = 3
LIMIT = 30  # requests per rolling 10 s, for the sandbox's one token
SETTLE_S = 4.0  # after the work looks done: time for a late duplicate to show up


@pytest.fixture
def limited_sandbox() -> Iterator[SandboxServer]:
    server = start_sandbox(
        CONTACTS, rate_limit_max=LIMIT, rate_limit_interval_ms=10_000, count_rejected=True
    )
    yield server
    server.stop()


def _outbox(url: str) -> list[tuple[str, str, str, str, str | None]]:
    """(crm_id, property, status, value as JSON text, claimed by) of every outbox row."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT crm_id, target, status, value::text, claimed_by FROM outbox")
            )
            return [(r[0], r[1], r[2], r[3], r[4]) for r in rows]
    finally:
        engine.dispose()


def _timeline(log: list[RequestRecord]) -> str:
    """The request log as text, for failure messages."""
    if not log:
        return "(no request)"
    start = log[0].timestamp
    return "\n".join(
        f"{(r.timestamp - start).total_seconds():7.3f} {r.status} {r.method} {r.path}" for r in log
    )


def test_replicas_drain_one_outbox_once_within_one_budget(
    postgres_url: str, limited_sandbox: SandboxServer, tmp_path: Path
) -> None:
    state = limited_sandbox.state
    writes = WriteLog(state)
    daemons: list[DaemonProcess] = []
    codes: dict[str, int] = {}
    try:
        for index in range(REPLICAS):
            env = daemon_environment(postgres_url, limited_sandbox.url, free_port())
            daemons.append(DaemonProcess.start(f"replica{index}", tmp_path, env))
        for daemon in daemons:
            daemon.wait_ready(90)

        def settled() -> bool:
            if len(scored(state)) < CONTACTS:
                return False
            return {row[2] for row in _outbox(postgres_url)} <= {"done"}

        wait_for(settled, 150, "every contact's score written back", watch=daemons)
        time.sleep(SETTLE_S)
        for daemon in daemons:
            assert daemon.alive(), f"{daemon.name} died:\n{daemon.tail()}"
    finally:
        for daemon in daemons:
            codes[daemon.name] = daemon.stop()
    assert all(code == 0 for code in codes.values()), codes

    # Every planned write applied exactly once in the CRM, each contact in one call.
    times = writes.times_written(SCORE)
    twice = {cid: n for cid, n in times.items() if n != 1}
    assert not twice, f"crmbridge_score written more than once: {dict(list(twice.items())[:10])}"
    assert len(times) == CONTACTS
    per_contact = Counter(w.contact_id for w in writes.writes())
    again = [w for w in writes.writes() if per_contact[w.contact_id] > 1]
    assert not again, "contacts updated in several calls:\n" + "\n".join(map(str, again[:12]))

    # The outbox: every row done once, one row per property of a contact, the CRM's value.
    rows = _outbox(postgres_url)
    assert rows, "the outbox is empty"
    assert Counter(row[2] for row in rows) == {"done": len(rows)}
    keys = Counter((crm_id, target) for crm_id, target, *_ in rows)
    assert max(keys.values()) == 1, "a property was queued twice"
    held = scored(state)
    for crm_id, target, _status, value, _by in rows:
        if target == SCORE:
            assert json.loads(value)["value"] == held[crm_id], (crm_id, value, held[crm_id])
    claimers = Counter(row[4] for row in rows)
    assert len(claimers) >= 2, f"one replica did all the work: {claimers}"

    # Together under the CRM's budget: no 429, no 10-second window over the limit.
    log = state.requests()
    counters = state.counters()
    assert counters.get("status_429", 0) == 0, (
        f"the sandbox answered 429 {counters.get('status_429')} times\n" + _timeline(log)
    )
    busiest = busiest_window([r for r in log if counts_in_window(r)], 10.0)
    assert busiest <= LIMIT, f"{busiest} requests in 10 s (limit {LIMIT})\n" + _timeline(log)


def test_second_daemon_on_one_sqlite_file_is_refused(tmp_path: Path) -> None:
    server = start_sandbox(5)
    url = f"sqlite:///{tmp_path / 'crmbridge.db'}"
    first = DaemonProcess.start("first", tmp_path, daemon_environment(url, server.url, free_port()))
    second: DaemonProcess | None = None
    try:
        first.wait_ready(60)
        second = DaemonProcess.start(
            "second", tmp_path, daemon_environment(url, server.url, free_port())
        )
        code = second.wait(60)
        assert code == 2, f"second daemon: exit {code}\n{second.tail()}"
        message = second.stderr()
        assert "Postgres" in message, message
        assert "SQLite" in message, message
        # The first one is unaffected.
        assert first.alive()
        assert first.get("/readyz").status_code == 200
    finally:
        if second is not None:
            second.kill()
        first.stop()
        server.stop()
