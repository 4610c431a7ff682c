"""``crmbridge backtest``: how well the scoring model ranked leads whose deals closed."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.text import Text

from crmbridge.backtest.compare import describe, model_b, read_overrides
from crmbridge.backtest.crm import crm_outcomes
from crmbridge.backtest.demo_history import LEADS, demo_leads
from crmbridge.backtest.export import backtest_json
from crmbridge.backtest.outcomes import Outcome, OutcomeFileError, read_outcomes
from crmbridge.backtest.replay import Lead
from crmbridge.backtest.run import Backtest, SalesCapacity, run_backtest
from crmbridge.backtest.stored import stored_leads
from crmbridge.backtest.view import TITLE, heading, tables
from crmbridge.cli.app import EXIT_INPUT, ConfigOption, app, err, fail, load, out
from crmbridge.cli.language import t
from crmbridge.config import CrmbridgeConfig
from crmbridge.errors import CrmbridgeError
from crmbridge.handoff.business_hours import zone_or_utc
from crmbridge.i18n import N_, Texts
from crmbridge.report.export import write_tables
from crmbridge.report.terminal import grid
from crmbridge.scoring.engine import ScoringEngine
from crmbridge.store.repository import Store
from crmbridge.sync.connectors import build_connectors

#: Largest outcomes file read (a million rows of e-mail, outcome and date fit well in it).
MAX_FILE_BYTES = 200 * 1024 * 1024


@app.command("backtest")
def backtest(
    ctx: typer.Context,
    outcomes: Annotated[
        Path | None,
        typer.Option(
            "--outcomes",
            help="CSV of closed deals: email or crm_id, outcome (won/lost), closed_at.",
        ),
    ] = None,
    from_crm: Annotated[
        bool,
        typer.Option(
            "--from-crm",
            help=(
                "Read closed deals from every enabled CRM: HubSpot deals, Salesforce opportunities."
            ),
        ),
    ] = False,
    demo: Annotated[
        bool,
        typer.Option("--demo", help="Backtest a generated history of leads (no store needed)."),
    ] = False,
    demo_size: Annotated[
        int, typer.Option("--demo-leads", min=10, max=100_000, help="Leads the demo generates.")
    ] = LEADS,
    model_b_file: Annotated[
        Path | None,
        typer.Option("--model-b", help="TOML of changes to compare, e.g. [points] rule = 25."),
    ] = None,
    capacity: Annotated[
        float | None,
        typer.Option("--capacity", min=0.1, max=10_000, help="Leads one rep follows up a week."),
    ] = None,
    reps: Annotated[
        int | None, typer.Option("--reps", min=1, max=10_000, help="Reps following up leads.")
    ] = None,
    html: Annotated[
        Path | None, typer.Option("--html", help="Also write an HTML page with the lift chart.")
    ] = None,
    csv_dir: Annotated[
        Path | None, typer.Option("--csv", help="Also write one CSV file per table here.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
    config: ConfigOption = None,
) -> None:
    """Replay the scoring model as of each closed deal and measure it: lift by score
    decile, precision and recall at the hot threshold and at every candidate, the
    threshold a sales capacity can follow up, and a model B side by side.

    Only events strictly before a deal's close count. Texts follow [bridge] language.

    Example: [bold]crmbridge backtest --demo --capacity 25 --reps 4 --html backtest.html[/]
    """
    settings = load(ctx, config).config
    if (outcomes is not None) + from_crm + demo != 1:
        fail(t(N_("give one source: --outcomes FILE.csv, --from-crm or --demo")))
        raise typer.Exit(EXIT_INPUT)
    if reps is not None and capacity is None:
        fail(t(N_("--reps goes with --capacity (leads one rep follows up a week)")))
        raise typer.Exit(EXIT_INPUT)
    sales = SalesCapacity(reps or 1, capacity) if capacity is not None else None
    texts = Texts(settings.bridge.language, zone_or_utc(settings.bridge.timezone))
    models, changes = _models(settings, model_b_file)
    if demo:
        result = run_backtest(
            texts("generated demo history"),
            list(demo_leads(demo_size)),
            models,
            sales,
            changes=changes,
        )
    elif from_crm:
        result = _from_crm(settings, models, sales, changes)
    else:
        assert outcomes is not None
        result = _from_file(settings, outcomes, models, sales, changes)
    _files(result, texts, csv_dir, html)
    if as_json:
        document = backtest_json(result, texts)
        sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
        return
    out.print(Text(texts(TITLE), style="bold"))
    for line in heading(result, texts):
        out.print(Text(line))
    for table in tables(result, texts):
        out.print(grid(table, texts, empty=texts("No leads.")), highlight=False)


def _models(
    settings: CrmbridgeConfig, source: Path | None
) -> tuple[list[tuple[str, ScoringEngine]], list[tuple[str, float]]]:
    """The configured model, and model B when a file of changes is given."""
    engine = ScoringEngine(settings.scoring, settings.bant, settings.lifecycle)
    if source is None:
        return [("A", engine)], []
    overrides = read_overrides(_text(source), str(source))
    changed = model_b(settings.scoring, overrides, str(source))
    other = ScoringEngine(changed, settings.bant, settings.lifecycle)
    return [("A", engine), ("B", other)], describe(overrides)


def _from_file(
    settings: CrmbridgeConfig,
    path: Path,
    models: list[tuple[str, ScoringEngine]],
    sales: SalesCapacity | None,
    changes: list[tuple[str, float]],
) -> Backtest:
    try:
        parsed = read_outcomes(_text(path))
    except OutcomeFileError as exc:
        fail(f"{path}: {exc}")
        raise typer.Exit(EXIT_INPUT) from None
    leads, unmatched = _stored(settings, parsed.outcomes)
    return run_backtest(
        str(path),
        leads,
        models,
        sales,
        unmatched=unmatched,
        refused=parsed.refused,
        problems=parsed.problems,
        changes=changes,
    )


def _from_crm(
    settings: CrmbridgeConfig,
    models: list[tuple[str, ScoringEngine]],
    sales: SalesCapacity | None,
    changes: list[tuple[str, float]],
) -> Backtest:
    try:
        read = crm_outcomes(build_connectors(settings))
    except CrmbridgeError as exc:
        fail(t(N_("reading closed deals failed: {problem}"), problem=exc))
        raise typer.Exit(EXIT_INPUT) from None
    for name in read.without:
        none_yet = t(N_("{crm}: no closed deals to read yet"), crm=name)
        err.print(f"[yellow]![/] {escape(none_yet)}", highlight=False)
    if not read.outcomes:
        fail(t(N_("no closed deal with a contact was found in the enabled CRMs")))
        raise typer.Exit(EXIT_INPUT)
    leads, unmatched = _stored(settings, read.outcomes)
    return run_backtest(
        ", ".join(sorted({o.crm or "" for o in read.outcomes})),
        leads,
        models,
        sales,
        unmatched=unmatched,
        changes=changes,
    )


def _stored(settings: CrmbridgeConfig, outcomes: list[Outcome]) -> tuple[list[Lead], int]:
    store = Store.open(settings.bridge.database_url)
    try:
        with store.session() as session:
            matched = stored_leads(store, session, outcomes)
    finally:
        store.engine.dispose()
    if not matched.leads:
        fail(
            t(
                N_(
                    "none of the {count} outcomes names a lead the store holds; sync the CRM "
                    "first (crmbridge run --once)"
                ),
                count=len(outcomes),
            )
        )
        raise typer.Exit(EXIT_INPUT)
    return matched.leads, matched.unmatched


def _text(path: Path) -> str:
    """A file's text; an unreadable, oversized or non-UTF-8 file exits 1 with why."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            fail(t(N_("{path}: larger than {size} MB"), path=path, size=MAX_FILE_BYTES // 2**20))
            raise typer.Exit(EXIT_INPUT)
        return path.read_text("utf-8-sig")
    except OSError as exc:
        fail(t(N_("cannot read {path}: {problem}"), path=path, problem=exc.strerror))
        raise typer.Exit(EXIT_INPUT) from None
    except UnicodeDecodeError as exc:
        fail(t(N_("{path}: not UTF-8 text (byte {byte})"), path=path, byte=exc.start))
        raise typer.Exit(EXIT_INPUT) from None


def _files(result: Backtest, texts: Texts, csv_dir: Path | None, html: Path | None) -> None:
    """Write the CSV files and the HTML page asked for."""
    try:
        if csv_dir is not None:
            for path in write_tables(tables(result, texts, None), csv_dir):
                err.print(
                    "[green]✔[/] " + escape(t(N_("wrote {path}"), path=path)), highlight=False
                )
        if html is not None:
            from crmbridge.backtest.html import render_html  # matplotlib only when needed

            html.write_text(render_html(result, texts), "utf-8")
            err.print("[green]✔[/] " + escape(t(N_("wrote {path}"), path=html)), highlight=False)
    except OSError as exc:
        fail(t(N_("cannot write {path}: {problem}"), path=exc.filename, problem=exc.strerror))
        raise typer.Exit(EXIT_INPUT) from None
