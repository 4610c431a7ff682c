"""``plan`` and ``run``: a dry run and a real cycle of the pipeline."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

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
    state,
)
from crmbridge.cli.crm_links import check_crm_links
from crmbridge.cli.cycle_progress import cycle_progress
from crmbridge.cli.language import active, number, t
from crmbridge.cli.rule_properties import company_property_warnings, missing_property_warnings
from crmbridge.cli.safety import example_refusal, remote_crms_on_example
from crmbridge.config import CrmbridgeConfig, LoadedConfig, secret_values
from crmbridge.connector import Connector, company_reader, company_writer
from crmbridge.errors import ConfigError, CrmbridgeError
from crmbridge.handoff.enrichers import build_enricher
from crmbridge.i18n import N_
from crmbridge.logging import configure_logging
from crmbridge.store.identity import bind_account
from crmbridge.store.locks import SqliteGuard, singleton
from crmbridge.store.repository import Store
from crmbridge.sync.account_score import account_field
from crmbridge.sync.adopt import AdoptionReport, adopt
from crmbridge.sync.connectors import build_connectors
from crmbridge.sync.pipeline import CycleSummary, Pipeline
from crmbridge.sync.progress import Progress
from crmbridge.sync.property_map import PropertyMap
from crmbridge.sync.writeback import own_fields

HELD_HELP = N_(
    "their crmbridge values were written by another crmbridge store (a deleted or "
    "replaced database, a restored backup, or a second working directory; values "
    "without a crmbridge_store mark come from a release before marks); nothing is "
    "written for them until you adopt them: crmbridge adopt (or run --once --adopt)"
)

#: The rows of ``run --once``'s cycle table: the summary's field and its label.
CYCLE_ROWS = (
    ("read", N_("read")),
    ("stored", N_("stored")),
    ("scored", N_("scored")),
    ("changed", N_("changed")),
    ("written", N_("written")),
    ("actions", N_("actions")),
    ("failed", N_("failed")),
    ("api_calls", N_("api calls")),
)


def held_lines(held: dict[str, int]) -> list[str]:
    """A line per connector holding contacts another store wrote."""
    return [
        t(N_("{crm}: {count} contacts held: {why}"), crm=name, count=number(n), why=t(HELD_HELP))
        for name, n in held.items()
    ]


def refuse_example(loaded: LoadedConfig) -> None:
    """Exit 2 when the bundled example would write into a CRM other than the sandbox."""
    crms = remote_crms_on_example(loaded)
    if crms:
        fail(example_refusal(crms, loaded.source))
        raise typer.Exit(EXIT_CONFIG)


def _print_adoption(report: AdoptionReport) -> None:
    for line in report.lines():
        mark = "[yellow]![/]" if line.startswith("not recovered") else "[green]✔[/]"
        err.print(f"{mark} {line}", highlight=False)


@app.command()
def run(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option("--once", help="One full cycle, then exit.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable summary.")] = False,
    adopt_held: Annotated[
        bool,
        typer.Option(
            "--adopt",
            help="With --once: take over the contacts another crmbridge store wrote "
            "(see crmbridge adopt).",
        ),
    ] = False,
    now: NowOption = None,
    config: ConfigOption = None,
) -> None:
    """Run the daemon: poll the CRMs, serve webhooks and events, write back scores.

    Start-up validates the config, migrates the database and checks every
    connector; it refuses to start with a clear message when something is wrong.

    With --once: one full cycle, a summary, exit code 1 if anything failed
    (see [bold]crmbridge outbox list[/]). On a terminal a progress bar on stderr counts
    contacts read, scored and written and outbox rows sent, with the time left;
    piped output and --json carry no progress bar.

    Example: [bold]crmbridge run[/]  or  [bold]crmbridge run --once --json[/]
    """
    loaded = load(ctx, config)
    refuse_example(loaded)
    if adopt_held and not once:
        fail(t(N_("--adopt works with --once (or use crmbridge adopt before starting the daemon)")))
        raise typer.Exit(EXIT_CONFIG)
    connectors = connect(ctx, loaded)
    store = Store.open(loaded.config.bridge.database_url)
    if not once:
        _daemon(loaded.config, store, connectors)
        return
    pipeline = prepared(store, loaded.config, connectors)
    moment = now_for(ctx, now)
    with cycle_progress(err, enabled=not as_json and err.is_terminal) as progress:
        summary = once_guarded(
            pipeline, store, loaded.config, moment, progress, adopt_held=adopt_held
        )
    if as_json:
        sys.stdout.write(json.dumps(summary.as_dict(), indent=2) + "\n")
    else:
        table = Table(title=t(N_("Cycle")), title_justify="left", show_header=False)
        for name, label in CYCLE_ROWS:
            table.add_row(t(label), number(getattr(summary, name)))
        table.add_row(t(N_("duration")), t(N_("{seconds} s"), seconds=f"{summary.duration_s:.2f}"))
        out.print(table)
        for note in summary.held:
            held_back = t(N_("writes held back: {why}"), why=note)
            err.print(f"[yellow]![/] {escape(held_back)}", highlight=False)
        for loop in summary.sync_loops:
            looped = t(N_("sync loop: {loop}"), loop=loop)
            err.print(f"[yellow]![/] {escape(looped)}", highlight=False)
        for message in summary.errors[:20]:
            err.print(f"[red]✘[/] {message}", highlight=False)
        if summary.adoption is not None:
            _print_adoption(summary.adoption)
        for line in held_lines(summary.held_contacts):
            err.print(f"[yellow]![/] {line}", highlight=False)
    if not summary.ok:
        raise typer.Exit(EXIT_INPUT)


def configure(ctx: typer.Context, loaded: LoadedConfig) -> None:
    """Set up this process's logging (at the chosen level, secrets masked)."""
    configure_logging(
        level=state(ctx).log_level,
        secrets=secret_values(loaded.config),
        log_format=loaded.config.daemon.log_format,
    )


