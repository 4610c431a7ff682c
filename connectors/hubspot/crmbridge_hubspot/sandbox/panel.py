"""``GET /_sandbox`` in a browser: the sandbox's CRM as a person would look at it.

One server-rendered HTML page, no script and nothing fetched from elsewhere: the
contacts as a sales rep sees them in HubSpot (name, company, lifecycle stage, owner and
crmbridge's score, grade, BANT, stage, hot flag and top reason), the tasks, the sequence
enrollments, the latest API requests and webhook deliveries. Every value is escaped:
the data is whatever a client wrote. Clients that ask for JSON keep getting JSON
(:func:`wants_html` decides).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from crmbridge_hubspot.sandbox.pipeline import Services
from crmbridge_hubspot.sandbox.records import Contact, Owner

DEFAULT_PREFIX = "crmbridge"
MAX_CONTACTS = 200
MAX_REQUESTS = 50
MAX_DELIVERIES = 20
MAX_REASON = 140
_PREFIX = re.compile(r"[a-z][a-z0-9_]{0,39}")
_CSS = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #1d2b36; }
h1 { font-size: 1.3rem; margin: 0 0 .3rem; } h2 { font-size: 1.05rem; margin: 1.6rem 0 .4rem; }
p { margin: .3rem 0; color: #4a5a68; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .25rem .5rem; border-bottom: 1px solid #e3e8ee;
         vertical-align: top; }
th { background: #f3f6f9; font-weight: 600; } td.n { text-align: right; }
tr.hot td { background: #fff4ec; } small { color: #6b7b88; } code { font-size: 12px; }
"""


def wants_html(accept: str, query_format: str | None) -> bool:
    """Whether to answer HTML: ``?format=html|json`` decides, else the Accept header.

    HTML only when ``text/html`` is preferred to JSON, so ``*/*`` (curl, SDKs) and
    ``application/json`` keep the JSON answer and a browser gets the page.
    """
    if query_format in ("html", "json"):
        return query_format == "html"
    weights: dict[str, float] = {}
    for part in accept.split(",")[:50]:
        media, *params = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        weights[media.lower()] = max(quality, weights.get(media.lower(), 0.0))

    def weight(media: str) -> float:
        kind = media.split("/")[0] + "/*"
        return weights.get(media, weights.get(kind, weights.get("*/*", 0.0)))

    return weight("text/html") > 0 and weight("text/html") > weight("application/json")


def render(services: Services, *, prefix: str | None = None, limit: int | None = None) -> str:
    """The whole page. ``prefix`` names crmbridge's properties (``crmbridge_score``...)."""
    prefix = prefix if prefix and _PREFIX.fullmatch(prefix) else DEFAULT_PREFIX
    limit = MAX_CONTACTS if limit is None else max(1, min(limit, 10_000))
    state, config, hooks = services.state, services.config, services.webhooks
    owners = {o.id: o for o in (*state.owners(), *state.owners(archived=True))}
    contacts = [c for c in state.contacts() if not c.archived]
    names = {c.id: _name(c) for c in contacts}
    tasks = sorted(state.tasks(), key=lambda t: t.created_at, reverse=True)
    enrollments = sorted(state.enrollments(), key=lambda e: e.enrolled_at, reverse=True)
    requests = list(reversed(state.requests(MAX_REQUESTS)))
    deliveries = list(reversed(hooks.deliveries()))[:MAX_DELIVERIES]
    active = sum(1 for e in enrollments if e.active)
    hot = sum(1 for c in contacts if c.properties.get(f"{prefix}_hot") == "true")
    scored = sum(1 for c in contacts if c.properties.get(f"{prefix}_score"))
    shown = sorted(contacts, key=lambda c: _rank(c, prefix))[:limit]
    webhook = config.webhook_url or "off (crmbridge sandbox --webhook-url …)"
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>crmbridge sandbox</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>crmbridge sandbox — a HubSpot-compatible CRM on this machine</h1>",
        _p(
            f"{len(contacts):,} contacts ({scored:,} scored by crmbridge, {hot:,} hot) · "
            f"{len(tasks):,} tasks · {active:,} active sequence enrollments · "
            f"webhooks: {webhook} ({hooks.delivered_events:,} events delivered, "
            f"{hooks.failed_events:,} failed, {hooks.pending():,} waiting)"
        ),
        _p(
            "The same data as JSON: /_sandbox/contacts/{id}, /_sandbox/tasks, "
            "/_sandbox/enrollments, /_sandbox/requests, /_sandbox/webhooks, /_sandbox/counters "
            "(GET /_sandbox with Accept: application/json lists every endpoint). "
            "Reload the page to see new changes."
        ),
        "<h2>Contacts, as a sales rep sees them</h2>",
        _p(
            f"Hot leads first, then by crmbridge score; {len(shown):,} of {len(contacts):,} "
            f"shown (?limit=N for more). crmbridge's properties: {prefix}_* "
            "(?prefix=… if you changed writeback.prefix)."
        ),
        _table(
            (
                "Contact",
                "Company",
                "Lifecycle stage",
                "Owner",
                "Score",
                "Grade",
                "BANT",
                "crmbridge stage",
                "Hot",
                "Top reason",
            ),
            (_contact_row(c, prefix, owners) for c in shown),
            numeric={4},
            marked={i for i, c in enumerate(shown) if c.properties.get(f"{prefix}_hot") == "true"},
        ),
        "<h2>Tasks</h2>",
        _table(
            ("Created", "Subject", "Contact", "Owner", "Due", "Priority", "Status"),
            (
                (
                    _when(t.created_at),
                    t.properties.get("hs_task_subject", ""),
                    ", ".join(names.get(i, f"#{i}") for i in t.contact_ids),
                    _owner(owners, t.properties.get("hubspot_owner_id")),
                    t.properties.get("hs_timestamp", ""),
                    t.properties.get("hs_task_priority", ""),
                    t.properties.get("hs_task_status", ""),
                )
                for t in tasks
            ),
        ),
        "<h2>Sequence enrollments</h2>",
        _table(
            ("Enrolled", "Contact", "Sequence", "Sender", "Status"),
            (
                (
                    _when(e.enrolled_at),
                    names.get(e.contact_id, e.to_email),
                    f"{e.sequence_name} ({e.sequence_id})",
                    e.sender_email,
                    "active"
                    if e.finished_at is None
                    else f"ended {_when(e.finished_at)}: {e.finish_reason or ''}",
                )
                for e in enrollments
            ),
        ),
        f"<h2>Latest API requests (newest first, at most {MAX_REQUESTS})</h2>",
        _table(
            ("Time", "Method", "Path", "Status", "ms"),
            (
                (
                    _when(r.timestamp),
                    r.method,
                    r.path + (f"?{r.query}" if r.query else ""),
                    str(r.status),
                    f"{r.duration_ms:.1f}",
                )
                for r in requests
            ),
            numeric={3, 4},
        ),
        f"<h2>Webhook deliveries (newest first, at most {MAX_DELIVERIES})</h2>",
        _table(
            ("Attempt", "URL", "Events", "Status"),
            (
                (
                    str(d.attempt),
                    d.url,
                    str(d.events),
                    d.error or str(d.status),
                )
                for d in deliveries
            ),
            numeric={0, 2},
        ),
        "</body></html>",
    ]
    return "\n".join(parts)


