"""Hand-off actions drained through the real HubSpot connector against the sandbox.

A scope the token lacks costs only the actions that need it (they are dead, with the
scope named, and their failure is of kind ``missing_scope``), never the others nor the
drain; a task whose earlier attempt failed
ambiguously (HubSpot created it, the answer was lost) is found and not created again.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import select

from crmbridge.connector import Action
from crmbridge.settings import OutboxSettings
from crmbridge.store import outbox
from crmbridge.store.repository import Store
from crmbridge.store.tables import OutboxRow
from crmbridge.sync.drain import Drainer
from crmbridge_hubspot import HubSpotConnector
from crmbridge_hubspot.sandbox.server import SandboxServer

from .hubspot_harness import IMPORT, TOKEN, connector_for, sandbox

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
WITHOUT_SEQUENCES = [
    "crm.objects.contacts.read",
    "crm.objects.contacts.write",
    "crm.schemas.contacts.read",
    "crm.schemas.contacts.write",
    "crm.objects.owners.read",
    "automation.sequences.read",
]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store.open(f"sqlite:///{tmp_path / 'crmbridge.db'}")
    yield store
    store.engine.dispose()


def _world(server: SandboxServer) -> str:
    state = server.state
    state.add_owner("11", "rep@example.com", "Rita", "Rep", 501)
    state.add_sequence("700", "Demo", 501)
    contact = state.create_contact({"email": "lead@example.com"}, source=IMPORT)
    return contact.id


def _queue(store: Store, *actions: Action) -> None:
    batch = outbox.Batch(NOW)
    for action in actions:
        batch.add_action("hubspot", None, action.kind, action.crm_id, action.key, action.payload)
    with store.session() as session:
        batch.apply(session)
        session.commit()


def _rows(store: Store) -> dict[str, Any]:
    with store.session() as session:
        return {row.kind: row for row in session.exec(select(OutboxRow)).all()}


def _task(crm_id: str) -> Action:
    return Action(
        "task",
        crm_id,
        f"hot-task:{crm_id}:20261126T100000Z",
        {"subject": "Hot lead", "body": "Score 120", "due_at": NOW.isoformat(), "owner_id": "11"},
    )


def test_a_missing_scope_kills_only_the_actions_that_need_it(store: Store) -> None:
    with sandbox(tokens={TOKEN: WITHOUT_SEQUENCES}) as server:
        crm_id = _world(server)
        enroll = Action(
            "enroll", crm_id, f"trigger:x:{crm_id}", {"sequence_id": "700", "owner_id": "11"}
        )
        _queue(store, enroll, _task(crm_id))
        result = Drainer(store, connector_for(server), OutboxSettings()).drain(NOW)
        tasks = server.state.tasks()

    rows = _rows(store)
    assert result.stopped is None, result.stopped
    assert (result.actions, result.failed) == (1, 1)
    assert rows["enroll"].status == "dead"
    assert "automation.sequences.enrollments.write" in (rows["enroll"].last_error or "")
    assert rows["task"].status == "done"
    assert len(tasks) == 1
    # The failure is the enrollment's, typed as a missing scope (not a refused token).
    (failure,) = result.failures
    assert (failure.kind, failure.stage, failure.crm_id) == ("missing_scope", "write", crm_id)
    assert failure.of_record
    assert result.errors == [f"hubspot enroll {crm_id}: {failure.message}"]


def test_a_task_whose_answer_was_lost_is_not_created_again(store: Store) -> None:
    with sandbox() as server:
        crm_id = _world(server)
        connector: HubSpotConnector = connector_for(server)
        action = _task(crm_id)
        # HubSpot created it; the response never arrived: the row failed, retriable.
        assert connector.handoff.perform(action).ok
        _queue(store, action)
        with store.session() as session:
            session.execute(update(OutboxRow).values(status="failed", attempts=1))
            session.commit()
        result = Drainer(store, connector, OutboxSettings()).drain(NOW)
        tasks = server.state.tasks()

    assert len(tasks) == 1
    assert result.actions == 0 and result.failed == 0
    row = _rows(store)["task"]
    assert row.status == "done" and "already holds it" in (row.last_error or "")
