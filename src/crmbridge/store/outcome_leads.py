"""The stored contacts that deal outcomes name, by e-mail or by CRM id (read-only)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crmbridge.store.chunks import chunks
from crmbridge.store.tables import ContactRow

_CONTACTS = ContactRow.__table__  # type: ignore[attr-defined]


def contacts_by_email(session: Session, emails: Sequence[str]) -> dict[str, Any]:
    """E-mail (lower case) → the contact row holding it; the lowest id when several
    CRMs hold one e-mail."""
    found: dict[str, Any] = {}
    for chunk in chunks(sorted(set(emails))):
        query = select(_CONTACTS).where(_CONTACTS.c.email.in_(chunk)).order_by(_CONTACTS.c.id)
        for row in session.execute(query):
            found.setdefault(row.email, row)
    return found


def contacts_by_crm_id(
    session: Session, crm_ids: Sequence[str], crm: str | None = None
) -> dict[tuple[str, str], Any]:
    """(crm, CRM id) → contact row, of one connector or of all."""
    found: dict[tuple[str, str], Any] = {}
    for chunk in chunks(sorted(set(crm_ids))):
        query = select(_CONTACTS).where(_CONTACTS.c.crm_id.in_(chunk))
        if crm is not None:
            query = query.where(_CONTACTS.c.crm == crm)
        for row in session.execute(query.order_by(_CONTACTS.c.id)):
            found.setdefault((row.crm, row.crm_id), row)
    return found
