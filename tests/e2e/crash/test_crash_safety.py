"""Crash safety: a crmbridge process SIGKILLed at a random moment loses nothing and,
once run again, leaves the CRM exactly as an uninterrupted run does, with no write
applied twice and no event lost.

150 contacts and 600 events go through ``crash_worker.py`` (ingest, then one cycle with
pages of 20 and write batches of 10). The reference is one uninterrupted run; each trial
kills a run after a seeded random delay spread over the reference's duration, then runs
the worker again until the outbox is settled.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from crmbridge.testing.fake import FakeConnector
from tests.integration.helpers import (
    NOW,
    NOW_TEXT,
    applied_writes,
    crm_properties,
    synthetic_contacts,
    synthetic_events,
    write_jsonl,
)

WORKER = Path(__file__).with_name("crash_worker.py")
CONTACTS, EVENTS = 150, 600
#: Kill trials on SQLite: a short run in every suite, all of them with ``--long``.
TRIALS, LONG_TRIALS = 8, 20
SEED = 1234
#: Extra trials aimed at the writing phase when no random kill landed inside it.
NARROWING_TRIALS = 8
#: Runs after the interrupted one before the outbox must be settled.
MAX_RESUMES = 2


@dataclass(frozen=True)
class Outcome:
    """What a run (or a killed run and its resumptions) left behind."""

    crm: dict[str, dict[str, Any]]
    writes: Counter[tuple[str, str, str | None]]
    log_entries: int
    events: int
    seconds: float = 0.0


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seed CRM and events file every run starts from."""
    folder = tmp_path_factory.mktemp("crash-scenario")
    rng = random.Random(SEED)
    contacts = synthetic_contacts(CONTACTS, rng)
    FakeConnector.seed(folder / "crm", contacts)
    write_jsonl(folder / "events.jsonl", synthetic_events(contacts, EVENTS, rng, NOW))
    return folder


def _environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.upper().startswith("CRMBRIDGE")}


def _fresh(scenario: Path, folder: Path) -> Path:
    shutil.copytree(scenario, folder)
    return folder


def _command(folder: Path, db_url: str, *extra: str) -> list[str]:
    return [
        sys.executable,
        str(WORKER),
        "--db",
        db_url,
        "--crm",
        str(folder / "crm"),
        "--events",
        str(folder / "events.jsonl"),
        "--now",
        NOW_TEXT,
        *extra,
    ]


def _start(folder: Path, db_url: str, *extra: str) -> subprocess.Popen[str]:
    """Start a worker and return once it printed "ready" (its imports are done)."""
    log = (folder / "worker.log").open("a")
    process = subprocess.Popen(
        _command(folder, db_url, *extra),
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        env=_environment(),
    )
    log.close()
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.strip() == "ready", f"worker did not start: {line!r}\n{_log(folder)}"
    return process


def _finish(process: subprocess.Popen[str], folder: Path) -> dict[str, Any]:
    out, _ = process.communicate(timeout=60)
    assert process.returncode == 0, f"worker failed ({process.returncode}):\n{out}\n{_log(folder)}"
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def _log(folder: Path) -> str:
    path = folder / "worker.log"
    return path.read_text()[-3000:] if path.exists() else ""


def _settled(result: dict[str, Any]) -> bool:
    return set(result["outbox"]) <= {"done"} and result["dirty"] == 0


MARK = "crmbridge_store"


def _unmarked(value: str | None, stores: set[str]) -> str:
    """A store mark without its store id (every run has its own store, hence its own id)
    nor its generation: a cycle scores and writes while it reads, so a run killed in
    the middle has issued a generation for part of the contacts and its resumption
    issues the next one for the rest, where an uninterrupted run issues one."""
    store, _, generation = (value or "").partition(":")
    stores.add(store)
    return "<store>" if generation.isdigit() else f"<store>:{generation}"


def _outcome(folder: Path, result: dict[str, Any], seconds: float = 0.0) -> Outcome:
    crm = FakeConnector(folder / "crm", name="hubspot")
    entries = len(crm.applied_writes())
    stores: set[str] = set()
    writes: Counter[tuple[str, str, str | None]] = Counter()
    for (crm_id, name, value), count in applied_writes(crm).items():
        writes[(crm_id, name, _unmarked(value, stores) if name == MARK else value)] += count
    held = crm_properties(crm)
    for properties in held.values():
        if MARK in properties:
            properties[MARK] = _unmarked(properties[MARK], stores)
    # A killed run and its resumptions are one store: one id in every mark it wrote.
    assert len(stores) <= 1, stores
    return Outcome(held, writes, entries, result["events"], seconds)


