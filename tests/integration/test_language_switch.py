"""A change of ``[bridge] language`` rewrites the texts crmbridge wrote to the CRM.

Against the HubSpot sandbox through the real connector: a first run in English, then a
restart in Spanish rescores every contact (the language is part of the model version)
and rewrites each reasons property through the normal diff; tasks created from then on
are in Spanish; a third run has nothing left to write.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from benchmarks.handoff_tasks import handoff_config, world
from crmbridge.config import CrmbridgeConfig
from crmbridge.ingest import Ingestor
from crmbridge.store.repository import Store
from crmbridge.store.tables import ContactRow, ScoreRow
from crmbridge.sync.pipeline import Pipeline
from crmbridge_hubspot.sandbox.server import SandboxServer

from .test_model_rescore import fast_tasks, without_handoff

CONTACTS = 20
NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
REASONS = "crmbridge_reasons"


def reasons_in_crm(server: SandboxServer) -> dict[str, str]:
    return {
        c.properties.get("email", ""): c.properties.get(REASONS, "")
        for c in server.state.contacts()
    }


def reasons_in_store(store: Store) -> dict[str, str]:
    with store.session() as session:
        rows = session.execute(
            select(ContactRow.email, ScoreRow.reasons)  # type: ignore[call-overload]
            .join(ScoreRow, ScoreRow.contact_id == ContactRow.id)  # type: ignore[arg-type]
            .where(ScoreRow.is_current.is_(True))  # type: ignore[attr-defined]
        )
        return {email: reasons or "" for email, reasons in rows}


def in_spanish(config: CrmbridgeConfig) -> CrmbridgeConfig:
    return config.model_copy(update={"bridge": config.bridge.model_copy(update={"language": "es"})})


def run(store: Store, config: CrmbridgeConfig) -> tuple[int, int, int]:
    cycle = Pipeline(store, config, {"hubspot": fast_tasks(config)}).run_once(NOW)
    assert cycle.ok, cycle.errors
    return cycle.scored, cycle.written, cycle.actions


def test_switching_to_spanish_rewrites_every_reason_and_new_tasks_then_nothing(
    store: Store, store_url: str
) -> None:
    with world(CONTACTS, NOW) as (server, events):
        english = without_handoff(handoff_config(server, store_url))
        lines = ((i, json.dumps(e).encode()) for i, e in enumerate(events, 1))
        Ingestor(store, timedelta(minutes=5)).ingest_lines(lines, NOW)
        pipe = Pipeline(store, english, {"hubspot": fast_tasks(english)})
        pipe.prepare()
        assert pipe.run_once(NOW).written == CONTACTS
        before = reasons_in_crm(server)
        assert not server.state.tasks()

        # Spanish, with the hand-off on: the hot leads get their first tasks now.
        spanish = in_spanish(handoff_config(server, store_url))
        scored, written, actions = run(store, spanish)

        after = reasons_in_crm(server)
        assert scored == CONTACTS
        assert after == reasons_in_store(store)
        translated = {email for email, text in before.items() if "days inactive" in text}
        assert translated, "the data set no longer has an inactive lead"
        assert all("días sin actividad" in after[email] for email in translated)
        assert not any("days inactive" in text for text in after.values())
        tasks = server.state.tasks()
        assert tasks and actions == len(tasks)
        for task in tasks:
            assert task.properties["hs_task_subject"].startswith("Lead caliente: ")
            assert task.properties["hs_task_body"].startswith("Puntuación ")
        assert written >= len(translated)

        # A restart in the same language writes nothing (the owners just given come back
        # as inputs of their leads, which are rescored to the same values).
        _, written, actions = run(store, spanish)
        assert (written, actions) == (0, 0)
        assert reasons_in_crm(server) == after and len(server.state.tasks()) == len(tasks)
