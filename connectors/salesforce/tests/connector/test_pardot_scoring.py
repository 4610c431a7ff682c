"""End to end: a model reads Pardot's grade and scores Pardot's activities; the daemon's
pipeline stores each activity once, however often it is read, and rescores the lead
when only its Pardot grade moved."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import col, func, select

from connectors.salesforce.tests.conftest import SandboxHandle
from crmbridge.config import example_config_text, parse_config
from crmbridge.store.repository import Store
from crmbridge.store.tables import ContactRow, EventRow, ScoreRow
from crmbridge.sync.pipeline import Pipeline

from .pardot_harness import pardot_connector, pardot_of

RULES = """
[[scoring.fit]]
name = "Pardot grade A"
when = { pardot_grade = { in = ["A-", "A", "A+"] } }
points = 30

[[scoring.engagement]]
name = "Visits"
event = "site_visit"
points = 2

[[scoring.engagement]]
name = "Webinar registration"
event = "webinar_registered"
points = 7
"""


def score_of(store: Store, crm_id: str) -> int:
    with store.session() as session:
        query = (
            select(ScoreRow.total)
            .join(ContactRow, col(ContactRow.id) == col(ScoreRow.contact_id))
            .where(ContactRow.crm_id == crm_id, col(ScoreRow.is_current).is_(True))
        )
        return int(session.exec(query).one())


def pardot_events(store: Store) -> int:
    with store.session() as session:
        query = select(func.count()).where(col(EventRow.dedupe_key).startswith("pardot:"))
        return int(session.exec(query).one())


def test_the_model_reads_the_grade_and_each_activity_counts_once(
    salesforce_sandbox: SandboxHandle, tmp_path: Path
) -> None:
    sandbox = salesforce_sandbox
    pardot = pardot_of(sandbox.server)
    lead = sandbox.seed("Lead", {"LastName": "Ana", "Company": "Acme", "Email": "ana@acme.example"})
    prospect = pardot.add_prospect(email="ana@acme.example", salesforce_id=lead, grade="C")
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    pardot.add_activities(
        [{"type": 20, "prospect_id": prospect, "at": an_hour_ago}] * 3
        + [{"type": 25, "prospect_id": prospect, "at": an_hour_ago}]
    )
    config = parse_config(example_config_text() + RULES).config
    store = Store.open(f"sqlite:///{tmp_path / 'pardot.db'}")
    connector = pardot_connector(sandbox.server, page_size=2)
    pipeline = Pipeline(store, config, {connector.name: connector})
    try:
        pipeline.run_once(datetime.now(UTC))
        before = score_of(store, lead)
        assert pardot_events(store) == 4

        pardot.update_prospect(prospect, grade="A", at=datetime.now(UTC) + timedelta(seconds=1))
        pipeline.run_once(datetime.now(UTC) + timedelta(seconds=2))
        after = score_of(store, lead)
        assert pardot_events(store) == 4  # the look-back re-read them: stored once
    finally:
        store.engine.dispose()
    assert after - before == 30
    assert before >= 3 * 2 + 7
