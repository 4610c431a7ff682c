"""Shadow mode: ``[bridge] write = false`` runs everything and sends nothing to the CRM;
turning writes on afterwards sends what is still wanted, once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crmbridge.logging import configure_logging
from crmbridge_hubspot.sandbox.server import SandboxServer
from tests.integration.cli.helpers import crmbridge
from tests.integration.daemon.daemon_helpers import daemon_environment, free_port, start_sandbox
from tests.integration.handoff.harness import (
    DEMO_SEQUENCE,
    NURTURE_LIST,
    LeadSpec,
    add_leads,
    enrollments,
    event,
    make_sandbox,
    members,
    pricing_visits,
    prop,
    tasks_by_contact,
)

from .helpers import bridge_on, config_with, crm_writes

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=6)


@pytest.fixture
def crm() -> Iterator[SandboxServer]:
    with make_sandbox() as server:
        yield server


def _shadow_lines(text: str) -> list[dict[str, object]]:
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("event") == "write.shadow"]


def test_shadow_mode_sends_nothing_and_turning_writes_on_sends_each_write_once(
    crm: SandboxServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hot, quiet = add_leads(crm.state, [LeadSpec(1), LeadSpec(2)], T0 - timedelta(days=7))
    configure_logging(json_output=True)
    with bridge_on(crm, tmp_path, config_with(write=False)) as bridge:
        bridge.post_events(
            [
                *pricing_visits(hot, T0, count=3),
                event("webinar_attended", hot, T0),
                event("meeting_booked", hot, T0),
            ]
        )
        for n in range(3):
            summary = bridge.cycle(T0 + timedelta(minutes=5 * n))
            assert summary.written == summary.actions == 0
            assert summary.held and "shadow mode" in summary.held[0]
        depth = bridge.outbox_depth()
    logged = _shadow_lines(capsys.readouterr().err)

    # The sandbox's request log: reads only. No property, task, enrollment or list add.
    assert crm_writes(crm) == []
    assert prop(crm.state, hot, "crmbridge_score") is None
    assert tasks_by_contact(crm.state) == {}
    assert not enrollments(crm.state)
    assert members(crm.state, NURTURE_LIST) == set()
    # What would have been written waits in the outbox, not counted as done.
    assert depth.get("done", 0) == 0 and depth["pending"] > 0
    # Logged once each (three cycles, one line per waiting row), old → new.
    assert len(logged) == depth["pending"]
    score = next(
        line
        for line in logged
        if line["crm_id"] == hot and line.get("property") == "crmbridge_score"
    )
    assert score["old"] is None and int(str(score["new"])) >= 70
    kinds = {line.get("action") for line in logged if line["crm_id"] == hot}
    assert {"task", "enroll", "list_add"} <= kinds
    assert any(line["crm_id"] == quiet for line in logged)
    # Record ids only: no email or name of the lead in the logs (they outlive `forget`).
    assert "handoff-e2e.example" not in json.dumps(logged)
    assert "Lead1" not in json.dumps(logged)

    # Writes on: everything still wanted lands once, and a second cycle adds nothing.
    with bridge_on(crm, tmp_path, config_with(write=True)) as bridge:
        first = bridge.cycle(T0 + timedelta(minutes=20))
        after_first = crm_writes(crm)
        second = bridge.cycle(T0 + timedelta(minutes=25))
        depth = bridge.outbox_depth()
    assert first.written == 2 and first.actions >= 3
    assert second.written == second.actions == 0
    assert crm_writes(crm) == after_first
    assert int(prop(crm.state, hot, "crmbridge_score") or 0) == int(str(score["new"]))
    assert enrollments(crm.state)[(hot, DEMO_SEQUENCE)] == 1
    assert members(crm.state, NURTURE_LIST) == {hot}
    planned_tasks = [line for line in logged if line.get("action") == "task"]
    assert len(tasks_by_contact(crm.state)[hot]) == len(planned_tasks) == 2
    assert set(depth) == {"done"}


def test_run_once_in_shadow_mode_says_writes_were_held_and_sends_none(tmp_path: Path) -> None:
    """The real command line, as an admin trying shadow mode first would run it."""
    server = start_sandbox(5)
    try:
        env = daemon_environment(
            f"sqlite:///{tmp_path / 'crmbridge.db'}",
            server.url,
            free_port(),
            extra={"CRMBRIDGE__BRIDGE__WRITE": "false"},
        )
        done = crmbridge("run", "--once", cwd=tmp_path, env=env)
        writes = crm_writes(server)
    finally:
        server.stop()
    assert done.returncode == 0, done.stderr
    assert "writes held back: hubspot: shadow mode ([bridge] write = false)" in done.stderr
    assert writes == []
