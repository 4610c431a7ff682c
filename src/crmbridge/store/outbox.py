"""The persisted outbox: every effect on a CRM is a row before it is a call.

Life of a row: ``pending`` → ``in_flight`` (claimed for one batch) → ``done``; a failed
attempt goes to ``failed`` with the next attempt time (exponential backoff with jitter,
decided by :mod:`crmbridge.sync.attempts`) and after ``max_attempts`` — or at once for a
permanent per-record error — to ``dead``, where ``crmbridge outbox retry`` can revive
it. A row left ``in_flight`` by a crash is reconciled against the CRM before anything is
sent again, so no write lands twice.

This module holds every statement on the outbox table; the callers own the
transactions (functions that commit say so). The hot paths use SQL expressions on
plain tuples rather than ORM objects: a cycle can queue hundreds of thousands of
property writes.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, case, delete, distinct, func, insert, or_, select, update
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.types import DateTime, TypeDecorator

from crmbridge import clock
from crmbridge.store.tables import OutboxRow

PENDING, IN_FLIGHT, DONE, FAILED, DEAD = "pending", "in_flight", "done", "failed", "dead"
PROPERTY = "property"
#: A property of a company (account) record: one row per company, batched by the drain
#: apart from contacts' properties and hand-off actions.
COMPANY_PROPERTY = "company_property"
STATUSES = (PENDING, IN_FLIGHT, DONE, FAILED, DEAD)
RETRYABLE = (PENDING, FAILED)
_CHUNK = 500

#: Identifies this process's claims (several replicas may share one Postgres).
PROCESS_ID = uuid.uuid4().hex[:16]
_local_claim = threading.Lock()

_T = OutboxRow.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class PropertyWrite:
    """An intended property value for one CRM record."""

    contact_id: int | None
    crm_id: str
    name: str
    value: str


@dataclass(frozen=True, slots=True)
class Queued:
    """An outbox row as the pipeline handles it."""

    id: int
    connector: str
    contact_id: int | None
    crm_id: str
    kind: str
    target: str
    value: str
    status: str
    attempts: int
    payload: Mapping[str, Any] | None = None

    @property
    def is_property(self) -> bool:
        """A property write (batched per record); anything else is a hand-off action."""
        return self.kind == PROPERTY


#: The columns a :class:`Queued` is built from. Its readers select these alone: each
#: other column (four timestamps among them) costs a conversion per row, and a first
#: sync's drain reads some ten rows per contact.
_QUEUED = (
    _T.c.id,
    _T.c.connector,
    _T.c.contact_id,
    _T.c.crm_id,
    _T.c.kind,
    _T.c.target,
    _T.c.value,
    _T.c.status,
    _T.c.attempts,
)


def _queued(row: Any) -> Queued:
    value = row.value or {}
    return Queued(
        row.id,
        row.connector,
        row.contact_id,
        row.crm_id,
        row.kind,
        row.target,
        str(value.get("value")),
        row.status,
        row.attempts,
        value if row.kind != PROPERTY else None,
    )


def idempotency_key(
    connector: str, crm_id: str, kind: str, target: str, value: Any, salt: str
) -> str:
    """A stable key for one intended effect (the same plan never enqueues twice)."""
    digest = hashlib.sha256(
        json.dumps([connector, crm_id, kind, target, value, salt], sort_keys=True).encode()
    ).hexdigest()[:40]
    return f"{connector}:{kind}:{digest}"


def queued_rows(
    session: Session, connector: str, crm_ids: Sequence[str]
) -> dict[str, list[Queued]]:
    """Property rows still to be written (waiting or in flight), by CRM record id."""
    found: dict[str, list[Queued]] = {}
    ids = list(crm_ids)
    for start in range(0, len(ids), _CHUNK):
        query = select(*_QUEUED).where(
            _T.c.connector == connector,
            _T.c.crm_id.in_(ids[start : start + _CHUNK]),
            _T.c.kind == PROPERTY,
            _T.c.status.in_((*RETRYABLE, IN_FLIGHT)),
        )
        for row in session.execute(query):
            found.setdefault(row.crm_id, []).append(_queued(row))
    return found


class Batch:
    """Outbox changes collected while planning a batch of contacts, applied at once."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        # Every planning pass is a new intention: its rows never collide with done ones,
        # even when the same value is planned again at the same (fixed) instant. Its
        # property rows are keyed by the pass and their place in it: unique without a
        # hash of each value (a first sync plans some ten rows a contact).
        self.plan_id = uuid.uuid4().hex
        self._planned = itertools.count()
        self.inserts: list[dict[str, Any]] = []
        self.updates: list[dict[str, Any]] = []
        #: The row each update adds instead, should its waiting row be claimed meanwhile.
        self._instead: dict[str, dict[str, Any]] = {}
        self.deletes: list[int] = []
        self.actions: dict[str, dict[str, Any]] = {}

    def add_action(
        self,
        connector: str,
        contact_id: int | None,
        kind: str,
        crm_id: str,
        key: str,
        payload: Mapping[str, Any],
    ) -> None:
        """Queue a hand-off action once: its key is the intention, never planned twice.

        The row's ``target`` holds the action's key (what the connector carries into the
        CRM); the idempotency key adds the connector, so a row already in the outbox —
        whatever its status — keeps the action from being queued again.
        """
        unique = f"{connector}:{kind}:{key}"
        self.actions.setdefault(
            unique,
            {
                "connector": connector,
                "contact_id": contact_id,
                "crm_id": crm_id,
                "kind": kind,
                "target": key,
                "value": dict(payload),
                "idempotency_key": unique,
                "status": PENDING,
                "attempts": 0,
                "next_attempt_at": self.now,
                "created_at": self.now,
                "updated_at": self.now,
            },
        )

    def put(self, connector: str, write: PropertyWrite, waiting: Queued | None) -> None:
        """Queue a property write; a waiting row of the same property is updated (latest wins)."""
        key = f"{connector}:property:{self.plan_id}:{next(self._planned)}"
        row = {
            "connector": connector,
            "contact_id": write.contact_id,
            "crm_id": write.crm_id,
            "kind": "property",
            "target": write.name,
            "value": {"value": write.value},
            "idempotency_key": key,
        }
        if waiting is not None:
            self.updates.append({"row_id": waiting.id, "value": {"value": write.value}, "key": key})
            self._instead[key] = row
            return
        self.inserts.append(row)

    def _update_waiting(self, session: Session) -> None:
        """Give waiting rows their new values (latest wins). A row a drain claimed since
        it was read as waiting keeps the value being sent: the new one is added as a
        row of its own, sent once that write has landed (see :func:`claim`)."""
        session.execute(
            update(_T)
            # Spelled out: an executemany cannot expand an IN list.
            .where(_T.c.id == bindparam("row_id"), or_(*(_T.c.status == s for s in RETRYABLE)))
            .values(
                value=bindparam("value"),
                idempotency_key=bindparam("key"),
                status=PENDING,
                attempts=0,
                next_attempt_at=self.now,
                last_error=None,
                updated_at=self.now,
            ),
            self.updates,
        )
        keys = [change["key"] for change in self.updates]
        updated: set[str] = set()
        for start in range(0, len(keys), _CHUNK):
            query = select(_T.c.idempotency_key).where(
                _T.c.idempotency_key.in_(keys[start : start + _CHUNK])
            )
            updated.update(session.execute(query).scalars())
        self.inserts.extend(self._instead[key] for key in keys if key not in updated)

    def drop(self, rows: Iterable[Queued]) -> None:
        """Cancel waiting rows that are no longer wanted."""
        self.deletes.extend(row.id for row in rows if row.status in RETRYABLE)

    def apply(self, session: Session) -> None:
        """Write the collected changes in a few statements."""
        if self.updates:
            self._update_waiting(session)
        if self.inserts:
            # What every new row shares is bound once for the statement, not per row
            # (each timestamp costs a conversion per row and column otherwise).
            now = _converted_once(session, _T.c.created_at, self.now)
            shared = insert(_T).values(
                status=PENDING,
                attempts=0,
                next_attempt_at=now,
                created_at=now,
                updated_at=now,
            )
            session.execute(shared, self.inserts)
        if self.actions:
            keys = list(self.actions)
            known: set[str] = set()
            for start in range(0, len(keys), _CHUNK):
                query = select(_T.c.idempotency_key).where(
                    _T.c.idempotency_key.in_(keys[start : start + _CHUNK])
                )
                known.update(session.execute(query).scalars())
            fresh = [row for key, row in self.actions.items() if key not in known]
            if fresh:
                session.execute(insert(_T), fresh)
        for start in range(0, len(self.deletes), _CHUNK):
            chunk = self.deletes[start : start + _CHUNK]
            session.execute(delete(_T).where(_T.c.id.in_(chunk), _T.c.status.in_(RETRYABLE)))


