"""The ``crmbridge`` command line. Thin: parses options, calls the modules, renders."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from crmbridge._version import __version__
from crmbridge.clock import parse_instant, resolve_now
from crmbridge.config import LoadedConfig, config_json_schema, load_config
from crmbridge.console import explain_panel, lead_name, scores_table
from crmbridge.errors import ConfigError
from crmbridge.offline import EXAMPLES_AS_OF, Workload, load_examples, load_files
from crmbridge.records import ContactRecord
from crmbridge.scoring import Score, ScoringEngine

app = typer.Typer(
    name="crmbridge",
    help="Shared lead scoring, BANT and sales hand-off for HubSpot and Salesforce.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(
    help="Check crmbridge.toml and export its JSON Schema.", no_args_is_help=True
)
app.add_typer(config_app, name="config")

# Piped output is not squeezed into 80 columns: tables stay readable in files and CI logs.
out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True)

EXIT_INPUT = 1
EXIT_CONFIG = 2

NowOption = Annotated[
    str | None,
    typer.Option(
        "--now", envvar="CRMBRIDGE_NOW", help="Fix the clock (ISO-8601), e.g. 2026-11-20T10:00:00Z."
    ),
]


@dataclass
class _State:
    config_path: Path | None = None
    now: str | None = None


def _version(value: bool) -> None:
    if value:
        out.print(f"crmbridge {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            envvar="CRMBRIDGE_CONFIG",
            help="crmbridge.toml to use (default: ./crmbridge.toml, else the bundled example).",
        ),
    ] = None,
    now: NowOption = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """crmbridge: one shared definition of a qualified lead, running beside your CRM.

    Example: [bold]crmbridge score[/] scores the bundled example leads offline.
    """
    ctx.obj = _State(config_path=config, now=now)


def _state(ctx: typer.Context) -> _State:
    state = ctx.find_root().obj
    return state if isinstance(state, _State) else _State()


def _load(ctx: typer.Context) -> LoadedConfig:
    """The active config; unset secrets are not mentioned (offline commands need none)."""
    try:
        return load_config(_state(ctx).config_path)
    except ConfigError as exc:
        err.print(f"[red]✘[/] {exc}", highlight=False, markup=False)
        raise typer.Exit(EXIT_CONFIG) from None


def _now(ctx: typer.Context, local: str | None, default: datetime | None = None) -> datetime:
    fixed = local or _state(ctx).now
    try:
        if fixed is None and default is not None:
            return default
        return resolve_now(fixed)
    except ValueError:
        err.print(
            f"[red]✘[/] --now: {fixed!r} is not an ISO-8601 instant (e.g. 2026-11-20T10:00:00Z)"
        )
        raise typer.Exit(EXIT_CONFIG) from None


@config_app.command("check")
def config_check(
    ctx: typer.Context,
    path: Annotated[
        Path | None, typer.Argument(help="File to check (default: the active config).")
    ] = None,
) -> None:
    """Validate a configuration and list every problem at once, each with its TOML path.

    Exit code 2 when the file is invalid.

    Example: [bold]crmbridge config check crmbridge.toml[/]
    """
    try:
        loaded = load_config(path or _state(ctx).config_path)
    except ConfigError as exc:
        err.print(f"[red]✘[/] {exc}", highlight=False, markup=False)
        raise typer.Exit(EXIT_CONFIG) from None
    for warning in loaded.warnings:
        out.print(f"[yellow]![/] {warning}", highlight=False)
    cfg = loaded.config
    out.print(
        f"[green]✔[/] {loaded.source} is valid: {len(cfg.scoring.fit)} fit rules, "
        f"{len(cfg.scoring.engagement)} engagement rules, hot at {cfg.scoring.hot_threshold:g}, "
        f"MQL at {cfg.scoring.mql_threshold:g}.",
        highlight=False,
    )


@config_app.command("schema")
def config_schema(
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to a file.")] = None,
) -> None:
    """Print the JSON Schema of crmbridge.toml, for editor completion (taplo, Even Better TOML).

    Example: [bold]crmbridge config schema -o crmbridge.schema.json[/], then put
    [italic]#:schema ./crmbridge.schema.json[/] on the first line of crmbridge.toml.
    """
    text = json.dumps(config_json_schema(), indent=2)
    if output:
        output.write_text(text + "\n", "utf-8")
        err.print(f"[green]✔[/] wrote {output}")
    else:
        sys.stdout.write(text + "\n")


ContactOption = Annotated[
    Path | None,
    typer.Option(
        "--contact",
        help="Contact JSON (one object, an array, or JSON lines). "
        "Default: the bundled example leads.",
    ),
]
EventsOption = Annotated[
    Path | None, typer.Option("--events", help="Canonical events, JSON lines.")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
StageOption = Annotated[
    str | None,
    typer.Option("--previous-stage", help="Stage the CRM holds now (default: crmbridge_stage)."),
]


@dataclass
class _Scored:
    work: Workload
    rows: list[tuple[ContactRecord, Score]]
    now: datetime
    engine: ScoringEngine


def _score_all(
    ctx: typer.Context,
    contact: Path | None,
    events: Path | None,
    now_text: str | None,
    previous_stage: str | None,
) -> _Scored:
    loaded = _load(ctx)
    if contact is None:
        work = load_examples()
        now = _now(ctx, now_text, default=EXAMPLES_AS_OF)
    else:
        try:
            work = load_files(contact, events)
        except OSError as exc:
            err.print(f"[red]✘[/] cannot read {exc.filename}: {exc.strerror}")
            raise typer.Exit(EXIT_INPUT) from None
        now = _now(ctx, now_text)
    for problem in work.errors:
        err.print(f"[red]✘[/] {problem}", highlight=False)
    if work.unmatched_events:
        err.print(f"[yellow]![/] {work.unmatched_events} events name no contact in the file")
    cfg = loaded.config
    engine = ScoringEngine(cfg.scoring, cfg.bant, cfg.lifecycle)
    rows = [
        (
            c,
            engine.score(
                c.to_contact(),
                work.events_for(c),
                now,
                previous_stage or c.properties.get("crmbridge_stage"),
            ),
        )
        for c in work.contacts
    ]
    return _Scored(work, rows, now, engine)


def _finish(work: Workload) -> None:
    if work.errors:
        err.print(f"[red]{len(work.errors)} record(s) could not be read[/]")
        raise typer.Exit(EXIT_INPUT)


@app.command()
def score(
    ctx: typer.Context,
    contact: ContactOption = None,
    events: EventsOption = None,
    as_json: JsonOption = False,
    now: NowOption = None,
    previous_stage: StageOption = None,
) -> None:
    """Score leads offline: total, fit, engagement, grade, BANT, stage, hot, reasons.

    With no --contact it scores the bundled example leads (as of their snapshot date,
    2026-11-20, unless --now is given).

    Example: [bold]crmbridge score --contact ana.json --events ana.jsonl --json[/]
    """
    scored = _score_all(ctx, contact, events, now, previous_stage)
    rows = scored.rows
    if as_json:
        payload = [{"email": c.email, **s.as_dict()} for c, s in rows]
        single = contact is not None and len(rows) == 1 and not _is_multi(contact)
        sys.stdout.write(
            json.dumps(payload[0] if single else payload, indent=2, ensure_ascii=False) + "\n"
        )
    else:
        out.print(scores_table(rows, title=f"Lead scores as of {scored.now:%Y-%m-%d %H:%M} UTC"))
    _finish(scored.work)


@app.command()
def explain(
    ctx: typer.Context,
    contact: ContactOption = None,
    events: EventsOption = None,
    lead: Annotated[
        str | None, typer.Option("--lead", help="Only this contact id or email.")
    ] = None,
    as_json: JsonOption = False,
    now: NowOption = None,
    previous_stage: StageOption = None,
) -> None:
    """Explain a score: every rule that fired, caps, decay, BANT letters and the stage move.

    Example: [bold]crmbridge explain --lead ana.garcia@logistica-iberica.es[/]
    """
    scored = _score_all(ctx, contact, events, now, previous_stage)
    rows = scored.rows
    if lead:
        wanted = lead.strip().lower()
        rows = [(c, s) for c, s in rows if wanted in (c.id.lower(), (c.email or ""))]
        if not rows:
            err.print(f"[red]✘[/] no contact with id or email {lead!r}")
            raise typer.Exit(EXIT_INPUT)
    if as_json:
        payload = [_explanation(c, s) for c, s in rows]
        sys.stdout.write(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    else:
        for c, s in rows:
            out.print(explain_panel(c, s, scored.engine))
    _finish(scored.work)


def _explanation(contact: ContactRecord, score: Score) -> dict[str, object]:
    return {
        "lead": lead_name(contact),
        "email": contact.email,
        **score.as_dict(),
        "contributions": [
            {
                "kind": c.kind,
                "rule": c.rule,
                "points": c.points,
                "raw_points": round(c.raw_points, 4),
                "events": c.events,
                "capped_at": c.capped_at,
                "group": c.group,
                "decayed": c.decayed,
            }
            for c in score.contributions
        ],
        "bant_detail": {
            "budget": score.bant.budget,
            "authority": score.bant.authority,
            "need": score.bant.need,
            "timeline": score.bant.timeline,
        },
    }


def _is_multi(path: Path) -> bool:
    text = path.read_text("utf-8").strip()
    return text.startswith("[") or text.count("\n{") > 0


def run() -> None:  # pragma: no cover - console entry point
    """Entry point for ``python -m crmbridge``."""
    app()


__all__ = ["app", "parse_instant"]
