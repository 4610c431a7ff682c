"""The backtest as tables of translated text, for the terminal, the HTML page and the
CSV files; the same :class:`~crmbridge.report.view.Table` the weekly report uses."""

from __future__ import annotations

from crmbridge.backtest.metrics import ThresholdRow
from crmbridge.backtest.run import Backtest, ModelResult
from crmbridge.i18n import N_, Texts
from crmbridge.report.view import Table

TITLE = N_("Backtest of the scoring model against won and lost deals")
#: Candidate thresholds shown in the terminal and the page (the CSV and JSON have all).
SHOWN_THRESHOLDS = 25


def heading(result: Backtest, t: Texts) -> list[str]:
    """What was measured and on what, with the limits of the replay."""
    lines = [
        t(
            "{leads} leads with a closed deal ({won} won, {lost} lost) from {source}, "
            "closing over {weeks} weeks.",
            leads=t.number(result.leads),
            won=t.number(result.won),
            lost=t.number(result.leads - result.won),
            source=result.source,
            weeks=t.number(round(result.weeks, 1)),
        ),
        t(
            "Each lead is scored as of its deal's close: only events strictly before the "
            "close count ({ignored} later events ignored).",
            ignored=t.number(result.events_after_close),
        ),
    ]
    exact = result.leads - result.current_properties
    if exact:
        lines.append(
            t(
                "Fit rules read the properties {count} leads had just before their close.",
                count=t.number(exact),
            )
        )
    if result.current_properties:
        lines.append(
            t(
                "No property history reaches back to the close for {count} leads: fit "
                "rules read the oldest values the store holds (the current ones where "
                "nothing changed since), which may know more than was known at the close.",
                count=t.number(result.current_properties),
            )
        )
    if result.unmatched:
        lines.append(
            t(
                "{count} outcomes name a lead the store does not hold; left out.",
                count=t.number(result.unmatched),
            )
        )
    if result.refused:
        lines.append(
            t(
                "{count} rows of the file were refused (listed below).",
                count=t.number(result.refused),
            )
        )
    if result.changes:
        changed = ", ".join(f"{name} = {value:g}" for name, value in result.changes)
        lines.append(t("Model B changes: {changes}.", changes=changed))
    return lines


def _rate(value: float | None, t: Texts) -> str:
    return t.percent(value) if value is not None else "—"


def _lift(value: float | None, t: Texts) -> str:
    return "—" if value is None else f"{t.number(round(value, 2))}×"


def summary(result: Backtest, t: Texts) -> Table:
    """Per model: the top decile's lift, precision and recall at the hot threshold and
    the threshold that fits the sales capacity."""
    columns = [
        ("model", t("Model")),
        ("top_decile_lift", t("Top-decile lift")),
        ("hot_threshold", t("Hot threshold")),
        ("hot_precision", t("Precision at hot")),
        ("hot_recall", t("Recall at hot")),
        ("capacity_threshold", t("Threshold for the capacity")),
    ]
    raw: list[list[object]] = []
    shown: list[list[str]] = []
    for model in result.models:
        top = model.deciles[0].lift if model.deciles else None
        fitting = model.capacity.threshold if model.capacity else None
        raw.append(
            [
                model.label,
                None if top is None else round(top, 4),
                model.hot_threshold,
                _round(model.at_hot.precision),
                _round(model.at_hot.recall),
                fitting.threshold if fitting else None,
            ]
        )
        shown.append(
            [
                model.label,
                _lift(top, t),
                t.number(model.hot_threshold),
                _rate(model.at_hot.precision, t),
                _rate(model.at_hot.recall, t),
                _capacity_text(model, t),
            ]
        )
    return Table("summary", t("Summary"), columns, raw, shown)


