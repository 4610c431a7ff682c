"""Hand-off records kept in the store: owners given, SLA clocks started and stopped, and
each contact's hand-off state (the ``contacts.handoff`` document)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from crmbridge.store.tables import AssignmentRow, ContactRow, SlaClockRow

_ASSIGNMENTS = AssignmentRow.__table__  # type: ignore[attr-defined]
_CLOCKS = SlaClockRow.__table__  # type: ignore[attr-defined]
_CONTACTS = ContactRow.__table__  # type: ignore[attr-defined]


class HandoffRecords(Protocol):
    """What a lead's hand-off plan records in the store (see ``HandoffPlan``)."""

    #: Rows for the ``assignments`` table (owner_id, strategy).
    assignments: list[dict[str, Any]]
    #: SLA clocks to start: stage, owner_id, started_at, due_at.
    clocks_started: list[dict[str, Any]]
    #: Instant the owner first contacted the lead (stops the open clocks).
    contacted_at: datetime | None
    #: SLA clocks that breached: stage, started_at, breached_at, escalated_at (or None).
    clocks_breached: list[dict[str, Any]]


def apply_records(
    session: Session, plans: Sequence[tuple[int, HandoffRecords]], now: datetime
) -> None:
    """Store what the plans of a batch of contacts record (same transaction as the score)."""
    assignments = [
        {"contact_id": cid, "assigned_at": now, **row}
        for cid, plan in plans
        for row in plan.assignments
    ]
    if assignments:
        session.execute(insert(_ASSIGNMENTS), assignments)
    clocks = [{"contact_id": cid, **row} for cid, plan in plans for row in plan.clocks_started]
    if clocks:
        session.execute(insert(_CLOCKS), clocks)
    for cid, plan in plans:
        if plan.contacted_at is not None:
            session.execute(
                update(_CLOCKS)
                .where(_CLOCKS.c.contact_id == cid, _CLOCKS.c.contacted_at.is_(None))
                .values(contacted_at=plan.contacted_at)
            )
        for row in plan.clocks_breached:
            session.execute(
                update(_CLOCKS)
                .where(
                    _CLOCKS.c.contact_id == cid,
                    _CLOCKS.c.stage == row["stage"],
                    _CLOCKS.c.started_at == row["started_at"],
                    _CLOCKS.c.breached_at.is_(None),
                )
                .values(breached_at=row["breached_at"], escalated_at=row.get("escalated_at"))
            )


def assignment_counts(session: Session, crm: str) -> dict[str, int]:
    """Assignments stored per rotation (``strategy``) for one CRM's contacts.

    The assignment step resumes each rotation from here, so its position survives
    restarts and is shared by replicas (one planner runs at a time, under a lock).
    """
    rows = session.execute(
        select(_ASSIGNMENTS.c.strategy, func.count())
        .join(_CONTACTS, _CONTACTS.c.id == _ASSIGNMENTS.c.contact_id)
        .where(_CONTACTS.c.crm == crm)
        .group_by(_ASSIGNMENTS.c.strategy)
    )
    return {str(strategy): int(count) for strategy, count in rows}


def handoff_state(session: Session, contact_id: int) -> Any:
    """The contact's stored hand-off state, as stored (None when there is no such contact)."""
    return session.execute(
        select(_CONTACTS.c.handoff).where(_CONTACTS.c.id == contact_id)
    ).scalar_one_or_none()


def save_handoff_state(session: Session, contact_id: int, state: dict[str, Any]) -> None:
    """Replace the contact's hand-off state."""
    session.execute(update(_CONTACTS).where(_CONTACTS.c.id == contact_id).values(handoff=state))
