"""Pausing and resuming CRM writes on a running daemon (real HTTP, real Postgres).

The switch is kept in the store, so a paused daemon that restarts stays paused and a
command run elsewhere (``crmbridge writes resume``) reaches it; what was planned while
paused is written once after the resume.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from crmbridge_hubspot.sandbox.server import SandboxServer
from tests.integration.cli.helpers import crmbridge
from tests.integration.daemon.daemon_helpers import (
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

CONTACTS = 6
PAUSED_FOR_S = 4.0  # four drain intervals


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    server = start_sandbox(CONTACTS)
    yield server
    server.stop()


#: The daemons' ``daemon.admin_token`` (the writes switch takes no other token).
ADMIN = "pause-tests-admin-token"


def _waiting(url: str) -> int:
    return outbox_rows(url, "= 'pending'")


def _cli(env: dict[str, str], folder: Path, *args: str) -> dict[str, Any]:
    done = crmbridge("writes", *args, "--json", cwd=folder, env=env)
    assert done.returncode == 0, done.stderr
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def _switch(
    daemon: DaemonProcess, action: str, token: str | None, **body: Any
) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return daemon.session.post(
        f"{daemon.url}/v1/writes/{action}", json=body or None, headers=headers, timeout=10
    )


def test_pause_holds_writes_across_a_restart_and_resume_sends_them_once(
    postgres_url: str, sandbox: SandboxServer, tmp_path: Path
) -> None:
    state = sandbox.state
    database = postgres_url
    writes = WriteLog(state)
    env = daemon_environment(
        database, sandbox.url, free_port(), extra={"CRMBRIDGE__DAEMON__ADMIN_TOKEN": ADMIN}
    )
    ids = {c.properties["email"]: c.id for c in state.contacts()}
    first = DaemonProcess.start("first", tmp_path, env)
    second: DaemonProcess | None = None
    try:
        first.wait_synced(state, CONTACTS)
        baseline = scored(state)
        token = ADMIN

        # Refused without the token, or with a wrong one.
        assert _switch(first, "pause", None).status_code == 401
        assert _switch(first, "pause", "not-the-token").status_code == 401
        assert _switch(first, "pause", first.ingest_token).status_code == 401
        assert first.get("/v1/writes").status_code == 401

        paused = _switch(first, "pause", token, reason="HubSpot import running")
        assert paused.status_code == 200, paused.text
        assert paused.json()["paused"] is True
        assert paused.json()["reason"] == "HubSpot import running"
        written_before = len(writes.writes())

        now = datetime.now(UTC).replace(microsecond=0)
        targets = range(3)
        events = [pricing_view(contact_email(i), now, f"paused-{i}") for i in targets]
        answer = first.post_events(events)
        assert answer.status_code == 202, answer.text
        wait_for(lambda: _waiting(database) >= len(targets), 30, "writes planned", watch=[first])
        time.sleep(PAUSED_FOR_S)
        assert writes.writes()[written_before:] == []

        # A restart honours the pause (it is in the store, not in the process).
        assert first.stop() == 0, first.tail()
        second = DaemonProcess.start("second", tmp_path, env)
        second.wait_ready(60)
        status = second.session.get(
            f"{second.url}/v1/writes", headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
        assert status.status_code == 200 and status.json()["paused"] is True, status.text
        time.sleep(PAUSED_FOR_S)
        assert writes.writes()[written_before:] == []
        assert _cli(env, tmp_path, "status")["paused"] is True

        # Resumed from the command line: the daemon sends what waited, once.
        assert _cli(env, tmp_path, "resume")["paused"] is False
        wanted = {ids[contact_email(i)] for i in targets}

        def rescored() -> bool:
            held = scored(state)
            return all(float(held[c]) > float(baseline[c]) for c in wanted)

        wait_for(rescored, 60, "the held writes sent", watch=[second])
        wait_for(lambda: _waiting(database) == 0, 30, "an empty outbox", watch=[second])
        assert second.stop() == 0, second.tail()
    finally:
        first.kill()
        if second is not None:
            second.kill()
    late = writes.writes()[written_before:]
    applied = Counter((w.contact_id, k, v) for w in late for k, v in w.properties.items())
    assert {key: n for key, n in applied.items() if n > 1} == {}
    assert {w.contact_id for w in late} == wanted
