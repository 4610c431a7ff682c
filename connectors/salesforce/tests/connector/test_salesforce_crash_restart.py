"""SIGKILL in the middle of a Salesforce cycle, then a restart: the org ends as after an
uninterrupted run, and no batch of records is written twice.

The cycle runs in a child process (``salesforce_worker.py``) against a sandbox living in
this process, so what the org holds survives the kill. 450 leads with activity make a
cycle of three Collections calls. Each trial kills a run after a seeded random delay
within the reference's duration, runs the worker again until the outbox is settled,
and must leave every lead's crmbridge fields as the reference did; at most the one
batch in flight at the kill is sent again.
"""

from __future__ import annotations

import json
import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from crmbridge.records import CanonicalEvent
from crmbridge.store.repository import Store
from crmbridge.sync.writeback import score_property_names
from crmbridge_salesforce.fields import custom_field
from crmbridge_salesforce.sandbox import SandboxServer
from crmbridge_salesforce.sandbox.tls import Certificates
from tests.e2e.crash.worker_process import run_worker

from .salesforce_harness import settings_for

WORKER = Path(__file__).with_name("salesforce_worker.py")
LEADS, SEED = 450, 2026_12
TRIALS, LONG_TRIALS = 1, 6
MAX_RESUMES = 3
NOW = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
SETTLED = ("pending", "in_flight", "failed")
COMPARED = [n for n in score_property_names("crmbridge") if n != "crmbridge_scored_at"]


def seed(server: SandboxServer, folder: Path) -> None:
    """The leads, and page views for a third of them (so scores differ)."""
    start = NOW - timedelta(days=20)
    events = []
    for n in range(LEADS):
        email = f"lead{n}@crash.example"
        server.admin.create(
            "Lead",
            {"LastName": f"Lead {n}", "Company": "Crash Co", "Email": email},
            modstamp=start + timedelta(seconds=n),
        )
        if n % 3 == 0:
            events.append(
                {
                    "event_id": f"crash-{n}",
                    "type": "page_view",
                    "occurred_at": (NOW - timedelta(days=1)).isoformat(),
                    "contact": {"email": email},
                    "properties": {"url": "https://acme.example/pricing"},
                }
            )
    store = Store.open(f"sqlite:///{folder / 'crmbridge.db'}")
    try:
        store.insert_events([CanonicalEvent.model_validate(e) for e in events])
    finally:
        store.engine.dispose()


def command(db_url: str, server: SandboxServer) -> list[str]:
    """The worker's command line: the store, the connector's settings, the moment."""
    settings = settings_for(server, bulk_batch_size=200, activity=False)
    payload = settings.model_dump(mode="json")
    payload.pop("pardot")  # off: its defaults (durations dump as ISO text the file never holds)
    payload.update(
        password=server.config.password,
        security_token=server.config.security_token,
        timeout="10s",
        lookback="10m",
    )
    return [
        sys.executable, str(WORKER), "--db", db_url, "--settings", json.dumps(payload),
        "--now", NOW.isoformat(),
    ]  # fmt: skip


def held(server: SandboxServer) -> dict[str, dict[str, Any]]:
    """crmbridge's score fields of every lead, by email."""
    return {
        str(r["Email"]): {n: r.get(n) for n in map(custom_field, COMPARED)}
        for r in server.state.records["Lead"].values()
    }


def writes(server: SandboxServer) -> int:
    return sum(
        1
        for r in server.admin.request_log()
        if r.path.endswith("/composite/sobjects") and r.status == 200
    )


def run(
    folder: Path, certificates: Certificates, kill_after: float | None
) -> tuple[dict[str, dict[str, Any]], int, float, bool]:
    """Seed a fresh org and store, run (killed or not), resume until settled."""
    folder.mkdir(parents=True)
    db_url = f"sqlite:///{folder / 'crmbridge.db'}"
    with SandboxServer(certificates=certificates) as server:
        seed(server, folder)
        report, seconds = run_worker(command(db_url, server), kill_after)
        killed = report is None
        for _ in range(MAX_RESUMES):
            if report is not None and not any(report["outbox"].get(s) for s in SETTLED):
                break
            report, _ = run_worker(command(db_url, server))
        assert report is not None and not any(report["outbox"].get(s) for s in SETTLED), report
        return held(server), writes(server), seconds, killed


@pytest.fixture(scope="module")
def reference(
    tmp_path_factory: pytest.TempPathFactory, salesforce_sandbox_certificates: Certificates
) -> tuple[dict[str, dict[str, Any]], int, float]:
    found, calls, seconds, _ = run(
        tmp_path_factory.mktemp("reference") / "run", salesforce_sandbox_certificates, None
    )
    return found, calls, seconds


def test_the_reference_run_scores_every_lead_in_three_writes(
    reference: tuple[dict[str, dict[str, Any]], int, float],
) -> None:
    found, calls, _ = reference
    assert len(found) == LEADS
    assert all(values["CRMBridge_Score__c"] is not None for values in found.values())
    assert calls == 3


def test_a_killed_cycle_resumes_to_the_same_org(
    reference: tuple[dict[str, dict[str, Any]], int, float],
    tmp_path: Path,
    salesforce_sandbox_certificates: Certificates,
    request: pytest.FixtureRequest,
) -> None:
    expected, reference_calls, seconds = reference
    rng = random.Random(SEED)
    trials = LONG_TRIALS if request.config.getoption("--long") else TRIALS
    killed_any = False
    for trial in range(trials):
        kill_after = rng.uniform(0.2, max(seconds, 0.5))
        found, calls, _, killed = run(
            tmp_path / f"trial-{trial}", salesforce_sandbox_certificates, kill_after
        )
        killed_any = killed_any or killed
        assert found == expected, f"trial {trial} (killed after {kill_after:.2f} s)"
        assert calls <= reference_calls + 1, f"trial {trial}: {calls} writes"
    assert killed_any, "no trial was killed mid-run"
