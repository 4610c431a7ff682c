"""SIGKILL in the middle of a hand-off cycle, then a restart: no double tasks, no double
enrollments, no missed pause.

The cycle runs in a child process (``handoff_worker.py``) against a HubSpot sandbox
living in this process, so what HubSpot holds survives the kill. 90 leads — hot ones
(call and demo-prep tasks, demo enrollment), replied ones (pause, "replied — take over"
task) and nurture ones (demo or logistics sequence, nurture list) — make a cycle of a
few hundred CRM calls. The reference is one uninterrupted run; each trial kills a run
after a seeded random delay within the reference's duration, then runs the worker again
until the outbox is settled, and must leave HubSpot exactly as the reference did.
"""

from __future__ import annotations

import random
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from crmbridge_hubspot.sandbox.server import SandboxServer
from tests.e2e.crash.worker_process import run_worker
from tests.integration.handoff.harness import (
    NURTURE_LIST,
    OWNERS,
    PAUSED,
    REP_SEQUENCE,
    LeadSpec,
    add_leads,
    bridge_over,
    enrollments,
    event,
    make_sandbox,
    members,
    pricing_visits,
    prop,
    reply,
)

WORKER = Path(__file__).with_name("handoff_worker.py")
PER_KIND, SEED = 30, 7_2026
#: Kill trials: a short run in every suite, all of them with ``--long``.
TRIALS, LONG_TRIALS = 5, 8
MAX_RESUMES = 3
NOW = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
SETTLED = ("pending", "in_flight", "failed")


@dataclass(frozen=True)
class Outcome:
    """What HubSpot holds after a run (and its resumptions)."""

    tasks: Counter[tuple[str, str]]
    enrollments: Counter[tuple[str, str]]
    nurture_list: frozenset[str]
    paused: frozenset[str]
    seconds: float


def seed(server: SandboxServer, folder: Path) -> list[str]:
    """The leads and their activity; returns the replied leads' ids."""
    state = server.state
    created = NOW - timedelta(days=20)
    specs = [LeadSpec(i, owner=OWNERS[i % 3][0]) for i in range(3 * PER_KIND)]
    ids = add_leads(state, specs, created)
    hot, replied, nurture = ids[:PER_KIND], ids[PER_KIND : 2 * PER_KIND], ids[2 * PER_KIND :]
    activity: list[dict[str, Any]] = []
    for crm_id in hot:
        activity += [*pricing_visits(crm_id, NOW, 3), event("meeting_booked", crm_id, NOW)]
    for n, crm_id in enumerate(nurture):
        if n % 2:
            activity += pricing_visits(crm_id, NOW)
        else:
            guide = {"asset_type": "guide", "title": "Logistics efficiency, explained"}
            activity.append(event("content_download", crm_id, NOW, guide))
        activity.append(event("webinar_attended", crm_id, NOW, {"watched_percent": 50}))
    _, email, _, _, user_id = OWNERS[2]
    for crm_id in replied:
        state.enroll(crm_id, REP_SEQUENCE, email, user_id)
        reply(state, crm_id, NOW - timedelta(minutes=30))
    with bridge_over(server, folder) as bridge:
        bridge.post_events(activity)
    return replied


def _command(db_url: str, server: SandboxServer) -> list[str]:
    return [
        sys.executable,
        str(WORKER),
        "--db",
        db_url,
        "--crm",
        server.url,
        "--now",
        NOW.isoformat(),
    ]


def outcome(server: SandboxServer, replied: list[str], seconds: float) -> Outcome:
    state = server.state
    tasks = Counter(
        (contact, t.properties.get("hs_task_subject", ""))
        for t in state.tasks()
        for contact in t.contact_ids
    )
    paused = frozenset(c for c in replied if prop(state, c, PAUSED) == "true")
    return Outcome(
        tasks, enrollments(state), frozenset(members(state, NURTURE_LIST)), paused, seconds
    )


def run(folder: Path, kill_after: float | None) -> tuple[Outcome, list[str], int | None]:
    """Seed a fresh sandbox and store, run (killed or not), resume until settled."""
    folder.mkdir(parents=True)
    db_url = f"sqlite:///{folder / 'crmbridge.db'}"
    with make_sandbox() as server:
        replied = seed(server, folder)
        report, seconds = run_worker(_command(db_url, server), kill_after, timeout=120)
        # Tasks HubSpot held when the run was killed (None: it was not killed).
        killed = len(server.state.tasks()) if report is None else None
        for _ in range(MAX_RESUMES):
            if report is not None and not any(report["outbox"].get(s) for s in SETTLED):
                break
            report, _ = run_worker(_command(db_url, server), timeout=120)
        assert report is not None and not any(report["outbox"].get(s) for s in SETTLED), report
        return outcome(server, replied, seconds), replied, killed


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[Outcome, list[str]]:
    found, replied, _ = run(tmp_path_factory.mktemp("reference") / "run", None)
    return found, replied


def test_the_reference_run_does_each_thing_once(reference: tuple[Outcome, list[str]]) -> None:
    found, replied = reference
    assert found.paused == frozenset(replied)
    assert set(found.tasks.values()) == {1}
    assert sum(1 for _, s in found.tasks if s.endswith("replied — take over")) == PER_KIND
    assert sum(1 for _, s in found.tasks if s.startswith("Call ")) == PER_KIND
    assert set(found.enrollments.values()) == {1}
    # Hot leads and half the nurture leads in the demo sequence, half in logistics; the
    # replied ones only in the rep's own sequence, from before they replied.
    assert len(found.enrollments) == 3 * PER_KIND
    assert len(found.nurture_list) == PER_KIND


def test_a_killed_cycle_resumes_to_the_same_crm(
    reference: tuple[Outcome, list[str]], tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    expected, replied = reference
    rng = random.Random(SEED)
    at_kill: list[int] = []
    trials = LONG_TRIALS if request.config.getoption("--long") else TRIALS
    for trial in range(trials):
        delay = rng.uniform(0.05, max(expected.seconds, 0.5))
        found, _, tasks_then = run(tmp_path / f"trial{trial}", delay)
        if tasks_then is not None:
            at_kill.append(tasks_then)
        assert found.tasks == expected.tasks, (
            f"trial {trial}: tasks differ (killed at {delay:.2f}s)"
        )
        assert found.enrollments == expected.enrollments, f"trial {trial}: enrollments differ"
        assert found.nurture_list == expected.nurture_list, f"trial {trial}: list differs"
        assert found.paused == frozenset(replied), f"trial {trial}: a pause was missed"
    total = sum(expected.tasks.values())
    print(
        f"{len(at_kill)}/{trials} runs killed; tasks in HubSpot at the kill: {at_kill} of {total}"
    )
    assert len(at_kill) >= trials // 2
    # Some kills landed after HubSpot held tasks, before the cycle ended: the restart had
    # to ask HubSpot what it held. (Tasks go a hundred a call, so the ninety of this
    # world arrive together: 0 or all of them at a kill.)
    assert any(0 < n <= total for n in at_kill)
