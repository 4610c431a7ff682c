"""``demo`` and ``sandbox``: try crmbridge without a CRM account.

Both run a connector plugin's local sandbox (:mod:`crmbridge.connector.sandbox`),
found through the plugin registry: ``--crm`` names the plugin, by default the first
installed one that ships a sandbox (HubSpot's).
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from crmbridge.cli.app import ConfigOption, app, config_path, load, out
from crmbridge.cli.language import active, number, t
from crmbridge.console import stage_text
from crmbridge.i18n import N_

SHOWN_LEADS = 25

CrmOption = Annotated[
    str | None,
    typer.Option(
        "--crm",
        help="The connector plugin whose sandbox runs (default: the first that has one).",
    ),
]


@app.command()
def demo(
    ctx: typer.Context,
    db: Annotated[
        str | None, typer.Option("--db", help="Keep the store here (a path or database URL).")
    ] = None,
    keep_running: Annotated[
        bool, typer.Option("--keep-running", help="Leave the sandbox and pipeline up to explore.")
    ] = False,
    config: ConfigOption = None,
    crm: CrmOption = None,
) -> None:
    """See the whole product in one command: a local HubSpot sandbox, ~200 leads, real syncs.

    It scores with the bundled example model, or with the model of --config
    (or CRMBRIDGE_CONFIG): its scoring, BANT, lifecycle and hand-off run against
    the sandbox. Only the sandbox is written to: the file's CRM accounts,
    database and notification webhooks are not used.

    Example: [bold]crmbridge demo[/]  or  [bold]crmbridge demo --config crmbridge.toml[/]
    """
    from crmbridge.demo import run_demo
    from crmbridge.logging import configure_logging

    def say(line: str) -> None:
        out.print(f"[dim]›[/] {escape(line)}", highlight=False)

    model = None
    if config_path(ctx, config) is not None:
        loaded = load(ctx, config)
        model = loaded.config
        say(
            t(
                N_("Model: {source}, against the sandbox (its CRM accounts are not used)"),
                source=loaded.source,
            )
        )
    else:
        say(t(N_("Model: the bundled example (config.example.toml); try yours with --config")))
    configure_logging(level="WARNING")  # the demo narrates itself; logs would only clutter

    report = run_demo(db, say=say, keep_running=keep_running, model=model, crm=crm, t=active())
    title = t(
        N_("What {crm} now shows the reps (top {shown} of {count})"),
        crm=report.crm,
        shown=SHOWN_LEADS,
        count=len(report.leads),
    )
    table = Table(title=escape(title), title_justify="left")
    for column, justify in (
        (N_("Lead"), "left"),
        (N_("Score"), "right"),
        (N_("Grade"), "center"),
        ("BANT", "left"),
        (N_("Stage"), "left"),
        (N_("Owner"), "left"),
        (N_("Hot"), "center"),
        (N_("Top reason"), "left"),
    ):
        table.add_column(t(column), justify=justify, overflow="fold")  # type: ignore[arg-type]
    for lead in report.leads[:SHOWN_LEADS]:
        table.add_row(
            f"{escape(lead.name)}\n[dim]{escape(lead.company)}[/]",
            str(lead.score),
            lead.grade,
            lead.bant,
            stage_text(lead.stage),
            lead.owner,
            "🔥" if lead.hot else "",
            lead.reason,
        )
    out.print(table)
    hot = sum(1 for lead in report.leads if lead.hot)
    stages: dict[str, int] = {}
    for lead in report.leads:
        stages[lead.stage] = stages.get(lead.stage, 0) + 1
    calls = sum(report.api_calls.values())
    written = sum(c.written for c in report.cycles)
    scored = t(
        N_("{count} leads scored, {hot} hot; stages: {stages}"),
        count=len(report.leads),
        hot=hot,
        stages=", ".join(f"{k} {v}" for k, v in sorted(stages.items(), key=lambda kv: -kv[1])),
    )
    out.print(escape(scored), highlight=False)
    kinds: dict[str, int] = {}
    for what, count in report.api_calls.items():
        kind = "create property" if what.startswith("create property") else what
        kinds[kind] = kinds.get(kind, 0) + count
    wrote = t(
        N_(
            "{written} contact updates written to {crm} in {calls} API calls ({kinds}); "
            "{events} events; {seconds} s in all."
        ),
        written=number(written),
        crm=report.crm,
        calls=number(calls),
        kinds=", ".join(f"{k}: {v}" for k, v in sorted(kinds.items())),
        events=number(report.events),
        seconds=number(report.seconds),
    )
    out.print(escape(wrote), highlight=False)


@app.command()
def sandbox(
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8765,
    host: Annotated[str, typer.Option(help="Interface (0.0.0.0 in a container).")] = "127.0.0.1",
    seed: Annotated[str, typer.Option(help='"demo" (200 leads) or "empty".')] = "demo",
    token: Annotated[str, typer.Option(help="Bearer token the sandbox accepts.")] = "sandbox-token",
    latency_ms: Annotated[int, typer.Option(help="Added latency per request.")] = 0,
    fault_rate: Annotated[float, typer.Option(help="Share of requests answered 5xx.")] = 0.0,
    rate_limit: Annotated[
        int, typer.Option(help="Requests per rate-limit window (HubSpot: 10 s) before 429.")
    ] = 190,
    webhook_url: Annotated[
        str | None, typer.Option(help="Deliver signed webhooks for contact changes here.")
    ] = None,
    index_lag: Annotated[
        str,
        typer.Option(
            help="Search shows each change this long after it is made, drawn per change: "
            'a range such as "0-30s", or one duration ("5s"). Off ("0") by default.',
        ),
    ] = "0",
    crm: CrmOption = None,
) -> None:
    """Run a local CRM sandbox (HubSpot-compatible by default) until Ctrl-C.

    It prints how to point crmbridge at it, e.g. for HubSpot
    CRMBRIDGE__CONNECTORS__HUBSPOT__BASE_URL=http://127.0.0.1:8765
    and HUBSPOT_ACCESS_TOKEN=sandbox-token.

    Example: [bold]crmbridge sandbox --port 8765 --seed demo[/]; with
    [bold]--index-lag 0-30s[/] search finds each change up to 30 s late, as HubSpot's can.
    """
    from crmbridge.connector import SandboxOptions
    from crmbridge.connector.sandbox import parse_index_lag
    from crmbridge.demo import sandbox_plugin

    try:
        lag = parse_index_lag(index_lag)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--index-lag") from None
    _, provider = sandbox_plugin(crm)
    provider.serve(
        SandboxOptions(
            port=port,
            host=host,
            seed=seed,
            token=token,
            latency_ms=latency_ms,
            fault_rate=fault_rate,
            rate_limit=rate_limit,
            webhook_url=webhook_url,
            index_lag_ms=lag,
        )
    )