def _converted_once(session: Session, column: Any, value: Any) -> Any:
    """``value`` (a timestamp) as ``column`` would bind it, converted here, once.

    An executemany converts every bound value for each of its rows, constants of the
    statement too (a timestamp is two conversions per row on SQLite): binding the
    converted value untyped passes the same parameter to the driver without that.
    """
    dialect = session.get_bind().dialect
    processor = column.type.dialect_impl(dialect).bind_processor(dialect)
    return bindparam(None, processor(value) if processor else value, type_=_Converted())


class _Converted(TypeDecorator[Any]):
    """A timestamp its column's type already converted: bound as it is (same SQL type)."""

    impl = DateTime
    cache_ok = True

    def bind_processor(self, dialect: Dialect) -> None:
        return None


def last_company_values(
    session: Session, connector: str, target: str, company_ids: Sequence[str]
) -> dict[str, Queued]:
    """The newest row of ``target`` per company (whatever its status): what was last
    written or is about to be, the baseline a company's new value is compared with."""
    found: dict[str, Queued] = {}
    ids = list(dict.fromkeys(company_ids))
    for start in range(0, len(ids), _CHUNK):
        newest = (
            select(func.max(_T.c.id))
            .where(
                _T.c.connector == connector,
                _T.c.crm_id.in_(ids[start : start + _CHUNK]),
                _T.c.kind == COMPANY_PROPERTY,
                _T.c.target == target,
            )
            .group_by(_T.c.crm_id)
        )
        for row in session.execute(select(*_QUEUED).where(_T.c.id.in_(newest))):
            found[row.crm_id] = _queued(row)
    return found


