"""One crmbridge process for the crash-safety test: ingest a file, then run one cycle.

    python crash_worker.py --db URL --crm DIR --events FILE --now ISO [--recover-all]

Prints ``ready`` once its imports are done (the test kills it at a random moment after
that), and on completion one JSON line: the cycle summary, the ingestion counts, the
outbox depth and the number of contacts still dirty. The CRM is a
:class:`~crmbridge.testing.fake.FakeConnector` in DIR named "hubspot" with small pages
and small write batches, so a cycle has many steps to be interrupted between.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sqlmodel import col, func, select

from crmbridge.clock import parse_instant
from crmbridge.config import example_config_text, parse_config
from crmbridge.ingest import Ingestor
from crmbridge.logging import configure_logging
from crmbridge.store import outbox
from crmbridge.store.repository import Store
from crmbridge.store.tables import ContactRow
from crmbridge.sync.pipeline import Pipeline
from crmbridge.testing.fake import FakeConnector

PAGE_SIZE = 20
WRITE_BATCH = 10
WRITE_DELAY = 0.002


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--crm", required=True, type=Path)
    parser.add_argument("--events", required=True, type=Path)
    parser.add_argument("--now", required=True)
    parser.add_argument(
        "--recover-all",
        action="store_true",
        help="treat every in-flight row as orphaned (this is the only process)",
    )
    args = parser.parse_args(argv)
    print("ready", flush=True)

    configure_logging(json_output=True, level="WARNING")
    now = parse_instant(args.now)
    config = parse_config(example_config_text()).config
    store = Store.open(args.db)
    with args.events.open("rb") as stream:
        report = Ingestor(store, config.ingest.max_future_skew).ingest_stream(stream, now)
    crm = FakeConnector(args.crm, name="hubspot", page_size=PAGE_SIZE, write_delay=WRITE_DELAY)
    crm.max_batch_size = WRITE_BATCH
    pipeline = Pipeline(store, config, {crm.name: crm})
    summary = pipeline.run_once(now, recover_all=True if args.recover_all else None)
    with store.session() as session:
        depth = dict(outbox.depth(session))
        dirty = session.exec(
            select(func.count()).select_from(ContactRow).where(col(ContactRow.dirty).is_(True))
        ).one()
    result = {
        "summary": summary.as_dict(),
        "ingest": {"ingested": report.ingested, "duplicates": report.duplicates},
        "outbox": depth,
        "dirty": int(dirty),
        "events": store.event_count(),
    }
    print(json.dumps(result), flush=True)
    store.engine.dispose()
    return 0 if summary.ok and report.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
