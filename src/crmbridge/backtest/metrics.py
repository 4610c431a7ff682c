"""How well scores ranked the winners: lift by decile, precision and recall per
threshold, and the threshold a sales team's capacity can follow up.

Pure arithmetic over ``(score, won)`` pairs. Definitions:

- **Deciles.** Leads sorted by score, highest first (ties in input order), cut into ten
  groups whose sizes differ by at most one (the first groups take the remainder).
  A decile's *win rate* is its won leads over its leads; its *lift* is that rate over
  the win rate of all leads (1.0: no better than picking at random); *cumulative
  gain* is the share of all won leads found in this decile and those above it.
- **Thresholds.** A threshold flags the leads scoring at or above it. *Precision*:
  won among flagged; *recall*: flagged among won. Candidates are every distinct score.
- **Capacity.** Reps × leads per rep per week is what sales can follow up a week.
  Flagged leads per week are the flagged leads over the weeks the outcomes span
  (first to last close, at least one week). The capacity threshold is the lowest
  candidate whose flagged leads per week fit in the capacity.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

DECILES = 10
_WEEK = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class Decile:
    """One tenth of the leads by score (1: the highest scores)."""

    decile: int
    leads: int
    won: int
    low: int
    high: int
    win_rate: float
    lift: float | None
    cumulative_gain: float | None


@dataclass(frozen=True, slots=True)
class ThresholdRow:
    """The leads a threshold flags and how many of them won."""

    threshold: float
    flagged: int
    won: int
    precision: float | None
    recall: float | None
    per_week: float


@dataclass(frozen=True, slots=True)
class Capacity:
    """What sales can follow up and the threshold that fits it (``None``: even the
    highest score flags more leads a week than the capacity)."""

    reps: int
    per_rep: float
    weekly: float
    weeks: float
    threshold: ThresholdRow | None


def base_rate(won: Sequence[bool]) -> float | None:
    """Won leads over all leads; ``None`` without leads."""
    return sum(won) / len(won) if won else None


def deciles(scores: Sequence[int], won: Sequence[bool]) -> list[Decile]:
    """The ten deciles (fewer when there are fewer than ten leads)."""
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    total_won = sum(won)
    rate = base_rate(won)
    groups = min(DECILES, len(order))
    rows: list[Decile] = []
    start = 0
    found = 0
    for index in range(groups):
        size = len(order) // groups + (1 if index < len(order) % groups else 0)
        members = order[start : start + size]
        start += size
        hits = sum(1 for i in members if won[i])
        found += hits
        win_rate = hits / size
        rows.append(
            Decile(
                decile=index + 1,
                leads=size,
                won=hits,
                low=min(scores[i] for i in members),
                high=max(scores[i] for i in members),
                win_rate=win_rate,
                lift=win_rate / rate if rate else None,
                cumulative_gain=found / total_won if total_won else None,
            )
        )
    return rows


def weeks_spanned(closed: Sequence[datetime]) -> float:
    """Weeks from the first close to the last, at least one."""
    if not closed:
        return 1.0
    return max(1.0, (max(closed) - min(closed)) / _WEEK)


def thresholds(scores: Sequence[int], won: Sequence[bool], weeks: float) -> list[ThresholdRow]:
    """One row per distinct score, lowest first; linear after one sort."""
    total_won = sum(won)
    pairs = sorted(zip(scores, won, strict=True), key=lambda p: -p[0])
    rows: list[ThresholdRow] = []
    flagged = hits = 0
    index = 0
    while index < len(pairs):
        value = pairs[index][0]
        while index < len(pairs) and pairs[index][0] == value:
            flagged += 1
            hits += pairs[index][1]
            index += 1
        rows.append(_row(value, flagged, hits, total_won, weeks))
    rows.reverse()
    return rows


def at_threshold(
    scores: Sequence[int], won: Sequence[bool], threshold: float, weeks: float
) -> ThresholdRow:
    """The row of one threshold, whether or not a lead scored exactly it."""
    flagged = sum(1 for s in scores if s >= threshold)
    hits = sum(1 for s, w in zip(scores, won, strict=True) if w and s >= threshold)
    return _row(threshold, flagged, hits, sum(won), weeks)


def _row(threshold: float, flagged: int, hits: int, total_won: int, weeks: float) -> ThresholdRow:
    return ThresholdRow(
        threshold=threshold,
        flagged=flagged,
        won=hits,
        precision=hits / flagged if flagged else None,
        recall=hits / total_won if total_won else None,
        per_week=flagged / weeks,
    )


def capacity(rows: Sequence[ThresholdRow], reps: int, per_rep: float, weeks: float) -> Capacity:
    """The lowest threshold among ``rows`` whose flagged leads a week fit the capacity."""
    weekly = reps * per_rep
    fitting = [row for row in rows if row.per_week <= weekly]
    best = min(fitting, key=lambda row: row.threshold) if fitting else None
    return Capacity(reps=reps, per_rep=per_rep, weekly=weekly, weeks=weeks, threshold=best)
