"""The companies contacts belong to: a cache of their properties, and each contact's link.

Rules on ``company.<property>`` read the cache, never the CRM: a cycle asks the CRM only
for the links it lacks and the companies not cached with the properties the model
reads (``fetched``, a digest of their names). A company whose cached properties change
(read again, or found by the companies' change stream) marks every contact linked to it
dirty, and so does a contact moving to another company: both are rescored.

A contact read again whose company may have changed (a property that moves with it
changed, :func:`forget_moved_links`) has its link marked not ``current``; :func:`unlinked`
then returns it until its link is asked for anew, so a crash between storing a contact
and linking it only delays the link.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, insert, or_, select, update
from sqlalchemy.engine import Connection

from crmbridge.records import canonical_json, storable_properties
from crmbridge.store.chunks import chunks
from crmbridge.store.repository import Store
from crmbridge.store.session import Session
from crmbridge.store.tables import CompanyRow, ContactCompanyRow, ContactRow

_COMPANIES = CompanyRow.__table__  # type: ignore[attr-defined]
_LINKS = ContactCompanyRow.__table__  # type: ignore[attr-defined]
_CONTACTS = ContactRow.__table__  # type: ignore[attr-defined]
#: The longest company id a CRM may give (the column's size); longer ones are skipped.
MAX_ID_CHARS = 64


def fetched_digest(properties: Iterable[str]) -> str:
    """Names the set of company properties read (order and repeats do not matter)."""
    names = "\n".join(sorted(set(properties)))
    return hashlib.sha256(names.encode()).hexdigest()[:32]


def forget_moved_links(
    store: Store, crm: str, values: Mapping[str, Mapping[str, Any]], names: Sequence[str]
) -> int:
    """Mark the links of contacts (by CRM id) to be asked for again when their values
    of ``names`` (the properties that move with their company) differ from the stored
    ones; how many did. Called before the contacts are stored."""
    moved: list[str] = []
    with store.engine.begin() as connection:
        for chunk in chunks(list(values)):
            query = select(_CONTACTS.c.crm_id, _CONTACTS.c.properties).where(
                _CONTACTS.c.crm == crm, _CONTACTS.c.crm_id.in_(chunk)
            )
            for crm_id, stored in connection.execute(query):
                new, old = values[str(crm_id)], stored or {}
                if any(new.get(name) != old.get(name) for name in names):
                    moved.append(str(crm_id))
        for chunk in chunks(moved):
            contacts = select(_CONTACTS.c.id).where(
                _CONTACTS.c.crm == crm, _CONTACTS.c.crm_id.in_(chunk)
            )
            connection.execute(
                update(_LINKS)
                .where(_LINKS.c.contact_id.in_(contacts), _LINKS.c.current.is_(True))
                .values(current=False)
            )
    return len(moved)


def unlinked(store: Store, crm: str, after_id: int, limit: int) -> list[tuple[int, str]]:
    """``(contact id, CRM id)`` of contacts whose link is missing or not current, by id."""
    query = (
        select(_CONTACTS.c.id, _CONTACTS.c.crm_id)
        .select_from(_CONTACTS.outerjoin(_LINKS, _LINKS.c.contact_id == _CONTACTS.c.id))
        .where(
            _CONTACTS.c.crm == crm,
            _CONTACTS.c.id > after_id,
            or_(_LINKS.c.contact_id.is_(None), _LINKS.c.current.is_(False)),
        )
        .order_by(_CONTACTS.c.id)
        .limit(limit)
    )
    with store.engine.begin() as connection:
        return [(int(row.id), str(row.crm_id)) for row in connection.execute(query)]


def save_links(
    store: Store,
    crm: str,
    links: Mapping[int, str | None],
    now: datetime,
    regrouped: list[str] | None = None,
) -> int:
    """Store each contact's company (``None``: none); contacts that moved, or were
    linked for the first time to a company, are marked dirty. How many were marked
    (those already flagged are not counted again). The companies a contact left or
    joined are added to ``regrouped`` when given."""
    moved: list[int] = []
    with store.engine.begin() as connection:
        ids = list(links)
        before: dict[int, str | None] = {}
        for chunk in chunks(ids):
            query = select(_LINKS.c.contact_id, _LINKS.c.company_crm_id).where(
                _LINKS.c.contact_id.in_(chunk)
            )
            before.update({int(r.contact_id): r.company_crm_id for r in connection.execute(query)})
        rows = []
        for contact_id, company in links.items():
            company = company if company is None or len(company) <= MAX_ID_CHARS else None
            rows.append(
                {"contact_id": contact_id, "crm": crm, "company_crm_id": company, "linked_at": now}
            )
            if before.get(contact_id) != company:
                moved.append(contact_id)
                if regrouped is not None:
                    ends = (before.get(contact_id), company)
                    regrouped.extend(end for end in ends if end is not None)
        for chunk in chunks(ids):
            connection.execute(delete(_LINKS).where(_LINKS.c.contact_id.in_(chunk)))
        if rows:
            connection.execute(insert(_LINKS).values(current=True), rows)
        return _mark_dirty(connection, moved)


def companies_to_read(store: Store, crm: str, fetched: str, limit: int) -> list[str]:
    """Companies some contact is linked to that are not cached with ``fetched``."""
    cached = and_(_COMPANIES.c.crm == _LINKS.c.crm, _COMPANIES.c.crm_id == _LINKS.c.company_crm_id)
    query = (
        select(_LINKS.c.company_crm_id)
        .select_from(_LINKS.outerjoin(_COMPANIES, cached))
        .where(
            _LINKS.c.crm == crm,
            _LINKS.c.company_crm_id.is_not(None),
            or_(_COMPANIES.c.id.is_(None), _COMPANIES.c.fetched != fetched),
        )
        .distinct()
        .order_by(_LINKS.c.company_crm_id)
        .limit(limit)
    )
    with store.engine.begin() as connection:
        return [str(row[0]) for row in connection.execute(query)]


def save_companies(
    store: Store,
    crm: str,
    companies: Mapping[str, tuple[Mapping[str, Any], datetime | None]],
    fetched: str,
    now: datetime,
    *,
    known_only: bool = False,
) -> int:
    """Cache companies (id → properties, CRM modification time); the contacts linked
    to one whose properties changed are marked dirty. ``known_only`` updates only the
    companies already cached (the change stream: others have no contact). How many
    contacts were marked (those already flagged are not counted again)."""
    changed: list[str] = []
    with store.engine.begin() as connection:
        ids = [i for i in companies if len(i) <= MAX_ID_CHARS]
        before: dict[str, str] = {}
        for chunk in chunks(ids):
            query = select(_COMPANIES.c.crm_id, _COMPANIES.c.properties).where(
                _COMPANIES.c.crm == crm, _COMPANIES.c.crm_id.in_(chunk)
            )
            rows = connection.execute(query)
            before.update({str(r.crm_id): canonical_json(r.properties) for r in rows})
        inserts, updates = [], []
        for company_id in ids:
            if known_only and company_id not in before:
                continue
            values, modified = companies[company_id]
            try:
                properties = storable_properties(dict(values))
            except ValueError:  # nested too deeply: one bad company never stops the rest
                properties = {}
            row = {
                "crm_id": company_id,
                "properties": properties,
                "fetched": fetched,
                "crm_updated_at": modified,
                "updated_at": now,
            }
            if company_id in before:
                updates.append({"key": company_id, **row})
            else:
                inserts.append({"crm": crm, **row})
            if before.get(company_id, canonical_json({})) != canonical_json(properties):
                changed.append(company_id)
        if inserts:
            connection.execute(insert(_COMPANIES), inserts)
        for row in updates:
            key = row.pop("key")
            connection.execute(
                update(_COMPANIES)
                .where(_COMPANIES.c.crm == crm, _COMPANIES.c.crm_id == key)
                .values(**row)
            )
        marked: list[int] = []
        for chunk in chunks(changed):
            query = select(_LINKS.c.contact_id).where(
                _LINKS.c.crm == crm, _LINKS.c.company_crm_id.in_(chunk)
            )
            marked.extend(int(r[0]) for r in connection.execute(query))
        return _mark_dirty(connection, marked)


def company_values(session: Session, contact_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The cached properties of each contact's company (contacts without one left out).

    A link not current yet still names the company the contact was last seen in: the
    best knowledge until it is asked for again.
    """
    found: dict[int, dict[str, Any]] = {}
    joined = _LINKS.join(
        _COMPANIES,
        and_(_COMPANIES.c.crm == _LINKS.c.crm, _COMPANIES.c.crm_id == _LINKS.c.company_crm_id),
    )
    for chunk in chunks(list(contact_ids)):
        query = (
            select(_LINKS.c.contact_id, _COMPANIES.c.properties)
            .select_from(joined)
            .where(_LINKS.c.contact_id.in_(chunk))
        )
        for contact_id, properties in session.execute(query):
            found[int(contact_id)] = dict(properties or {})
    return found


def _mark_dirty(connection: Connection, contact_ids: Sequence[int]) -> int:
    """Flag these contacts for rescoring; how many were not flagged yet."""
    marked = 0
    for chunk in chunks(sorted(set(contact_ids))):
        result = connection.execute(
            update(_CONTACTS)
            .where(_CONTACTS.c.id.in_(chunk), _CONTACTS.c.dirty.is_(False))
            .values(dirty=True)
        )
        marked += max(result.rowcount or 0, 0)
    return marked
