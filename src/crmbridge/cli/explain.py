"""``crmbridge explain EMAIL|CRM-ID`` on a lead in the store (``--live``: and in the CRM).

The score is recomputed from the stored contact and events as the next cycle would
compute it, so every rule, cap and decay can be shown; the stored history, outbox rows,
owners and SLA clocks say what crmbridge already did for the lead.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import typer
from rich.console import Group
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from crmbridge.cli.app import EXIT_INPUT, err, fail, out
from crmbridge.cli.language import active, t
from crmbridge.clock import parse_instant
from crmbridge.config import CrmbridgeConfig
from crmbridge.console import explain_panel, lead_name
from crmbridge.errors import CrmbridgeError
from crmbridge.i18n import N_, Texts
from crmbridge.records import ContactRecord
from crmbridge.report.collect import owner_names
from crmbridge.scoring import Score, ScoringEngine
from crmbridge.store import lead_history, outbox
from crmbridge.store.account_scores import companies_of
from crmbridge.store.companies import company_values
from crmbridge.store.lead_links import partners
from crmbridge.store.repository import Store
from crmbridge.sync.account_score import account_property
from crmbridge.sync.connectors import build_connectors
from crmbridge.sync.cross_crm import linked_crms
from crmbridge.sync.lead_merge import home as home_record
from crmbridge.sync.lead_merge import lead_inputs, merged_properties
from crmbridge.sync.writeback import own_property_names, same_value, score_property

#: Rows of history and of outbox shown per lead (the newest).
SHOWN = 20


def explanation(contact: ContactRecord, score: Score) -> dict[str, object]:
    """A score with every contribution and the BANT detail, JSON-ready."""
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


@dataclass
class StoredLead:
    """What the store knows of one lead, and its score recomputed now."""

    contact: ContactRecord
    score: Score
    history: list[dict[str, Any]]
    outbox: list[dict[str, Any]]
    assignments: list[dict[str, Any]]
    sla_clocks: list[dict[str, Any]]
    handoff_state: dict[str, Any]
    crm_values: dict[str, Any]
    #: Property → (the value the store last knew the CRM held, the CRM's value now).
    live: dict[str, tuple[Any, Any]] | None = field(default=None)
    #: The account score of the lead's company, as last queued or written (company,
    #: property, value, status); None when off or the lead has no company.
    account: dict[str, Any] | None = field(default=None)
    #: The lead's records when it is one lead in several CRMs (crm, crm_id, home).
    linked: list[dict[str, Any]] = field(default_factory=list)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def _plain(row: Any, columns: Sequence[str]) -> dict[str, Any]:
    values = {}
    for name in columns:
        value = getattr(row, name)
        values[name] = _iso(value) if isinstance(value, datetime) else value
    return values


_HISTORY = ("scored_at", "model_version", "total", "grade", "hot", "stage", "stage_transition")
_OUTBOX = (
    "id",
    "kind",
    "target",
    "value",
    "status",
    "attempts",
    "next_attempt_at",
    "last_error",
    "created_at",
    "updated_at",
)
_CLOCK = ("stage", "owner_id", "started_at", "due_at", "contacted_at", "breached_at")


def explain_stored(
    config: CrmbridgeConfig,
    key: str,
    now: datetime,
    *,
    crm: str | None,
    live: bool,
    as_json: bool,
) -> bool:
    """Explain the stored lead ``key``; False when the store holds no contact at all
    (the caller then explains the bundled example leads, as before a first sync)."""
    store = Store.open(config.bridge.database_url)
    try:
        with store.session() as session:
            rows = [r for r in lead_history.find_contacts(session, key) if crm in (None, r.crm)]
            if not rows:
                if not live and store.contact_count() == 0:
                    return False
                near = lead_history.near_emails(session, key)
                fail(t(N_("no contact with email or CRM id {key} in the store"), key=repr(key)))
                if near:
                    maybe = t(N_("did you mean: {emails}?"), emails=", ".join(near))
                    err.print(f"  {escape(maybe)}", highlight=False)
                raise typer.Exit(EXIT_INPUT)
            if len(rows) > 1 and crm is None:
                # A person's records in several CRMs, linked, are one lead: explain it.
                rows = _one_lead(session, store, config, rows, now) or rows
            if len(rows) > 1:
                fail(
                    t(
                        N_("{count} contacts match {key}; name one with --crm or its CRM id:"),
                        count=len(rows),
                        key=repr(key),
                    )
                )
                for r in rows:
                    err.print(f"  {r.crm} {r.crm_id} {r.email or ''}", highlight=False)
                raise typer.Exit(EXIT_INPUT)
            lead = _read(session, store, config, rows[0], now)
    finally:
        store.engine.dispose()
    if live:
        lead.live = _live_values(config, lead)
    if as_json:
        sys.stdout.write(json.dumps(_as_json(lead), indent=2, ensure_ascii=False) + "\n")
    else:
        engine = ScoringEngine(
            config.scoring, config.bant, config.lifecycle, language=config.bridge.language
        )
        texts = active()
        out.print(explain_panel(lead.contact, lead.score, engine, t=texts))
        if lead.linked:
            out.print(_linked_line(lead.linked), highlight=False, markup=False)
        stored = _stored_model(lead)
        if stored not in (None, lead.score.model_version):
            outdated = t(
                N_(
                    "the stored score was computed with model {stored}; the configured model "
                    "is {configured}: the next cycle rescores it"
                ),
                stored=stored,
                configured=lead.score.model_version,
            )
            noted = escape(t(N_("note")))
            out.print(f"[yellow]{noted}[/] {escape(outdated)}", highlight=False)
        if lead.account is not None:
            account = lead.account
            value = account["value"] if account["value"] is not None else t(N_("not computed yet"))
            state = f" ({account['status']})" if account["status"] else ""
            line = t(
                N_("Account score of company {company} ({property}): {value}"),
                company=account["company"],
                property=account["property"],
                value=f"{value}{state}",
            )
            out.print(line, highlight=False, markup=False)
        out.print(_record_tables(lead, texts, owner_names(config)))
    return True


def _read(
    session: Any, store: Store, config: CrmbridgeConfig, row: Any, now: datetime
) -> StoredLead:
    engine = ScoringEngine(
        config.scoring, config.bant, config.lifecycle, language=config.bridge.language
    )
    records = _lead_records(session, store, config, row, now)
    ids = [r.id for r in records]
    owner = config.writeback.owner_of(score_property(config.writeback.prefix))
    # As the next cycle scores it: from the stage the lead is in now, and from every
    # record of the lead (its properties merged, its events together).
    home, scored, events = lead_inputs(
        records, store.events_for(session, ids), company_values(session, ids), owner
    )
    score = engine.score(scored, events, now, home.stage)
    contact = ContactRecord(
        crm=row.crm,
        id=row.crm_id,
        email=row.email,
        properties=merged_properties(records),
        updated_at=row.crm_updated_at,
    )
    linked = [
        {"crm": r.crm, "crm_id": r.crm_id, "home": r.id == home.id}
        for r in records
        if len(records) > 1
    ]
    return StoredLead(
        linked=linked,
        contact=contact,
        score=score,
        history=[
            {**_plain(r, _HISTORY), "reasons": r.reasons}
            for r in lead_history.score_history(session, row.id, SHOWN)
        ],
        outbox=[
            _plain(r, _OUTBOX)
            for r in lead_history.outbox_rows(session, row.crm, row.crm_id, SHOWN)
        ],
        assignments=[
            _plain(r, ("owner_id", "strategy", "assigned_at"))
            for r in lead_history.assignments(session, row.id)
        ],
        sla_clocks=[_plain(r, _CLOCK) for r in lead_history.sla_clocks(session, row.id)],
        handoff_state=row.handoff if isinstance(row.handoff, dict) else {},
        crm_values=dict(row.crm_values or {}),
        account=_account(session, config, row),
    )


def _lead_records(
    session: Any, store: Store, config: CrmbridgeConfig, row: Any, now: datetime
) -> list[Any]:
    """``row`` and the records of other CRMs it is one lead with (when linking is on)."""
    crms = linked_crms(config)
    if row.crm not in crms:
        return [row]
    others = partners(session, [row.id]).get(row.id, [])
    found = store.contacts_by_id(session, others, now, take=False)
    return [row, *(r for r in found if r.crm in crms)]


def _one_lead(
    session: Any, store: Store, config: CrmbridgeConfig, rows: list[Any], now: datetime
) -> list[Any] | None:
    """The home record of ``rows`` when they are one linked lead, else None."""
    records = _lead_records(session, store, config, rows[0], now)
    if len(records) < 2 or not {r.id for r in rows} <= {r.id for r in records}:
        return None
    owner = config.writeback.owner_of(score_property(config.writeback.prefix))
    return [home_record(records, owner)]


def _account(session: Any, config: CrmbridgeConfig, row: Any) -> dict[str, Any] | None:
    """The account score of the lead's company, as the outbox last holds it."""
    if not config.account_score.enabled:
        return None
    linked = companies_of(session, row.crm, [row.crm_id]).get(row.crm_id)
    if linked is None:
        return None
    company = linked[1]
    name = account_property(config.account_score, config.writeback.prefix)
    last = outbox.last_company_values(session, row.crm, name, [company]).get(company)
    return {
        "company": company,
        "property": name,
        "value": last.value if last is not None else None,
        "status": last.status if last is not None else None,
    }


