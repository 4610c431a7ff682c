"""One rule of the model changed on a synced HubSpot (the local sandbox): the next start
rescores every contact and writes only those whose values change.

The contacts and events of :mod:`benchmarks.hubspot_sync` (20 ms of latency a request,
190 requests per 10 s) are synced once and the echoes read back; then the first fit
rule's points change and one cycle runs with the edited model. Figures: contacts still
outdated after it, contacts whose crmbridge values changed in HubSpot against the
contacts written, batch-update calls against ``1.01 × ceil(changed / 100)``, and 429s.

    python -m benchmarks.model_rescore            # 25,000 contacts
    python -m benchmarks.model_rescore --small    # 2,500
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.hubspot_sync import BURST, LATENCY_MS, _429s, _config, _dataset, _hubspot, _sandbox
from benchmarks.report import publish
from crmbridge.config import CrmbridgeConfig
from crmbridge.ingest import Ingestor
from crmbridge.store.repository import Store
from crmbridge.store.selection import count_selected, outdated
from crmbridge.sync.pipeline import Pipeline
from crmbridge_hubspot.connector import HubSpotConnector
from crmbridge_hubspot.sandbox.server import SandboxServer

#: Properties that differ between two runs by nature (a time, the store's id).
UNSTABLE = frozenset({"crmbridge_scored_at", "crmbridge_store"})
UPDATES = "batch update contacts"


def edited(config: CrmbridgeConfig) -> CrmbridgeConfig:
    """``config`` with the first fit rule worth 5 points more."""
    rules = list(config.scoring.fit)
    rules[0] = rules[0].model_copy(update={"points": rules[0].points + 5})
    return config.model_copy(update={"scoring": config.scoring.model_copy(update={"fit": rules})})


def values(server: SandboxServer) -> dict[str, dict[str, str]]:
    """Each contact's crmbridge properties in HubSpot, stable ones only."""
    return {
        c.id: {
            k: v
            for k, v in c.properties.items()
            if k.startswith("crmbridge_") and k not in UNSTABLE
        }
        for c in server.state.contacts()
    }


def run(count: int, folder: Path) -> dict[str, Any]:
    """Sync ``count`` contacts, change one rule, run the next start's cycle: figures."""
    now = datetime.now(UTC).replace(microsecond=0)
    contacts, events = _dataset(count, 10, now)
    with _sandbox(contacts, now) as server:
        database = f"sqlite:///{folder / 'crmbridge-rescore.db'}"
        config = _config(server, database)
        store = Store.open(database, bulk=True)
        lines = ((i, json.dumps(e).encode()) for i, e in enumerate(events, 1))
        Ingestor(store, timedelta(minutes=5)).ingest_lines(lines, now)
        first = Pipeline(
            store, config, {"hubspot": HubSpotConnector.from_settings(_hubspot(config))}
        )
        first.prepare()
        first.run_once(now)
        first.run_once(now)  # the echoes of the first writes
        before, throttled = values(server), _429s(server)
        model = edited(config)
        connector = HubSpotConnector.from_settings(_hubspot(model))
        pipeline = Pipeline(store, model, {"hubspot": connector})
        was_outdated = count_selected(store, outdated(pipeline.engine.version))
        cycle = pipeline.run_once(now)
        after = values(server)
        changed = sum(1 for crm_id, held in after.items() if held != before.get(crm_id))
        calls = connector.client.calls.get(UPDATES, 0)
        bound = 1.01 * math.ceil(changed / 100)
        return {
            "contacts": count,
            "outdated_before": was_outdated,
            "outdated_after": count_selected(store, outdated(pipeline.engine.version)),
            "scored": cycle.scored,
            "changed_in_crm": changed,
            "written": cycle.written,
            "unchanged_written": cycle.written - changed,
            "write_calls": calls,
            "write_calls_bound": round(bound, 2),
            "within_bound": calls <= bound,
            "http_429": _429s(server) - throttled,
            "cycle_seconds": cycle.duration_s,
            "ok": cycle.ok,
        }


def main(argv: list[str] | None = None) -> int:
    """Run it and write JSON."""
    parser = argparse.ArgumentParser(description="a model edit rescoring a synced HubSpot")
    parser.add_argument("--small", action="store_true", help="2,500 contacts")
    parser.add_argument(
        "--output", type=Path, default=Path("benchmarks/results/model_rescore.json")
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="crmbridge-rescore-bench-") as tmp:
        figures = run(2_500 if args.small else 25_000, Path(tmp))
    result = {
        "benchmark": "model_rescore",
        "sandbox": {"latency_ms": LATENCY_MS, "limit": f"{BURST} per 10 s"},
        "rule_changed": figures,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    publish(result, args.output)
    good = figures["ok"] and figures["within_bound"] and figures["outdated_after"] == 0
    return 0 if good and figures["unchanged_written"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