def queue_company_values(
    session: Session,
    connector: str,
    target: str,
    values: Mapping[str, str],
    now: datetime,
    *,
    due: bool = True,
) -> int:
    """Queue ``target`` = value for each company whose value differs from its newest row,
    to be sent from ``now`` (``due=False``: whenever a drain comes, whatever its time).

    A waiting row of the company takes the new value (latest wins); otherwise a new row
    is added (after a done one, or beside one in flight, which is written first). A
    value equal to the newest row's is not queued again: not even after that row died
    (``crmbridge outbox retry`` revives it). How many companies were queued.
    """
    last = last_company_values(session, connector, target, list(values))
    plan_id = uuid.uuid4().hex
    inserts: list[dict[str, Any]] = []
    updates: list[tuple[int, dict[str, Any]]] = []
    for company_id, value in values.items():
        before = last.get(company_id)
        if before is not None and before.value == value:
            continue
        key = idempotency_key(connector, company_id, COMPANY_PROPERTY, target, value, plan_id)
        row = {
            "connector": connector,
            "contact_id": None,
            "crm_id": company_id,
            "kind": COMPANY_PROPERTY,
            "target": target,
            "value": {"value": value},
            "idempotency_key": key,
            "status": PENDING,
            "attempts": 0,
            "next_attempt_at": now if due else None,
            "created_at": now,
            "updated_at": now,
        }
        if before is not None and before.status in RETRYABLE:
            updates.append((before.id, row))
        else:
            inserts.append(row)
    if inserts:
        session.execute(insert(_T), inserts)
    for row_id, row in updates:
        # One statement a company, so that a row a drain claimed meanwhile is noticed.
        taken = session.execute(
            update(_T)
            .where(_T.c.id == row_id, _T.c.status.in_(list(RETRYABLE)))
            .values(
                value=row["value"],
                idempotency_key=row["idempotency_key"],
                status=PENDING,
                attempts=0,
                next_attempt_at=row["next_attempt_at"],
                last_error=None,
                updated_at=now,
            )
        )
        if not getattr(taken, "rowcount", 0):
            # Claimed by a drain meanwhile: the new value gets a row of its own.
            session.execute(insert(_T), [row])
    return len(inserts) + len(updates)


