"""The dashboard's page: the week's review (the report's own tables and charts, so the
numbers are those of ``crmbridge report --json``) and the daemon's live state — the
hot-lead queue, SLA clocks not yet stopped, sync health and recent cycles, the outbox,
and the scoring model's version — as tables of translated text.

Everything is read in one short read-only session; every list is bounded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from jinja2 import ChoiceLoader, Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from crmbridge.config import CrmbridgeConfig
from crmbridge.handoff.business_hours import zone_or_utc
from crmbridge.i18n import N_, Texts
from crmbridge.report.collect import build_report, one_record_per_lead, owner_names
from crmbridge.report.periods import Period
from crmbridge.report.view import STAGES, Table, heading, tables
from crmbridge.scoring import ScoringEngine
from crmbridge.store import dashboard_queries as queries
from crmbridge.store.outbox import depth
from crmbridge.store.repository import Store

#: Rows shown per live list (the heading gives the full count).
ROWS = 50
#: Sync cycles shown.
CYCLES = 10

#: The dashboard's templates first (its ``table.html`` adds the raw values a test or a
#: script can read), the report's page under them.
PAGES = Environment(
    loader=ChoiceLoader(
        [PackageLoader("crmbridge.daemon", "templates"), PackageLoader("crmbridge.report")]
    ),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)

TEXTS = {
    "dashboard": N_("crmbridge dashboard"),
    "review": N_("This week's review"),
    "hot": N_("Hot-lead queue"),
    "clocks": N_("SLA clocks"),
    "sync": N_("Sync health"),
    "cycles": N_("Recent sync cycles"),
    "outbox": N_("Outbox"),
    "model": N_("Scoring model"),
    "sign_out": N_("Sign out"),
}


@dataclass(frozen=True, slots=True)
class Live:
    """What the daemon knows beyond the store: sync health and the store's state."""

    #: ``SyncHealth.report`` (None outside a daemon).
    health: dict[str, Any] | None
    store_writable: bool
    store_error: str | None


def texts_for(config: CrmbridgeConfig) -> Texts:
    """The dashboard's language and time zone: ``[bridge] language`` and ``timezone``."""
    return Texts(config.bridge.language, zone_or_utc(config.bridge.timezone))


def render(store: Store, config: CrmbridgeConfig, period: Period, now: datetime, live: Live) -> str:
    """The whole page, in the configured language."""
    from crmbridge.report import charts  # matplotlib loads when a page is first asked for

    t = texts_for(config)
    version = ScoringEngine(
        config.scoring, config.bant, config.lifecycle, language=config.bridge.language
    ).version
    names = owner_names(config)
    with store.session() as session:
        report = build_report(session, config, period, now)
        hot, hot_count = queries.hot_leads(session, ROWS, skip=one_record_per_lead(config))
        clocks, clock_count = queries.open_clocks(session, ROWS)
        runs = queries.recent_runs(session, CYCLES)
        outbox = dict(depth(session))
        since = queries.first_scored_with(session, version)
    live_tables = [
        hot_table(hot, hot_count, names, now, t),
        clock_table(clocks, clock_count, names, now, t),
        health_table(live, t),
        cycles_table(runs, t),
        outbox_table(outbox, t),
        model_table(version, since, t),
    ]
    return PAGES.get_template("dashboard.html").render(
        language=t.language,
        title=t(TEXTS["dashboard"]),
        review_title=f"{t(TEXTS['review'])} — {period.label}",
        heading=heading(report, t),
        tables=tables(report, t),
        # The SVG comes from matplotlib, which escapes the text it draws.
        charts=[Markup(svg) for svg in charts.charts(report, t)],
        live=live_tables,
        empty=t("Nothing in this period."),
        none=t("Nothing to show."),
        refresh_s=60,
        sign_out=t(TEXTS["sign_out"]),
    )


def _lead(email: str | None, contact_id: int) -> str:
    return email or f"#{contact_id}"


def _owner(owner_id: str | None, names: dict[str, str], t: Texts) -> str:
    return names.get(owner_id, owner_id) if owner_id else t("(no owner)")


def _when(moment: datetime | None, t: Texts) -> str:
    return t.moment(moment) if moment is not None else "—"


def _hours(span: timedelta | None) -> float | None:
    return round(span.total_seconds() / 3600, 1) if span is not None else None


def _titled(key: str, count: int, shown: int, t: Texts) -> str:
    title = t(TEXTS[key])
    if count > shown:
        return t("{title} ({shown} of {count})", title=title, shown=shown, count=count)
    return f"{title} ({t.number(count)})"