def _live_values(config: CrmbridgeConfig, lead: StoredLead) -> dict[str, tuple[Any, Any]]:
    """crmbridge's properties as the CRM holds them now, next to what the store knew."""
    try:
        connector = build_connectors(config).get(lead.contact.crm)
        if connector is None:
            fail(
                t(
                    N_("--live: no enabled connector {crm} in the configuration"),
                    crm=repr(lead.contact.crm),
                )
            )
            raise typer.Exit(EXIT_INPUT)
        names = own_property_names(config.writeback.prefix)
        found = connector.read_values([lead.contact.id], names)
    except CrmbridgeError as exc:
        fail(t(N_("--live: cannot read the CRM: {problem}"), problem=exc))
        raise typer.Exit(EXIT_INPUT) from None
    now_held: Mapping[str, Any] = found.get(lead.contact.id, {})
    return {name: (lead.crm_values.get(name), now_held.get(name)) for name in names}


def _linked_line(linked: list[dict[str, Any]]) -> str:
    """How a lead in several CRMs is told: its records, and where its hand-off runs."""
    records = ", ".join(f"{r['crm']} {r['crm_id']}" for r in linked)
    home = next(r["crm"] for r in linked if r["home"])
    return t(
        N_(
            "One lead in several CRMs (the same email): {records}. Scored once from all of "
            "them; its hand-off runs in {home}; each property is written as [writeback] "
            "owners say."
        ),
        records=records,
        home=home,
    )


