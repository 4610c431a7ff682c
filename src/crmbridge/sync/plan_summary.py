"""The figures at the top of ``crmbridge plan``: what the next cycle changes, in counts.

Pure bookkeeping: the rescoring dry run tells it, lead by lead, the score before and
after (:meth:`PlanSummary.add_lead`) and the planned writes and actions
(:meth:`PlanSummary.add_changes`); it counts contacts changing, writes per property,
actions per kind, stage moves (from → to), hot leads before → after, the score
distribution before → after and how many leads each scoring rule matched.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

#: The stage of a lead never scored before (a first sync).
NEW = "new"
ACTION_PREFIX = "action:"
#: At most this many bars in the score distribution (the width grows to fit).
MAX_BUCKETS = 12
#: Bucket widths are multiples of this many points.
STEP = 10


class Change(Protocol):
    """What a planned change must tell the summary (a :class:`PlannedChange`)."""

    @property
    def crm(self) -> str: ...

    @property
    def crm_id(self) -> str: ...

    @property
    def name(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Before:
    """A lead's last stored score (all None when it was never scored)."""

    total: int | None = None
    hot: bool | None = None
    stage: str | None = None


@dataclass(frozen=True, slots=True)
class Bucket:
    """One bar of the score distribution: scores ``low`` to ``high`` inclusive."""

    low: int
    high: int
    before: int
    after: int

    @property
    def label(self) -> str:
        """``40–49`` (or ``40`` for a one-point bucket)."""
        return str(self.low) if self.low == self.high else f"{self.low}–{self.high}"


@dataclass
class PlanSummary:
    """Counts over the leads the next cycle rescores and the changes it plans."""

    #: Every fit and engagement rule of the model, in its order.
    rules: Sequence[str] = ()
    scored: int = 0
    hot_before: int = 0
    hot_after: int = 0
    #: Leads never scored before (no "before" score).
    new_leads: int = 0
    stage_moves: Counter[tuple[str, str]] = field(default_factory=Counter)
    scores_before: Counter[int] = field(default_factory=Counter)
    scores_after: Counter[int] = field(default_factory=Counter)
    rule_matches: Counter[str] = field(default_factory=Counter)
    writes: Counter[str] = field(default_factory=Counter)
    actions: Counter[str] = field(default_factory=Counter)
    #: Leads a hand-off step left alone as already qualifying, by why (a model edit, or
    #: a trigger just added): see :attr:`crmbridge.handoff.lead.HandoffPlan.baselines`.
    baselines: Counter[str] = field(default_factory=Counter)
    #: Leads held by several CRMs (one person, one email), each counted once in scored.
    linked: int = 0
    _changing: set[tuple[str, str]] = field(default_factory=set)

    def add_lead(
        self,
        before: Before,
        total: int,
        hot: bool,
        stage: str,
        rules: Iterable[str],
        *,
        linked: bool = False,
    ) -> None:
        """Count one rescored lead: its last score and the new one (``rules`` matched);
        ``linked``: a lead with records in several CRMs."""
        self.scored += 1
        self.linked += linked
        self.hot_after += hot
        self.scores_after[total] += 1
        self.stage_moves[(before.stage or NEW, stage)] += 1
        if before.total is None:
            self.new_leads += 1
        else:
            self.scores_before[before.total] += 1
            self.hot_before += bool(before.hot)
        self.rule_matches.update(set(rules))

    def add_changes(self, changes: Iterable[Change]) -> None:
        """Count planned property writes (by property) and actions (by kind)."""
        for change in changes:
            self._changing.add((change.crm, change.crm_id))
            if change.name.startswith(ACTION_PREFIX):
                self.actions[change.name.removeprefix(ACTION_PREFIX)] += 1
            else:
                self.writes[change.name] += 1

    @property
    def contacts_changing(self) -> int:
        """Contacts with at least one write or action planned."""
        return len(self._changing)

    @property
    def unmatched_rules(self) -> list[str]:
        """The model's rules that no rescored lead matches (none when none is rescored)."""
        if not self.scored:
            return []
        return [rule for rule in self.rules if not self.rule_matches.get(rule)]

    def histogram(self) -> list[Bucket]:
        """The score distribution before and after over a shared range of buckets."""
        scores = [*self.scores_before, *self.scores_after]
        if not scores:
            return []
        low = math.floor(min(scores) / STEP) * STEP
        high = max(scores)
        width = STEP * max(1, math.ceil((high - low + 1) / (STEP * MAX_BUCKETS)))
        buckets: list[Bucket] = []
        for start in range(low, high + 1, width):
            end = start + width - 1
            buckets.append(
                Bucket(
                    start,
                    end,
                    _count_in(self.scores_before, start, end),
                    _count_in(self.scores_after, start, end),
                )
            )
        return buckets

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (the ``summary`` of ``plan --json``)."""
        return {
            "contacts_rescored": self.scored,
            "contacts_changing": self.contacts_changing,
            "new_leads": self.new_leads,
            "leads_in_several_crms": self.linked,
            "writes": dict(sorted(self.writes.items())),
            "actions": dict(sorted(self.actions.items())),
            "baselines": dict(sorted(self.baselines.items())),
            "stage_moves": [
                {"from": old, "to": new, "contacts": count}
                for (old, new), count in sorted(self.stage_moves.items())
            ],
            "hot": {"before": self.hot_before, "after": self.hot_after},
            "score_histogram": [
                {"low": b.low, "high": b.high, "before": b.before, "after": b.after}
                for b in self.histogram()
            ],
            "rule_matches": {rule: self.rule_matches.get(rule, 0) for rule in self.rules},
            "unmatched_rules": self.unmatched_rules,
        }


def _count_in(scores: Counter[int], low: int, high: int) -> int:
    return sum(count for score, count in scores.items() if low <= score <= high)