def _capacity_text(model: ModelResult, t: Texts) -> str:
    if model.capacity is None:
        return "—"
    row = model.capacity.threshold
    if row is None:
        return t("none fits")
    return t(
        "{threshold} ({per_week} a week)",
        threshold=t.number(row.threshold),
        per_week=t.number(round(row.per_week, 1)),
    )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def deciles(model: ModelResult, t: Texts) -> Table:
    """Lift by score decile of one model."""
    columns = [
        ("decile", t("Decile")),
        ("scores", t("Scores")),
        ("leads", t("Leads")),
        ("won", t("Won")),
        ("win_rate", t("Win rate")),
        ("lift", t("Lift")),
        ("cumulative_gain", t("Won found so far")),
    ]
    raw: list[list[object]] = [
        [
            d.decile,
            f"{d.low}–{d.high}",
            d.leads,
            d.won,
            _round(d.win_rate),
            _round(d.lift),
            _round(d.cumulative_gain),
        ]
        for d in model.deciles
    ]
    shown = [
        [
            str(d.decile),
            f"{d.low}–{d.high}",
            t.number(d.leads),
            t.number(d.won),
            _rate(d.win_rate, t),
            _lift(d.lift, t),
            _rate(d.cumulative_gain, t),
        ]
        for d in model.deciles
    ]
    title = t("Lift by score decile — {model}", model=model.label)
    return Table(f"deciles_{_slug(model.label)}", title, columns, raw, shown)


def thresholds(model: ModelResult, t: Texts, limit: int | None = None) -> Table:
    """Precision and recall at every candidate threshold (the highest ``limit`` shown
    when given, the hot threshold's row always among them)."""
    columns = [
        ("threshold", t("Threshold")),
        ("flagged", t("Leads at or above")),
        ("won", t("Won")),
        ("precision", t("Precision")),
        ("recall", t("Recall")),
        ("per_week", t("Leads a week")),
    ]
    rows = _thresholds_shown(model, limit)
    raw: list[list[object]] = [
        [r.threshold, r.flagged, r.won, _round(r.precision), _round(r.recall), round(r.per_week, 2)]
        for r in rows
    ]
    shown = [
        [
            t.number(r.threshold) + (" ★" if r.threshold == model.hot_threshold else ""),
            t.number(r.flagged),
            t.number(r.won),
            _rate(r.precision, t),
            _rate(r.recall, t),
            t.number(round(r.per_week, 1)),
        ]
        for r in rows
    ]
    title = t("Precision and recall by threshold — {model} (★ hot)", model=model.label)
    return Table(f"thresholds_{_slug(model.label)}", title, columns, raw, shown)


def _thresholds_shown(model: ModelResult, limit: int | None) -> list[ThresholdRow]:
    """Every candidate, or ``limit`` of them spread evenly over the range; the hot
    threshold's row and the capacity's are always among them."""
    rows = [r for r in model.thresholds if r.threshold != model.hot_threshold]
    if limit is not None and len(rows) > limit:
        step = (len(rows) - 1) / (limit - 1)
        picked = {round(i * step) for i in range(limit)}
        rows = [r for index, r in enumerate(rows) if index in picked or _fits(model, r)]
    rows.append(model.at_hot)
    return sorted(rows, key=lambda r: r.threshold)


def _fits(model: ModelResult, row: ThresholdRow) -> bool:
    return model.capacity is not None and model.capacity.threshold == row


def problems(result: Backtest, t: Texts) -> Table:
    """The rows of the outcomes file that were refused, with their line."""
    columns = [("line", t("Line")), ("reason", t("Reason"))]
    raw: list[list[object]] = [[p.line, p.reason] for p in result.problems]
    shown = [[str(p.line), p.reason] for p in result.problems]
    return Table("refused_rows", t("Refused rows"), columns, raw, shown)


def tables(result: Backtest, t: Texts, limit: int | None = SHOWN_THRESHOLDS) -> list[Table]:
    """Every table in order: the summary, then per model its deciles and thresholds."""
    shown = [summary(result, t)]
    for model in result.models:
        shown.append(deciles(model, t))
        shown.append(thresholds(model, t, limit))
    if result.problems:
        shown.append(problems(result, t))
    return shown


def _slug(label: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in label.lower())