@pytest.fixture(scope="module")
def reference(scenario: Path, tmp_path_factory: pytest.TempPathFactory) -> Outcome:
    """One uninterrupted run from the seed."""
    folder = _fresh(scenario, tmp_path_factory.mktemp("crash-reference") / "run")
    process = _start(folder, f"sqlite:///{folder / 'store.db'}")
    started = time.monotonic()
    result = _finish(process, folder)
    seconds = time.monotonic() - started
    assert _settled(result), result
    outcome = _outcome(folder, result, seconds)
    # The scenario is worth crashing: every contact is written, in many batches.
    assert len({crm_id for crm_id, _, _ in outcome.writes}) == CONTACTS
    assert result["summary"]["api_calls"] > 20
    assert set(outcome.writes.values()) == {1}
    return outcome


@dataclass(frozen=True)
class Crash:
    """How a trial's first run ended: killed or not, and how many log entries it applied."""

    killed: bool
    applied: int


def _trial(
    scenario: Path, folder: Path, db_url: str, delay: float, *extra: str
) -> tuple[Outcome, Crash]:
    """Kill a run ``delay`` seconds after it is ready, then resume until settled."""
    _fresh(scenario, folder)
    process = _start(folder, db_url, *extra)
    time.sleep(delay)
    process.kill()
    process.communicate(timeout=60)
    killed = process.returncode == -signal.SIGKILL
    applied_before_kill = len(FakeConnector(folder / "crm").applied_writes())
    for _ in range(MAX_RESUMES):
        result = _finish(_start(folder, db_url, *extra), folder)
        if _settled(result):
            break
    assert _settled(result), f"still unsettled after {MAX_RESUMES} resumptions: {result}"
    return _outcome(folder, result), Crash(killed, applied_before_kill)


def _assert_same(trial: Outcome, reference: Outcome, label: str) -> None:
    assert trial.events == reference.events, f"{label}: events lost or doubled"
    twice = {key: n for key, n in trial.writes.items() if n > 1}
    assert not twice, f"{label}: writes applied more than once: {twice}"
    assert trial.writes == reference.writes, f"{label}: different writes than the reference"
    assert trial.crm == reference.crm, f"{label}: the CRM ends in another state"


@pytest.mark.slow
def test_a_run_killed_at_any_moment_resumes_to_the_reference_outcome(
    scenario: Path, reference: Outcome, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    rng = random.Random(SEED)
    trials = LONG_TRIALS if request.config.getoption("--long") else TRIALS
    delays = [rng.uniform(0, reference.seconds) for _ in range(trials)]
    crashes: list[tuple[float, Crash]] = []

    def trial(delay: float) -> Crash:
        number = len(crashes)
        folder = tmp_path / f"trial-{number}"
        outcome, crash = _trial(scenario, folder, f"sqlite:///{folder / 'store.db'}", delay)
        crashes.append((delay, crash))
        _assert_same(outcome, reference, f"trial {number} (killed after {delay:.3f} s)")
        return crash

    for delay in delays:
        trial(delay)
    # A run faster than the reference (the reference shared the machine with other
    # work) is already finished when a late delay comes: draw again, below the
    # earliest delay that found a run finished, until half the trials killed a run.
    for _ in range(trials):
        if sum(1 for _, c in crashes if c.killed) >= trials // 2:
            break
        finished = min((d for d, c in crashes if not c.killed), default=reference.seconds)
        trial(rng.uniform(0, finished))
    # The kills really interrupted runs, before any write and in the middle of writing.
    killed = [c for _, c in crashes if c.killed]
    assert len(killed) >= trials // 2, crashes
    assert any(c.applied == 0 for c in killed), crashes
    # Writing is a short part of a run, and a loaded machine shifts it: when no random
    # delay landed inside it, narrow down on it between the latest kill before any
    # write and the earliest moment the writes were all applied.
    before = max((d for d, c in crashes if c.killed and c.applied == 0), default=0.0)
    after = min(
        (d for d, c in crashes if c.applied >= reference.log_entries), default=reference.seconds
    )
    for _ in range(NARROWING_TRIALS):
        if any(c.killed and 0 < c.applied < reference.log_entries for _, c in crashes):
            break
        delay = (before + after) / 2
        crash = trial(delay)
        if crash.applied == 0:
            before = delay
        elif crash.applied >= reference.log_entries:
            after = delay
    assert any(c.killed and 0 < c.applied < reference.log_entries for _, c in crashes), crashes


@pytest.mark.slow
def test_a_run_killed_on_postgres_resumes_to_the_same_outcome(
    scenario: Path, reference: Outcome, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    cluster = request.getfixturevalue("postgres_cluster")
    name = cluster.empty_database()
    try:
        # A single process: whatever it left in flight is an orphan, lease or not.
        outcome, crash = _trial(
            scenario,
            tmp_path / "trial",
            cluster.url(name),
            reference.seconds * 0.6,
            "--recover-all",
        )
    finally:
        cluster.drop_database(name)
    assert crash.killed
    _assert_same(outcome, reference, "postgres trial")
