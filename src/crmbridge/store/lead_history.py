"""One lead's record in the store, read for ``crmbridge explain``: the contact found by
email or CRM id, its scores over time, its outbox rows, owners given and SLA clocks.

Read-only: nothing here writes.
"""

from __future__ import annotations

import difflib
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from crmbridge.store.outbox import COMPANY_PROPERTY
from crmbridge.store.tables import AssignmentRow, ContactRow, OutboxRow, ScoreRow, SlaClockRow

_CONTACTS = ContactRow.__table__  # type: ignore[attr-defined]
_SCORES = ScoreRow.__table__  # type: ignore[attr-defined]
_OUTBOX = OutboxRow.__table__  # type: ignore[attr-defined]
_ASSIGNMENTS = AssignmentRow.__table__  # type: ignore[attr-defined]
_CLOCKS = SlaClockRow.__table__  # type: ignore[attr-defined]

#: Emails read to suggest a near one: enough for a typo, bounded on a large store.
_SUGGESTION_POOL = 2000


def find_contacts(session: Session, key: str) -> list[Any]:
    """Contacts of any connector whose CRM id is ``key`` or whose email is ``key``."""
    wanted = key.strip()
    query = (
        select(_CONTACTS)
        .where(or_(_CONTACTS.c.crm_id == wanted, _CONTACTS.c.email == wanted.lower()))
        .order_by(_CONTACTS.c.crm, _CONTACTS.c.crm_id)
    )
    return list(session.execute(query))


def near_emails(session: Session, key: str, limit: int = 3) -> list[str]:
    """Stored emails close to ``key`` (a typo): same domain or same first letters."""
    wanted = key.strip().lower()
    if "@" not in wanted:
        return []
    local, _, domain = wanted.rpartition("@")
    query = (
        select(_CONTACTS.c.email)
        .where(
            or_(
                _CONTACTS.c.email.like(f"%@{domain}"),
                _CONTACTS.c.email.like(f"{local[:3]}%"),
            )
        )
        .limit(_SUGGESTION_POOL)
    )
    pool = sorted({str(email) for (email,) in session.execute(query) if email})
    return difflib.get_close_matches(wanted, pool, n=limit, cutoff=0.75)


def score_history(session: Session, contact_id: int, limit: int) -> list[Any]:
    """The contact's score rows, newest first (the current one included)."""
    query = (
        select(_SCORES)
        .where(_SCORES.c.contact_id == contact_id)
        .order_by(_SCORES.c.scored_at.desc(), _SCORES.c.id.desc())
        .limit(limit)
    )
    return list(session.execute(query))


def outbox_rows(session: Session, connector: str, crm_id: str, limit: int) -> list[Any]:
    """The lead's outbox rows (property writes and actions, every status), newest first."""
    query = (
        select(_OUTBOX)
        .where(
            _OUTBOX.c.connector == connector,
            _OUTBOX.c.crm_id == crm_id,
            _OUTBOX.c.kind != COMPANY_PROPERTY,  # a company may share the contact's id
        )
        .order_by(_OUTBOX.c.id.desc())
        .limit(limit)
    )
    return list(session.execute(query))


def assignments(session: Session, contact_id: int) -> list[Any]:
    """Owners crmbridge gave the contact, oldest first."""
    query = (
        select(_ASSIGNMENTS)
        .where(_ASSIGNMENTS.c.contact_id == contact_id)
        .order_by(_ASSIGNMENTS.c.id)
    )
    return list(session.execute(query))


def sla_clocks(session: Session, contact_id: int) -> list[Any]:
    """The contact's SLA clocks, oldest first."""
    query = select(_CLOCKS).where(_CLOCKS.c.contact_id == contact_id).order_by(_CLOCKS.c.id)
    return list(session.execute(query))