def superseded_company_rows(session: Session, rows: Sequence[Queued]) -> list[Queued]:
    """Of ``rows``, the company values a newer row of the same company and property
    replaces: sending one after the newer value would put the older one back."""
    ids = [row.id for row in rows if row.kind == COMPANY_PROPERTY]
    if not ids:
        return []
    newer = _T.alias("newer")
    query = select(_T.c.id).where(
        _T.c.id.in_(ids),
        select(newer.c.id)
        .where(
            newer.c.connector == _T.c.connector,
            newer.c.crm_id == _T.c.crm_id,
            newer.c.target == _T.c.target,
            newer.c.kind == COMPANY_PROPERTY,
            newer.c.id > _T.c.id,
        )
        .exists(),
    )
    stale = set(session.execute(query).scalars())
    return [row for row in rows if row.id in stale]


def claim(
    session: Session,
    connector: str,
    max_records: int,
    now: datetime,
    after_id: int = 0,
    *,
    full: bool = False,
) -> list[Queued]:
    """Take due rows for at most ``max_records`` CRM records and mark them in flight.

    ``after_id`` lets one drain walk the table forward instead of rescanning it; with
    ``full`` nothing is taken unless ``max_records`` records are due (a whole batch). On
    Postgres the rows are locked with ``FOR UPDATE SKIP LOCKED`` so replicas sharing one
    database never claim the same row. SQLite has no row locks: the process's drains
    (several jobs, one process) claim one at a time. A record with a write in flight is
    left for a claim after it has landed. Commits.
    """
    if session.get_bind().dialect.name == "postgresql":
        return _claim(session, connector, max_records, now, after_id, full)
    with _local_claim:
        return _claim(session, connector, max_records, now, after_id, full)


def _claim(
    session: Session, connector: str, max_records: int, now: datetime, after_id: int, full: bool
) -> list[Queued]:
    due = (
        _T.c.connector == connector,
        _T.c.kind == PROPERTY,
        _T.c.status.in_(RETRYABLE),
        or_(_T.c.next_attempt_at.is_(None), _T.c.next_attempt_at <= now),
    )
    postgres = session.get_bind().dialect.name == "postgresql"
    walk = due
    if not postgres:
        # SQLite would read every due row through ix_outbox_due and sort them all by id
        # on each claim: a drain of a large outbox would cost its square. Walking the
        # table by id (a connector test it cannot index) from the first due row reads
        # only what each claim takes; that first row is found by the index, once a drain.
        walk = (_T.c.connector.concat("") == connector, *due[1:])
        if after_id == 0:
            first_due = session.execute(select(func.min(_T.c.id)).where(*due)).scalar()
            if first_due is None:
                # Nothing due: the walk would read the whole table to find so.
                session.commit()
                return []
            after_id = int(first_due) - 1
    first = (
        select(_T.c.id, _T.c.crm_id)
        .where(_T.c.id > after_id, *walk)
        .order_by(_T.c.id)
        .limit(max_records * 20)
    )
    walked: Iterable[str]
    if postgres:
        walked = (crm_id for _, crm_id in session.execute(first.with_for_update(skip_locked=True)))
    else:
        # SQLite keeps one row per record of the walk (in first-seen order) itself: the
        # claim reads a row per record instead of every row of each, some ten a contact.
        step = first.subquery()
        walked = session.execute(
            select(step.c.crm_id)
            .group_by(step.c.crm_id)
            .order_by(func.min(step.c.id))
            .limit(max_records)
        ).scalars()
    # A dict keeps first-seen order and finds a repeat in constant time: a Bulk-sized
    # claim (tens of thousands of records) stays linear.
    record_ids: dict[str, None] = {}
    for crm_id in walked:
        if crm_id not in record_ids:
            record_ids[crm_id] = None
            if len(record_ids) == max_records:
                break
    # A record with a write out already waits for it: two writes of one record in
    # flight at once (two drains, or replicas) could land in either order, the older
    # values last.
    flying = _in_flight(session, connector, list(record_ids))
    wanted = [crm_id for crm_id in record_ids if crm_id not in flying]
    if not wanted or (full and len(wanted) < max_records):
        session.commit()
        return []
    rows: list[Queued] = []
    for start in range(0, len(wanted), _CHUNK):
        rows_query = select(*_QUEUED).where(*due, _T.c.crm_id.in_(wanted[start : start + _CHUNK]))
        if postgres:
            rows_query = rows_query.with_for_update(skip_locked=True)
        rows.extend(_queued(row) for row in session.execute(rows_query))
    rows.sort(key=lambda row: row.id)
    if postgres:
        rows = _whole_records(session, rows, due)
    _mark_claimed(session, rows)
    return rows


