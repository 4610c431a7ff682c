"""Sync loops seen (``sync_loops``): a crmbridge property two CRMs keep overwriting.

When crmbridge writes a property into both CRMs and a CRM-to-CRM sync (HubSpot's
Salesforce integration) maps it too, the value crmbridge wrote in one CRM is replaced
by the other CRM's, crmbridge writes it back, and so on. Each time a read shows it, the
pipeline records it here (one row per property, CRM and other CRM, counted), so that
``crmbridge check`` can explain it long after the log line scrolled away.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from crmbridge.store.chunks import chunks
from crmbridge.store.tables import ContactRow, SyncLoopRow

_CONTACTS = ContactRow.__table__  # type: ignore[attr-defined]
_LOOPS = SyncLoopRow.__table__  # type: ignore[attr-defined]
#: Values are shown, not kept whole (a reasons text runs long).
_VALUE_CHARS = 200


@dataclass(frozen=True)
class Loop:
    """One flap: crmbridge's value ``ours`` in ``connector`` replaced by ``theirs``,
    the value the same person's record in ``other`` holds."""

    connector: str
    property: str
    other: str
    crm_id: str
    ours: str
    theirs: str
    #: How many times it was seen (stored rows), and when first and last.
    times: int = 1
    first_seen: datetime | None = None
    last_seen: datetime | None = None


def other_records(
    session: Session, emails: Iterable[str], crm: str
) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """By email: the records of CRMs other than ``crm``, as (CRM, crmbridge values held)."""
    found: dict[str, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
    for chunk in chunks(sorted(set(emails))):
        query = select(_CONTACTS.c.email, _CONTACTS.c.crm, _CONTACTS.c.crm_values).where(
            _CONTACTS.c.email.in_(chunk), _CONTACTS.c.crm != crm
        )
        for email, other, values in session.execute(query):
            found[email].append((other, dict(values or {})))
    return found


def record_loops(session: Session, loops: Sequence[Loop], now: datetime) -> None:
    """Count each flap in its property's row (the caller commits)."""
    counts: dict[tuple[str, str, str], tuple[int, Loop]] = {}
    for loop in loops:
        key = (loop.connector, loop.property, loop.other)
        times, _ = counts.get(key, (0, loop))
        counts[key] = (times + 1, loop)
    for (connector, name, other), (times, loop) in counts.items():
        where = (
            _LOOPS.c.connector == connector,
            _LOOPS.c.property == name,
            _LOOPS.c.other == other,
        )
        seen = session.execute(select(_LOOPS.c.times).where(*where)).scalar_one_or_none()
        shown = {
            "crm_id": loop.crm_id[:64],
            "ours": loop.ours[:_VALUE_CHARS],
            "theirs": loop.theirs[:_VALUE_CHARS],
            "last_seen": now,
        }
        if seen is None:
            values = {"connector": connector, "property": name, "other": other}
            session.execute(insert(_LOOPS).values(**values, **shown, times=times, first_seen=now))
        else:
            session.execute(update(_LOOPS).where(*where).values(**shown, times=seen + times))


def loops_since(session: Session, since: datetime) -> list[Loop]:
    """The loops seen since ``since``, most frequent first."""
    query = (
        select(_LOOPS)
        .where(_LOOPS.c.last_seen >= since)
        .order_by(_LOOPS.c.times.desc(), _LOOPS.c.property)
    )
    return [
        Loop(
            row.connector,
            row.property,
            row.other,
            row.crm_id,
            row.ours,
            row.theirs,
            row.times,
            row.first_seen,
            row.last_seen,
        )
        for row in session.execute(query)
    ]