def _stored_model(lead: StoredLead) -> str | None:
    """The model version of the lead's latest stored score (None before its first)."""
    return str(lead.history[0]["model_version"]) if lead.history else None


def _differs(known: Any, held: Any) -> bool:
    if known is None or known == "":
        return held not in (None, "")
    return not same_value(str(known), held)


def _as_json(lead: StoredLead) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "crm": lead.contact.crm,
        "crm_id": lead.contact.id,
        "score": explanation(lead.contact, lead.score),
        "stored_model_version": _stored_model(lead),
        "history": lead.history,
        "outbox": lead.outbox,
        "assignments": lead.assignments,
        "sla_clocks": lead.sla_clocks,
        "handoff_state": lead.handoff_state,
    }
    if lead.account is not None:
        payload["account"] = lead.account
    if lead.linked:
        payload["linked_records"] = lead.linked
    if lead.live is not None:
        payload["live"] = {
            name: {"store": known, "crm": held, "differs": _differs(known, held)}
            for name, (known, held) in lead.live.items()
        }
    return payload


def _table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> Table:
    """A titled table; every cell is shown as text (markup in CRM values escaped)."""
    table = Table(title=title, title_justify="left", expand=True)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(cell if isinstance(cell, Text) else escape(str(cell)) for cell in row))
    return table


