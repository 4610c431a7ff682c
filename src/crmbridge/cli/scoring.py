"""``score`` and ``explain``: scoring of contact and event files (``explain`` also of a
lead in the store, see :mod:`crmbridge.cli.explain`)."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

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
from crmbridge.cli.explain import explain_stored, explanation
from crmbridge.cli.language import active, plural, t
from crmbridge.config import CrmbridgeConfig
from crmbridge.console import explain_panel, scores_table
from crmbridge.handoff.preview import as_dict as handoff_dict
from crmbridge.handoff.preview import preview
from crmbridge.i18n import N_
from crmbridge.offline import EXAMPLES_AS_OF, Workload, load_examples, load_files
from crmbridge.records import ContactRecord
from crmbridge.report.collect import owner_names
from crmbridge.scoring import Score, ScoringEngine

ContactOption = Annotated[
    Path | None,
    typer.Option(
        "--contact",
        help="Contacts: JSON (an object, an array, or JSON lines) or a CSV export from "
        "HubSpot or Salesforce. Default: the bundled example leads.",
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
    config: CrmbridgeConfig


def _score_all(
    ctx: typer.Context,
    contact: Path | None,
    events: Path | None,
    now_text: str | None,
    previous_stage: str | None,
    config: Path | None,
) -> _Scored:
    loaded = load(ctx, config)
    if contact is None:
        work = load_examples()
        now = now_for(ctx, now_text, default=EXAMPLES_AS_OF)
    else:
        try:
            work = load_files(contact, events)
        except OSError as exc:
            fail(t(N_("cannot read {path}: {problem}"), path=exc.filename, problem=exc.strerror))
            raise typer.Exit(EXIT_INPUT) from None
        now = now_for(ctx, now_text)
    for warning in work.warnings:
        err.print(f"[yellow]![/] {warning}", highlight=False)
    for problem in work.errors:
        err.print(f"[red]✘[/] {problem}", highlight=False)
    if work.unmatched_events:
        unmatched = plural(
            "{count} event names no contact in the file",
            "{count} events name no contact in the file",
            work.unmatched_events,
        )
        err.print(f"[yellow]![/] {escape(unmatched)}", highlight=False)
    cfg = loaded.config
    engine = ScoringEngine(cfg.scoring, cfg.bant, cfg.lifecycle, language=cfg.bridge.language)
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
    return _Scored(work, rows, now, engine, loaded.config)


def _finish(work: Workload) -> None:
    if work.errors:
        unread = plural(
            "{count} record could not be read",
            "{count} records could not be read",
            len(work.errors),
        )
        err.print(f"[red]{escape(unread)}[/]", highlight=False)
        raise typer.Exit(EXIT_INPUT)


@app.command()
def score(
    ctx: typer.Context,
    contact: ContactOption = None,
    events: EventsOption = None,
    as_json: JsonOption = False,
    now: NowOption = None,
    previous_stage: StageOption = None,
    config: ConfigOption = None,
) -> None:
    """Score leads offline: total, fit, engagement, grade, BANT, stage, hot, reasons.

    With no --contact it scores the bundled example leads
    (as of their snapshot date, 2026-11-20, unless --now is given).

    A JSON contact, one per line or in an array (properties by internal name; crm
    defaults to "local", updated_at is optional):
    {"crm": "hubspot", "id": "101", "email": "ana@example.com",
     "properties": {"jobtitle": "CIO", "numemployees": "600"}}

    Or a CSV export (known by its .csv name or its content; "," ";" or tab):
    HubSpot ("Record ID", "Email", "First Name", "Job Title"... or internal
    names) or Salesforce ("Id" or "Lead ID", "Email", API field names).
    A bad row is reported with its line number; the others are scored.
    Column mapping: docs/scoring.md.

    Example: [bold]crmbridge score --contact ana.json --events ana.jsonl --json[/]
    """
    scored = _score_all(ctx, contact, events, now, previous_stage, config)
    rows = scored.rows
    if as_json:
        payload = [{"email": c.email, **s.as_dict()} for c, s in rows]
        single = contact is not None and len(rows) == 1 and scored.work.one_object
        sys.stdout.write(
            json.dumps(payload[0] if single else payload, indent=2, ensure_ascii=False) + "\n"
        )
    else:
        texts = active()
        title = texts(N_("Lead scores as of {moment}"), moment=texts.moment(scored.now))
        out.print(scores_table(rows, title=escape(title), t=texts))
    _finish(scored.work)


@app.command()
def explain(
    ctx: typer.Context,
    target: Annotated[
        str | None,
        typer.Argument(
            metavar="[EMAIL|CRM-ID]",
            help="The lead to explain: its email or CRM record id.",
            show_default=False,
        ),
    ] = None,
    contact: ContactOption = None,
    events: EventsOption = None,
    lead: Annotated[
        str | None, typer.Option("--lead", help="Same as EMAIL|CRM-ID (kept for scripts).")
    ] = None,
    crm: Annotated[
        str | None, typer.Option("--crm", help="Only the contact of this connector.")
    ] = None,
    live: Annotated[
        bool,
        typer.Option("--live", help="Also read crmbridge's properties from the CRM and compare."),
    ] = False,
    as_json: JsonOption = False,
    now: NowOption = None,
    previous_stage: StageOption = None,
    config: ConfigOption = None,
) -> None:
    """Explain a score: every rule that fired, caps, decay, BANT letters and the stage move.

    A lead in the store (by email or CRM id, any connector) is explained from the
    store: its score recomputed now, its scores and stage moves over time (model
    version and reasons of each), its writes and actions, owners and SLA clocks.

    --live also reads its crmbridge properties from the CRM and shows what differs.

    With --contact/--events the files are explained; while the store is empty, the
    bundled example leads.

    Example: [bold]crmbridge explain ana.garcia@logistica-iberica.es --live[/]
    """
    key = target or lead
    if key and contact is None and events is None:
        loaded = load(ctx, config)
        at = now_for(ctx, now)
        if explain_stored(loaded.config, key, at, crm=crm, live=live, as_json=as_json):
            return
    scored = _score_all(ctx, contact, events, now, previous_stage, config)
    rows = scored.rows
    if key:
        wanted = key.strip().lower()
        rows = [(c, s) for c, s in rows if wanted in (c.id.lower(), (c.email or ""))]
        if not rows:
            fail(t(N_("no contact with id or email {key}"), key=repr(key)))
            raise typer.Exit(EXIT_INPUT)
    plans = [
        preview(
            scored.config,
            c,
            scored.work.events_for(c),
            s,
            scored.now,
            previous_stage or c.properties.get("crmbridge_stage"),
        )
        for c, s in rows
    ]
    if as_json:
        payload = [
            {**explanation(c, s), "handoff": handoff_dict(plan)}
            for (c, s), plan in zip(rows, plans, strict=True)
        ]
        sys.stdout.write(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    else:
        for (c, s), plan in zip(rows, plans, strict=True):
            names = owner_names(scored.config)
            out.print(explain_panel(c, s, scored.engine, plan, t=active(), owners=names))
    _finish(scored.work)
