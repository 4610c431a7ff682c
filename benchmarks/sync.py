"""Incremental sync benchmark: 100,000 stored contacts, 1% changed, plus ingestion speed.

Against the file-backed fake CRM (so the figures are crmbridge's own cost, not an
API's): ingest events with the real ``crmbridge ingest`` command, run a first full
cycle, re-run with nothing new (must write nothing), change 1% of the contacts in the
CRM and run the incremental cycle, which must rescore and write only those.

    python -m benchmarks.sync --contacts 100000
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.report import publish
from crmbridge.config import example_config_text, parse_config
from crmbridge.store.repository import Store
from crmbridge.sync.pipeline import Pipeline
from crmbridge.testing.fake import FakeConnector

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
TITLES = ["Directora de IT", "IT Director", "CIO", "Jefe de Operaciones", "Marketing Manager"]
SIZES = ["45", "600", "1.000", "500-1000", "n/a"]


def _contacts(count: int, rng: random.Random) -> list[dict[str, Any]]:
    base = NOW - timedelta(days=30)
    return [
        {
            "id": str(100_000 + i),
            "email": f"lead{i}@example{i % 97}.com",
            "properties": {"jobtitle": rng.choice(TITLES), "numemployees": rng.choice(SIZES)},
            "updated_at": (base + timedelta(seconds=i)).isoformat(),
        }
        for i in range(count)
    ]


def _events(path: Path, count: int, per_contact: int, rng: random.Random) -> int:
    kinds = [
        ("page_view", {"url": "https://acme.es/pricing"}),
        ("content_download", {"asset_type": "guide"}),
        ("email_click", {"campaign": "nurture-x", "url": "https://acme.es/case-study/y"}),
        ("email_open", {"campaign": "nurture-x"}),
    ]
    written = 0
    with path.open("w") as out:
        for i in range(count):
            for _ in range(per_contact):
                kind, props = rng.choice(kinds)
                moment = NOW - timedelta(minutes=rng.randrange(60 * 24 * 120))
                out.write(
                    json.dumps(
                        {
                            "type": kind,
                            "occurred_at": moment.isoformat().replace("+00:00", "Z"),
                            "contact": {"email": f"lead{i}@example{i % 97}.com"},
                            "properties": props,
                        }
                    )
                    + "\n"
                )
                written += 1
    return written


def _cycle(pipeline: Pipeline, fake: FakeConnector) -> dict[str, Any]:
    writes_before, calls_before = len(fake.applied_writes()), fake.write_calls
    started = time.perf_counter()
    summary = pipeline.run_once(NOW)
    seconds = time.perf_counter() - started
    return {
        "read": summary.read,
        "scored": summary.scored,
        "changed": summary.changed,
        "written": summary.written,
        "failed": summary.failed,
        "write_calls": fake.write_calls - calls_before,
        "applied_writes": len(fake.applied_writes()) - writes_before,
        "seconds": round(seconds, 2),
    }


def run(contacts: int, per_contact: int, changed_share: float, folder: Path) -> dict[str, Any]:
    """Run every step in ``folder`` and return the figures."""
    rng = random.Random(42)
    seed = _contacts(contacts, rng)
    crm = folder / "crm"
    FakeConnector.seed(crm, seed)
    events_path = folder / "events.jsonl"
    total_events = _events(events_path, contacts, per_contact, rng)
    database = f"sqlite:///{folder / 'bench.db'}"
    env = {**os.environ, "CRMBRIDGE__BRIDGE__DATABASE_URL": database}
    started = time.perf_counter()
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "crmbridge",
            "ingest",
            str(events_path),
            "--json",
            "--now",
            NOW.isoformat(),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    ingest_wall = time.perf_counter() - started
    report = json.loads(completed.stdout)
    config = parse_config(example_config_text()).config
    store = Store.open(database, bulk=True)
    fake = FakeConnector(crm, name="hubspot", page_size=2_000)
    pipeline = Pipeline(store, config, {"hubspot": fake})
    first = _cycle(pipeline, fake)
    unchanged = _cycle(pipeline, fake)
    state = fake.state()
    picked = rng.sample(sorted(state), int(contacts * changed_share))
    bumped = datetime.now(UTC).isoformat()  # a CRM stamps edits with the real clock
    for record in seed:
        if record["id"] in picked:
            record["properties"] = {
                **record["properties"],
                "jobtitle": "Directora de IT",
                "numemployees": "2500",
                "crmbridge_budget": "approved",
            }
            record["updated_at"] = bumped
    FakeConnector.seed(crm, seed)
    incremental = _cycle(pipeline, fake)
    return {
        "benchmark": "sync.incremental",
        "contacts": contacts,
        "events": total_events,
        "ingest": {
            "events_ingested": report["ingested"],
            "seconds_inside_command": report["seconds"],
            "events_per_second": round(report["ingested"] / report["seconds"]),
            "wall_seconds_with_startup": round(ingest_wall, 2),
        },
        "first_cycle": first,
        "unchanged_rerun": unchanged,
        "changed_contacts": len(picked),
        "incremental_cycle": incremental,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: run in a temporary folder and write JSON."""
    parser = argparse.ArgumentParser(description="crmbridge incremental sync benchmark")
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--events-per-contact", type=int, default=5)
    parser.add_argument("--changed", type=float, default=0.01)
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results/sync.json"))
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="crmbridge-bench-") as tmp:
        result = run(args.contacts, args.events_per_contact, args.changed, Path(tmp))
    publish(result, args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
