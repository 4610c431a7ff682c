"""The drain's batched hand-off kinds against a scripted CRM: each answer of a batch call
(per-action refusals, a rate limit, a missing scope, no answer at all) leaves each
outbox row where it belongs, and nothing is sent again that the CRM holds.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from crmbridge import clock
from crmbridge.connector import Action, EnrollmentState, Owner, WriteResult
from crmbridge.errors import MissingScope, RateLimited, TransientError
from crmbridge.settings import OutboxSettings
from crmbridge.store import outbox
from crmbridge.store.repository import Store
from crmbridge.sync.drain import ALREADY_THERE, AMBIGUOUS, SETTLE_ROUNDS, Drainer
from crmbridge.testing.fake import FakeConnector

NOW = datetime(2026, 12, 2, 9, tzinfo=UTC)
SETTINGS = OutboxSettings()
BATCH = 3


@dataclass
class ScriptedHandoff:
    """A CRM that holds tasks by key and answers batch calls as the test scripts."""

    held: set[str] = field(default_factory=set)
    #: Keys the CRM refuses (a per-action validation error).
    refused: frozenset[str] = frozenset()
    #: What each batch call does before answering, in order (then: answer normally).
    script: list[Callable[[Sequence[Action]], None]] = field(default_factory=list)
    batches: list[list[str]] = field(default_factory=list)
    asked: int = 0
    can_pause_sequences: bool = False
    pause_note: str = "This test CRM cannot pause sequences."
    batch_sizes: Mapping[str, int] = field(default_factory=lambda: {"task": BATCH})
    index_lag_s: float = 0.0

    def owners(self) -> list[Owner]:
        return []

    def perform(self, action: Action) -> WriteResult:
        return self.perform_batch([action])[0]

    def perform_batch(self, actions: Sequence[Action]) -> list[WriteResult]:
        self.batches.append([a.key for a in actions])
        if self.script:
            self.script.pop(0)(actions)
        results = []
        for action in actions:
            if action.key in self.refused:
                results.append(WriteResult(action.crm_id, False, "invalid owner"))
            else:
                self.held.add(action.key)
                results.append(WriteResult(action.crm_id, True))
        return results

    def performed_batch(
        self, actions: Sequence[Action], *, wait_for_index: bool = True
    ) -> set[str]:
        self.asked += 1
        return {a.key for a in actions if a.key in self.held}

    def performed(self, action: Action, *, wait_for_index: bool = True) -> bool:
        return action.key in self.performed_batch([action])

    def active_enrollment(self, crm_id: str) -> EnrollmentState | None:
        return None

    def pause_sequences(self, crm_id: str) -> WriteResult:
        return WriteResult(crm_id, False, "cannot")


def lost_answer(handoff: ScriptedHandoff) -> Callable[[Sequence[Action]], None]:
    """The CRM applies the batch, then the answer is lost (a 502 after the work)."""

    def step(actions: Sequence[Action]) -> None:
        handoff.held.update(a.key for a in actions if a.key not in handoff.refused)
        raise TransientError("HubSpot is unavailable for create tasks (502)")

    return step


def fails(error: Exception) -> Callable[[Sequence[Action]], None]:
    def step(_actions: Sequence[Action]) -> None:
        raise error

    return step


def queue_tasks(store: Store, count: int) -> list[str]:
    batch = outbox.Batch(NOW)
    keys = [f"hot-task:{n}:2026-12-02" for n in range(count)]
    for n, key in enumerate(keys):
        batch.add_action("fake", None, "task", str(1000 + n), key, {"subject": f"Call {n}"})
    with store.session() as session:
        batch.apply(session)
        session.commit()
    return keys


def next_attempts(store: Store) -> set[datetime | None]:
    with store.session() as session:
        rows = outbox.list_rows(session, outbox.STATUSES, 1000)
    return {r.next_attempt_at for r in rows}


def statuses(store: Store) -> dict[str, tuple[str, int, str | None]]:
    with store.session() as session:
        rows = outbox.list_rows(session, outbox.STATUSES, 1000)
    return {r.target: (r.status, r.attempts, r.last_error) for r in rows}


def drainer(store: Store, tmp_path: Path, handoff: ScriptedHandoff) -> Drainer:
    crm = FakeConnector(tmp_path / "crm")
    crm.handoff = handoff
    return Drainer(store, crm, SETTINGS)


def test_tasks_go_a_batch_a_call_and_a_refused_one_fails_alone(
    store: Store, tmp_path: Path
) -> None:
    keys = queue_tasks(store, 7)
    handoff = ScriptedHandoff(refused=frozenset({keys[4]}))
    result = drainer(store, tmp_path, handoff).drain(NOW)
    assert [len(b) for b in handoff.batches] == [3, 3, 1]
    assert handoff.asked == 3, "one question per batch before its first send"
    assert result.actions == 6 and result.failed == 1
    found = statuses(store)
    assert found[keys[4]][0] == outbox.DEAD
    assert all(found[k][0] == outbox.DONE for k in keys if k != keys[4])


def test_a_batch_the_crm_already_holds_is_not_sent(store: Store, tmp_path: Path) -> None:
    keys = queue_tasks(store, 3)
    handoff = ScriptedHandoff(held={keys[0], keys[2]})
    drainer(store, tmp_path, handoff).drain(NOW)
    assert handoff.batches == [[keys[1]]]
    assert statuses(store)[keys[0]] == (outbox.DONE, 0, ALREADY_THERE)


def test_a_lost_answer_is_settled_by_asking_and_nothing_is_sent_twice(
    store: Store, tmp_path: Path
) -> None:
    keys = queue_tasks(store, 3)
    handoff = ScriptedHandoff()
    handoff.script.append(lost_answer(handoff))
    result = drainer(store, tmp_path, handoff).drain(NOW)
    assert handoff.batches == [keys]
    assert result.actions == 3 and not result.failures
    assert all(status == outbox.DONE for status, _, _ in statuses(store).values())


def test_a_batch_unanswered_every_round_waits_counted_as_attempted(
    store: Store, tmp_path: Path
) -> None:
    keys = queue_tasks(store, 2)
    handoff = ScriptedHandoff()
    handoff.script.extend(fails(TransientError("502")) for _ in range(SETTLE_ROUNDS))
    result = drainer(store, tmp_path, handoff).drain(NOW)
    assert len(handoff.batches) == SETTLE_ROUNDS
    assert statuses(store)[keys[0]] == (outbox.FAILED, 1, AMBIGUOUS)
    assert [f.kind for f in result.failures] == ["unavailable", "unavailable"]
    assert result.failed == 2
    # Retried together, as one batch again: one backoff for the whole batch.
    assert len(next_attempts(store)) == 1


def test_a_batch_the_crm_cannot_be_asked_about_waits_as_one_batch(
    store: Store, tmp_path: Path
) -> None:
    queue_tasks(store, BATCH)

    class Unreachable(ScriptedHandoff):
        def performed_batch(
            self, actions: Sequence[Action], *, wait_for_index: bool = True
        ) -> set[str]:
            raise TransientError("HubSpot search is unavailable (503)")

    handoff = Unreachable()
    result = drainer(store, tmp_path, handoff).drain(NOW)
    assert handoff.batches == [], "never sent without asking first"
    assert result.failed == BATCH and {f.kind for f in result.failures} == {"unavailable"}
    found = statuses(store)
    assert {status for status, _, _ in found.values()} == {outbox.FAILED}
    assert len(next_attempts(store)) == 1, "the batch is retried together"


def test_a_batch_worked_on_longer_than_the_lease_is_never_orphaned(
    store: Store, tmp_path: Path
) -> None:
    """A tiny lease and a slow batch: another replica looking for orphans while the
    batch is in flight finds none, and the batch is settled by the one that claimed it."""
    keys = queue_tasks(store, BATCH)
    # Below the smallest lease a file accepts, to keep the test short.
    lease = timedelta(milliseconds=300)
    seen_orphaned: list[int] = []

    def slow(_actions: Sequence[Action]) -> None:
        for _ in range(4):
            time.sleep(lease.total_seconds())
            with store.session() as session:
                found = outbox.orphaned(session, "fake", clock.now() - lease)
            seen_orphaned.append(len(found))

    handoff = ScriptedHandoff()
    handoff.script.append(slow)
    crm = FakeConnector(tmp_path / "crm")
    crm.handoff = handoff
    result = Drainer(store, crm, SETTINGS.model_copy(update={"lease": lease})).drain(NOW)
    assert seen_orphaned == [0, 0, 0, 0]
    assert result.actions == BATCH
    assert all(statuses(store)[k][0] == outbox.DONE for k in keys)


@pytest.mark.parametrize(
    ("error", "status", "attempts"),
    [
        (RateLimited("429", retry_after=5.0, policy="TEN_SECONDLY_ROLLING"), outbox.PENDING, 0),
        (MissingScope("crm.objects.contacts.write missing"), outbox.DEAD, 1),
    ],
    ids=["rate-limited", "missing-scope"],
)
def test_a_batch_refused_as_a_whole_before_any_work(
    store: Store, tmp_path: Path, error: Exception, status: str, attempts: int
) -> None:
    keys = queue_tasks(store, 2)
    handoff = ScriptedHandoff()
    handoff.script.append(fails(error))
    drainer(store, tmp_path, handoff).drain(NOW)
    assert handoff.held == set()
    assert all(statuses(store)[k][:2] == (status, attempts) for k in keys)


def test_a_claim_is_renewed_only_for_rows_still_in_flight_under_it(store: Store) -> None:
    keys = queue_tasks(store, 3)
    with store.session() as session:
        rows = outbox.claim_actions(session, "fake", 3, NOW, kinds=("task",))
        outbox.mark_done(session, rows[:1])
        session.commit()
    with store.session() as session:
        assert outbox.keep_claimed(session, [row.id for row in rows]) == 2
    assert statuses(store)[keys[0]][0] == outbox.DONE


def test_renewing_a_claim_never_waits_for_the_drain_settling_it(store: Store) -> None:
    """On PostgreSQL a row the drain is updating (uncommitted) is skipped, not waited for:
    waiting could deadlock the renewal with the drain."""
    if store.dialect != "postgresql":
        pytest.skip("SQLite locks the whole database; the drain commits before each call")
    queue_tasks(store, 2)
    with store.session() as drain:
        rows = outbox.claim_actions(drain, "fake", 2, NOW, kinds=("task",))
        outbox.mark_done(drain, rows[:1])  # holds the row's lock until it commits
        started = time.monotonic()
        with store.session() as keeper:
            # Waiting would fail the test after 3 s, not hang it.
            keeper.execute(text("SET LOCAL lock_timeout = '3s'"))
            assert outbox.keep_claimed(keeper, [row.id for row in rows]) == 1
        assert time.monotonic() - started < 5
        drain.commit()
