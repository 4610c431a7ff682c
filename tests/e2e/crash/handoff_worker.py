"""One crmbridge cycle against a HubSpot sandbox, in its own process (the SIGKILL test).

    python handoff_worker.py --db URL --crm URL --now ISO

Prints ``ready`` once its imports are done (the test kills it at a random moment after
that) and, on completion, one JSON line: the cycle summary and the outbox depth. The
sandbox runs in the test's process, so what HubSpot holds survives the kill.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from pydantic import SecretStr

from crmbridge.clock import parse_instant
from crmbridge.logging import configure_logging
from crmbridge.store.repository import Store
from crmbridge.sync.pipeline import Pipeline
from crmbridge_hubspot import HubSpotConnector
from crmbridge_hubspot.settings import HubSpotSettings
from tests.e2e.crash.worker_process import run_and_report
from tests.integration.handoff.harness import TOKEN, load_config


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--crm", required=True)
    parser.add_argument("--now", required=True)
    args = parser.parse_args(argv)
    print("ready", flush=True)

    configure_logging(json_output=True, level="WARNING")
    settings = HubSpotSettings(enabled=True, access_token=SecretStr(TOKEN), base_url=args.crm)
    store = Store.open(args.db)
    pipeline = Pipeline(store, load_config(), {"hubspot": HubSpotConnector.from_settings(settings)})
    return run_and_report(store, pipeline, parse_instant(args.now))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
