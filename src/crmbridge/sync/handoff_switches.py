"""Turning assignment or the hot-lead notification on reaches the leads that already qualify.

Both steps act on a lead only when it is rescored, and turning them on changes no input
of any lead: without this, the hot leads already in the CRM would wait for some
unrelated change. So the store remembers whether each step was on; at the first cycle
that finds one turned on, every lead that already qualifies (hot, or an SQL for
``[assignment] on = "sql"``) is either flagged for rescoring (``apply_to_existing``,
the default: the steps then give an owner and a task, once, as for a new hot lead) or
waived (the step leaves it alone until it qualifies anew).

Nurture triggers act on what changes after they are added: the store remembers the
triggers it has seen, and a trigger added since is met first as a baseline by every lead
already scored (all are rescored at once: what a lead matches then counts as done, see
:class:`~crmbridge.handoff.triggers.TriggerStep`). Reactivation and archive act on a
stage transition only (see :mod:`crmbridge.handoff.reactivation`), never on a backlog;
a model edit (the stored score's model version differs) moving leads into a quiet stage
or into a trigger's match is a baseline too, decided lead by lead as it is rescored.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from crmbridge.config import CrmbridgeConfig
from crmbridge.handoff.assignment import WAIVED
from crmbridge.handoff.notification import HOT_SINCE, NOTIFIED
from crmbridge.handoff.triggers import trigger_mark
from crmbridge.logging import get_logger
from crmbridge.store.repository import Store
from crmbridge.store.selection import (
    Selection,
    at_stage,
    either,
    everyone,
    flag_all,
    hot_leads,
    rewrite_handoff,
)

#: The cursors-table namespace remembering which steps were on (one row per step, value
#: "on" or "off"). It shares the table with the connectors' read cursors (no table of its
#: own, which would take a migration); a name no connector can have, as connector names
#: start with a letter (``crmbridge.connector.plugin.CONNECTOR_NAME``, enforced by the
#: registry), so a plugin can never read or overwrite these rows.
SWITCHES = "_handoff"
#: The row of that namespace listing the triggers seen: mark → KEPT or ADDED.
TRIGGERS = "triggers"
KEPT, ADDED = "kept", "added"
BATCH = 1_000


@dataclass(frozen=True)
class Switched:
    """A step found turned on: which, and whether the leads already qualifying get it."""

    step: str
    apply_to_existing: bool


def turned_on(store: Store, config: CrmbridgeConfig) -> list[Switched]:
    """The steps that are on now and were not at the last look (recorded as seen)."""
    steps = {
        "assignment": (config.assignment.enabled, config.assignment.apply_to_existing),
        "notifications": (config.notifications.enabled, config.notifications.apply_to_existing),
    }
    return [
        Switched(step, existing)
        for step, (enabled, existing) in steps.items()
        if enabled and store.get_cursor(SWITCHES, step) != "on"
    ]


def remember(store: Store, config: CrmbridgeConfig) -> None:
    """Record which steps are on, so the next start knows what was turned on since."""
    for step, enabled in (
        ("assignment", config.assignment.enabled),
        ("notifications", config.notifications.enabled),
    ):
        store.put_cursor(SWITCHES, step, "on" if enabled else "off")


def apply_switches(store: Store, config: CrmbridgeConfig, now: datetime) -> dict[str, int]:
    """Bring the leads already qualifying under the steps turned on since the last look:
    how many were flagged for rescoring and how many waived, by step."""
    switched = turned_on(store, config)
    counts: dict[str, int] = {}
    for switch in switched:
        handled = _apply(store, config, switch, now)
        key = f"{switch.step}_{'flagged' if switch.apply_to_existing else 'waived'}"
        counts[key] = handled
        get_logger().info(
            "handoff.turned_on",
            step=switch.step,
            apply_to_existing=switch.apply_to_existing,
            leads=handled,
        )
    remember(store, config)
    return counts


def added_triggers(store: Store, config: CrmbridgeConfig) -> set[str]:
    """The marks of the configured triggers added after this store's first run (those
    new since the last look included: read only, for ``plan`` as for a cycle)."""
    record, _ = _trigger_record(store, config)
    return {mark for mark, how in record.items() if how == ADDED}


def track_triggers(store: Store, config: CrmbridgeConfig) -> list[str]:
    """Record the configured triggers; the marks of those new since the last look."""
    record, added = _trigger_record(store, config)
    store.put_cursor(SWITCHES, TRIGGERS, _dump(record))
    return added


def _trigger_record(store: Store, config: CrmbridgeConfig) -> tuple[dict[str, str], list[str]]:
    """The record of the configured triggers as it is to be stored, and the new ones.

    The first look (a new store, or the first run of a release that tracks them) takes
    every trigger as already there: leads keep meeting them as before.
    """
    raw = store.get_cursor(SWITCHES, TRIGGERS)
    seen: dict[str, str] | None = json.loads(raw) if raw else None
    current = [trigger_mark(trigger) for trigger in config.triggers]
    if seen is None:
        return dict.fromkeys(current, KEPT), []
    record = {mark: seen.get(mark, ADDED) for mark in current}
    return record, [mark for mark in current if mark not in seen]


def _dump(record: dict[str, str]) -> str:
    return json.dumps(record, sort_keys=True)


def pending(store: Store, config: CrmbridgeConfig) -> Selection | None:
    """The contacts the next cycle's catch-up will rescore (read only, for ``plan``):
    those qualifying for a step turned on with ``apply_to_existing``, or every contact
    when a trigger was added."""
    if _trigger_record(store, config)[1]:
        return everyone()
    clauses = [
        _qualifying(config, switch.step)
        for switch in turned_on(store, config)
        if switch.apply_to_existing
    ]
    return either(*clauses) if clauses else None


#: A lead's hand-off state as the next cycle's catch-up leaves it, given whether its
#: current score is hot and its stage.
Waiver = Callable[[bool, str | None, dict[str, Any]], dict[str, Any]]


def waiver(store: Store, config: CrmbridgeConfig, now: datetime) -> Waiver | None:
    """What the next cycle's catch-up does to the leads already qualifying for a step
    turned on with ``apply_to_existing = false`` (read only, for ``plan``); None when no
    such step was turned on."""
    steps = [s.step for s in turned_on(store, config) if not s.apply_to_existing]
    if not steps:
        return None

    def waive(hot: bool, stage: str | None, state: dict[str, Any]) -> dict[str, Any]:
        for step in steps:
            on_sql = step == "assignment" and config.assignment.on == "sql"
            if (stage == "sql") if on_sql else hot:
                state = _waived(step, state, now)
        return state

    return waive


def _qualifying(config: CrmbridgeConfig, step: str) -> Selection:
    if step == "assignment" and config.assignment.on == "sql":
        return at_stage("sql")
    return hot_leads()


def _apply(store: Store, config: CrmbridgeConfig, switch: Switched, now: datetime) -> int:
    """Flag or waive, in batches, the leads qualifying for ``switch``'s step."""
    where = _qualifying(config, switch.step)
    if switch.apply_to_existing:
        return flag_all(store, where, batch=BATCH)
    return rewrite_handoff(
        store, where, lambda saved: _waived(switch.step, saved, now), batch=BATCH
    )


def _waived(step: str, saved: Any, now: datetime) -> dict[str, Any]:
    """The lead's hand-off state with ``step`` counted as done for its current episode."""
    state = dict(saved) if isinstance(saved, dict) else {}
    if step == "assignment":
        state[WAIVED] = True
    else:
        # As if notified when this hot episode began: the next episode is notified.
        since = state.setdefault(HOT_SINCE, now.isoformat())
        state[NOTIFIED] = since
    return state