def _in_flight(session: Session, connector: str, crm_ids: Sequence[str]) -> set[str]:
    """Those of ``crm_ids`` with a property write in flight."""
    found: set[str] = set()
    for start in range(0, len(crm_ids), _CHUNK):
        query = select(_T.c.crm_id).where(
            _T.c.connector == connector,
            _T.c.crm_id.in_(crm_ids[start : start + _CHUNK]),
            _T.c.kind == PROPERTY,
            _T.c.status == IN_FLIGHT,
        )
        found.update(session.execute(query.distinct()).scalars())
    return found


def claim_actions(
    session: Session,
    connector: str,
    limit: int,
    now: datetime,
    *,
    kinds: Sequence[str] = (),
    exclude: Sequence[str] = (),
) -> list[Queued]:
    """Take due hand-off action rows (oldest first) and mark them in flight. Commits.

    ``kinds`` keeps only those kinds, ``exclude`` leaves those out (a connector's
    batched kinds are claimed apart from the others). Any action row is a whole unit;
    on Postgres, rows another replica holds are skipped.
    """
    query = (
        select(*_QUEUED)
        .where(
            _T.c.connector == connector,
            _T.c.kind != PROPERTY,
            _T.c.status.in_(RETRYABLE),
            or_(_T.c.next_attempt_at.is_(None), _T.c.next_attempt_at <= now),
        )
        .order_by(_T.c.id)
        .limit(limit)
    )
    if kinds:
        query = query.where(_T.c.kind.in_(list(kinds)))
    if exclude:
        query = query.where(_T.c.kind.not_in(list(exclude)))
    if session.get_bind().dialect.name == "postgresql":
        return _take(session, query.with_for_update(skip_locked=True))
    with _local_claim:
        return _take(session, query)


def renew(session: Session, rows: Sequence[Queued]) -> None:
    """Stamp these in-flight rows' claim anew before another call is made under it, so
    that the lease measures one call, not a whole batch's checks, sends and settling.
    Commits (with whatever the caller has settled so far)."""
    _set(session, [r.id for r in rows], claimed_at=clock.now())
    session.commit()


def keep_claimed(session: Session, ids: Sequence[int]) -> int:
    """Stamp anew the claim of those rows still in flight under this process's claim
    (a row settled meanwhile, or claimed by another process, is left alone). Commits.
    How many rows were stamped."""
    stamp = clock.now()
    postgres = session.get_bind().dialect.name == "postgresql"
    kept = 0
    for start in range(0, len(ids), _CHUNK):
        chunk = list(ids[start : start + _CHUNK])
        ours = select(_T.c.id).where(
            _T.c.id.in_(chunk), _T.c.status == IN_FLIGHT, _T.c.claimed_by == PROCESS_ID
        )
        if postgres:
            # A row the drain is settling right now is skipped, never waited for: it is
            # stamped or settled by that transaction, and waiting could deadlock with it.
            ours = ours.with_for_update(skip_locked=True)
        answer = session.execute(update(_T).where(_T.c.id.in_(ours)).values(claimed_at=stamp))
        kept += int(getattr(answer, "rowcount", 0) or 0)
    session.commit()
    return kept


def _take(session: Session, query: Any) -> list[Queued]:
    rows = [_queued(row) for row in session.execute(query)]
    _mark_claimed(session, rows)
    return rows


def _mark_claimed(session: Session, rows: Sequence[Queued]) -> None:
    stamp = clock.now()
    _set(
        session,
        [r.id for r in rows],
        status=IN_FLIGHT,
        claimed_by=PROCESS_ID,
        claimed_at=stamp,
        updated_at=stamp,
    )
    session.commit()


def _whole_records(session: Session, rows: list[Queued], due: tuple[Any, ...]) -> list[Queued]:
    """Keep the records this claim holds every due row of.

    Another replica's claim may hold some rows of a record (its first query stops at a
    row limit, in the middle of a record); taking the rest here would split the record's
    write into two calls. Such a record is left for a later claim, which takes it whole.
    """
    held = Counter(row.crm_id for row in rows)
    if not held:
        return rows
    ids = list(held)
    totals: dict[str, int] = {}
    for start in range(0, len(ids), _CHUNK):
        query = (
            select(_T.c.crm_id, func.count())
            .where(*due, _T.c.crm_id.in_(ids[start : start + _CHUNK]))
            .group_by(_T.c.crm_id)
        )
        totals.update((crm_id, int(count)) for crm_id, count in session.execute(query))
    return [row for row in rows if totals.get(row.crm_id) == held[row.crm_id]]


