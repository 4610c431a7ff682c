"""One crmbridge cycle against a Salesforce sandbox, in its own process (the SIGKILL test).

    python salesforce_worker.py --db URL --settings JSON --now ISO

Prints ``ready`` once its imports are done (the test kills it at a random moment after
that) and, on completion, one JSON line: the cycle summary and the outbox depth. The
sandbox runs in the test's process, so what the org holds survives the kill.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[4]))

from crmbridge.clock import parse_instant
from crmbridge.config import example_config_text, parse_config
from crmbridge.logging import configure_logging
from crmbridge.store.repository import Store
from crmbridge.sync.pipeline import Pipeline
from crmbridge_salesforce.connector import SalesforceConnector
from crmbridge_salesforce.settings import SalesforceSettings
from tests.e2e.crash.worker_process import run_and_report


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--settings", required=True)
    parser.add_argument("--now", required=True)
    args = parser.parse_args(argv)
    print("ready", flush=True)

    configure_logging(json_output=True, level="WARNING")
    settings = SalesforceSettings.model_validate(json.loads(args.settings))
    store = Store.open(args.db)
    config = parse_config(example_config_text()).config
    connector = SalesforceConnector.from_settings(settings)
    pipeline = Pipeline(store, config, {connector.name: connector})
    return run_and_report(store, pipeline, parse_instant(args.now))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
