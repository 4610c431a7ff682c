"""What the CRM holds of each contact's crmbridge properties (``contacts.crm_values``).

It is the baseline the diff-only writer compares the wanted values with.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from crmbridge.store.tables import ContactRow

_CONTACTS = ContactRow.__table__  # type: ignore[attr-defined]


def remember_crm_values(session: Session, written: Mapping[int, Mapping[str, str]]) -> None:
    """Merge the values just written into each contact's ``crm_values`` (by contact id)."""
    if not written:
        return
    current = session.execute(
        select(_CONTACTS.c.id, _CONTACTS.c.crm_values).where(_CONTACTS.c.id.in_(list(written)))
    )
    session.execute(
        update(_CONTACTS)
        .where(_CONTACTS.c.id == bindparam("cid"))
        .values(crm_values=bindparam("values")),
        [{"cid": cid, "values": {**(held or {}), **written[cid]}} for cid, held in current],
    )


def crm_values_by_record(session: Session, crm: str) -> dict[str, dict[str, Any]]:
    """What the store believes ``crm`` holds of crmbridge's fields, by CRM record id."""
    rows = session.execute(
        select(_CONTACTS.c.crm_id, _CONTACTS.c.crm_values).where(_CONTACTS.c.crm == crm)
    )
    return {crm_id: dict(values or {}) for crm_id, values in rows}
