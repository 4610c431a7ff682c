"""The outbox, on SQLite and PostgreSQL: coalescing, per-record failures, retries with
backoff, dead rows and their revival from the CLI, and crash orphans reconciled against
the CRM without sending anything twice.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from crmbridge.connector import Write
from crmbridge.records import CanonicalEvent
from crmbridge.settings import OutboxSettings
from crmbridge.store import outbox
from crmbridge.store.repository import Store
from crmbridge.sync.drain import Drainer
from crmbridge.sync.pipeline import CycleSummary, Pipeline
from crmbridge.testing.fake import FakeConnector

from .helpers import (
    NOW,
    FlakyCrm,
    applied_writes,
    cli,
    crm_properties,
    event,
    example_events,
    example_leads,
    pipeline,
    seed_crm,
)

SETTINGS = OutboxSettings()


@dataclass(frozen=True)
class Row:
    """An outbox row as the tests look at it."""

    id: int
    crm_id: str
    target: str
    value: str
    status: str
    attempts: int
    next_attempt_at: datetime | None


@dataclass
class Scene:
    """The seed scenario read and scored, its writes queued but not yet sent."""

    store: Store
    crm: FakeConnector
    pipeline: Pipeline

    def rows(self, *statuses: str) -> list[Row]:
        with self.store.session() as session:
            found = outbox.list_rows(session, statuses or outbox.STATUSES, 10_000)
        return [
            Row(r.id, r.crm_id, r.target, r.value["value"], r.status, r.attempts, r.next_attempt_at)
            for r in found
        ]

    def next_attempt(self, crm_id: str) -> datetime:
        """When the rows of ``crm_id`` are due again (they share one moment)."""
        moments = {r.next_attempt_at for r in self.rows() if r.crm_id == crm_id}
        assert len(moments) == 1, moments
        moment = moments.pop()
        assert moment is not None
        return moment

    def by_crm_id(self, *statuses: str) -> dict[str, set[str]]:
        found: dict[str, set[str]] = {}
        for row in self.rows(*statuses):
            found.setdefault(row.crm_id, set()).add(row.status)
        return found


@pytest.fixture
def scene(store: Store, tmp_path: Path) -> Scene:
    crm = seed_crm(tmp_path / "crm", example_leads())
    pipe = pipeline(store, crm)
    store.insert_events([CanonicalEvent.model_validate(e) for e in example_events()])
    pipe.read(crm, CycleSummary())
    pipe.rescorer.run(NOW)
    return Scene(store, crm, pipe)


def test_every_seed_contact_gets_its_writes_queued_once(scene: Scene) -> None:
    rows = scene.rows()
    assert {r.status for r in rows} == {"pending"}
    assert {r.crm_id for r in rows} == {lead["id"] for lead in example_leads()}
    per_property = Counter((r.crm_id, r.target) for r in rows)
    assert set(per_property.values()) == {1}
    assert scene.crm.applied_writes() == []  # planning never talks to the CRM


def test_two_pending_writes_of_one_property_coalesce_and_the_latest_wins(scene: Scene) -> None:
    before = {(r.crm_id, r.target): r for r in scene.rows()}
    old_score = before[("101", "crmbridge_score")].value
    later = NOW + timedelta(hours=2)
    demo = event("ana.garcia@logistica-iberica.es", "meeting_booked", NOW, "demo-101")
    scene.store.insert_events([CanonicalEvent.model_validate(demo)])

    scene.pipeline.rescorer.run(later)

    after = {(r.crm_id, r.target): r for r in scene.rows()}
    assert len(after) == len(scene.rows())  # still one row per record and property
    new_score = after[("101", "crmbridge_score")]
    assert int(new_score.value) > int(old_score)
    assert new_score.id == before[("101", "crmbridge_score")].id  # the row was updated
    assert after[("101", "crmbridge_scored_at")].value.startswith("2026-11-20T12:00:00")
    untouched = {k: r.value for k, r in after.items() if k[0] != "101"}
    assert untouched == {k: r.value for k, r in before.items() if k[0] != "101"}

    result = Drainer(scene.store, scene.crm, SETTINGS).drain(later)

    assert result.written == len(example_leads())
    sent = applied_writes(scene.crm)
    assert ("101", "crmbridge_score", new_score.value) in sent
    assert ("101", "crmbridge_score", old_score) not in sent
    assert set(sent.values()) == {1}
    assert {r.status for r in scene.rows()} == {"done"}


def test_a_rejected_record_fails_alone_and_the_rest_of_the_batch_lands(
    scene: Scene, tmp_path: Path
) -> None:
    crm = FakeConnector(tmp_path / "crm", name="hubspot", reject_ids=frozenset({"103"}))

    result = Drainer(scene.store, crm, SETTINGS).drain(NOW)

    assert crm.write_calls == 1  # one batch carried all ten records
    assert (result.written, result.failed) == (9, 1)
    assert any("103" in message for message in result.errors)
    held = crm_properties(crm)
    assert "crmbridge_score" not in held["103"]
    assert all(
        "crmbridge_score" in held[lead["id"]] for lead in example_leads() if lead["id"] != "103"
    )
    statuses = scene.by_crm_id()
    assert statuses.pop("103") == {"dead"}  # a permanent per-record error: no retry
    assert set().union(*statuses.values()) == {"done"}
    assert {r.attempts for r in scene.rows("dead")} == {1}


def test_a_failed_write_is_retried_after_its_backoff(scene: Scene, tmp_path: Path) -> None:
    crm = FlakyCrm(tmp_path / "crm", failures={"103": 2})
    drainer = Drainer(scene.store, crm, SETTINGS)

    first = drainer.drain(NOW)

    assert (first.written, first.failed) == (9, 1)
    assert scene.by_crm_id()["103"] == {"failed"}
    retry_at = scene.next_attempt("103")
    first_wait = retry_at - NOW
    assert timedelta(0) < first_wait <= SETTINGS.backoff_initial
    assert {r.attempts for r in scene.rows("failed")} == {1}
    with scene.store.session() as session:
        errors = {row.last_error for row in outbox.list_rows(session, ["failed"], 100)}
    assert errors == {"HTTP 503 unavailable"}

    too_early = drainer.drain(retry_at - timedelta(microseconds=1))
    assert (too_early.calls, too_early.written) == (0, 0)
    assert crm.attempts["103"] == 1

    second = drainer.drain(retry_at)  # fails once more, waits up to twice as long
    assert (second.written, second.failed) == (0, 1)
    second_wait = scene.next_attempt("103") - retry_at
    assert timedelta(0) < second_wait <= 2 * SETTINGS.backoff_initial
    assert {r.attempts for r in scene.rows("failed")} == {2}

    third = drainer.drain(scene.next_attempt("103"))
    assert (third.written, third.failed) == (1, 0)
    assert crm.attempts["103"] == 3
    # The record's properties failed together and land together, in one write.
    [landed] = [w for w in crm.applied_writes() if w["crm_id"] == "103"]
    assert set(landed["properties"]) == {r.target for r in scene.rows() if r.crm_id == "103"}
    assert {r.status for r in scene.rows()} == {"done"}
    assert "crmbridge_score" in crm_properties(crm)["103"]
    assert set(applied_writes(crm).values()) == {1}


def test_after_max_attempts_a_write_is_dead_listed_and_revived_by_the_cli(
    scene: Scene, store_url: str, tmp_path: Path
) -> None:
    settings = OutboxSettings(max_attempts=3)
    crm = FlakyCrm(tmp_path / "crm", failures={"103": 1_000})
    drainer = Drainer(scene.store, crm, settings)
    moment = NOW
    for _ in range(settings.max_attempts):
        drainer.drain(moment)
        if scene.by_crm_id()["103"] == {"dead"}:
            break
        moment = scene.next_attempt("103")

    assert crm.attempts["103"] == settings.max_attempts
    assert scene.by_crm_id()["103"] == {"dead"}
    drainer.drain(moment + timedelta(days=30))
    assert crm.attempts["103"] == settings.max_attempts  # dead rows are never retried

    listed = cli(store_url, "outbox", "list", "--status", "dead", "--json")
    assert listed.exit_code == 0, listed.output
    payload = json.loads(listed.stdout)
    dead = payload["rows"]
    assert {r["crm_id"] for r in dead} == {"103"}
    assert {r["status"] for r in dead} == {"dead"}
    assert {r["attempts"] for r in dead} == {settings.max_attempts}
    assert {r["last_error"] for r in dead} == {"HTTP 503 unavailable"}
    assert {r["next_attempt_at"] for r in dead} == {None}
    assert "crmbridge_score" in {r["target"] for r in dead}
    assert payload["counts"] == {"dead": len(dead), "done": len(scene.rows("done"))}

    revived = cli(store_url, "outbox", "retry", "--now", "2026-12-01T09:00:00Z")
    assert revived.exit_code == 0, revived.output
    assert f"{len(dead)} writes queued again" in revived.stdout
    pending = json.loads(cli(store_url, "outbox", "list", "-s", "pending", "--json").stdout)
    assert {(r["id"], r["attempts"]) for r in pending["rows"]} == {(r["id"], 0) for r in dead}

    healthy = FakeConnector(tmp_path / "crm", name="hubspot")
    result = Drainer(scene.store, healthy, settings).drain(datetime(2026, 12, 1, 9, tzinfo=UTC))
    assert result.written == 1
    assert {r.status for r in scene.rows()} == {"done"}
    held = crm_properties(healthy)["103"]
    assert {r["target"]: held.get(r["target"]) for r in dead} == {
        r["target"]: r["value"] for r in dead
    }


def test_rows_orphaned_in_flight_are_reconciled_without_sending_twice(scene: Scene) -> None:
    # A drainer claimed every row, sent four records, and died before recording anything.
    with scene.store.session() as session:
        claimed = outbox.claim(session, "hubspot", 100, NOW)
    assert {r.status for r in scene.rows()} == {"in_flight"}
    sent_ids = ["101", "102", "105", "110"]
    by_record: dict[str, dict[str, str]] = {}
    for row in claimed:
        by_record.setdefault(row.crm_id, {})[row.target] = row.value
    scene.crm.write([Write(crm_id, by_record[crm_id]) for crm_id in sent_ids])
    sent_before = applied_writes(scene.crm)

    drainer = Drainer(scene.store, scene.crm, SETTINGS)
    reconciled = drainer.recover(NOW, all_in_flight=True)

    assert reconciled == sum(len(by_record[i]) for i in sent_ids)
    statuses = scene.by_crm_id()
    assert all(statuses[i] == {"done"} for i in sent_ids)
    assert set().union(*(s for i, s in statuses.items() if i not in sent_ids)) == {"pending"}

    result = drainer.drain(NOW)

    assert result.written == len(by_record) - len(sent_ids)
    sent = applied_writes(scene.crm)
    assert set(sent.values()) == {1}  # nothing applied twice
    assert sent - sent_before == Counter(
        (crm_id, name, value)
        for crm_id, values in by_record.items()
        if crm_id not in sent_ids
        for name, value in values.items()
    )
    assert {r.status for r in scene.rows()} == {"done"}
    # What the CRM holds is the baseline of the next plan: nothing left to write.
    assert scene.pipeline.plan(NOW) == []


def test_a_record_with_a_write_in_flight_waits_for_it_before_its_next_claim(
    scene: Scene,
) -> None:
    with scene.store.session() as session:
        flying = outbox.claim(session, "hubspot", 1, NOW)
    assert {r.crm_id for r in flying} == {"101"}
    # Rescored while its first write is out: the new score is queued beside it.
    later = NOW + timedelta(hours=2)
    demo = event("ana.garcia@logistica-iberica.es", "meeting_booked", NOW, "demo-101")
    scene.store.insert_events([CanonicalEvent.model_validate(demo)])
    scene.pipeline.rescorer.run(later)
    assert "pending" in scene.by_crm_id()["101"]

    with scene.store.session() as session:
        others = outbox.claim(session, "hubspot", 100, later)
        # A whole batch cannot be made without it either.
        none = outbox.claim(session, "hubspot", 1, later, full=True)
    # Two writes of one record out at once could land in either order.
    assert "101" not in {r.crm_id for r in others}
    assert {r.crm_id for r in others} == {lead["id"] for lead in example_leads()} - {"101"}
    assert none == []

    with scene.store.session() as session:
        outbox.mark_done(session, flying)
        session.commit()
        after = outbox.claim(session, "hubspot", 100, later)
    assert {r.crm_id for r in after} == {"101"}
    assert int(next(r.value for r in after if r.target == "crmbridge_score")) > int(
        next(r.value for r in flying if r.target == "crmbridge_score")
    )


def test_a_new_value_for_a_row_claimed_meanwhile_is_queued_beside_it(scene: Scene) -> None:
    # Rescoring read the row as waiting; a writer claimed it before the new value came.
    with scene.store.session() as session:
        waiting = {r.target: r for r in outbox.queued_rows(session, "hubspot", ["101"])["101"]}
        flying = outbox.claim(session, "hubspot", 1, NOW)
    assert {r.crm_id for r in flying} == {"101"}
    sent = waiting["crmbridge_score"]
    batch = outbox.Batch(NOW)
    batch.put("hubspot", outbox.PropertyWrite(None, "101", "crmbridge_score", "99"), sent)
    with scene.store.session() as session:
        batch.apply(session)
        session.commit()

    rows = [r for r in scene.rows() if (r.crm_id, r.target) == ("101", "crmbridge_score")]
    # The value being sent stays in flight, as sent; the new one waits beside it.
    assert sorted((r.status, r.value) for r in rows) == [
        ("in_flight", sent.value),
        ("pending", "99"),
    ]


def test_with_replicas_only_claims_older_than_the_lease_are_orphans(scene: Scene) -> None:
    with scene.store.session() as session:
        outbox.claim(session, "hubspot", 3, NOW)
    drainer = Drainer(scene.store, scene.crm, SETTINGS)
    # Claims are stamped with the wall clock: a fresh claim may be a live replica's.
    wall = datetime.now(UTC)

    assert drainer.recover(wall, all_in_flight=False) == 0
    assert len(scene.by_crm_id("in_flight")) == 3

    assert drainer.recover(wall + SETTINGS.lease + timedelta(seconds=1), all_in_flight=False) == 0
    assert scene.by_crm_id("in_flight") == {}  # none applied: all back to pending
    assert drainer.drain(NOW).written == len(example_leads())
    assert set(applied_writes(scene.crm).values()) == {1}


def test_new_rows_store_their_timestamps_as_any_other_statement_binds_them(store: Store) -> None:
    """Property rows (their shared timestamps converted once) and an action row (bound
    per row) keep the same stored instants: equal in SQL to ``NOW`` bound as usual."""
    table = outbox._T
    batch = outbox.Batch(NOW)
    batch.put("fake", outbox.PropertyWrite(None, "c-1", "score", "80"), None)
    batch.put("fake", outbox.PropertyWrite(None, "c-1", "tier", "A"), None)
    batch.add_action("fake", None, "task", "c-1", "k-1", {"subject": "call"})
    with store.session() as session:
        batch.apply(session)
        session.commit()
        for column in (table.c.next_attempt_at, table.c.created_at, table.c.updated_at):
            same = session.execute(select(func.count()).where(column == NOW)).scalar_one()
            assert same == 3, column.name
        values = session.execute(
            select(table.c.target, table.c.value, table.c.created_at).order_by(table.c.id)
        ).all()
    assert [(row.target, row.value, row.created_at) for row in values] == [
        ("score", {"value": "80"}, NOW),
        ("tier", {"value": "A"}, NOW),
        ("k-1", {"subject": "call"}, NOW),
    ]