def _set(session: Session, ids: Sequence[int], **values: Any) -> None:
    for start in range(0, len(ids), _CHUNK):
        session.execute(update(_T).where(_T.c.id.in_(ids[start : start + _CHUNK])).values(**values))


def mark_done(session: Session, rows: Sequence[Queued]) -> None:
    """The CRM applied these rows."""
    _set(session, [r.id for r in rows], status=DONE, last_error=None, updated_at=clock.now())


def mark_skipped(session: Session, rows: Sequence[Queued], reason: str) -> None:
    """Settled without a call: the action is no longer wanted (``reason`` is kept)."""
    _set(
        session, [r.id for r in rows], status=DONE, last_error=reason[:2000], updated_at=clock.now()
    )


@dataclass(frozen=True, slots=True)
class Attempt:
    """The outcome of one failed attempt at a row: its new count, status and retry time."""

    row_id: int
    attempts: int
    status: str
    next_at: datetime | None


def record_attempts(session: Session, outcomes: Sequence[Attempt], error: str) -> None:
    """Store failed attempts (``failed`` with their retry time, or ``dead``) in one statement."""
    if not outcomes:
        return
    session.execute(
        update(_T)
        .where(_T.c.id == bindparam("row_id"))
        .values(
            attempts=bindparam("attempts"),
            status=bindparam("status"),
            next_attempt_at=bindparam("next_at"),
            last_error=error[:2000],
            updated_at=clock.now(),
        ),
        [
            {"row_id": o.row_id, "attempts": o.attempts, "status": o.status, "next_at": o.next_at}
            for o in outcomes
        ],
    )


def due_counts(session: Session, connector: str, now: datetime) -> tuple[int, int]:
    """How many rows of ``connector`` a drain at ``now`` would send, and to how many
    records it would write properties (for a progress bar)."""
    query = select(
        func.count(),
        func.count(distinct(case((_T.c.kind == PROPERTY, _T.c.crm_id)))),
    ).where(
        _T.c.connector == connector,
        _T.c.status.in_(RETRYABLE),
        or_(_T.c.next_attempt_at.is_(None), _T.c.next_attempt_at <= now),
    )
    rows, records = session.execute(query).one()
    return int(rows), int(records)


def orphaned(session: Session, connector: str, older_than: datetime | None) -> list[Queued]:
    """In-flight rows left by a process that died (all of them when ``older_than`` is None)."""
    query = select(*_QUEUED).where(_T.c.connector == connector, _T.c.status == IN_FLIGHT)
    if older_than is not None:
        query = query.where(_T.c.claimed_at < older_than)
    return [_queued(row) for row in session.execute(query)]


def release(
    session: Session,
    rows: Sequence[Queued],
    *,
    not_before: datetime | None = None,
    attempted: bool = False,
) -> None:
    """Put rows back to pending (shutdown, rate limit, or reconciled as not applied).

    ``attempted`` counts the interrupted send as an attempt, so the row is checked
    against the CRM again before it is sent.
    """
    values: dict[str, Any] = {"status": PENDING, "claimed_by": None, "updated_at": clock.now()}
    if not_before is not None:
        values["next_attempt_at"] = not_before
    if attempted:
        values["attempts"] = _T.c.attempts + 1
    _set(session, [r.id for r in rows], **values)


def retry_dead(session: Session, ids: Sequence[int] | None, now: datetime) -> int:
    """Revive dead and failed rows: all of them, or those with the given ids. Commits."""
    query = update(_T).where(_T.c.status.in_((DEAD, FAILED)))
    if ids:
        query = query.where(_T.c.id.in_(list(ids)))
    result = session.execute(
        query.values(status=PENDING, attempts=0, next_attempt_at=now, updated_at=clock.now())
    )
    session.commit()
    return int(getattr(result, "rowcount", 0) or 0)


def list_rows(session: Session, statuses: Sequence[str], limit: int) -> list[Any]:
    """Rows in the given statuses, newest first (id, connector, crm_id, target, ...)."""
    query = select(_T).where(_T.c.status.in_(list(statuses))).order_by(_T.c.id.desc()).limit(limit)
    return list(session.execute(query))


def depth(session: Session) -> Mapping[str, int]:
    """How many rows are in each status."""
    query = select(_T.c.status, func.count()).group_by(_T.c.status)
    return {status: int(count) for status, count in session.execute(query)}