def connect(ctx: typer.Context, loaded: LoadedConfig) -> dict[str, Connector]:
    """Configure this process's logging and build the enabled connectors (exit 2 when
    their configuration is wrong)."""
    configure(ctx, loaded)
    try:
        return build_connectors(loaded.config)
    except ConfigError as exc:
        fail(str(exc))
        raise typer.Exit(EXIT_CONFIG) from None


def prepared(store: Store, config: CrmbridgeConfig, connectors: dict[str, Connector]) -> Pipeline:
    """A pipeline whose connectors are bound to their accounts and whose CRM properties
    exist (exit 2 when a CRM refuses)."""
    pipeline = Pipeline(store, config, connectors)
    try:
        _bind_accounts(store, connectors)
        pipeline.prepare()
    except ConfigError as exc:
        fail(str(exc))
        raise typer.Exit(EXIT_CONFIG) from None
    except CrmbridgeError as exc:
        err.print(f"[red]✘[/] {exc}", highlight=False)
        raise typer.Exit(EXIT_CONFIG) from None
    return pipeline


def _bind_accounts(store: Store, connectors: dict[str, Connector]) -> None:
    """Bind each connector to the CRM account its credentials reach (ConfigError when
    this store belongs to another account)."""
    for name, connector in connectors.items():
        report = connector.check()
        if report.account_id:
            bind_account(store.engine, name, report.account_id, report.account)


def once_guarded(
    pipeline: Pipeline,
    store: Store,
    config: CrmbridgeConfig,
    now: datetime,
    progress: Progress | None = None,
    *,
    adopt_held: bool = False,
) -> CycleSummary:
    """One cycle that a running daemon (or another ``run --once``) cannot overlap.

    SQLite: the daemon's lock file, refused while a daemon holds it. Postgres: the
    replicas' advisory locks around each singleton step, in-flight rows by lease.
    """
    if not store.is_sqlite:
        return pipeline.run_once(
            now,
            guard=lambda name: singleton(store.engine, name),
            recover_all=False,
            progress=progress,
            adopt_held=adopt_held,
        )
    guard = SqliteGuard(config.bridge.database_url)
    try:
        guard.acquire()
    except ConfigError as exc:
        fail(str(exc))
        raise typer.Exit(EXIT_CONFIG) from None
    try:
        return pipeline.run_once(now, progress=progress, adopt_held=adopt_held)
    finally:
        guard.release()


def _daemon(config: CrmbridgeConfig, store: Store, connectors: dict[str, Connector]) -> None:
    from crmbridge.daemon.memory import limit_malloc_arenas
    from crmbridge.daemon.service import Daemon

    limit_malloc_arenas()
    try:
        Daemon(config, store, connectors).run()
    except ConfigError as exc:
        fail(t(N_("crmbridge will not start: {problem}"), problem=exc))
        raise typer.Exit(EXIT_CONFIG) from None
    except CrmbridgeError as exc:
        refused = t(N_("crmbridge will not start: {problem}"), problem=exc)
        err.print(f"[red]✘[/] {escape(refused)}", highlight=False)
        raise typer.Exit(EXIT_CONFIG) from None


def _check_enrichment(config: CrmbridgeConfig) -> bool:
    """Read the enrichment file now rather than discover a bad one on a form fill."""
    if not config.enrichment.enabled:
        return True
    try:
        # Any lookup reads the whole file (and reports its first problem).
        build_enricher(config.enrichment).lookup("example.com")
    except ConfigError as exc:
        fail(str(exc))
        return False
    readable = t(N_("enrichment: {path} readable"), path=config.enrichment.path)
    out.print(f"[green]✔[/] {escape(readable)}", highlight=False)
    return True


