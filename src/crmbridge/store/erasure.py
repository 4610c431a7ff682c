"""Erasing a person from the store, and following CRM merges and deletions.

``forget`` (GDPR erasure, ``crmbridge forget``) removes everything the store holds
about a person, found by email or by CRM record id: the contact rows, their events
(also those that only name the email or the record id), scores and score history,
the history of its properties, outbox rows of every status, assignments and SLA clocks.
What stays holds no personal data: webhook receipts (a CRM's event ids), cycle history
(counts), cursors of whole streams, the rate budget, the operating switches, the store's
identity and the CRM account each connector syncs.
:data:`KEPT_TABLES` names them, so a new table must be placed on one side or the other.

A record merged in the CRM is folded into the surviving record (its events are moved
to the survivor, which is rescored; its own scores, queued writes and hand-off state
go), and a record deleted in the CRM is forgotten (:func:`find_records`): its own rows
and events, but not the events of another contact (another CRM's) with its email.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.engine import Connection

from crmbridge.records import normalize_email
from crmbridge.store.chunks import chunks
from crmbridge.store.lead_links import relink
from crmbridge.store.outbox import COMPANY_PROPERTY
from crmbridge.store.tables import (
    AssignmentRow,
    ContactCompanyRow,
    ContactRow,
    EventRow,
    LeadLinkRow,
    OutboxRow,
    PropertyChangeRow,
    ScoreRow,
    SlaClockRow,
    SyncLoopRow,
)

_CONTACTS = ContactRow.__table__  # type: ignore[attr-defined]
_EVENTS = EventRow.__table__  # type: ignore[attr-defined]
_SCORES = ScoreRow.__table__  # type: ignore[attr-defined]
_OUTBOX = OutboxRow.__table__  # type: ignore[attr-defined]
_ASSIGNMENTS = AssignmentRow.__table__  # type: ignore[attr-defined]
_SLA = SlaClockRow.__table__  # type: ignore[attr-defined]
_LINKS = ContactCompanyRow.__table__  # type: ignore[attr-defined]
_LEADS = LeadLinkRow.__table__  # type: ignore[attr-defined]
_LOOPS = SyncLoopRow.__table__  # type: ignore[attr-defined]
_HISTORY = PropertyChangeRow.__table__  # type: ignore[attr-defined]

#: Tables ``forget`` erases from (each row about one person).
ERASED_TABLES = frozenset(
    {
        "contacts",
        "events",
        "scores",
        "property_history",
        "outbox",
        "assignments",
        "sla_clocks",
        "contact_companies",
        "lead_links",
        "sync_loops",  # names one of the person's records as an example
    }
)
#: Tables that hold nothing about a person.
KEPT_TABLES = frozenset(
    {
        "webhook_receipts",
        "sync_runs",
        "rate_budget",
        "controls",
        "cursors",
        "store_identity",  # the store's own id
        "connector_accounts",  # the CRM account (portal, org) each connector syncs
        "companies",  # organisations, not people; a person's link to one is erased
    }
)


@dataclass
class Erased:
    """How many rows ``forget`` removed from each table."""

    contacts: int = 0
    events: int = 0
    scores: int = 0
    outbox: int = 0
    assignments: int = 0
    sla_clocks: int = 0
    contact_companies: int = 0
    property_history: int = 0

    @property
    def total(self) -> int:
        """Rows removed in all."""
        return sum(asdict(self).values())

    def as_dict(self) -> dict[str, int]:
        """JSON-ready counts."""
        return asdict(self)


@dataclass(frozen=True)
class Person:
    """Who to erase: the contact rows found, and the references events may carry."""

    contact_ids: tuple[int, ...]
    records: tuple[tuple[str, str], ...]
    emails: tuple[str, ...]


def find_person(connection: Connection, who: str, crm: str | None = None) -> Person:
    """The contacts an email (any case) or a CRM record id names (``crm`` narrows an id)."""
    text = who.strip()
    if "@" in text:
        # Stored emails are normalized the same way: the indexed column is compared as is.
        email = normalize_email(text)
        condition: Any = _CONTACTS.c.email == email
        emails: list[str] = [email]
    else:
        condition = _CONTACTS.c.crm_id == text
        if crm is not None:
            condition = and_(condition, _CONTACTS.c.crm == crm)
        emails = []
    rows = connection.execute(
        select(_CONTACTS.c.id, _CONTACTS.c.crm, _CONTACTS.c.crm_id, _CONTACTS.c.email).where(
            condition
        )
    ).all()
    records = {(row.crm, row.crm_id) for row in rows}
    if not rows and "@" not in text and crm is not None:
        records.add((crm, text))  # events and markers may name a record never read
    emails.extend(normalize_email(row.email) for row in rows if row.email)
    return Person(
        tuple(row.id for row in rows), tuple(sorted(records)), tuple(dict.fromkeys(emails))
    )


def find_records(connection: Connection, crm: str, crm_ids: Sequence[str]) -> Person:
    """What a deletion in one CRM erases: those records' rows and the events linked to
    them, and events found by email only when no other contact has that email.

    Unlike :func:`find_person` (a person's erasure), a record deleted in one CRM says
    nothing about a contact with the same email in another CRM (or another record of
    the same CRM): its events stay.
    """
    wanted = list(dict.fromkeys(crm_ids))
    rows = [
        row
        for chunk in chunks(wanted)
        for row in connection.execute(
            select(_CONTACTS.c.id, _CONTACTS.c.email).where(
                _CONTACTS.c.crm == crm, _CONTACTS.c.crm_id.in_(chunk)
            )
        )
    ]
    ids = [row.id for row in rows]
    emails = list(dict.fromkeys(normalize_email(row.email) for row in rows if row.email))
    erased = set(ids)
    shared = {
        email
        for chunk in chunks(emails)
        for contact_id, email in connection.execute(
            select(_CONTACTS.c.id, _CONTACTS.c.email).where(_CONTACTS.c.email.in_(chunk))
        )
        if contact_id not in erased
    }
    emails = [email for email in emails if email not in shared]
    return Person(tuple(ids), tuple((crm, i) for i in wanted), tuple(emails))


def forget(connection: Connection, person: Person) -> Erased:
    """Delete every row about ``person``; the caller commits (one transaction)."""
    ids = list(person.contact_ids)
    by_crm: dict[str, list[str]] = {}
    for crm, crm_id in person.records:
        by_crm.setdefault(crm, []).append(crm_id)
    erased = Erased()
    # Each statement deletes what is left: a row named twice (by contact and by email)
    # is counted once.
    event_refs: list[Any] = [_EVENTS.c.contact_id.in_(chunk) for chunk in chunks(ids)]
    event_refs.extend(_EVENTS.c.contact_email.in_(chunk) for chunk in chunks(person.emails))
    event_refs.extend(
        and_(_EVENTS.c.contact_crm == crm, _EVENTS.c.contact_crm_id.in_(chunk))
        for crm, named in by_crm.items()
        for chunk in chunks(named)
    )
    erased.events = sum(_count(connection.execute(delete(_EVENTS).where(r))) for r in event_refs)
    outbox_refs: list[Any] = [_OUTBOX.c.contact_id.in_(chunk) for chunk in chunks(ids)]
    # A CRM's ids are unique per object type only: company 123's account score is not
    # contact 123's.
    outbox_refs.extend(
        and_(
            _OUTBOX.c.connector == crm,
            _OUTBOX.c.crm_id.in_(chunk),
            _OUTBOX.c.kind != COMPANY_PROPERTY,
        )
        for crm, named in by_crm.items()
        for chunk in chunks(named)
    )
    erased.outbox = sum(_count(connection.execute(delete(_OUTBOX).where(r))) for r in outbox_refs)
    erased.scores = _by_contact(connection, _SCORES, ids)
    erased.assignments = _by_contact(connection, _ASSIGNMENTS, ids)
    erased.sla_clocks = _by_contact(connection, _SLA, ids)
    erased.contact_companies = _by_contact(connection, _LINKS, ids)
    _unlink(connection, ids)
    for crm, named in by_crm.items():
        for chunk in chunks(named):
            # A sync loop seen on one of their records: the example goes with them.
            connection.execute(
                delete(_LOOPS).where(_LOOPS.c.connector == crm, _LOOPS.c.crm_id.in_(chunk))
            )
    erased.property_history = _by_contact(connection, _HISTORY, ids)
    emails = _emails(connection, ids)
    erased.contacts = _by_contact(connection, _CONTACTS, ids, column="id")
    _relink(connection, emails)
    return erased


def follow_merge(
    connection: Connection, crm: str, survivor_id: str, merged_ids: Sequence[str]
) -> int:
    """Fold records merged in the CRM into the survivor; how many were folded.

    The merged records' events move to the survivor (which is marked for rescoring);
    their scores, queued writes, assignments and SLA clocks go — the survivor's own
    state continues. When the survivor was never read, the first merged record becomes
    it (same contact row, new id) so its history is kept until the next read.
    """
    folded = 0
    for old_id in dict.fromkeys(i for i in merged_ids if i and i != survivor_id):
        survivor = _contact_id(connection, crm, survivor_id)
        merged = _contact_id(connection, crm, old_id)
        if merged is not None and survivor is None:
            connection.execute(
                update(_CONTACTS)
                .where(_CONTACTS.c.id == merged)
                .values(crm_id=survivor_id, dirty=True)
            )
            _relink_events(connection, crm, old_id, survivor_id, merged)
            _drop_derived(connection, crm, old_id, [])
            folded += 1
            continue
        _relink_events(connection, crm, old_id, survivor_id, survivor)
        if merged is not None:
            # Events linked by the contact row (email matches) follow it too.
            connection.execute(
                update(_EVENTS).where(_EVENTS.c.contact_id == merged).values(contact_id=survivor)
            )
            _drop_derived(connection, crm, old_id, [merged])
            emails = _emails(connection, [merged])
            connection.execute(delete(_CONTACTS).where(_CONTACTS.c.id == merged))
            _relink(connection, emails)
            folded += 1
        if survivor is not None:
            connection.execute(
                update(_CONTACTS).where(_CONTACTS.c.id == survivor).values(dirty=True)
            )
    return folded


def _relink_events(
    connection: Connection, crm: str, old_id: str, new_id: str, contact_id: int | None
) -> None:
    values: dict[str, Any] = {"contact_crm_id": new_id}
    if contact_id is not None:
        values["contact_id"] = contact_id
    connection.execute(
        update(_EVENTS)
        .where(_EVENTS.c.contact_crm == crm, _EVENTS.c.contact_crm_id == old_id)
        .values(**values)
    )


def _drop_derived(connection: Connection, crm: str, crm_id: str, ids: list[int]) -> None:
    """A merged record's own state: scores, writes queued for its id, hand-off rows,
    the history of its properties (the survivor's own history continues)."""
    connection.execute(
        delete(_OUTBOX).where(
            or_(
                and_(
                    _OUTBOX.c.connector == crm,
                    _OUTBOX.c.crm_id == crm_id,
                    _OUTBOX.c.kind != COMPANY_PROPERTY,
                ),
                _OUTBOX.c.contact_id.in_(ids),
            )
        )
    )
    _unlink(connection, ids)
    for table in (_SCORES, _ASSIGNMENTS, _SLA, _LINKS, _HISTORY):
        _by_contact(connection, table, ids)


def _emails(connection: Connection, ids: list[int]) -> set[str]:
    """The emails of these contacts."""
    found: set[str] = set()
    for chunk in chunks(ids):
        query = select(_CONTACTS.c.email).where(_CONTACTS.c.id.in_(chunk))
        found.update(email for (email,) in connection.execute(query) if email)
    return found


def _relink(connection: Connection, emails: set[str]) -> None:
    """The people with these emails, once a record of theirs is gone: a duplicate gone
    from a CRM may make the person one lead across CRMs again (rescored as one)."""
    changed = relink(connection, emails)
    for chunk in chunks(sorted(changed)):
        connection.execute(update(_CONTACTS).where(_CONTACTS.c.id.in_(chunk)).values(dirty=True))


def _unlink(connection: Connection, ids: list[int]) -> None:
    """These contacts leave their cross-CRM leads. The records left of such a lead are
    rescored without them (their score held the gone record's values and events), and
    one left alone is no lead any more."""
    leads: set[int] = set()
    for chunk in chunks(ids):
        query = select(_LEADS.c.lead_id).where(_LEADS.c.contact_id.in_(chunk))
        leads.update(int(lead) for (lead,) in connection.execute(query))
    _by_contact(connection, _LEADS, ids)
    members: dict[int, list[int]] = {}
    for chunk in chunks(sorted(leads)):
        query = select(_LEADS.c.contact_id, _LEADS.c.lead_id).where(_LEADS.c.lead_id.in_(chunk))
        for contact_id, lead in connection.execute(query):
            members.setdefault(int(lead), []).append(int(contact_id))
    left = sorted(cid for records in members.values() for cid in records)
    alone = [records[0] for records in members.values() if len(records) == 1]
    _by_contact(connection, _LEADS, alone)
    for chunk in chunks(left):
        connection.execute(update(_CONTACTS).where(_CONTACTS.c.id.in_(chunk)).values(dirty=True))


def _contact_id(connection: Connection, crm: str, crm_id: str) -> int | None:
    found = connection.execute(
        select(_CONTACTS.c.id).where(_CONTACTS.c.crm == crm, _CONTACTS.c.crm_id == crm_id)
    ).scalar_one_or_none()
    return int(found) if found is not None else None


def _by_contact(
    connection: Connection, table: Any, ids: list[int], column: str = "contact_id"
) -> int:
    """Delete the rows of ``table`` whose ``column`` is one of ``ids``; how many."""
    return sum(
        _count(connection.execute(delete(table).where(table.c[column].in_(chunk))))
        for chunk in chunks(ids)
    )


def _count(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
