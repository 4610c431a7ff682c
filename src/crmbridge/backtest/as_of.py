"""A contact's properties as they were at an instant, from its current values and the
store's property history (:mod:`crmbridge.store.property_history`).

Every change recorded at or after the instant is undone, newest first, so a value set
at the close or later is never read (the same cut-off as for events). The values are
*exact* when the contact's history is complete from before the instant; otherwise they
are the oldest the store holds (the current ones when nothing changed since), which
may know more than was known then.
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
) -> PropertiesAsOf:
    """``current`` with every change of ``changes`` (oldest first) made at or after
    ``at`` undone; exact when the history is complete from strictly before ``at``."""
    values = dict(current)
    undone = 0
    for change in reversed(changes):
        if change.changed_at < at:
            break
        undone += 1
        if change.old is None:
            values.pop(change.property, None)
        else:
            values[change.property] = change.old
    return PropertiesAsOf(values, since is not None and since < at, undone)
