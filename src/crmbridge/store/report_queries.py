"""What the weekly marketing–sales report reads from the store (read-only).

Per-lead figures are aggregated in SQL where the row count grows with the store
(first arrival at each stage, first sales activity after MQL, the score histogram,
breaches by owner); the report's formulas then run on plain rows
(:mod:`crmbridge.report.kpis`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, case, func, or_, select
from sqlalchemy.orm import Session

from crmbridge.store.tables import AssignmentRow, ContactRow, EventRow, ScoreRow, SlaClockRow

#: Contacts a count leaves out (a select of their ids), or None.
Skip = Select[tuple[int]] | None

_CONTACTS = ContactRow.__table__  # type: ignore[attr-defined]
_EVENTS = EventRow.__table__  # type: ignore[attr-defined]
_SCORES = ScoreRow.__table__  # type: ignore[attr-defined]
_ASSIGNMENTS = AssignmentRow.__table__  # type: ignore[attr-defined]
_CLOCKS = SlaClockRow.__table__  # type: ignore[attr-defined]

#: The lifecycle ladder from "lead" up; reaching a stage counts every stage below it.
FUNNEL = ("lead", "mql", "sql", "opportunity", "customer")
#: Contact ids per ``IN (...)`` list.
_CHUNK = 5000
#: Score histogram bucket width (points).
BUCKET = 10

#: Sales activity and sales feedback event types (see :mod:`crmbridge.handoff.sla`).
ACTIVITY = "sales_activity"
FEEDBACK = "sales_feedback"


@dataclass(frozen=True, slots=True)
class Milestones:
    """When one lead first stood at each funnel stage or above (None: not yet)."""

    contact_id: int
    created_at: datetime | None
    reached: dict[str, datetime]


def milestones(
    session: Session, since: datetime, until: datetime, *, skip: Skip = None
) -> list[Milestones]:
    """Contacts with their first arrival at each funnel stage before ``until``.

    Only contacts that matter from ``since`` on: created since then, or scored since
    then (a lead whose every move is older counts in no period from ``since``). A lead
    that jumps from lead to SQL reached MQL at that same instant. ``skip``: contacts
    left out (the other records of a lead held by several CRMs).
    """
    columns = [
        func.min(_SCORES.c.scored_at).filter(_SCORES.c.stage.in_(FUNNEL[index:])).label(stage)
        for index, stage in enumerate(FUNNEL)
    ]
    firsts = (
        select(_SCORES.c.contact_id, func.max(_SCORES.c.scored_at).label("latest"), *columns)
        .where(_SCORES.c.scored_at < until)
        .group_by(_SCORES.c.contact_id)
        .subquery()
    )
    query = (
        select(_CONTACTS.c.id, _CONTACTS.c.created_at, *(firsts.c[stage] for stage in FUNNEL))
        .outerjoin(firsts, firsts.c.contact_id == _CONTACTS.c.id)
        .where(or_(_CONTACTS.c.created_at >= since, firsts.c.latest >= since))
    )
    if skip is not None:
        query = query.where(_CONTACTS.c.id.not_in(skip))
    found = []
    for row in session.execute(query):
        reached = {stage: row[2 + i] for i, stage in enumerate(FUNNEL) if row[2 + i] is not None}
        found.append(Milestones(row[0], row[1], reached))
    return found


def first_activities(session: Session, since: datetime, until: datetime) -> dict[int, datetime]:
    """For leads that became MQL (or higher) in ``[since, until)``: their first sales
    activity at or after that instant (leads never contacted are absent)."""
    mql_at = (
        select(_SCORES.c.contact_id, func.min(_SCORES.c.scored_at).label("at"))
        .where(_SCORES.c.stage.in_(FUNNEL[1:]))
        .group_by(_SCORES.c.contact_id)
        .having(and_(func.min(_SCORES.c.scored_at) >= since, func.min(_SCORES.c.scored_at) < until))
        .subquery()
    )
    query = (
        select(mql_at.c.contact_id, func.min(_EVENTS.c.occurred_at))
        .join(
            _EVENTS,
            and_(
                _EVENTS.c.contact_id == mql_at.c.contact_id,
                _EVENTS.c.type == ACTIVITY,
                _EVENTS.c.occurred_at >= mql_at.c.at,
            ),
        )
        .group_by(mql_at.c.contact_id)
    )
    return {int(cid): at for cid, at in session.execute(query)}


def assignments_of(session: Session, contact_ids: Sequence[int]) -> list[tuple[int, str, datetime]]:
    """Owners given to these contacts: (contact id, owner id, assigned at), oldest first."""
    found: list[tuple[int, str, datetime]] = []
    ids = sorted(set(contact_ids))
    for start in range(0, len(ids), _CHUNK):
        query = (
            select(_ASSIGNMENTS.c.contact_id, _ASSIGNMENTS.c.owner_id, _ASSIGNMENTS.c.assigned_at)
            .where(_ASSIGNMENTS.c.contact_id.in_(ids[start : start + _CHUNK]))
            .order_by(_ASSIGNMENTS.c.id)
        )
        found.extend((int(c), str(o), a) for c, o, a in session.execute(query) if a is not None)
    return found


def breaches_by_owner(session: Session, since: datetime, until: datetime) -> dict[str, int]:
    """SLA clocks that breached in ``[since, until)``, counted per owner id ("" = none)."""
    query = (
        select(_CLOCKS.c.owner_id, func.count())
        .where(_CLOCKS.c.breached_at >= since, _CLOCKS.c.breached_at < until)
        .group_by(_CLOCKS.c.owner_id)
    )
    return {str(owner or ""): int(count) for owner, count in session.execute(query)}


def feedback_in(
    session: Session, since: datetime, until: datetime
) -> list[tuple[int | None, dict[str, Any]]]:
    """Sales feedback events of ``[since, until)``: (contact id, properties)."""
    query = select(_EVENTS.c.contact_id, _EVENTS.c.properties).where(
        _EVENTS.c.type == FEEDBACK,
        _EVENTS.c.occurred_at >= since,
        _EVENTS.c.occurred_at < until,
    )
    return [
        (cid, props if isinstance(props, dict) else {}) for cid, props in session.execute(query)
    ]


def handoff_states(session: Session, contact_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """The stored hand-off state of these contacts (those that have one)."""
    found: dict[int, dict[str, Any]] = {}
    ids = sorted(set(contact_ids))
    for start in range(0, len(ids), _CHUNK):
        query = select(_CONTACTS.c.id, _CONTACTS.c.handoff).where(
            _CONTACTS.c.id.in_(ids[start : start + _CHUNK])
        )
        found.update({cid: h for cid, h in session.execute(query) if isinstance(h, dict)})
    return found


def stage_moves(
    session: Session, since: datetime, until: datetime, *, skip: Skip = None
) -> dict[tuple[str, str], int]:
    """Score rows of ``[since, until)`` counted by (stage, transition)."""
    query = select(_SCORES.c.stage, _SCORES.c.stage_transition, func.count()).where(
        _SCORES.c.scored_at >= since, _SCORES.c.scored_at < until
    )
    if skip is not None:
        query = query.where(_SCORES.c.contact_id.not_in(skip))
    query = query.group_by(_SCORES.c.stage, _SCORES.c.stage_transition)
    return {(str(s), str(t)): int(n) for s, t, n in session.execute(query)}


def score_histogram(session: Session, until: datetime, *, skip: Skip = None) -> dict[int, int]:
    """Each contact's latest score before ``until``, counted per ``BUCKET``-point bucket
    (key: the bucket's lower bound; below 0 and 100 or more fall in the end buckets)."""
    scored = _SCORES.c.scored_at < until
    if skip is not None:
        scored = and_(scored, _SCORES.c.contact_id.not_in(skip))
    ranked = (
        select(
            _SCORES.c.total,
            func.row_number()
            .over(
                partition_by=_SCORES.c.contact_id,
                order_by=(_SCORES.c.scored_at.desc(), _SCORES.c.id.desc()),
            )
            .label("rank"),
        )
        .where(scored)
        .subquery()
    )
    top = 100 - BUCKET
    bucket = case(
        (ranked.c.total < 0, 0),
        (ranked.c.total >= top, top),
        else_=(ranked.c.total // BUCKET) * BUCKET,
    )
    query = select(bucket, func.count()).where(ranked.c.rank == 1).group_by(bucket)
    return {int(low): int(count) for low, count in session.execute(query)}
