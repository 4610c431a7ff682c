"""The root ``crmbridge`` command, global options, shared helpers and ``config``."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.text import Text

from crmbridge._version import __version__
from crmbridge.cli import language
from crmbridge.cli.flags import FlagGroup
from crmbridge.cli.language import t
from crmbridge.clock import resolve_now
from crmbridge.config import LoadedConfig, config_json_schema, load_config, secret_values
from crmbridge.errors import ConfigError
from crmbridge.i18n import N_
from crmbridge.logging import configure_logging

if TYPE_CHECKING:
    from typer._click.core import Context


class _Commands(FlagGroup):
    """The root command group: a configuration problem met by any command (the file,
    a store that cannot be opened, a missing secret) is printed and exits 2, untraced."""

    def invoke(self, ctx: Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            fail(str(exc))
            raise typer.Exit(EXIT_CONFIG) from None


app = typer.Typer(
    name="crmbridge",
    help="Shared lead scoring, BANT and sales hand-off for HubSpot and Salesforce.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    cls=_Commands,
)
config_app = typer.Typer(
    help="Check crmbridge.toml and export its JSON Schema.\n\n"
    "Example: [bold]crmbridge config check crmbridge.toml[/]",
    no_args_is_help=True,
    cls=FlagGroup,
)
app.add_typer(config_app, name="config")

# Piped output is not squeezed into 80 columns: tables stay readable in files and CI logs.
out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 160)


def fail(message: str) -> None:
    """Print an error on stderr; the message is shown verbatim (paths contain brackets)."""
    err.print(Text("✘ ", style="red") + Text(message), highlight=False)


EXIT_INPUT = 1
EXIT_CONFIG = 2

NowOption = Annotated[
    str | None,
    typer.Option(
        "--now", envvar="CRMBRIDGE_NOW", help="Fix the clock (ISO-8601), e.g. 2026-11-20T10:00:00Z."
    ),
]


ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="crmbridge.toml to use (may also be given before the command).",
    ),
]


@dataclass
class State:
    """Global options shared by every command."""

    config_path: Path | None = None
    now: str | None = None
    log_level: str = "INFO"
    #: The global --config came from CRMBRIDGE_CONFIG rather than the command line.
    config_from_env: bool = False


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
    log_level: Annotated[
        str,
        typer.Option(
            "--log-level", envvar="CRMBRIDGE_LOG_LEVEL", help="DEBUG, INFO, WARNING, ERROR."
        ),
    ] = "INFO",
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """crmbridge: one shared definition of a qualified lead, running beside your CRM.

    Example: [bold]crmbridge score[/] scores the bundled example leads offline.
    """
    source = ctx.get_parameter_source("config")
    from_env = source is not None and source.name == "ENVIRONMENT"
    ctx.obj = State(config_path=config, now=now, log_level=log_level, config_from_env=from_env)
    language.reset()
    configure_logging(level=log_level)


def state(ctx: typer.Context) -> State:
    """The global options of this invocation."""
    state = ctx.find_root().obj
    return state if isinstance(state, State) else State()


def config_path(ctx: typer.Context, local: Path | None = None) -> Path | None:
    """The config file of this invocation: ``--config`` after the command or before it.

    ``crmbridge --config a.toml plan`` and ``crmbridge plan --config a.toml`` are the
    same; a file named on the command line wins over CRMBRIDGE_CONFIG; two different
    files on one command line are refused (exit 2) rather than one silently ignored.
    ``None``: ./crmbridge.toml, else the bundled example (see ``load_config``).
    """
    before = state(ctx)
    if local is None:
        return before.config_path
    if (
        before.config_path is not None
        and not before.config_from_env
        and before.config_path.resolve() != local.resolve()
    ):
        fail(
            t(
                N_(
                    "--config is given twice, {before} before the command and {after} after "
                    "it; give one"
                ),
                before=before.config_path,
                after=local,
            )
        )
        raise typer.Exit(EXIT_CONFIG)
    return local


def load(ctx: typer.Context, local: Path | None = None) -> LoadedConfig:
    """The active config; unset secrets are not mentioned (offline commands need none).

    ``local`` is the command's own ``--config`` (see :func:`config_path`).
    """
    try:
        loaded = load_config(config_path(ctx, local))
    except ConfigError as exc:
        fail(str(exc))
        raise typer.Exit(EXIT_CONFIG) from None
    # Now that the secrets are known, every log line masks them.
    configure_logging(level=state(ctx).log_level, secrets=secret_values(loaded.config))
    language.use(loaded.config)
    return loaded


def now_for(ctx: typer.Context, local: str | None, default: datetime | None = None) -> datetime:
    """The instant to score at: --now (command or global), else ``default``, else the clock."""
    fixed = local or state(ctx).now
    try:
        if fixed is None and default is not None:
            return default
        return resolve_now(fixed)
    except ValueError:
        fail(
            t(
                N_("--now: {value} is not an ISO-8601 instant (e.g. 2026-11-20T10:00:00Z)"),
                value=repr(fixed),
            )
        )
        raise typer.Exit(EXIT_CONFIG) from None


@config_app.command("check")
def config_check(
    ctx: typer.Context,
    path: Annotated[
        Path | None, typer.Argument(help="File to check (default: the active config).")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Validate a configuration and list every problem at once, each with its TOML path.

    Exit code 2 when the file is invalid.

    Example: [bold]crmbridge config check crmbridge.toml[/]
    """
    try:
        loaded = load_config(path or config_path(ctx, config))
        loaded.config.require_secrets()
    except ConfigError as exc:
        fail(str(exc))
        raise typer.Exit(EXIT_CONFIG) from None
    for warning in loaded.warnings:
        out.print(f"[yellow]![/] {warning}", highlight=False)
    cfg = loaded.config
    language.use(cfg)
    valid = t(
        N_(
            "{source} is valid: {fit} fit rules, {engagement} engagement rules, hot at "
            "{hot}, MQL at {mql}."
        ),
        source=loaded.source,
        fit=len(cfg.scoring.fit),
        engagement=len(cfg.scoring.engagement),
        hot=language.number(cfg.scoring.hot_threshold),
        mql=language.number(cfg.scoring.mql_threshold),
    )
    out.print(Text("✔ ", style="green") + Text(valid), highlight=False)


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
        err.print(Text("✔ ", style="green") + Text(t(N_("wrote {path}"), path=output)))
    else:
        sys.stdout.write(text + "\n")


def run() -> None:  # pragma: no cover - console entry point
    """Entry point for ``python -m crmbridge``."""
    app()
