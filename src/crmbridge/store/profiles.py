"""Profile lookups: a contact by email with its current score (``GET /v1/profile``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crmbridge.store.tables import ContactRow, ScoreRow

_CONTACTS = ContactRow.__table__  # type: ignore[attr-defined]
_SCORES = ScoreRow.__table__  # type: ignore[attr-defined]


def scored_contact_by_email(session: Session, email: str) -> Any | None:
    """The contact stored with this (normalised) email and its current score, or None.

    The row has the contact's columns plus ``total``, ``hot`` and ``scored_stage`` (None
    before the first scoring). When several CRMs hold the email, the most recently
    scored contact is the one returned.
    """
    query = (
        select(_CONTACTS, _SCORES.c.total, _SCORES.c.hot, _SCORES.c.stage.label("scored_stage"))
        .select_from(
            _CONTACTS.outerjoin(
                _SCORES, (_SCORES.c.contact_id == _CONTACTS.c.id) & _SCORES.c.is_current.is_(True)
            )
        )
        .where(_CONTACTS.c.email == email)
        .order_by(_SCORES.c.scored_at.desc().nulls_last(), _CONTACTS.c.id)
        .limit(1)
    )
    return session.execute(query).first()
