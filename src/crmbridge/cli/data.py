"""``db``, ``ingest`` and ``outbox``: the store and what flows into and out of it."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated, BinaryIO

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from crmbridge.cli.app import (
    EXIT_INPUT,
    ConfigOption,
    NowOption,
    app,
    err,
    load,
    now_for,
    out,
)
from crmbridge.cli.flags import FlagGroup
from crmbridge.ingest import Ingestor
from crmbridge.store import outbox
from crmbridge.store.db import current_revision, upgrade
from crmbridge.store.repository import Store

db_app = typer.Typer(
    help="Database schema management.\n\nExample: [bold]crmbridge db upgrade[/]",
    no_args_is_help=True,
    cls=FlagGroup,
)
outbox_app = typer.Typer(
    help="Inspect and retry queued CRM writes.\n\n"
    "Example: [bold]crmbridge outbox list --status dead[/], then "
    "[bold]crmbridge outbox retry[/]",
    no_args_is_help=True,
    cls=FlagGroup,
)
app.add_typer(db_app, name="db")
app.add_typer(outbox_app, name="outbox")

SHOWN_ISSUES = 20


def open_store(ctx: typer.Context, config: Path | None) -> Store:
    """The configured store, migrated to the current schema."""
    return Store.open(load(ctx, config).config.bridge.database_url)


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context, config: ConfigOption = None) -> None:
    """Apply pending schema migrations (the daemon also does this on start).

    Example: [bold]crmbridge db upgrade[/]
    """
    store = Store.open(load(ctx, config).config.bridge.database_url, migrate=False)
    before = current_revision(store.engine)
    upgrade(store.engine)
    after = current_revision(store.engine)
    out.print(f"[green]✔[/] schema at revision {after} (was {before or 'empty'})")


@app.command()
def ingest(
    ctx: typer.Context,
    source: Annotated[
        str, typer.Argument(help="A JSON-lines file of canonical events, or - for stdin.")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable report.")] = False,
    now: NowOption = None,
    config: ConfigOption = None,
) -> None:
    """Store canonical events; bad lines are reported by number and the rest ingested.

    Exit code 1 if any line failed. Events are deduplicated by event_id (or a
    content hash), and matched to contacts by email, case-insensitively.

    Example: [bold]crmbridge ingest events.jsonl[/], or from stdin:
    [bold]cat events.jsonl | crmbridge ingest -[/]
    """
    loaded = load(ctx, config)
    moment = now_for(ctx, now)
    store = Store.open(loaded.config.bridge.database_url, bulk=True)
    ingestor = Ingestor(
        store, loaded.config.ingest.max_future_skew, loaded.config.scoring.custom_events
    )
    started = time.monotonic()
    try:
        stream: BinaryIO = sys.stdin.buffer if source == "-" else Path(source).open("rb")  # noqa: SIM115
    except OSError as exc:
        err.print(f"[red]✘[/] cannot read {source}: {exc.strerror}")
        raise typer.Exit(EXIT_INPUT) from None
    with (
        stream,
        Progress(
            SpinnerColumn(),
            TextColumn("ingesting [bold]{task.completed:,.0f}[/] lines"),
            TimeElapsedColumn(),
            console=err,
            transient=True,
            disable=as_json or not err.is_terminal,
        ) as progress,
    ):
        task = progress.add_task("ingest", total=None)
        report = ingestor.ingest_stream(stream, moment, lambda n: progress.advance(task, n))
    seconds = time.monotonic() - started
    if as_json:
        sys.stdout.write(json.dumps({**report.as_dict(), "seconds": round(seconds, 3)}) + "\n")
    else:
        for issue in report.issues[:SHOWN_ISSUES]:
            colour = "red" if issue.severity == "error" else "yellow"
            where = "stdin" if source == "-" else source
            err.print(f"[{colour}]{issue.severity}[/] {where} {issue}", highlight=False)
        hidden = (
            len(report.issues)
            - SHOWN_ISSUES
            + (report.failed + report.warnings - len(report.issues))
        )
        if hidden > 0:
            err.print(f"… and {hidden} more (use --json for all kept issues)")
        rate = report.lines / seconds if seconds else 0
        out.print(
            f"[green]✔[/] {report.ingested:,} events ingested, {report.duplicates:,} duplicates, "
            f"[{'red' if report.failed else 'green'}]{report.failed:,} failed[/], "
            f"{report.warnings:,} warnings — {report.lines:,} lines in {seconds:.1f} s "
            f"({rate:,.0f} lines/s)",
            highlight=False,
        )
        if report.unknown_types:
            kinds = ", ".join(f"{k} ({v})" for k, v in report.unknown_types.most_common(5))
            out.print(f"[yellow]![/] stored event types no rule uses: {kinds}")
    if report.failed:
        raise typer.Exit(EXIT_INPUT)


@outbox_app.command("list")
def outbox_list(
    ctx: typer.Context,
    status: Annotated[
        list[str] | None,
        typer.Option("--status", "-s", help="pending, in_flight, done, failed, dead (repeatable)."),
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many rows.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    config: ConfigOption = None,
) -> None:
    """Show queued CRM writes; by default the ones that need attention (failed, dead).

    Example: [bold]crmbridge outbox list --status dead[/]
    """
    wanted = status or ["failed", "dead"]
    unknown = [s for s in wanted if s not in outbox.STATUSES]
    if unknown:
        err.print(
            f"[red]✘[/] unknown status {unknown[0]!r}; use one of {', '.join(outbox.STATUSES)}"
        )
        raise typer.Exit(EXIT_INPUT)
    store = open_store(ctx, config)
    with store.session() as session:
        rows = outbox.list_rows(session, wanted, limit)
        counts = outbox.depth(session)
    if as_json:
        payload = [
            {
                "id": r.id,
                "connector": r.connector,
                "crm_id": r.crm_id,
                "kind": r.kind,
                "target": r.target,
                "value": (r.value or {}).get("value"),
                "status": r.status,
                "attempts": r.attempts,
                "next_attempt_at": r.next_attempt_at.isoformat() if r.next_attempt_at else None,
                "last_error": r.last_error,
            }
            for r in rows
        ]
        sys.stdout.write(json.dumps({"counts": counts, "rows": payload}, indent=2) + "\n")
        return
    table = Table(title=f"Outbox ({', '.join(wanted)})", title_justify="left")
    for column in ("id", "CRM", "record", "property", "value", "status", "tries", "last error"):
        table.add_column(column, overflow="fold")
    for r in rows:
        table.add_row(
            str(r.id),
            r.connector,
            r.crm_id,
            r.target,
            str((r.value or {}).get("value"))[:40],
            r.status,
            str(r.attempts),
            (r.last_error or "")[:80],
        )
    out.print(table)
    totals = ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items()))
    out.print(f"by status: {totals or 'the outbox is empty'}")


@outbox_app.command("retry")
def outbox_retry(
    ctx: typer.Context,
    ids: Annotated[
        list[int] | None, typer.Argument(help="Row ids (default: every dead/failed row).")
    ] = None,
    now: NowOption = None,
    config: ConfigOption = None,
) -> None:
    """Queue dead or failed writes again, now, with a fresh attempt budget.

    Example: [bold]crmbridge outbox retry 17 18[/]  or  [bold]crmbridge outbox retry[/]
    """
    store = open_store(ctx, config)
    with store.session() as session:
        count = outbox.retry_dead(session, ids or None, now_for(ctx, now))
    out.print(f"[green]✔[/] {count} write(s) queued again; the next cycle sends them")
