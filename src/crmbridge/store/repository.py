"""The store's operations: contacts and cursors, events, scores, run history.

One :class:`Store` per process wraps an engine. Every method is a short transaction;
where two writes must land together (a page and its cursor; a score, its outbox rows
and the contact's clean flag) they share one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, bindparam, func, not_, or_, text, update
from sqlalchemy import insert as sa_insert
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Engine
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, select

from crmbridge import clock
from crmbridge.records import CanonicalEvent, ContactRecord, canonical_json
from crmbridge.scoring.types import Contact, Event
from crmbridge.store import property_history
from crmbridge.store.chunks import chunks
from crmbridge.store.db import (
    SQLITE_BULK_CACHE_MIB,
    SQLITE_CACHE_MIB,
    is_sqlite,
    make_engine,
    upgrade,
)
from crmbridge.store.identity_lock import IdentityLock
from crmbridge.store.lead_links import relink as relink_leads
from crmbridge.store.tables import (
    ContactRow,
    CursorRow,
    EventRow,
    ScoreRow,
    SyncRunRow,
)

_CHUNK = 500
#: How a stored page changes a known contact: an input changed (rescore it), only
#: crmbridge's own values changed (rescore it if held), or nothing but echoes.
_INPUTS, _OWN, _ECHO = "inputs", "own", "echo"


#: An event ready for the events table: dedupe key, type, occurred_at (naive UTC text),
#: contact email, contact crm, contact crm id, properties as JSON text.
EventValues = tuple[str, str, str, str | None, str | None, str | None, str]


def event_row(event: CanonicalEvent) -> EventValues:
    """Flatten a validated event into plain values (cheap to pickle across processes)."""
    ref = event.contact
    moment = event.occurred_at_utc.replace(tzinfo=None).isoformat(" ", "microseconds")
    properties = canonical_json(event.properties)
    return (
        event.dedupe_key(properties),
        event.type,
        moment,
        ref.email,
        ref.crm,
        ref.id,
        properties,
    )


@dataclass(frozen=True)
class PageResult:
    """How many records of a page were stored, and how many need rescoring."""

    stored: int
    changed: int
    #: crmbridge's values the CRM now holds differently than when last seen.
    overwritten: tuple[Overwrite, ...] = ()


@dataclass(frozen=True)
class Overwrite:
    """A crmbridge property whose value in the CRM changed since crmbridge last saw
    it (written or read): someone or something else wrote it."""

    contact_id: int
    crm_id: str
    email: str | None
    name: str
    before: str
    after: str


@dataclass(frozen=True)
class InsertResult:
    """How many events were new, and how many were already stored."""

    inserted: int
    duplicates: int


class Store:
    """crmbridge's persistent state (SQLite or Postgres, same code)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        #: Orders rescoring batches and merges or deletions of this process.
        self.identity = IdentityLock()

    @classmethod
    def open(cls, url: str, *, migrate: bool = True, bulk: bool = False) -> Store:
        """Connect, and bring the schema up to date unless ``migrate`` is False.

        ``bulk`` sizes SQLite's page cache for one process loading a lot at once
        (``crmbridge ingest``, benchmarks) rather than for a long-running daemon.
        """
        cache = SQLITE_BULK_CACHE_MIB if bulk else SQLITE_CACHE_MIB
        engine = make_engine(url, sqlite_cache_mib=cache)
        if migrate:
            upgrade(engine)
        return cls(engine)

    @property
    def is_sqlite(self) -> bool:
        """True when the store is a SQLite file."""
        return is_sqlite(str(self.engine.url))

    def session(self) -> Session:
        """A new session; use it as a context manager."""
        return Session(self.engine, expire_on_commit=False)

    # -- contacts and cursors -------------------------------------------------------

    def get_cursor(self, connector: str, stream: str) -> str | None:
        """The persisted cursor of a stream, or None before the first page."""
        with self.session() as session:
            row = session.get(CursorRow, (connector, stream))
            return row.value if row else None

    def put_cursor(self, connector: str, stream: str, value: str) -> None:
        """Persist ``value`` as the cursor of a stream (a no-op when it is already)."""
        with self.session() as session:
            row = session.get(CursorRow, (connector, stream))
            if row is not None and row.value == value:
                return
            self._put_cursor(session, connector, stream, value)
            session.commit()

    def store_page(
        self,
        connector: str,
        stream: str,
        records: Sequence[ContactRecord],
        cursor: str | None,
        own_properties: Iterable[str],
    ) -> PageResult:
        """Upsert contacts and move the cursor, atomically (``cursor`` None: store the
        contacts and leave the cursor where it is, for ``plan``'s read ahead).

        A contact is marked for rescoring only when a property the model may read (any
        property crmbridge does not own) or its email changed: crmbridge's own writes
        coming back from the CRM are echoes and change nothing. Changes of those
        properties are recorded with their time (:mod:`crmbridge.store.property_history`).
        """
        own = set(own_properties)
        changed = 0
        now = clock.now()
        table = ContactRow.__table__  # type: ignore[attr-defined]
        latest = {record.id: record for record in records}
        with self.session() as session:
            existing = self._contacts_by_crm_id(session, connector, list(latest))
            inserts: list[dict[str, Any]] = []
            updates: dict[str, list[dict[str, Any]]] = {_INPUTS: [], _OWN: [], _ECHO: []}
            relink: list[str] = []
            emails: set[str | None] = set()
            overwritten: list[Overwrite] = []
            history: list[dict[str, Any]] = []
            for record in latest.values():
                inputs = {k: v for k, v in record.properties.items() if k not in own}
                held = {k: v for k, v in record.properties.items() if k in own}
                row = existing.get(record.id)
                if row is None:
                    inserts.append(
                        {
                            "crm": connector,
                            "crm_id": record.id,
                            "email": record.email,
                            "properties": inputs,
                            "crm_values": held,
                            "crm_updated_at": record.updated_at,
                            "properties_since": property_history.change_time(
                                record.updated_at, now
                            ),
                            "dirty": True,
                            "created_at": now,
                            "updated_at": now,
                        }
                    )
                    relink.append(record.id)
                    changed += 1
                    continue
                before = row.crm_values or {}
                overwritten.extend(
                    Overwrite(row.id, record.id, record.email, name, str(before[name]), str(value))
                    for name, value in held.items()
                    if before.get(name) is not None and str(before[name]) != str(value)
                )
                moved = inputs != row.properties
                if moved:
                    at = property_history.change_time(record.updated_at, now)
                    history.extend(property_history.changes(row.id, row.properties, inputs, at))
                dirty = moved or record.email != row.email
                if record.email != row.email:
                    relink.append(record.id)
                    emails.add(row.email)
                changed += dirty
                # Own values changed: a held contact is judged again (see hold_contacts).
                kind = _INPUTS if dirty else _OWN if held != before else _ECHO
                updates[kind].append(
                    {
                        "cid": row.id,
                        "properties": inputs,
                        "email": record.email,
                        "crm_values": held,
                        "crm_updated_at": record.updated_at,
                        "updated_at": now,
                    }
                )
            if inserts:
                session.execute(sa_insert(table), inserts)
            for kind, rows in updates.items():
                if rows:
                    values: dict[str, Any] = {
                        name: bindparam(name)
                        for name in (
                            "properties",
                            "email",
                            "crm_values",
                            "crm_updated_at",
                            "updated_at",
                        )
                    }
                    # A clean echo never clears a flag that events set.
                    if kind == _INPUTS:
                        values["dirty"] = True
                    elif kind == _OWN:
                        # Decided as the row is written, not from the row read before:
                        # a rescoring batch may have held it in between.
                        values["dirty"] = or_(table.c.dirty, table.c.held_by.is_not(None))
                    session.execute(
                        update(table).where(table.c.id == bindparam("cid")).values(**values), rows
                    )
            property_history.record(session, history)
            if relink:
                relinked = list(self._contacts_by_crm_id(session, connector, relink).values())
                self._link_events(session, relinked)
                emails.update(latest[crm_id].email for crm_id in relink)
                # A record joining or leaving a cross-CRM lead changes its partners' too.
                linked = relink_leads(session, emails, (row.id for row in relinked))
                _update_contacts(session, [{"cid": cid} for cid in sorted(linked)], dirty=True)
            if cursor is not None:
                self._put_cursor(session, connector, stream, cursor)
            session.commit()
        return PageResult(stored=len(records), changed=changed, overwritten=tuple(overwritten))

    def _contacts_by_crm_id(self, session: Session, crm: str, ids: Sequence[str]) -> dict[str, Any]:
        """Stored contacts of one CRM by their CRM id (plain rows)."""
        table = ContactRow.__table__  # type: ignore[attr-defined]
        found: dict[str, Any] = {}
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            query = sa_select(
                table.c.id,
                table.c.crm,
                table.c.crm_id,
                table.c.email,
                table.c.properties,
                table.c.crm_values,
            ).where(table.c.crm == crm, table.c.crm_id.in_(chunk))
            found.update({row.crm_id: row for row in session.execute(query)})
        return found

    def _link_events(self, session: Session, rows: Sequence[Any]) -> None:
        """Attach events that arrived before their contact (by email or CRM id).

        One UPDATE per contact, by index, not a read of every event and an UPDATE of
        each: a first sync links some ten events per contact. The CRM id is linked
        first; an event naming both a CRM id and another contact's email stays with
        the record it names, and a contact listed twice links as its last row says.
        """
        by_email = {row.email: row.id for row in rows if row.email}
        by_ref = {(row.crm, row.crm_id): row.id for row in rows}
        table = EventRow.__table__  # type: ignore[attr-defined]
        if by_ref:
            session.execute(
                update(table)
                .where(
                    table.c.contact_id.is_(None),
                    table.c.contact_crm == bindparam("crm"),
                    table.c.contact_crm_id == bindparam("ref"),
                )
                .values(contact_id=bindparam("cid")),
                [{"crm": crm, "ref": ref, "cid": cid} for (crm, ref), cid in by_ref.items()],
            )
        if by_email:
            session.execute(
                update(table)
                .where(table.c.contact_id.is_(None), table.c.contact_email == bindparam("mail"))
                .values(contact_id=bindparam("cid")),
                [{"mail": email, "cid": cid} for email, cid in by_email.items()],
            )

    def _put_cursor(self, session: Session, connector: str, stream: str, value: str) -> None:
        row = session.get(CursorRow, (connector, stream))
        if row is None:
            row = CursorRow(connector=connector, stream=stream, value=value)
        row.value = value
        row.updated_at = clock.now()
        session.add(row)

    def contact_count(self) -> int:
        """How many contacts are stored."""
        with self.session() as session:
            return int(session.exec(select(func.count()).select_from(ContactRow)).one())

    # -- events ---------------------------------------------------------------------

    def insert_events(self, events: Sequence[CanonicalEvent]) -> InsertResult:
        """Store new events (deduplicated by key), link them, mark their contacts dirty."""
        return self.insert_event_rows([event_row(event) for event in events])

    def insert_event_rows(self, rows: Sequence[EventValues]) -> InsertResult:
        """Store prepared event rows (see :func:`event_row`); duplicates are skipped."""
        received = self._db_time(clock.now())
        with self.session() as session:
            connection = session.connection()
            floor = connection.exec_driver_sql("SELECT COALESCE(MAX(id), 0) FROM events").scalar()
            raw: Any = connection.connection.driver_connection
            before = getattr(raw, "total_changes", 0)
            if rows:
                # Straight to the driver: the ORM's per-row bookkeeping costs more than
                # validation itself at tens of thousands of events per second.
                # In key order (a stable sort: the first of equal keys is the one kept), so
                # the unique index is filled sequentially rather than at random.
                ordered = sorted(rows, key=lambda row: row[0])
                connection.exec_driver_sql(
                    self._insert_events_sql(), [(*row, received) for row in ordered]
                )
            if self.dialect == "sqlite":
                inserted = raw.total_changes - before
            else:
                inserted = int(
                    connection.exec_driver_sql(
                        "SELECT COUNT(*) FROM events WHERE id > %(floor)s AND received_at = %(at)s",
                        {"floor": floor, "at": received},
                    ).scalar()
                    or 0
                )
            self._link_new_events(connection, int(floor or 0), received)
            session.commit()
        return InsertResult(inserted=inserted, duplicates=len(rows) - inserted)

    def _link_new_events(self, connection: Any, floor: int, received: Any) -> None:
        """Attach just-inserted events to known contacts and mark those contacts dirty.

        Done in SQL so the database joins on its indexes; events of contacts not yet
        known stay unlinked until the contact arrives (see ``store_page``). Only this
        insert's rows (``received``): on Postgres, touching the rows of a concurrent
        insert too would lock contacts in two orders and deadlock.
        """
        connection.execute(
            text(
                "UPDATE events SET contact_id = COALESCE("
                " (SELECT MIN(c.id) FROM contacts c WHERE c.email = events.contact_email),"
                " (SELECT MIN(c.id) FROM contacts c WHERE c.crm = events.contact_crm"
                "  AND c.crm_id = events.contact_crm_id))"
                " WHERE events.id > :floor AND events.received_at = :at"
                " AND events.contact_id IS NULL"
            ),
            {"floor": floor, "at": received},
        )
        connection.execute(
            text(
                "UPDATE contacts SET dirty = :yes WHERE id IN"
                " (SELECT contact_id FROM events WHERE id > :floor AND received_at = :at"
                "  AND contact_id IS NOT NULL)"
            ),
            {"floor": floor, "at": received, "yes": True},
        )

    _EVENT_COLUMNS = (
        "dedupe_key",
        "type",
        "occurred_at",
        "contact_email",
        "contact_crm",
        "contact_crm_id",
        "properties",
        "received_at",
    )

    def _insert_events_sql(self) -> str:
        columns = ", ".join(self._EVENT_COLUMNS)
        if self.dialect == "postgresql":
            values = ", ".join(
                "CAST(%s AS JSON)" if c == "properties" else "%s" for c in self._EVENT_COLUMNS
            )
        else:
            values = ", ".join("?" for _ in self._EVENT_COLUMNS)
        return (
            f"INSERT INTO events ({columns}) VALUES ({values}) ON CONFLICT (dedupe_key) DO NOTHING"
        )

    def _db_time(self, moment: datetime) -> Any:
        """A UTC instant as the driver stores it (what UTCDateTime would bind)."""
        naive = (moment if moment.tzinfo is UTC else moment.astimezone(UTC)).replace(tzinfo=None)
        # isoformat(" ", "microseconds") is SQLAlchemy's SQLite DATETIME format, faster.
        return naive.isoformat(" ", "microseconds") if self.dialect == "sqlite" else naive

    def event_count(self) -> int:
        """How many events are stored."""
        with self.session() as session:
            return int(session.exec(select(func.count()).select_from(EventRow)).one())

    # -- scoring --------------------------------------------------------------------

    @staticmethod
    def due_clause(now: datetime) -> ColumnElement[bool]:
        """The contacts a cycle rescores: inputs changed, or time crossed a boundary."""
        table = ContactRow.__table__  # type: ignore[attr-defined]
        return or_(table.c.dirty.is_(True), table.c.recheck_at <= now)

    def due_contacts(
        self,
        session: Session,
        now: datetime,
        after_id: int,
        limit: int,
        where: ColumnElement[bool] | None = None,
    ) -> list[Any]:
        """Contacts whose inputs changed or whose time-based state crossed a boundary
        (or, given ``where``, the contacts it selects).

        Plain rows (attribute access like :class:`ContactRow`): building ORM objects
        would cost more than scoring them.
        """
        table = ContactRow.__table__  # type: ignore[attr-defined]
        return list(session.execute(self._due(now, after_id, limit, where, table)))

    def _due(
        self, now: datetime, after_id: int, limit: int, where: Any, *columns: Any
    ) -> Select[Any]:
        """The query of :meth:`due_contacts`, selecting ``columns``."""
        table = ContactRow.__table__  # type: ignore[attr-defined]
        return (
            sa_select(*columns)
            .where(table.c.id > after_id, self.due_clause(now) if where is None else where)
            .order_by(table.c.id)
            .limit(limit)
        )

    def take_due(self, session: Session, now: datetime, after_id: int, limit: int) -> list[Any]:
        """The next due contacts, read after their ``dirty`` flag was cleared (commits).

        A change stored while they are being scored (a poll, an event, a webhook) marks
        its contact dirty again and stays marked, where clearing the flag after scoring
        would erase it unscored. ``recheck_at = now`` keeps them due should the scoring
        not finish.
        """
        table = ContactRow.__table__  # type: ignore[attr-defined]
        # Their ids only: the whole rows are read once taken (JSON and times decoded once).
        ids = list(session.execute(self._due(now, after_id, limit, None, table.c.id)).scalars())
        if not ids:
            session.commit()
            return []
        taken = table.c.id.in_(ids)
        session.execute(update(table).where(taken).values(dirty=False, recheck_at=now))
        session.commit()
        return list(session.execute(sa_select(table).where(taken).order_by(table.c.id)))

    def contacts_by_id(
        self, session: Session, contact_ids: Sequence[int], now: datetime, *, take: bool
    ) -> list[Any]:
        """These contacts' rows; with ``take``, taken for scoring as :meth:`take_due`
        takes them (the other records of a lead scored now)."""
        table = ContactRow.__table__  # type: ignore[attr-defined]
        rows: list[Any] = []
        for chunk in chunks(list(contact_ids)):
            taken = table.c.id.in_(chunk)
            if take:
                session.execute(update(table).where(taken).values(dirty=False, recheck_at=now))
            rows.extend(session.execute(sa_select(table).where(taken).order_by(table.c.id)))
        if take:
            session.commit()
        return rows

    def events_for(self, session: Session, contact_ids: Sequence[int]) -> dict[int, list[Event]]:
        """Each contact's events, as the engine's frozen dataclasses."""
        grouped: dict[int, list[Event]] = defaultdict(list)
        table = EventRow.__table__  # type: ignore[attr-defined]
        columns = (
            table.c.contact_id,
            table.c.type,
            table.c.occurred_at,
            table.c.properties,
            table.c.dedupe_key,
        )
        for start in range(0, len(contact_ids), _CHUNK):
            chunk = contact_ids[start : start + _CHUNK]
            query = sa_select(*columns).where(table.c.contact_id.in_(chunk))
            for contact_id, kind, occurred_at, properties, key in session.execute(query):
                grouped[contact_id].append(Event(kind, occurred_at, properties, key))
        return grouped

    @staticmethod
    def as_contact(row: Any) -> Contact:
        """The engine's view of a stored contact."""
        return Contact(row.crm_id, row.properties, row.email, row.crm, row.crm_updated_at)

    def current_scores(self, session: Session, contact_ids: Sequence[int]) -> dict[int, Any]:
        """The latest score row of each contact that has one (plain rows)."""
        table = ScoreRow.__table__  # type: ignore[attr-defined]
        found: dict[int, Any] = {}
        for start in range(0, len(contact_ids), _CHUNK):
            chunk = contact_ids[start : start + _CHUNK]
            query = sa_select(table).where(
                table.c.contact_id.in_(chunk), table.c.is_current.is_(True)
            )
            found.update({row.contact_id: row for row in session.execute(query)})
        return found

    def save_scores(
        self,
        session: Session,
        new_scores: Sequence[dict[str, Any]],
        superseded: Sequence[int],
        contact_updates: Sequence[dict[str, Any]],
    ) -> None:
        """Insert score rows, retire the ones they replace, update the contacts' state.

        ``dirty`` is left alone: :meth:`take_due` cleared it before the inputs were read.
        """
        scores = ScoreRow.__table__  # type: ignore[attr-defined]
        contacts = ContactRow.__table__  # type: ignore[attr-defined]
        for start in range(0, len(superseded), _CHUNK):
            chunk = superseded[start : start + _CHUNK]
            session.execute(update(scores).where(scores.c.id.in_(chunk)).values(is_current=False))
        if new_scores:
            session.execute(sa_insert(scores), list(new_scores))
        if contact_updates:
            session.execute(
                update(contacts)
                .where(contacts.c.id == bindparam("cid"))
                .values(
                    stage=bindparam("stage"),
                    recheck_at=bindparam("recheck_at"),
                    handoff=bindparam("handoff"),
                ),
                list(contact_updates),
            )

    # -- contacts held for another store ---------------------------------------------

    @staticmethod
    def hold_contacts(session: Session, held: Sequence[dict[str, Any]]) -> None:
        """Mark contacts written by another store (``cid``, ``held_by``): not due again
        until their inputs or their crmbridge values in the CRM change, and never
        written until adopted.

        ``seen`` is the ``crm_updated_at`` of the values the hold was judged on. A read
        that stored newer values meanwhile (a poll running beside rescoring) wins: the
        contact is not held on the older ones but left due, to be judged on the newer.
        """
        if not held:
            return
        table = ContactRow.__table__  # type: ignore[attr-defined]
        same = table.c.crm_updated_at.is_not_distinct_from(bindparam("seen"))
        session.execute(
            update(table)
            .where(table.c.id == bindparam("cid"), same)
            .values(held_by=bindparam("held_by"), recheck_at=None),
            [{"cid": h["cid"], "held_by": h["held_by"], "seen": h["seen"]} for h in held],
        )
        session.execute(
            update(table).where(table.c.id == bindparam("cid"), not_(same)).values(dirty=True),
            [{"cid": h["cid"], "seen": h["seen"]} for h in held],
        )

    @staticmethod
    def release_contacts(session: Session, contact_ids: Sequence[int]) -> None:
        """Let held contacts go whose crmbridge values in the CRM no longer show another
        store's writing (cleared, or written by this store since)."""
        _update_contacts(session, [{"cid": cid} for cid in contact_ids], held_by=None)

    def held_counts(self) -> dict[str, int]:
        """How many contacts are held, by connector."""
        table = ContactRow.__table__  # type: ignore[attr-defined]
        with self.session() as session:
            query = (
                sa_select(table.c.crm, func.count())
                .where(table.c.held_by.is_not(None))
                .group_by(table.c.crm)
            )
            return {str(crm): int(count) for crm, count in session.execute(query)}

    @staticmethod
    def contacts_after(
        session: Session, after_id: int, limit: int, crm: str | None = None
    ) -> list[Any]:
        """Up to ``limit`` contacts (of ``crm``, or all) with ids above ``after_id``, by id."""
        table = ContactRow.__table__  # type: ignore[attr-defined]
        query = table.select().where(table.c.id > after_id).order_by(table.c.id).limit(limit)
        if crm is not None:
            query = query.where(table.c.crm == crm)
        return list(session.execute(query))

    @staticmethod
    def adopt_contacts(session: Session, adopted: Sequence[dict[str, Any]]) -> None:
        """Take held contacts over (``cid``, ``mark``, ``handoff``): the other store's
        mark becomes acceptable, the recovered hand-off state is kept, and they are
        rescored against the CRM's values as the baseline."""
        _update_contacts(
            session,
            adopted,
            held_by=None,
            adopted_from=bindparam("mark"),
            handoff=bindparam("handoff"),
            dirty=True,
        )

    def event_counts(self, session: Session, contact_ids: Sequence[int]) -> dict[int, int]:
        """How many events each contact has (contacts without any are left out)."""
        table = EventRow.__table__  # type: ignore[attr-defined]
        counts: dict[int, int] = {}
        for start in range(0, len(contact_ids), _CHUNK):
            chunk = contact_ids[start : start + _CHUNK]
            query = (
                sa_select(table.c.contact_id, func.count())
                .where(table.c.contact_id.in_(chunk))
                .group_by(table.c.contact_id)
            )
            counts.update({int(cid): int(n) for cid, n in session.execute(query)})
        return counts

    # -- run history ----------------------------------------------------------------

    def start_run(self, started_at: datetime) -> int:
        """Record the start of a cycle; returns its id."""
        with self.session() as session:
            run = SyncRunRow(started_at=started_at)
            session.add(run)
            session.commit()
            assert run.id is not None
            return run.id

    def finish_run(self, run_id: int, **fields: Any) -> None:
        """Record a cycle's counts, duration and status."""
        with self.session() as session:
            run = session.get(SyncRunRow, run_id)
            if run is None:
                return
            for key, value in fields.items():
                setattr(run, key, value)
            session.add(run)
            session.commit()

    def close_stale_runs(self, started_before: datetime | None = None) -> int:
        """Mark ``sync_runs`` rows still "running" as "aborted": their process died.

        ``started_before`` limits it to rows older than that (replicas on Postgres may be
        running cycles right now); None closes every one (the only process on SQLite).
        """
        table = SyncRunRow.__table__  # type: ignore[attr-defined]
        query = update(table).where(table.c.status == "running")
        if started_before is not None:
            query = query.where(table.c.started_at < started_before)
        with self.engine.begin() as connection:
            result = connection.execute(
                query.values(
                    status="aborted",
                    finished_at=clock.now(),
                    errors={
                        "messages": ["the process running this cycle ended before it finished"]
                    },
                )
            )
        return int(result.rowcount or 0)


def _update_contacts(session: Session, rows: Sequence[dict[str, Any]], **values: Any) -> None:
    """One UPDATE of ``values`` for each row's contact (``cid``), in a single statement."""
    if not rows:
        return
    table = ContactRow.__table__  # type: ignore[attr-defined]
    session.execute(
        update(table).where(table.c.id == bindparam("cid")).values(**values), list(rows)
    )
