"""One backtest: every model replayed over the same leads and measured the same way."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from crmbridge.backtest import metrics
from crmbridge.backtest.outcomes import RowProblem
from crmbridge.backtest.replay import Lead, Replayed, replay
from crmbridge.scoring.engine import ScoringEngine


@dataclass(frozen=True, slots=True)
class ModelResult:
    """One model's scores as of the closes and what they measure."""

    label: str
    version: str
    hot_threshold: float
    replayed: list[Replayed]
    deciles: list[metrics.Decile]
    thresholds: list[metrics.ThresholdRow]
    at_hot: metrics.ThresholdRow
    capacity: metrics.Capacity | None


@dataclass(frozen=True, slots=True)
class Backtest:
    """The models side by side and what the input held."""

    source: str
    models: list[ModelResult]
    leads: int
    won: int
    weeks: float
    events_after_close: int
    current_properties: int
    unmatched: int = 0
    refused: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    changes: list[tuple[str, float]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class SalesCapacity:
    """Reps and the leads each follows up a week."""

    reps: int
    per_rep: float


def measure(
    label: str,
    engine: ScoringEngine,
    leads: Sequence[Lead],
    weeks: float,
    sales: SalesCapacity | None,
) -> ModelResult:
    """Replay ``leads`` with ``engine`` and compute every metric."""
    scored = replay(engine, leads)
    scores = [r.total for r in scored]
    won = [r.won for r in scored]
    rows = metrics.thresholds(scores, won, weeks)
    hot = engine.scoring.hot_threshold
    return ModelResult(
        label=label,
        version=engine.version,
        hot_threshold=hot,
        replayed=scored,
        deciles=metrics.deciles(scores, won),
        thresholds=rows,
        at_hot=metrics.at_threshold(scores, won, hot, weeks),
        capacity=(
            metrics.capacity(rows, sales.reps, sales.per_rep, weeks) if sales is not None else None
        ),
    )


def run_backtest(
    source: str,
    leads: Sequence[Lead],
    models: Sequence[tuple[str, ScoringEngine]],
    sales: SalesCapacity | None = None,
    *,
    unmatched: int = 0,
    refused: int = 0,
    problems: Sequence[RowProblem] = (),
    changes: Sequence[tuple[str, float]] = (),
) -> Backtest:
    """Measure every model over ``leads``; the rest is the input's bookkeeping: outcomes
    whose lead the store lacks, rows refused (the first ones listed), model B's changes."""
    weeks = metrics.weeks_spanned([lead.outcome.closed_at for lead in leads])
    results = [measure(label, engine, leads, weeks, sales) for label, engine in models]
    first = results[0].replayed if results else []
    return Backtest(
        source=source,
        models=results,
        leads=len(leads),
        won=sum(1 for lead in leads if lead.outcome.won),
        weeks=weeks,
        events_after_close=sum(r.events_after_close for r in first),
        current_properties=sum(1 for r in first if r.current_properties),
        unmatched=unmatched,
        refused=refused,
        problems=list(problems),
        changes=list(changes),
    )
