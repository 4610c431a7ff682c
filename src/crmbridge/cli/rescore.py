"""``rescore``: rescore contacts now (after a model edit, or a chosen few), or preview it."""

from __future__ import annotations

import json
import sys
from collections import Counter
from typing import Annotated

import typer
from rich.markup import escape
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
from crmbridge.cli.language import number, t
from crmbridge.cli.plan_render import print_summary
from crmbridge.cli.sync import connect, once_guarded, prepared, refuse_example
from crmbridge.i18n import N_
from crmbridge.store.repository import Store
from crmbridge.store.selection import (
    FIELDS,
    Selection,
    everyone,
    mark_dirty,
    outdated,
    parse_where,
)
from crmbridge.sync.pipeline import Forecast, Pipeline

WHERE_HELP = (
    "Only the contacts matching FIELD OP VALUE (repeat to combine; all must match). "
    f"Fields: {', '.join(FIELDS)}. Operators: = != >= <= > < and ~ (contains, any case). "
    "Examples: stage=mql, score>=50, hot=true, email~@acme.es."
)
#: Old → new pairs shown per property in a dry run.
TOP_MOVES = 5

#: The rows of the rescore table: each count's label.
COUNT_LABELS = {
    "marked": N_("marked"),
    "scored": N_("scored"),
    "changed": N_("changed"),
    "written": N_("written"),
    "actions": N_("actions"),
    "failed": N_("failed"),
}


@app.command("rescore")
def rescore_command(
    ctx: typer.Context,
    every: Annotated[bool, typer.Option("--all", help="Every contact.")] = False,
    where: Annotated[list[str] | None, typer.Option("--where", help=WHERE_HELP)] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Report what would change; write nothing.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    now: NowOption = None,
    config: ConfigOption = None,
) -> None:
    """Rescore contacts now and write what changed: by default those scored with
    another model version than the configuration's (a model edit), or every
    contact (--all), or those matching --where.

    Without --dry-run it flags the contacts and runs one cycle, like
    [bold]crmbridge run --once[/] (the daemon does the same on start after a model edit).
    Only contacts whose written values change are written. --dry-run shows the
    summary [bold]crmbridge plan[/] shows (for the contacts chosen), then the
    commonest old → new values of each property.

    Example: [bold]crmbridge rescore --where stage=mql --dry-run[/]
    """
    loaded = load(ctx, config)
    if every and where:
        fail(t(N_("--all and --where choose the contacts two ways: give one of them")))
        raise typer.Exit(EXIT_INPUT)
    store = Store.open(loaded.config.bridge.database_url)
    pipeline = Pipeline(store, loaded.config, {})
    try:
        chosen: Selection = (
            everyone()
            if every
            else parse_where(where)
            if where
            else outdated(pipeline.engine.version)
        )
    except ValueError as exc:
        fail(f"--where {exc}")  # untranslated: the selection parser's message
        raise typer.Exit(EXIT_INPUT) from None
    moment = now_for(ctx, now)
    if dry_run:
        _report(pipeline.forecast(moment, chosen), as_json)
        return
    refuse_example(loaded)
    pipeline = prepared(store, loaded.config, connect(ctx, loaded))
    marked = mark_dirty(store, chosen)
    summary = once_guarded(pipeline, store, loaded.config, moment)
    counts = {
        "marked": marked,
        **{k: getattr(summary, k) for k in ("scored", "changed", "written", "actions", "failed")},
    }
    if as_json:
        sys.stdout.write(json.dumps({**counts, "errors": summary.errors}, indent=2) + "\n")
    else:
        table = Table(title=t(N_("Rescore")), title_justify="left", show_header=False)
        for name, value in counts.items():
            table.add_row(t(COUNT_LABELS[name]), number(value))
        out.print(table)
        for message in summary.errors[:20]:
            err.print(f"[red]✘[/] {message}", highlight=False)
    if not summary.ok:
        raise typer.Exit(EXIT_INPUT)


def _report(forecast: Forecast, as_json: bool) -> None:
    """What a rescore would change: ``plan``'s summary (contacts, writes and actions,
    stage moves, hot leads, scores, rules), then each property's commonest old → new."""
    summary = forecast.summary
    per_property: dict[str, Counter[tuple[str | None, str]]] = {}
    for change in forecast.changes:
        per_property.setdefault(change.name, Counter())[(change.old, change.new)] += 1
    if as_json:
        payload = {
            "scored": summary.scored,
            "changed": summary.contacts_changing,
            "held": forecast.held,
            "failed": forecast.failed,
            "writes": {name: sum(moves.values()) for name, moves in per_property.items()},
            "moves": {
                name: [
                    {"old": old, "new": new, "contacts": n}
                    for (old, new), n in moves.most_common(TOP_MOVES)
                ]
                for name, moves in per_property.items()
            },
            "summary": summary.as_dict(),
        }
        sys.stdout.write(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
        return
    print_summary(out, summary, N_("Rescore (dry run)"))
    table = Table(title=t(N_("Commonest old → new")), title_justify="left")
    table.add_column(t(N_("Property / action")))
    table.add_column(t(N_("Old → new (contacts)")), overflow="fold")
    for name, moves in sorted(per_property.items()):
        common = "; ".join(
            f"{old or '∅'} → {new} ({number(n)})" for (old, new), n in moves.most_common(TOP_MOVES)
        )
        table.add_row(escape(name), escape(common))
    if per_property:
        out.print(table)
    failed = t(N_("{count} failed to score. Nothing was written."), count=number(forecast.failed))
    out.print(escape(failed), highlight=False)
