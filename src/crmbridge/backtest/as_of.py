"""A contact's properties as they were at an instant, from its current values and the
store's property history (:mod:`crmbridge.store.property_history`).

Every change recorded at or after the instant is undone, newest first, so a value set
at the close or later is never read (the same cut-off as for events). The values are
*exact* when the contact's history is complete from before the instant; otherwise they
are the oldest the store holds (the current ones when nothing changed since), which
may know more than was known then.

A property the connector started reading after the contact was stored (a new rule) is
unknown until the contact was read again: its first appearance then is not a change
from empty, and is not undone; before it, or before any read that could have carried
it, the values are not exact.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from crmbridge.store.property_history import PropertyChange


@dataclass(frozen=True, slots=True)
class PropertiesAsOf:
    """The values found, and whether the history reaches back far enough to be sure."""

    values: dict[str, Any]
    exact: bool
    undone: int


def properties_as_of(
    current: Mapping[str, Any],
    since: datetime | None,
    changes: Sequence[PropertyChange],
    at: datetime,
    *,
    newly_read: Mapping[str, datetime] | None = None,
    last_read: datetime | None = None,
) -> PropertiesAsOf:
    """``current`` with every change of ``changes`` (oldest first) made at or after
    ``at`` undone; exact when the history is complete from strictly before ``at``.

    ``newly_read``: the properties the connector started reading later, with when;
    ``last_read``: when the contact was last read (see the module's note)."""
    learned, unknown = _learned(since, changes, at, newly_read or {}, last_read)
    kept = {id(change) for change in learned}
    values = dict(current)
    undone = 0
    for change in reversed(changes):
        if change.changed_at < at:
            break
        if id(change) in kept:
            continue
        undone += 1
        if change.old is None:
            values.pop(change.property, None)
        else:
            values[change.property] = change.old
    exact = since is not None and since < at and not unknown
    return PropertiesAsOf(values, exact, undone)


def _learned(
    since: datetime | None,
    changes: Sequence[PropertyChange],
    at: datetime,
    newly_read: Mapping[str, datetime],
    last_read: datetime | None,
) -> tuple[list[PropertyChange], bool]:
    """The first appearances of newly read properties that are not changes as of
    ``at``, and whether any newly read property's value at ``at`` is unknown."""
    learned: list[PropertyChange] = []
    unknown = False
    for name, read_from in newly_read.items():
        if since is not None and since >= read_from:
            continue  # stored after the property was read: its history is complete
        first = next((c for c in changes if c.property == name), None)
        if first is None:
            # Never seen: empty at every read since it was read, if there was one.
            unknown |= at < read_from or last_read is None or last_read < read_from
        elif first.old is None and at <= first.changed_at:
            learned.append(first)
            unknown = True
    return learned, unknown