def _shown_value(value: Any) -> str:
    """An outbox row's payload in a cell: a property write's value alone, else compact JSON."""
    if isinstance(value, dict) and set(value) == {"value"}:
        return str(value["value"])
    return json.dumps(value, ensure_ascii=False, sort_keys=True)[:200]


def _moment(value: Any, texts: Texts) -> str:
    """A stored instant (ISO text) in the configured time zone and locale; "" when none."""
    if not value:
        return ""
    try:
        return texts.moment(parse_instant(str(value)))
    except ValueError:  # not an instant after all: shown as stored
        return str(value)


def _owner(owner_id: Any, names: Mapping[str, str]) -> str:
    """An owner by name when ``[[assignment.owners]]`` names them, else by id."""
    return names.get(str(owner_id), str(owner_id)) if owner_id else ""


def _record_tables(lead: StoredLead, texts: Texts, names: Mapping[str, str]) -> Group:
    history = [
        [_moment(h[k], texts) if k == "scored_at" else h[k] for k in _HISTORY if k != "hot"]
        + [str(h["reasons"])[:400]]
        for h in lead.history
    ]
    writes = [
        [
            w["id"],
            w["kind"],
            w["target"],
            _shown_value(w["value"]),
            w["status"],
            w["attempts"],
            str(w["last_error"] or "")[:200],
            _moment(w["updated_at"] or w["created_at"], texts),
        ]
        for w in lead.outbox
    ]
    clocks = [
        [
            _moment(c[k], texts)
            if k.endswith("_at")
            else _owner(c[k], names)
            if k == "owner_id"
            else c[k] or ""
            for k in _CLOCK
        ]
        for c in lead.sla_clocks
    ]
    owners = ", ".join(
        f"{_owner(a['owner_id'], names)} ({a['strategy']})" for a in lead.assignments
    )
    parts: list[Any] = [
        _table(
            t(N_("Score history (newest first)")),
            [t(c) for c in _HISTORY_COLUMNS],
            history,
        ),
        _table(
            t(N_("Writes and actions (outbox, newest first)")),
            [t(c) for c in _OUTBOX_COLUMNS],
            writes,
        ),
    ]
    if clocks:
        parts.append(_table(t(N_("SLA clocks")), [t(c) for c in _CLOCK_COLUMNS], clocks))
    else:
        parts.append(Text(t(N_("SLA clocks: none started"))))
    parts.append(Text(t(N_("Owners given: {owners}"), owners=owners or t(N_("none")))))
    if lead.live is not None:
        differs = Text(t(N_("differs")), style="red")
        live = [
            [name, known or "", held or "", differs if _differs(known, held) else ""]
            for name, (known, held) in lead.live.items()
        ]
        columns = [t(N_("Property")), t(N_("Store knew")), t(N_("CRM now")), ""]
        parts.append(_table(t(N_("In the CRM now (--live)")), columns, live))
    return Group(*parts)


_HISTORY_COLUMNS = (
    N_("Scored at"),
    N_("Model"),
    N_("Score"),
    N_("Grade"),
    N_("Stage"),
    N_("Move"),
    N_("Reasons"),
)
_OUTBOX_COLUMNS = (
    N_("Id"),
    N_("Kind"),
    N_("Target"),
    N_("Value"),
    N_("Status"),
    N_("Attempts"),
    N_("Last error"),
    N_("Updated"),
)
_CLOCK_COLUMNS = (
    N_("Stage"),
    N_("Owner"),
    N_("Started"),
    N_("Due"),
    N_("Contacted"),
    N_("Breached"),
)
