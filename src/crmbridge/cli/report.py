"""``crmbridge report``: the weekly marketing–sales review from the store."""

from __future__ import annotations

import json
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.markup import escape

from crmbridge.cli.app import (
    EXIT_INPUT,
    ConfigOption,
    NowOption,
    app,
    err,
    fail,
    load,
    now_for,
    out,
)
from crmbridge.cli.language import t
from crmbridge.handoff.business_hours import zone_or_utc
from crmbridge.i18n import N_, Texts
from crmbridge.report.collect import COHORT_DAYS, Report, build_report
from crmbridge.report.export import report_json, write_csv
from crmbridge.report.periods import Period, day_range, iso_week, last_full_week
from crmbridge.report.terminal import renderables
from crmbridge.store.repository import Store


@app.command("report")
def report(
    ctx: typer.Context,
    week: Annotated[
        str | None,
        typer.Option("--week", help="ISO week, e.g. 2026-W47 (default: last full week)."),
    ] = None,
    first: Annotated[
        str | None, typer.Option("--from", help="First day (YYYY-MM-DD), with --to.")
    ] = None,
    last: Annotated[str | None, typer.Option("--to", help="Last day, included.")] = None,
    html: Annotated[
        Path | None, typer.Option("--html", help="Also write a self-contained HTML page.")
    ] = None,
    csv_dir: Annotated[
        Path | None, typer.Option("--csv", help="Also write one CSV file per table here.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
    cohort_days: Annotated[
        int, typer.Option("--cohort-days", min=1, max=365, help="Days an MQL has to reach SQL.")
    ] = COHORT_DAYS,
    config: ConfigOption = None,
    now: NowOption = None,
) -> None:
    """The weekly marketing–sales review: leads, MQLs, SQLs, conversion, time to
    first contact against the SLA, breaches by owner, feedback, objections, funnel
    and trend, each with the change from the period before.

    Language and time zone come from [bridge] language and timezone.

    Example: [bold]crmbridge report --week 2026-W47 --html week47.html[/]
    """
    settings = load(ctx, config).config
    moment = now_for(ctx, now)
    zone = zone_or_utc(settings.bridge.timezone)
    period = _period(week, first, last, zone, moment)
    texts = Texts(settings.bridge.language, zone)
    store = Store.open(settings.bridge.database_url)
    try:
        with store.session() as session:
            result = build_report(session, settings, period, moment, cohort_days=cohort_days)
    finally:
        store.engine.dispose()
    try:
        _files(result, texts, csv_dir, html)
    except OSError as exc:
        fail(texts(N_("cannot write {path}: {problem}"), path=exc.filename, problem=exc.strerror))
        raise typer.Exit(EXIT_INPUT) from None
    if as_json:
        document = report_json(result, texts)
        sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
        return
    _print(result, texts)


def _files(result: Report, texts: Texts, csv_dir: Path | None, html: Path | None) -> None:
    """Write the CSV files and the HTML page asked for."""
    if csv_dir is not None:
        for path in write_csv(result, texts, csv_dir):
            err.print(
                "[green]✔[/] " + escape(texts(N_("wrote {path}"), path=path)), highlight=False
            )
    if html is not None:
        from crmbridge.report.html import render_html  # matplotlib loads only when needed

        html.write_text(render_html(result, texts), "utf-8")
        err.print("[green]✔[/] " + escape(texts(N_("wrote {path}"), path=html)), highlight=False)


def _period(
    week: str | None, first: str | None, last: str | None, zone: ZoneInfo, moment: datetime
) -> Period:
    """The period the options name; a bad option exits 1 with the reason."""
    try:
        if week is not None:
            if first or last:
                raise ValueError(t(N_("give --week or --from/--to, not both")))
            return iso_week(week, zone)
        if first or last:
            if not (first and last):
                raise ValueError(t(N_("--from and --to go together")))
            return day_range(date.fromisoformat(first), date.fromisoformat(last), zone)
    except ValueError as exc:
        fail(str(exc))
        raise typer.Exit(EXIT_INPUT) from None
    return last_full_week(moment, zone)


def _print(result: Report, texts: Texts) -> None:
    for renderable in renderables(result, texts):
        out.print(renderable, highlight=False)
