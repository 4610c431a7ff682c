"""``plan``: a dry run of the next cycle — its summary, then every write and action."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from crmbridge.cli.app import (
    EXIT_CONFIG,
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
from crmbridge.cli.cycle_progress import cycle_progress
from crmbridge.cli.language import number, t
from crmbridge.cli.plan_render import (
    change_dict,
    print_changes,
    print_summary,
    queued_dict,
    write_csv,
)
from crmbridge.cli.sync import HELD_HELP, configure, held_lines
from crmbridge.config import LoadedConfig
from crmbridge.connector import Connector
from crmbridge.errors import ConfigError
from crmbridge.i18n import N_
from crmbridge.report.collect import owner_names
from crmbridge.store import outbox
from crmbridge.store.repository import Store
from crmbridge.sync.connectors import build_connectors
from crmbridge.sync.pipeline import Pipeline
from crmbridge.sync.read_ahead import ReadAhead, read_unsynced

#: Rows printed by default: a screenful; the summary above them is always complete.
DEFAULT_LIMIT = 50
#: Queued outbox rows listed at most.
QUEUED_SHOWN = 10_000
#: A CRM failed to answer (a first-sync read, the owners): the plan is printed as far
#: as it goes, and the exit code is 1, as ``run --once`` exits when anything failed.
EXIT_CRM_FAILED = EXIT_INPUT


@app.command()
def plan(
    ctx: typer.Context,
    as_json: Annotated[
        bool, typer.Option("--json", help="Machine-readable: the summary and every row.")
    ] = False,
    csv_target: Annotated[
        Path | None,
        typer.Option(
            "--csv",
            metavar="FILE|DIR",
            help="Also write every planned write and action to a CSV file (one row "
            "each; in a folder: crmbridge-plan.csv).",
        ),
    ] = None,
    limit: Annotated[
        int,
        typer.Option("--limit", min=0, help="Rows printed at most (0: all)."),
    ] = DEFAULT_LIMIT,
    offline: Annotated[
        bool,
        typer.Option(
            "--offline",
            help="Read nothing from the CRMs: the store only (no owners, no first-sync read).",
        ),
    ] = False,
    now: NowOption = None,
    config: ConfigOption = None,
) -> None:
    """Dry run: what the next cycle would write to the CRM and do, with a summary.

    The summary: contacts changing, writes per property, the stage moves, hot
    leads and the score distribution before → after, and how many leads each
    scoring rule matches. Then every property write (old → new) and hand-off
    action, including a model change's rescore and a hand-off step just turned on.

    The owners assignment would choose are read from the CRM. A CRM no cycle has
    read yet is read now (read only: the next cycle still reads it from the
    start), so the first sync can be previewed. Nothing is written to any CRM.
    When a CRM fails to answer, the plan shows what it could and the exit code is
    1.

    Example: [bold]crmbridge plan[/]  or  [bold]crmbridge plan --json[/]
    """
    loaded = load(ctx, config)
    problems: list[str] = []
    connectors = {} if offline else _connectors(ctx, loaded, problems)
    store = Store.open(loaded.config.bridge.database_url)
    pipeline = Pipeline(store, loaded.config, connectors)
    try:
        with cycle_progress(err, enabled=not as_json and err.is_terminal) as progress:
            read = read_unsynced(pipeline, progress)
    except ConfigError as exc:
        fail(str(exc))
        raise typer.Exit(EXIT_CONFIG) from None
    forecast = pipeline.forecast(now_for(ctx, now))
    with store.session() as session:
        queued = outbox.list_rows(session, list(outbox.RETRYABLE), QUEUED_SHOWN)
    held = store.held_counts()
    problems += [
        t(N_("{crm}: not read: {problem}"), crm=r.connector, problem=r.problem)
        for r in read
        if r.problem
    ]
    problems += [
        t(N_("{crm}: owners not read ({why}): assignment would wait"), crm=name, why=why)
        for name, why in forecast.owners_unavailable.items()
    ]
    if csv_target is not None:
        try:
            written = write_csv(csv_target, forecast.changes, queued)
        except OSError as exc:
            fail(
                t(
                    N_("--csv {path}: cannot write it: {problem}"),
                    path=csv_target,
                    problem=exc.strerror or exc,
                )
            )
            raise typer.Exit(EXIT_INPUT) from None
        if not as_json:
            rows = t(N_("{count} rows → {path}"), count=number(len(forecast.changes)), path=written)
            err.print(f"[green]✔[/] {escape(rows)}", highlight=False)
    if as_json:
        payload: dict[str, Any] = {
            "summary": forecast.summary.as_dict(),
            "read_ahead": [_read_dict(r) for r in read],
            "problems": problems,
            "held": {name: {"contacts": n, "reason": HELD_HELP} for name, n in held.items()},
            "held_found": forecast.held,
            "changes": [change_dict(c) for c in forecast.changes],
            "queued": [queued_dict(r) for r in queued],
        }
        sys.stdout.write(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    else:
        for item in read:
            if not item.problem:
                first = t(
                    N_(
                        "{crm}: never synced: read {count} contacts to preview the first "
                        "sync (the next cycle reads them again)"
                    ),
                    crm=item.connector,
                    count=number(item.contacts),
                )
                err.print(f"[blue]i[/] {escape(first)}", highlight=False)
        print_summary(out, forecast.summary)
        owners = (loaded.config.assignment.owner_property, owner_names(loaded.config))
        left = print_changes(out, forecast.changes, limit, owners)
        if left:
            more = t(
                N_("… {count} more rows (--limit 0 shows all; --json and --csv list every one)"),
                count=number(left),
            )
            out.print(escape(more), highlight=False)
        queued_text = t(N_("{count} writes already queued."), count=number(len(queued)))
        out.print(escape(queued_text), highlight=False)
        for line in held_lines(held):
            err.print(f"[yellow]![/] {line}", highlight=False)
        if forecast.held:
            held_text = t(
                N_("{count} more contacts would be held: {why}"),
                count=number(forecast.held),
                why=t(HELD_HELP),
            )
            err.print(f"[yellow]![/] {escape(held_text)}", highlight=False)
    for problem in problems:
        err.print(f"[yellow]![/] {escape(problem)}", highlight=False)
    if any(r.failed for r in read) or forecast.owners_unavailable:
        raise typer.Exit(EXIT_CRM_FAILED)


def _connectors(
    ctx: typer.Context, loaded: LoadedConfig, problems: list[str]
) -> dict[str, Connector]:
    """The enabled connectors, or none (and why, in ``problems``) when their settings
    are incomplete: the plan then shows what the store holds."""
    configure(ctx, loaded)
    try:
        return build_connectors(loaded.config)
    except ConfigError as exc:
        problems.append(
            t(N_("the CRMs are not read (the plan shows the store only): {problem}"), problem=exc)
        )
        return {}


def _read_dict(item: ReadAhead) -> dict[str, Any]:
    return {
        "connector": item.connector,
        "contacts": item.contacts,
        "api_calls": item.api_calls,
        "problem": item.problem or None,
    }