def _rank(contact: Contact, prefix: str) -> tuple[int, float, str]:
    values = contact.properties
    try:
        score = float(values.get(f"{prefix}_score") or "nan")
    except ValueError:
        score = float("nan")
    hot = values.get(f"{prefix}_hot") == "true"
    # NaN (not scored) sorts last: compare on a finite key.
    return (0 if hot else 1, -score if score == score else float("inf"), _name(contact))


def _contact_row(contact: Contact, prefix: str, owners: Mapping[str, Owner]) -> tuple[str, ...]:
    values = contact.properties

    def own(name: str) -> str:
        return values.get(f"{prefix}_{name}", "")

    email = values.get("email", "")
    who = _name(contact) + (f"\n{email}" if email and email != _name(contact) else "")
    reason = own("reasons").split("; ", 1)[0]
    if len(reason) > MAX_REASON:
        reason = reason[: MAX_REASON - 1] + "…"
    return (
        who,
        values.get("company", ""),
        values.get("lifecyclestage", ""),
        _owner(owners, values.get("hubspot_owner_id")),
        own("score") or "—",
        own("grade"),
        own("bant"),
        own("stage"),
        "🔥" if own("hot") == "true" else "",
        reason,
    )


def _name(contact: Contact) -> str:
    values = contact.properties
    full = " ".join(v for v in (values.get("firstname"), values.get("lastname")) if v)
    return full or values.get("email") or f"#{contact.id}"


def _owner(owners: Mapping[str, Owner], owner_id: str | None) -> str:
    if not owner_id:
        return ""
    owner = owners.get(owner_id)
    if owner is None:
        return f"#{owner_id}"
    return f"{owner.first_name} {owner.last_name}".strip() or owner.email


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _p(text: str) -> str:
    return f"<p>{html.escape(text)}</p>"


def _table(
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    numeric: set[int] | None = None,
    marked: set[int] | None = None,
) -> str:
    """A table; every header and cell is escaped here.

    A cell's text after its first newline is shown small on a second line.
    """
    numeric = numeric or set()
    marked = marked or set()
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = []
    for index, row in enumerate(rows):
        cells = "".join(
            f"<td{' class=n' if i in numeric else ''}>{_cell(cell)}</td>"
            for i, cell in enumerate(row)
        )
        body.append(f"<tr{' class=hot' if index in marked else ''}>{cells}</tr>")
    if not body:
        body.append(f'<tr><td colspan="{len(headers)}"><small>none yet</small></td></tr>')
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _cell(text: str) -> str:
    main, _, detail = text.partition("\n")
    escaped = html.escape(main)
    return f"{escaped}<br><small>{html.escape(detail)}</small>" if detail else escaped
