"""``db``, ``ingest`` and ``outbox``: the store and what flows into and out of it."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated, BinaryIO

import typer
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

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
from crmbridge.cli.flags import FlagGroup
from crmbridge.cli.language import number, plural, t
from crmbridge.i18n import N_
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


#: The columns of ``outbox list``.
OUTBOX_COLUMNS = (
    N_("id"),
    N_("CRM"),
    N_("record"),
    N_("property"),
    N_("value"),
    N_("status"),
    N_("tries"),
    N_("last error"),
)


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context, config: ConfigOption = None) -> None:
    """Apply pending schema migrations (the daemon also does this on start).

    Example: [bold]crmbridge db upgrade[/]
    """
    store = Store.open(load(ctx, config).config.bridge.database_url, migrate=False)
    before = current_revision(store.engine)
    upgrade(store.engine)
    after = current_revision(store.engine)
    at = t(
        N_("schema at revision {after} (was {before})"),
        after=after,
        before=before or t(N_("empty")),
    )
    out.print(f"[green]✔[/] {escape(at)}", highlight=False)


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
        fail(t(N_("cannot read {path}: {problem}"), path=source, problem=exc.strerror))
        raise typer.Exit(EXIT_INPUT) from None
    with (
        stream,
        Progress(
            SpinnerColumn(),
            TextColumn(
                escape(t(N_("ingesting {count} lines"))).replace(
                    "{count}", "[bold]{task.completed:,.0f}[/]"
                )
            ),
            TimeElapsedColumn(),
            console=err,
            transient=True,
            disable=as_json or not err.is_terminal,
        ) as progress,
    ):
        task = progress.add_task("ingest", total=None)  # untranslated: a task id, not shown
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
            more = t(
                N_("… and {count} more (use --json for all kept issues)"), count=number(hidden)
            )
            err.print(escape(more), highlight=False)
        rate = report.lines / seconds if seconds else 0
        failed = escape(t(N_("{count} failed"), count=number(report.failed)))
        colour = "red" if report.failed else "green"
        ingested = t(
            N_(
                "{ingested} events ingested, {duplicates} duplicates, {failed}, {warnings} "
                "warnings — {lines} lines in {seconds} s ({rate} lines/s)"
            ),
            ingested=number(report.ingested),
            duplicates=number(report.duplicates),
            failed="\0",
            warnings=number(report.warnings),
            lines=number(report.lines),
            seconds=number(round(seconds, 1)),
            rate=number(round(rate)),
        )
        shown = escape(ingested).replace("\0", f"[{colour}]{failed}[/]")
        out.print(f"[green]✔[/] {shown}", highlight=False)
        if report.unknown_types:
            kinds = ", ".join(f"{k} ({v})" for k, v in report.unknown_types.most_common(5))
            unused = t(N_("stored event types no rule uses: {kinds}"), kinds=kinds)
            out.print(f"[yellow]![/] {escape(unused)}", highlight=False)
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
        fail(
            t(
                N_("unknown status {status}; use one of {statuses}"),
                status=repr(unknown[0]),
                statuses=", ".join(outbox.STATUSES),
            )
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
    title = t(N_("Outbox ({statuses})"), statuses=", ".join(wanted))
    table = Table(title=escape(title), title_justify="left")
    for column in OUTBOX_COLUMNS:
        table.add_column(t(column), overflow="fold")
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
    totals = ", ".join(f"{k} {number(v)}" for k, v in sorted(counts.items()))
    by_status = t(N_("by status: {totals}"), totals=totals or t(N_("the outbox is empty")))
    out.print(escape(by_status), highlight=False)


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
    again = plural(
        "{count} write queued again; the next cycle sends it",
        "{count} writes queued again; the next cycle sends them",
        count,
    )
    out.print(f"[green]✔[/] {escape(again)}", highlight=False)
