"""The README's first command: `crmbridge demo` against the in-process sandbox."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from crmbridge.demo import run_demo


def test_demo_syncs_scores_into_hubspot_and_settles(tmp_path: Path) -> None:
    lines: list[str] = []
    report = run_demo(str(tmp_path / "demo.db"), say=lines.append)

    first, after_activity, quiet = report.cycles
    assert first.read == 200 and first.scored == 200 and first.written == 200
    assert first.failed == 0 and not first.errors
    # New pricing visits for three leads plus one reply: only those are rescored.
    assert 1 <= after_activity.scored <= 4
    # Nothing new: the echo of our own writes is read back. The look-back re-reads the
    # few leads changed in the last minutes; at most those may still be rescored (a
    # known open point: one replier was seen rescored there in 1 of 2 runs).
    assert quiet.changed <= 4 and quiet.written == quiet.changed
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