def hot_table(
    leads: list[queries.HotLead], count: int, names: dict[str, str], now: datetime, t: Texts
) -> Table:
    """Hot leads, longest waiting first: owner and time since the lead became hot."""
    columns = [
        ("lead", t("Lead")),
        ("score", t("Score")),
        ("owner", t("Owner")),
        ("hot_since", t("Hot since")),
        ("hours_since_hot", t("Time since hot")),
    ]
    raw: list[list[object]] = []
    shown: list[list[str]] = []
    for lead in leads:
        waited = now - lead.hot_since if lead.hot_since is not None else None
        name = _lead(lead.email, lead.contact_id)
        owner = _owner(lead.owner_id, names, t)
        since = lead.hot_since.isoformat() if lead.hot_since else None
        raw.append([name, lead.score, owner, since, _hours(waited)])
        shown.append(
            [name, t.number(lead.score), owner, _when(lead.hot_since, t), _wall_hours(waited, t)]
        )
    return Table("hot_leads", _titled("hot", count, len(leads), t), columns, raw, shown)


def _wall_hours(span: timedelta | None, t: Texts) -> str:
    return t.hours(span) if span is not None else "—"


def clock_table(
    clocks: list[queries.Clock], count: int, names: dict[str, str], now: datetime, t: Texts
) -> Table:
    """SLA clocks not stopped by a contact: running ones, and breached ones."""
    columns = [
        ("lead", t("Lead")),
        ("stage", t("Stage")),
        ("owner", t("Owner")),
        ("started", t("Started")),
        ("due", t("Due")),
        ("state", t("State")),
        ("hours_left", t("Hours left")),
    ]
    raw: list[list[object]] = []
    shown: list[list[str]] = []
    for clock in clocks:
        breached = clock.breached_at is not None or (
            clock.due_at is not None and clock.due_at <= now
        )
        state = "breached" if breached else "running"
        left = clock.due_at - now if clock.due_at is not None else None
        stage = t(STAGES[clock.stage]) if clock.stage in STAGES else clock.stage
        lead = _lead(clock.email, clock.contact_id)
        owner = _owner(clock.owner_id, names, t)
        raw.append([lead, clock.stage, owner, _iso(clock.started_at), _iso(clock.due_at)])
        raw[-1] += [state, _hours(left)]
        shown.append(
            [
                lead,
                stage,
                owner,
                _when(clock.started_at, t),
                _when(clock.due_at, t),
                t("breached") if breached else t("running"),
                _wall_hours(left, t),
            ]
        )
    return Table("sla_clocks", _titled("clocks", count, len(clocks), t), columns, raw, shown)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def health_table(live: Live, t: Texts) -> Table:
    """Per connector: healthy or not, last success and failure, auth (what /healthz says),
    and the store's state."""
    columns = [
        ("name", t("Connector")),
        ("healthy", t("Healthy")),
        ("last_success", t("Last success")),
        ("last_failure", t("Last failure")),
        ("auth", t("Authentication")),
        ("last_error", t("Last error")),
    ]
    yes, no = t("yes"), t("no")
    raw: list[list[object]] = [["store", live.store_writable, None, None, None, live.store_error]]
    shown = [
        [t("store"), yes if live.store_writable else no, "—", "—", "—", live.store_error or ""]
    ]
    connectors = (live.health or {}).get("connectors", {})
    for name, details in connectors.items():
        row = [name, bool(details.get("healthy"))]
        row += [details.get(key) for key in ("last_success", "last_failure", "auth", "last_error")]
        raw.append(row)
        shown.append(
            [
                name,
                yes if details.get("healthy") else no,
                str(details.get("last_success") or "—"),
                str(details.get("last_failure") or "—"),
                str(details.get("auth") or "—"),
                str(details.get("last_error") or ""),
            ]
        )
    return Table("sync_health", t(TEXTS["sync"]), columns, raw, shown)


def cycles_table(runs: list[queries.Run], t: Texts) -> Table:
    """The latest sync cycles, newest first."""
    columns = [
        ("started", t("Started")),
        ("status", t("Status")),
        ("read", t("Read")),
        ("scored", t("Scored")),
        ("written", t("Written")),
        ("failed", t("Failed")),
        ("duration_s", t("Seconds")),
    ]
    raw: list[list[object]] = []
    shown: list[list[str]] = []
    for run in runs:
        counts = [run.read, run.scored, run.written, run.failed]
        raw.append([run.started_at.isoformat(), run.status, *counts, round(run.duration_s, 2)])
        shown.append(
            [
                t.moment(run.started_at),
                run.status,
                *(t.number(value) for value in counts),
                t.number(round(run.duration_s, 2)),
            ]
        )
    return Table("sync_cycles", t(TEXTS["cycles"]), columns, raw, shown)


def outbox_table(counts: dict[str, int], t: Texts) -> Table:
    """Queued CRM writes by status."""
    columns = [("status", t("Status")), ("rows", t("Rows"))]
    ordered = sorted(counts.items())
    raw: list[list[object]] = [[status, count] for status, count in ordered]
    shown = [[status, t.number(count)] for status, count in ordered]
    return Table("outbox", t(TEXTS["outbox"]), columns, raw, shown)


def model_table(version: str, since: datetime | None, t: Texts) -> Table:
    """The scoring model's version and when the first score of it was stored."""
    columns = [("version", t("Version")), ("since", t("In use since"))]
    raw: list[list[object]] = [[version, _iso(since)]]
    shown = [[version, _when(since, t) if since else t("no score of it yet")]]
    return Table("model", t(TEXTS["model"]), columns, raw, shown)
