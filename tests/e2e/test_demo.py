"""The README's first command: `crmbridge demo` against the in-process sandbox."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from crmbridge.connector import Write, WriteResult
from crmbridge.demo import run_demo
from crmbridge_hubspot.connector import HubSpotConnector


def test_demo_syncs_scores_into_hubspot_and_settles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The first sync takes more than a second (a slow CRM or a busy machine): the reply
    # made after it must still count in the next cycle, not be left to the quiet one.
    write = HubSpotConnector.write
    slowed: list[int] = []

    def slow_first_write(self: HubSpotConnector, batch: Sequence[Write]) -> list[WriteResult]:
        if not slowed:
            slowed.append(len(batch))
            time.sleep(1.2)
        return write(self, batch)

    monkeypatch.setattr(HubSpotConnector, "write", slow_first_write)
    lines: list[str] = []
    report = run_demo(str(tmp_path / "demo.db"), say=lines.append)

    first, after_activity, quiet = report.cycles
    assert first.read == 200 and first.scored == 200 and first.written == 200
    assert first.failed == 0 and not first.errors
    # New pricing visits for three leads plus one reply: only those change and are
    # written (the replier's score counts the reply). Scoring overlaps the read, so a
    # lead scored in an early round may be scored again, unchanged, once the read
    # brings the echo of its first-sync write: "scored" counts scorings, not leads.
    assert after_activity.changed == after_activity.written == 4
    assert 4 <= after_activity.scored <= 8
    # Nothing new: the echo of our own writes is read back (the look-back re-reads the
    # four leads just written) and nothing is written.
    assert quiet.written == 0 and quiet.changed == 0
    assert quiet.failed == 0 and not quiet.errors
    # What HubSpot holds is what the model computed, for every lead.
    assert len(report.leads) == 200
    assert any(lead.hot for lead in report.leads)
    assert {lead.stage for lead in report.leads} >= {"lead", "mql"}
    assert all(lead.grade in "ABCD" for lead in report.leads)
    # Writes are batched: 200 contacts in a handful of calls, not one call per contact.
    assert report.api_calls["batch update contacts"] <= 5
    assert report.events > 1000
    assert any("HubSpot sandbox on http://127.0.0.1:" in line for line in lines)


def test_demo_command_runs_in_under_a_minute(tmp_path: Path) -> None:
    started = time.monotonic()
    completed = subprocess.run(
        [sys.executable, "-m", "crmbridge", "demo"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        check=False,
    )
    elapsed = time.monotonic() - started
    assert completed.returncode == 0, completed.stderr
    assert "What HubSpot now shows the reps" in completed.stdout
    assert "API calls" in completed.stdout
    assert elapsed < 60
    assert not list(tmp_path.iterdir()), "the demo must not leave files behind without --db"
