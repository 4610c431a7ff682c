"""What a failed outbox attempt leads to: a retry after a backoff, or a dead row.

The decision is made here; :func:`crmbridge.store.outbox.record_attempts` stores it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from tenacity import RetryCallState, wait_random_exponential

from crmbridge.settings import OutboxSettings
from crmbridge.store.outbox import DEAD, FAILED, Attempt, Queued, record_attempts
from crmbridge.store.session import Session


def backoff(attempt: int, settings: OutboxSettings) -> timedelta:
    """Delay before attempt ``attempt + 1``: exponential with full jitter (tenacity)."""
    wait = wait_random_exponential(
        multiplier=settings.backoff_initial.total_seconds(),
        max=settings.backoff_max.total_seconds(),
    )
    state = RetryCallState(retry_object=None, fn=None, args=(), kwargs={})  # type: ignore[arg-type]
    state.attempt_number = attempt
    return timedelta(seconds=wait(state))


def mark_failed(
    session: Session,
    rows: Sequence[Queued],
    error: str,
    *,
    retriable: bool,
    settings: OutboxSettings,
    now: datetime,
) -> set[str]:
    """Record a failed attempt; schedule a retry or declare the row dead.

    Returns the CRM ids of the records a row of which is now dead.
    """
    if not rows:
        return set()
    outcomes: list[Attempt] = []
    dead_records: set[str] = set()
    # One jittered delay per attempt count: the rows of a record (or of a batch) that
    # failed together are retried together, in one call, not property by property.
    delays: dict[int, timedelta] = {}
    for row in rows:
        attempts = row.attempts + 1
        dead = not retriable or attempts >= settings.max_attempts
        if dead:
            dead_records.add(row.crm_id)
        elif attempts not in delays:
            delays[attempts] = backoff(attempts, settings)
        outcomes.append(
            Attempt(
                row.id,
                attempts,
                DEAD if dead else FAILED,
                None if dead else now + delays[attempts],
            )
        )
    record_attempts(session, outcomes, error)
    return dead_records
