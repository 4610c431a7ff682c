"""Property history: when each stored property of a contact changed, from what to what.

Recorded by the store's page path (:meth:`~crmbridge.store.repository.Store.store_page`)
as one bulk insert per page of the properties that differ from the stored ones, and
read by ``crmbridge backtest`` to score a lead on the values it had at its deal's close.

Time of a change: the CRM's modification time of the record that carried it (never
later than the read), else the read's time. Between two reads the CRM may have changed
a value at any moment up to that modification time, so the recorded time is the latest
the change can have happened: a replay as of an earlier instant reads the old value,
never a value set after it (no look-ahead; at worst a value a little too old).

``contacts.properties_since`` is the instant from which a contact's history is
complete: the modification time of the values first stored (nothing changed in the CRM
between that time and the read). Before it the store knows nothing of the contact's
values.

A property the model starts reading later (a new rule) is only learned of as each
contact is read again: the store remembers, per connector, since when it has read each
property (:func:`note_read`, :func:`read_since`), so that a property first seen then is
known to be unknown before, rather than taken for empty.

Values are bounded: a text is kept to :data:`MAX_VALUE_CHARS` characters, anything
else that is not a plain number, boolean or null is kept as its JSON text, bounded the
same way. A property whose name is longer than :data:`MAX_NAME_CHARS` is not recorded.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from crmbridge import clock
from crmbridge.store.chunks import chunks
from crmbridge.store.tables import CursorRow, PropertyChangeRow

_HISTORY = PropertyChangeRow.__table__  # type: ignore[attr-defined]

#: Longest text value kept (longer ones are cut): rules read the start of a value.
MAX_VALUE_CHARS = 1000
#: Longest property name recorded (the column's length).
MAX_NAME_CHARS = 255
#: Largest integer kept as a number; larger ones are kept as (bounded) text.
_MAX_INT = 2**53
#: The cursors-table namespace remembering since when each property has been read, one
#: row per connector: property → ISO instant, or null for "since before the store kept
#: this". No connector name starts with "_", so no read cursor can take these rows.
READ_SINCE = "_properties_read"


@dataclass(frozen=True, slots=True)
class PropertyChange:
    """One recorded change: the property, its value before and after, and when."""

    property: str
    old: Any
    new: Any
    changed_at: datetime


def bounded(value: Any) -> Any:
    """``value`` as the history keeps it (see the module's bounds)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if abs(value) <= _MAX_INT else str(value)[:MAX_VALUE_CHARS]
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return value[:MAX_VALUE_CHARS]
    return json.dumps(value, sort_keys=True, default=str)[:MAX_VALUE_CHARS]


def changes(
    contact_id: int, before: Mapping[str, Any], after: Mapping[str, Any], at: datetime
) -> list[dict[str, Any]]:
    """The rows recording how ``before`` became ``after`` at ``at`` (a property that
    appears has old value null, one that goes has new value null)."""
    rows: list[dict[str, Any]] = []
    for name in before.keys() | after.keys():
        old, new = before.get(name), after.get(name)
        if old == new or len(name) > MAX_NAME_CHARS:
            continue
        rows.append(
            {
                "contact_id": contact_id,
                "property": name,
                "old_value": bounded(old),
                "new_value": bounded(new),
                "changed_at": at,
            }
        )
    return rows


def change_time(modified_at: datetime | None, read_at: datetime) -> datetime:
    """When a change read at ``read_at`` is recorded as made: the record's modification
    time in the CRM, never later than the read."""
    return read_at if modified_at is None else min(modified_at, read_at)


def record(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Insert the rows of :func:`changes` (one statement; none for no rows)."""
    if rows:
        session.execute(insert(_HISTORY), list(rows))


def history_for(session: Session, contact_ids: Sequence[int]) -> dict[int, list[PropertyChange]]:
    """Each contact's recorded changes, oldest first (contacts without any left out)."""
    found: dict[int, list[PropertyChange]] = defaultdict(list)
    for chunk in chunks(list(contact_ids)):
        query = (
            select(_HISTORY)
            .where(_HISTORY.c.contact_id.in_(chunk))
            .order_by(_HISTORY.c.contact_id, _HISTORY.c.changed_at, _HISTORY.c.id)
        )
        for row in session.execute(query):
            found[row.contact_id].append(
                PropertyChange(row.property, row.old_value, row.new_value, row.changed_at)
            )
    return dict(found)


def note_read(session: Session, connector: str, names: Sequence[str], at: datetime) -> None:
    """Remember that ``connector``'s reads carry ``names`` from ``at`` on (those already
    noted keep their instant); the first note of a connector dates none of them, as its
    contacts' history starts with their values anyway. The caller commits."""
    row = session.get(CursorRow, (READ_SINCE, connector))
    noted = _noted(row.value if row is not None else None)
    added = {
        name: None if row is None else at.isoformat()
        for name in names
        if name not in noted and len(name) <= MAX_NAME_CHARS
    }
    if not added:
        return
    value = json.dumps({**noted, **added}, sort_keys=True)
    if row is None:
        row = CursorRow(connector=READ_SINCE, stream=connector, value=value)
    row.value = value
    row.updated_at = clock.now()
    session.add(row)


def read_since(session: Session, connector: str) -> dict[str, datetime]:
    """The properties ``connector`` started reading after its first note, with when."""
    row = session.get(CursorRow, (READ_SINCE, connector))
    since: dict[str, datetime] = {}
    for name, moment in _noted(row.value if row is not None else None).items():
        if isinstance(moment, str):
            try:
                since[name] = clock.parse_instant(moment)
            except ValueError:
                continue
    return since


def _noted(value: str | None) -> dict[str, Any]:
    try:
        noted = json.loads(value) if value else {}
    except ValueError:
        return {}
    return noted if isinstance(noted, dict) else {}
