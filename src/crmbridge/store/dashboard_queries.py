"""What the daemon's dashboard reads from the store (read-only, bounded).

Each query returns at most ``limit`` rows plus, where a list can be long, the full
count, so a page stays small however big the store grows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from crmbridge.clock import parse_instant
from crmbridge.store.report_queries import Skip
from crmbridge.store.tables import (
    AssignmentRow,
    ContactRow,
    ScoreRow,
    SlaClockRow,
    SyncRunRow,
)

_CONTACTS = ContactRow.__table__  # type: ignore[attr-defined]
_SCORES = ScoreRow.__table__  # type: ignore[attr-defined]
_ASSIGNMENTS = AssignmentRow.__table__  # type: ignore[attr-defined]
_CLOCKS = SlaClockRow.__table__  # type: ignore[attr-defined]
_RUNS = SyncRunRow.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class HotLead:
    """A contact whose current score is hot, and who owns it."""

    contact_id: int
    crm: str
    crm_id: str
    email: str | None
    score: int
    owner_id: str | None
    #: When its current hot episode started (None: the state does not say).
    hot_since: datetime | None


@dataclass(frozen=True, slots=True)
class Clock:
    """An SLA clock not yet stopped by a contact."""

    contact_id: int
    email: str | None
    stage: str
    owner_id: str | None
    started_at: datetime | None
    due_at: datetime | None
    breached_at: datetime | None


@dataclass(frozen=True, slots=True)
class Run:
    """One sync cycle."""

    id: int
    started_at: datetime
    finished_at: datetime | None
    status: str
    read: int
    scored: int
    written: int
    failed: int
    duration_s: float


def hot_leads(session: Session, limit: int, *, skip: Skip = None) -> tuple[list[HotLead], int]:
    """Hot contacts, longest waiting first (unknown start last), and how many there are
    (``skip``: contacts left out, the other records of a lead held by several CRMs)."""
    hot = and_(
        _SCORES.c.contact_id == _CONTACTS.c.id,
        _SCORES.c.is_current.is_(True),
        _SCORES.c.hot.is_(True),
    )
    if skip is not None:
        hot = and_(hot, _CONTACTS.c.id.not_in(skip))
    total = session.execute(select(func.count()).select_from(_CONTACTS.join(_SCORES, hot)))
    count = int(total.scalar_one())
    # Written as UTC ISO text by one formatter, so text order is time order.
    since = _CONTACTS.c.handoff["hot_since"].as_string()
    query = (
        select(
            _CONTACTS.c.id,
            _CONTACTS.c.crm,
            _CONTACTS.c.crm_id,
            _CONTACTS.c.email,
            _CONTACTS.c.handoff,
            _SCORES.c.total,
        )
        .select_from(_CONTACTS.join(_SCORES, hot))
        .order_by(since.is_(None), since, _CONTACTS.c.id)
        .limit(limit)
    )
    rows = list(session.execute(query))
    owners = _last_owners(session, [int(row.id) for row in rows])
    return [_hot(row, owners.get(int(row.id))) for row in rows], count


def _hot(row: Any, assigned: str | None) -> HotLead:
    state: dict[str, Any] = row.handoff if isinstance(row.handoff, dict) else {}
    owner = state.get("owner_id")
    since = state.get("hot_since")
    return HotLead(
        contact_id=int(row.id),
        crm=str(row.crm),
        crm_id=str(row.crm_id),
        email=row.email,
        score=int(row.total),
        owner_id=str(owner) if owner else assigned,
        hot_since=_instant(since),
    )


def _instant(value: object) -> datetime | None:
    """A stored ISO instant; None when missing or unreadable (a state is never trusted)."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        return parse_instant(value)
    except ValueError:
        return None


def _last_owners(session: Session, ids: Sequence[int]) -> dict[int, str]:
    """Contact id → the owner crmbridge assigned last."""
    owners: dict[int, str] = {}
    for start in range(0, len(ids), 5000):
        chunk = list(ids[start : start + 5000])
        query = (
            select(_ASSIGNMENTS.c.contact_id, _ASSIGNMENTS.c.owner_id)
            .where(_ASSIGNMENTS.c.contact_id.in_(chunk))
            .order_by(_ASSIGNMENTS.c.assigned_at, _ASSIGNMENTS.c.id)
        )
        for contact_id, owner_id in session.execute(query):
            owners[int(contact_id)] = str(owner_id)
    return owners


def open_clocks(session: Session, limit: int) -> tuple[list[Clock], int]:
    """SLA clocks no contact has stopped yet, earliest due first, and how many there are."""
    waiting = _CLOCKS.c.contacted_at.is_(None)
    count = int(
        session.execute(select(func.count()).select_from(_CLOCKS).where(waiting)).scalar_one()
    )
    query = (
        select(
            _CLOCKS.c.contact_id,
            _CONTACTS.c.email,
            _CLOCKS.c.stage,
            _CLOCKS.c.owner_id,
            _CLOCKS.c.started_at,
            _CLOCKS.c.due_at,
            _CLOCKS.c.breached_at,
        )
        .select_from(_CLOCKS.join(_CONTACTS, _CONTACTS.c.id == _CLOCKS.c.contact_id))
        .where(waiting)
        .order_by(_CLOCKS.c.due_at, _CLOCKS.c.id)
        .limit(limit)
    )
    clocks = [
        Clock(
            contact_id=int(row.contact_id),
            email=row.email,
            stage=str(row.stage),
            owner_id=row.owner_id,
            started_at=row.started_at,
            due_at=row.due_at,
            breached_at=row.breached_at,
        )
        for row in session.execute(query)
    ]
    return clocks, count


def recent_runs(session: Session, limit: int) -> list[Run]:
    """The latest sync cycles, newest first."""
    query = select(_RUNS).order_by(_RUNS.c.started_at.desc(), _RUNS.c.id.desc()).limit(limit)
    return [
        Run(
            id=int(row.id),
            started_at=row.started_at,
            finished_at=row.finished_at,
            status=str(row.status),
            read=int(row.read),
            scored=int(row.scored),
            written=int(row.written),
            failed=int(row.failed),
            duration_s=float(row.duration_s),
        )
        for row in session.execute(query)
    ]


def first_scored_with(session: Session, version: str) -> datetime | None:
    """When a score of model ``version`` was first stored: when the model changed to it."""
    query = select(func.min(_SCORES.c.scored_at)).where(_SCORES.c.model_version == version)
    found: datetime | None = session.execute(query).scalar_one()
    return found
