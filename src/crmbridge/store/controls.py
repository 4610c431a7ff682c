"""Operating switches kept in the store, so every replica and every restart honours them.

The ``writes_paused`` switch — set by ``crmbridge writes pause`` or
``POST /v1/writes/pause`` and read by the outbox drain before each batch — and the open
alert incidents, so that one incident is announced once, whatever the replicas and
restarts; the weekly reports already made, so one replica makes each. Also the
read-only view of the writes waiting in the outbox that shadow mode logs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from crmbridge.store.tables import ContactRow, ControlRow, OutboxRow

WRITES_PAUSED = "writes_paused"
#: Longest reason kept with a pause (it is shown by ``writes status`` and the endpoint).
MAX_REASON = 500

_CONTROLS = ControlRow.__table__  # type: ignore[attr-defined]
_OUTBOX = OutboxRow.__table__  # type: ignore[attr-defined]
_CONTACTS = ContactRow.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class WritesState:
    """Whether CRM writes are paused, since when, by whom and why."""

    paused: bool
    changed_at: datetime | None = None
    by: str | None = None
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (what ``GET /v1/writes`` answers)."""
        return {
            "paused": self.paused,
            "changed_at": self.changed_at.isoformat() if self.changed_at else None,
            "by": self.by,
            "reason": self.reason,
        }


def writes_state(connection: Connection | Session) -> WritesState:
    """The current state of the writes switch (not paused when never set)."""
    row = connection.execute(
        select(_CONTROLS.c.value, _CONTROLS.c.updated_at).where(_CONTROLS.c.name == WRITES_PAUSED)
    ).first()
    if row is None or not isinstance(row.value, dict):
        return WritesState(paused=False)
    value = row.value
    return WritesState(
        paused=bool(value.get("paused")),
        changed_at=row.updated_at,
        by=_text(value.get("by")),
        reason=_text(value.get("reason")),
    )


def set_writes_paused(
    connection: Connection, paused: bool, *, by: str, reason: str | None, now: datetime
) -> WritesState:
    """Pause or resume CRM writes for every replica; the caller commits."""
    kept_by, kept_reason = by[:100], (reason or "")[:MAX_REASON] or None
    value = {"paused": paused, "by": kept_by, "reason": kept_reason}
    insert = (postgresql if connection.dialect.name == "postgresql" else sqlite).insert
    statement = insert(_CONTROLS).values(name=WRITES_PAUSED, value=value, updated_at=now)
    connection.execute(
        statement.on_conflict_do_update(
            index_elements=["name"], set_={"value": value, "updated_at": now}
        )
    )
    return WritesState(paused, now, kept_by, kept_reason)


@dataclass(frozen=True)
class WaitingWrite:
    """An outbox row not yet sent, with what the CRM held before (for shadow logs)."""

    id: int
    crm_id: str
    kind: str
    target: str
    value: dict[str, Any]
    old: Any


def waiting_writes(
    session: Session, connector: str, statuses: Sequence[str], after_id: int, limit: int
) -> list[WaitingWrite]:
    """Unsent rows of one connector (in ``statuses``) after ``after_id``, oldest first."""
    query = (
        select(
            _OUTBOX.c.id,
            _OUTBOX.c.crm_id,
            _OUTBOX.c.kind,
            _OUTBOX.c.target,
            _OUTBOX.c.value,
            _CONTACTS.c.crm_values,
        )
        .select_from(_OUTBOX.outerjoin(_CONTACTS, _CONTACTS.c.id == _OUTBOX.c.contact_id))
        .where(
            _OUTBOX.c.connector == connector,
            _OUTBOX.c.status.in_(list(statuses)),
            _OUTBOX.c.id > after_id,
        )
        .order_by(_OUTBOX.c.id)
        .limit(limit)
    )
    found = []
    for row in session.execute(query):
        held = row.crm_values if isinstance(row.crm_values, dict) else {}
        found.append(
            WaitingWrite(
                row.id,
                row.crm_id,
                row.kind,
                row.target,
                dict(row.value or {}),
                held.get(row.target) if row.kind == "property" else None,
            )
        )
    return found


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


#: An open alert incident is a row named ``incident:<key>`` (see daemon/alerts.py).
INCIDENT_PREFIX = "incident:"


def _claim(connection: Connection | Session, name: str, now: datetime) -> bool:
    """Add the row ``name``; True when this call added it (no other replica had)."""
    insert = (postgresql if _dialect(connection) == "postgresql" else sqlite).insert
    statement = insert(_CONTROLS).values(name=name, value={}, updated_at=now)
    result = connection.execute(statement.on_conflict_do_nothing(index_elements=["name"]))
    return bool(getattr(result, "rowcount", 0))


def _dialect(connection: Connection | Session) -> str:
    bind = connection.get_bind() if isinstance(connection, Session) else connection
    return str(bind.dialect.name)


def open_incident(connection: Connection, key: str, now: datetime) -> bool:
    """Mark an incident open; True when this call opened it (it was not open before)."""
    return _claim(connection, INCIDENT_PREFIX + key, now)


def close_incident(connection: Connection, key: str) -> bool:
    """Mark an incident over; True when this call closed it (it was open)."""
    result = connection.execute(delete(_CONTROLS).where(_CONTROLS.c.name == INCIDENT_PREFIX + key))
    return bool(result.rowcount)


def incidents(connection: Connection | Session) -> list[str]:
    """The keys of the open incidents."""
    query = select(_CONTROLS.c.name).where(_CONTROLS.c.name.startswith(INCIDENT_PREFIX))
    return sorted(name[len(INCIDENT_PREFIX) :] for name in connection.execute(query).scalars())


#: A weekly report the daemon made (and sent) is a row named ``report:<period label>``.
REPORT_PREFIX = "report:"


def report_done(session: Session, label: str) -> bool:
    """Has a replica already made (and sent) the report of this period?"""
    query = select(_CONTROLS.c.name).where(_CONTROLS.c.name == REPORT_PREFIX + label)
    return session.execute(query).first() is not None


def mark_report_done(session: Session, label: str, now: datetime) -> bool:
    """Record that the report of this period is made; False when one already was."""
    return _claim(session, REPORT_PREFIX + label, now)