def _warn_missing_properties(name: str, connector: Connector, config: CrmbridgeConfig) -> bool:
    """Warn about model rules on properties the CRM lacks (False when it cannot answer)."""
    try:
        crm_properties = connector.property_names()
    except CrmbridgeError as exc:
        unlisted = t(N_("{crm}: cannot list contact properties: {problem}"), crm=name, problem=exc)
        err.print(f"[red]✘[/] {escape(unlisted)}", highlight=False)
        return False
    if crm_properties is not None:
        # A rule names the model's property; the CRM may call it something else.
        settings = config.connectors.tables().get(name)
        names = PropertyMap(settings.property_map if settings is not None else {})
        crm_properties = frozenset(names.model_names(crm_properties))
    warnings = [] if crm_properties is None else missing_property_warnings(config, crm_properties)
    warnings += company_property_warnings(config, company_reader(connector))
    for warning in warnings:
        err.print(f"[yellow]![/] {name}: {escape(warning)}", highlight=False)
    return True


@app.command()
def check(ctx: typer.Context, config: ConfigOption = None) -> None:
    """Check the config and each enabled CRM: token, scopes, custom properties.

    Creates the crmbridge properties that are missing, and says plainly what the
    CRM's API cannot do. Exit code 2 when something must be fixed.

    Example: [bold]crmbridge check[/]
    """
    loaded = load(ctx, config)
    for warning in loaded.warnings:
        err.print(f"[yellow]![/] {warning}", highlight=False)
    refuse_example(loaded)
    try:
        connectors = build_connectors(loaded.config)
    except ConfigError as exc:
        fail(str(exc))
        raise typer.Exit(EXIT_CONFIG) from None
    if not connectors:
        none = t(N_("no connector is enabled ([connectors.hubspot] enabled = true)"))
        out.print(f"[yellow]![/] {escape(none)}", highlight=False)
    failed = not _check_enrichment(loaded.config)
    fields = own_fields(loaded.config.writeback.prefix, active())
    for name, connector in connectors.items():
        try:
            report = connector.check()
        except CrmbridgeError as exc:
            err.print(f"[red]✘[/] {name}: {exc}", highlight=False)
            failed = True
            continue
        for problem in report.problems:
            err.print(f"[red]✘[/] {name}: {problem}", highlight=False)
        if report.ok and report.account_id:
            try:
                bind_account(
                    Store.open(loaded.config.bridge.database_url).engine,
                    name,
                    report.account_id,
                    report.account,
                )
            except ConfigError as exc:
                fail(str(exc))
                failed = True
                continue
        if report.ok:
            account = report.account or t(N_("connected"))
            out.print(f"[green]✔[/] {escape(name)}: {escape(account)}", highlight=False)
            try:
                created = connector.ensure_schema(fields)
                created += _ensure_account_property(connector, loaded.config)
            except CrmbridgeError as exc:
                uncreated = t(
                    N_("{crm}: cannot create properties: {problem}"), crm=name, problem=exc
                )
                err.print(f"[red]✘[/] {escape(uncreated)}", highlight=False)
                failed = True
            else:
                if created:
                    done = t(
                        N_("{crm}: crmbridge properties created {names}"),
                        crm=name,
                        names=", ".join(created),
                    )
                else:
                    done = t(N_("{crm}: crmbridge properties all present"), crm=name)
                out.print(f"[green]✔[/] {escape(done)}", highlight=False)
                failed = not _warn_missing_properties(name, connector, loaded.config) or failed
        failed = failed or not report.ok
        for limitation in report.limitations:
            out.print(f"[yellow]i[/] {name}: {limitation}", highlight=False)
    failed = not check_crm_links(out, err, loaded.config) or failed
    if failed:
        raise typer.Exit(EXIT_CONFIG)


def _ensure_account_property(connector: Connector, config: CrmbridgeConfig) -> list[str]:
    """Create the company property of the account score when it is on and the CRM can
    write companies; the names created (for ``check``'s line)."""
    writer = company_writer(connector)
    if not config.account_score.enabled or writer is None:
        return []
    field = account_field(config.account_score, config.writeback.prefix)
    return [f"{field.name} (companies)"] if writer.ensure_property(field) else []


@app.command("adopt")
def adopt_command(
    ctx: typer.Context,
    connector: Annotated[
        str | None, typer.Option("--connector", help="Only this connector's contacts.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable report.")] = False,
    config: ConfigOption = None,
) -> None:
    """Take over contacts whose crmbridge values another crmbridge store wrote.

    A store holds such contacts (writes nothing for them) so that a new, restored
    or second store never overwrites what the other one knew. Adopting takes the
    CRM's crmbridge values (as the last cycle read them) as the baseline, recovers
    what the CRM shows of the hand-off (hot leads already notified, paused
    sequences) and says what it could not recover. Works on the store only; the
    next cycle writes.

    Example: [bold]crmbridge adopt[/]  then  [bold]crmbridge run[/]
    """
    loaded = load(ctx, config)
    store = Store.open(loaded.config.bridge.database_url)
    report = adopt(store, loaded.config.writeback.prefix, connector)
    if as_json:
        sys.stdout.write(
            json.dumps({**report.as_dict(), "summary": report.lines()}, indent=2) + "\n"
        )
        return
    _print_adoption(report)
