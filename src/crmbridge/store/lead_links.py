"""Cross-CRM leads: the records of one person in several CRMs (``lead_links``).

A person is one lead when each of several CRMs holds exactly one record with their
(normalised) email. Every record of such a lead has a row naming the lead by its
smallest contact id; a person found in one CRM only, or twice in one CRM (a lead and a
contact of one Salesforce org), has none. The rows are kept current as contacts are
stored (:func:`relink`), so a restart, ``plan`` and ``explain`` see the same links; an
email change unlinks the record from its old lead and links it to its new one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Select, bindparam, delete, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from crmbridge import clock
from crmbridge.store.chunks import chunks
from crmbridge.store.tables import ContactRow, LeadLinkRow

_CONTACTS = ContactRow.__table__  # type: ignore[attr-defined]
_LINKS = LeadLinkRow.__table__  # type: ignore[attr-defined]


def _wanted(records: Sequence[tuple[int, str]]) -> int | None:
    """The lead id of one email's records, or None when they are not one lead."""
    crms = [crm for _, crm in records]
    if len(crms) < 2 or len(set(crms)) != len(crms):
        return None
    return min(contact_id for contact_id, _ in records)


def relink(
    session: Session | Connection, emails: Iterable[str | None], contact_ids: Iterable[int] = ()
) -> set[int]:
    """Bring the links of the people with these emails up to date (the caller
    commits); the contacts whose lead changed (linked, unlinked or moved): their
    scores are due again. A record whose email changed is named by its id, its old
    email and its new one, so the lead it left is brought up to date too."""
    wanted = sorted({email for email in emails if email})
    involved: set[int] = set(contact_ids)
    people: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for chunk in chunks(wanted):
        query = select(_CONTACTS.c.id, _CONTACTS.c.crm, _CONTACTS.c.email).where(
            _CONTACTS.c.email.in_(chunk)
        )
        for contact_id, crm, email in session.execute(query):
            people[email].append((int(contact_id), crm))
    desired: dict[int, int] = {}
    for records in people.values():
        involved.update(contact_id for contact_id, _ in records)
        lead = _wanted(records)
        if lead is not None:
            desired.update({contact_id: lead for contact_id, _ in records})
    current = _current(session, involved)
    changed = {cid for cid in set(current) | set(desired) if current.get(cid) != desired.get(cid)}
    gone = [cid for cid in changed if cid in current and cid not in desired]
    for ids in chunks(gone):
        session.execute(delete(_LINKS).where(_LINKS.c.contact_id.in_(ids)))
    now = clock.now()
    moved = [
        {"cid": cid, "lead": desired[cid]} for cid in changed if cid in current and cid in desired
    ]
    if moved:
        session.execute(
            update(_LINKS)
            .where(_LINKS.c.contact_id == bindparam("cid"))
            .values(lead_id=bindparam("lead"), linked_at=now),
            moved,
        )
    new = [
        {"contact_id": cid, "lead_id": desired[cid], "linked_at": now}
        for cid in changed
        if cid not in current
    ]
    if new:
        session.execute(insert(_LINKS), new)
    return changed


def _current(session: Session | Connection, contact_ids: Iterable[int]) -> dict[int, int]:
    """The lead of each of these contacts that has one."""
    return _links(session, _LINKS.c.contact_id, contact_ids)


def _members(session: Session, leads: Iterable[int]) -> dict[int, int]:
    """Every record of these leads, with its lead."""
    return _links(session, _LINKS.c.lead_id, leads)


def _links(session: Session | Connection, column: Any, values: Iterable[int]) -> dict[int, int]:
    found: dict[int, int] = {}
    for chunk in chunks(sorted(values)):
        query = select(_LINKS.c.contact_id, _LINKS.c.lead_id).where(column.in_(chunk))
        found.update({int(cid): int(lead) for cid, lead in session.execute(query)})
    return found


def partners(session: Session, contact_ids: Sequence[int]) -> dict[int, list[int]]:
    """For each linked contact among ``contact_ids``, the other records of its lead."""
    leads = _current(session, contact_ids)
    members: dict[int, list[int]] = defaultdict(list)
    for cid, lead in _members(session, set(leads.values())).items():
        members[lead].append(cid)
    return {
        cid: sorted(other for other in members[lead] if other != cid)
        for cid, lead in leads.items()
        if len(members[lead]) > 1
    }


def lead_of(session: Session, contact_ids: Sequence[int]) -> dict[int, int]:
    """The lead id of each linked contact among ``contact_ids``."""
    return _current(session, contact_ids)


def linked_leads(session: Session) -> dict[str, int]:
    """How many leads span several CRMs, and how many records they hold."""
    leads, records = session.execute(
        select(func.count(func.distinct(_LINKS.c.lead_id)), func.count())
    ).one()
    return {"leads": int(leads or 0), "records": int(records or 0)}


def unlinked_duplicates(session: Session) -> int:
    """Emails held by several records of one CRM (such people are not linked)."""
    twice = (
        select(_CONTACTS.c.email)
        .where(_CONTACTS.c.email.is_not(None))
        .group_by(_CONTACTS.c.crm, _CONTACTS.c.email)
        .having(func.count() > 1)
        .subquery()
    )
    return int(session.execute(select(func.count(func.distinct(twice.c.email)))).scalar_one())


def other_records(home_crm: str | None) -> Select[tuple[int]]:
    """The records that do not stand for their lead in counts of leads (the weekly
    report): all but the lead's home record — the one in ``home_crm``, else the first."""
    other = _LINKS.alias("other")
    in_home_crm = (
        select(other.c.contact_id)
        .join(_CONTACTS, _CONTACTS.c.id == other.c.contact_id)
        .where(other.c.lead_id == _LINKS.c.lead_id, _CONTACTS.c.crm == (home_crm or ""))
        .limit(1)
        .scalar_subquery()
    )
    home = func.coalesce(in_home_crm, _LINKS.c.lead_id)
    return select(_LINKS.c.contact_id).where(_LINKS.c.contact_id != home)
