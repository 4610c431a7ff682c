"""``writes`` and ``forget``: the operating controls of a running bridge."""

from __future__ import annotations

import getpass
import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from crmbridge import clock
from crmbridge.cli.app import EXIT_INPUT, ConfigOption, app, err, fail, load, out
from crmbridge.cli.language import active, plural, t
from crmbridge.i18n import N_
from crmbridge.store.controls import WritesState, set_writes_paused, writes_state
from crmbridge.store.erasure import Erased, find_person, forget
from crmbridge.store.repository import Store

writes_app = typer.Typer(
    help="Pause, resume or show CRM writes (every replica and restart honours it).\n\n"
    'Example: [bold]crmbridge writes pause --reason "HubSpot import running"[/]',
    no_args_is_help=True,
)
app.add_typer(writes_app, name="writes")

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def _store(ctx: typer.Context, config: Path | None) -> Store:
    return _open(ctx, config)[0]


def _open(ctx: typer.Context, config: Path | None) -> tuple[Store, bool]:
    """The store, and whether the configuration runs in shadow mode."""
    settings = load(ctx, config).config.bridge
    return Store.open(settings.database_url), not settings.write


def _who() -> str:
    try:
        return f"cli ({getpass.getuser()})"
    except (KeyError, OSError):  # no user name in a bare container
        return "cli"


def _show(state: WritesState, as_json: bool, shadow: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps({**state.as_dict(), "shadow": shadow}) + "\n")
        return
    if shadow:
        shadow_text = t(
            N_("shadow mode ([bridge] write = false): no write is sent whatever this switch says")
        )
        out.print(f"[yellow]![/] {escape(shadow_text)}", highlight=False)
    if not state.paused:
        out.print("[green]✔[/] " + escape(t(N_("CRM writes are on"))), highlight=False)
        return
    paused = t(N_("CRM writes are paused"))
    if state.changed_at:
        paused += t(N_(" since {moment}"), moment=active().moment(state.changed_at))
    if state.by:
        paused += t(N_(" by {who}"), who=state.by)
    if state.reason:
        paused += f": {state.reason}"
    out.print(f"[yellow]![/] {escape(paused)}", highlight=False)


def _switch(
    ctx: typer.Context, paused: bool, reason: str | None, as_json: bool, config: Path | None
) -> None:
    store, shadow = _open(ctx, config)
    with store.engine.begin() as connection:
        state = set_writes_paused(connection, paused, by=_who(), reason=reason, now=clock.now())
    _show(state, as_json, shadow)


@writes_app.command("pause")
def writes_pause(
    ctx: typer.Context,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Shown by `writes status` and GET /v1/writes.")
    ] = None,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Stop sending writes to the CRMs; reading, scoring and planning go on.

    Planned writes wait in the outbox and are sent once writes resume. A running
    daemon notices before its next batch (every replica: the switch is kept in
    the store).

    Example: [bold]crmbridge writes pause --reason "HubSpot import running"[/]
    """
    _switch(ctx, True, reason, as_json, config)


@writes_app.command("resume")
def writes_resume(
    ctx: typer.Context, as_json: JsonOption = False, config: ConfigOption = None
) -> None:
    """Send CRM writes again, starting with what waited while paused.

    Example: [bold]crmbridge writes resume[/]
    """
    _switch(ctx, False, None, as_json, config)


@writes_app.command("status")
def writes_status(
    ctx: typer.Context, as_json: JsonOption = False, config: ConfigOption = None
) -> None:
    """Whether CRM writes are paused, since when, by whom and why.

    Example: [bold]crmbridge writes status --json[/]
    """
    store, shadow = _open(ctx, config)
    with store.session() as session:
        _show(writes_state(session), as_json, shadow)


def _counts(erased: Erased) -> str:
    """What was erased, e.g. "1 contact, 12 events, …" (plural forms of the language)."""
    return ", ".join(
        (
            plural("{count} contact", "{count} contacts", erased.contacts),
            plural("{count} event", "{count} events", erased.events),
            plural("{count} score", "{count} scores", erased.scores),
            plural("{count} outbox row", "{count} outbox rows", erased.outbox),
            plural("{count} assignment", "{count} assignments", erased.assignments),
            plural("{count} SLA clock", "{count} SLA clocks", erased.sla_clocks),
            plural("{count} company link", "{count} company links", erased.contact_companies),
            plural("{count} property change", "{count} property changes", erased.property_history),
        )
    )


@app.command("forget")
def forget_command(
    ctx: typer.Context,
    who: Annotated[str, typer.Argument(help="The person's email, or a CRM record id.")],
    crm: Annotated[
        str | None, typer.Option("--crm", help="Only this connector's record (an id is ambiguous).")
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Erase a person from the store (GDPR erasure) and say what was removed.

    Removes their contact rows, events, scores and score history, the history of
    their properties, queued and sent writes, assignments and SLA clocks. Nothing
    is changed in the CRM: erase the person there too, or crmbridge reads them
    again when they change there.

    Example: [bold]crmbridge forget ana@acme.es --yes[/]
    """
    if not who.strip() or len(who) > 320:
        fail(t(N_("forget: give an email or a CRM record id (at most 320 characters)")))
        raise typer.Exit(EXIT_INPUT)
    store = _store(ctx, config)
    with store.engine.connect() as connection:
        person = find_person(connection, who, crm)
    if not yes:
        if not sys.stdin.isatty():
            fail(t(N_("forget: add --yes to erase without a question (no terminal to ask on)")))
            raise typer.Exit(EXIT_INPUT)
        found = len(person.contact_ids)
        question = plural(
            "Erase everything stored about {who} ({count} contact row)?",
            "Erase everything stored about {who} ({count} contact rows)?",
            found,
            who=who,
        )
        typer.confirm(question, abort=True)
    with store.engine.begin() as connection:
        erased = forget(connection, find_person(connection, who, crm))
    if as_json:
        sys.stdout.write(json.dumps({"who": who, "removed": erased.as_dict()}) + "\n")
        return
    if erased.total == 0:
        nothing = t(N_("nothing is stored about {who}"), who=who)
        out.print(f"[yellow]![/] {escape(nothing)}", highlight=False)
        return
    forgot = t(N_("forgot {who}: removed {counts}"), who=who, counts=_counts(erased))
    out.print(f"[green]✔[/] {escape(forgot)}", highlight=False)
    if erased.contacts:
        still = t(
            N_(
                "the CRM still holds this person; erase them there too, or crmbridge reads "
                "them again when they change"
            )
        )
        err.print(f"[yellow]i[/] {escape(still)}", highlight=False)
