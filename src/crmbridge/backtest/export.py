"""The backtest as JSON: every table's raw values and every candidate threshold."""

from __future__ import annotations

from typing import Any

from crmbridge.backtest.run import Backtest
from crmbridge.backtest.view import heading, tables
from crmbridge.i18n import Texts
from crmbridge.report.export import table_records


def backtest_json(result: Backtest, t: Texts) -> dict[str, Any]:
    """The heading lines, the counts and every table by name, thresholds unabridged."""
    return {
        "source": result.source,
        "language": t.language,
        "leads": result.leads,
        "won": result.won,
        "weeks": round(result.weeks, 3),
        "events_after_close_ignored": result.events_after_close,
        "leads_scored_on_current_properties": result.current_properties,
        "unmatched_outcomes": result.unmatched,
        "refused_rows": result.refused,
        "models": [
            {
                "label": model.label,
                "version": model.version,
                "hot_threshold": model.hot_threshold,
                "scores": [
                    {
                        "lead": r.lead,
                        "won": r.won,
                        "closed_at": r.closed_at.isoformat(),
                        "score": r.total,
                        "fit": r.fit,
                        "engagement": r.engagement,
                        "events_used": r.events_used,
                        "events_after_close": r.events_after_close,
                        "current_properties": r.current_properties,
                    }
                    for r in model.replayed
                ],
                "capacity": None
                if model.capacity is None
                else {
                    "reps": model.capacity.reps,
                    "leads_per_rep_per_week": model.capacity.per_rep,
                    "leads_per_week": model.capacity.weekly,
                    "threshold": None
                    if model.capacity.threshold is None
                    else model.capacity.threshold.threshold,
                },
            }
            for model in result.models
        ],
        "notes": heading(result, t),
        "tables": {table.name: table_records(table) for table in tables(result, t, None)},
    }
