"""When will a contact's score change by the passing of time alone?

The pipeline rescores a contact when its inputs change *or* when ``now`` crosses the
instant computed here: the next inactivity period, an event leaving a rule's window,
the next day of a decaying rule, reactivation/archive deadlines, or a future-dated event
becoming current. Pure, like the rest of ``scoring``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from crmbridge.scoring.model import LifecycleModel, ScoringModel
from crmbridge.scoring.types import Event

_DECAY_STEP = timedelta(days=1)


def next_change_at(
    scoring: ScoringModel,
    lifecycle: LifecycleModel,
    events: Iterable[Event],
    last_engagement: datetime | None,
    now: datetime,
) -> datetime | None:
    """The earliest instant after ``now`` at which the score may change, or None."""
    candidates: list[datetime] = []
    by_type: dict[str, list[tuple[float | None, bool]]] = {}
    for rule in scoring.engagement:
        for event_type in rule.event_types:
            by_type.setdefault(event_type, []).append(
                (rule.window_days, rule.half_life_days is not None)
            )
    for event in events:
        if event.occurred_at > now:
            candidates.append(event.occurred_at)
            continue
        for window_days, decays in by_type.get(event.type, ()):
            if window_days is not None:
                expiry = event.occurred_at + timedelta(days=window_days)
                if expiry > now:
                    candidates.append(expiry)
            if decays:
                candidates.append(now + _DECAY_STEP)
    if last_engagement is not None:
        candidates.extend(_quiet_deadlines(scoring, lifecycle, last_engagement, now))
    return min(candidates) if candidates else None


def _quiet_deadlines(
    scoring: ScoringModel, lifecycle: LifecycleModel, last: datetime, now: datetime
) -> list[datetime]:
    deadlines = []
    if scoring.inactivity is not None:
        period = timedelta(days=scoring.inactivity.after_days)
        elapsed = (now - last) // period
        deadlines.append(last + (elapsed + 1) * period)
    react = last + timedelta(days=lifecycle.reactivation_after_days)
    archive = react + timedelta(days=lifecycle.archive_after_days)
    deadlines.extend(moment for moment in (react, archive) if moment > now)
    return deadlines
