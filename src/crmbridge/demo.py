"""``crmbridge demo``: the whole product against a local CRM sandbox, in one command.

No account and no network: the sandbox of a connector plugin (HubSpot's, the first
installed plugin that ships one) is started in-process with ~200 synthetic leads and
120 days of their activity, and the real pipeline — the plugin's connector, the store,
the scoring model of ``config.example.toml`` (or the one given with ``--config``), the
outbox — runs against it for a few cycles. The CRM is reached only through the
plugin registry and its :class:`~crmbridge.connector.Sandbox`.
"""

from __future__ import annotations

import json
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from crmbridge import clock
from crmbridge.config import CrmbridgeConfig, example_config_text, parse_config
from crmbridge.connector import (
    Connector,
    ConnectorPlugin,
    ConnectorSettings,
    LeadFields,
    Sandbox,
    SandboxProvider,
)
from crmbridge.connector.registry import plugins
from crmbridge.errors import ConfigError, ConfigProblem
from crmbridge.i18n import ENGLISH, N_, Texts
from crmbridge.ingest import Ingestor
from crmbridge.store.repository import Store
from crmbridge.sync.pipeline import CycleSummary, Pipeline

Say = Callable[[str], None]
SHOWN = ("score", "grade", "bant", "stage", "hot", "reasons")


@dataclass
class DemoLead:
    """One lead as the CRM holds it after the demo."""

    name: str
    company: str
    score: int
    grade: str
    bant: str
    stage: str
    owner: str
    hot: bool
    reason: str


@dataclass
class DemoReport:
    """What the demo did and what the CRM holds at the end (``crm``: its title)."""

    crm: str = ""
    leads: list[DemoLead] = field(default_factory=list)
    cycles: list[CycleSummary] = field(default_factory=list)
    events: int = 0
    api_calls: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def sandbox_plugin(name: str | None = None) -> tuple[ConnectorPlugin, SandboxProvider]:
    """The plugin called ``name`` (or the first installed one that ships a sandbox) and
    its sandbox.

    A plugin without a sandbox, or none installed, is a configuration error naming the
    plugins that have one.
    """
    with_sandbox = {p.name: (p, p.sandbox) for p in plugins().values() if p.sandbox is not None}
    if name is None and with_sandbox:
        return next(iter(with_sandbox.values()))
    if name in with_sandbox:
        return with_sandbox[name]
    if name is None:
        what = "no installed connector plugin has a sandbox"
    elif name in plugins():
        what = f"the {name} connector plugin has no sandbox"
    else:
        what = f'no connector plugin "{name}" is installed'
    names = ", ".join(with_sandbox) or "none"
    raise ConfigError([ConfigProblem("--crm", what, f"plugins with a sandbox: {names}")])


def demo_config(
    name: str,
    settings: ConnectorSettings,
    database_url: str,
    model: CrmbridgeConfig | None = None,
) -> CrmbridgeConfig:
    """A model (default: the bundled example) pointed at the sandbox and a local database.

    ``settings`` is the sandbox's ``[connectors.<name>]`` table.

    Only the sandbox is reached: the model's own CRM accounts, database and notification
    webhooks are replaced, so trying a model never writes to a real account or channel
    (and shadow mode, ``[bridge] write = false``, does not apply to the sandbox).
    """
    config = model or parse_config(example_config_text()).config
    # Every other CRM switched off: the demo reaches the sandbox only.
    tables: dict[str, Any] = {key: type(t)() for key, t in config.connectors.tables().items()}
    tables[name] = settings
    connectors = config.connectors.model_copy(update=tables)
    notifications = config.notifications.model_copy(
        update={"slack_webhook_url": None, "webhook_url": None}
    )
    return config.model_copy(
        update={
            "connectors": connectors,
            "notifications": notifications,
            # The sandbox is no CRM: a model in shadow mode is still shown at work.
            "bridge": config.bridge.model_copy(
                update={"database_url": database_url, "write": True}
            ),
        }
    )


def example_model(fields: LeadFields) -> CrmbridgeConfig:
    """The bundled example model with its properties named as the sandbox's CRM names
    them (:attr:`~crmbridge.connector.LeadFields.renames`): the example is written with
    HubSpot's names, and a rule on a property the CRM lacks never scores."""
    text = example_config_text()
    for old, new in fields.renames:
        text = re.sub(rf"\b{re.escape(old)}\b", new, text)
    return parse_config(text).config


@contextmanager
def _database(db: str | None) -> Iterator[str]:
    if db:
        yield db if "://" in db else f"sqlite:///{Path(db).resolve()}"
        return
    with tempfile.TemporaryDirectory(prefix="crmbridge-demo-") as folder:
        yield f"sqlite:///{Path(folder) / 'demo.db'}"


@contextmanager
def running_demo(
    db: str | None = None, model: CrmbridgeConfig | None = None, crm: str | None = None
) -> Iterator[tuple[Sandbox, Pipeline, Connector]]:
    """A started sandbox and a pipeline wired to it (for the demo and --keep-running).

    ``crm``: the plugin whose sandbox runs (default: the first that ships one).
    """
    plugin, provider = sandbox_plugin(crm)
    with provider.start() as sandbox, _database(db) as database_url:
        model = model or example_model(sandbox.fields)
        config = demo_config(plugin.name, sandbox.settings, database_url, model)
        connector = sandbox.connect()
        store = Store.open(database_url)
        yield sandbox, Pipeline(store, config, {plugin.name: connector}), connector


def run_demo(
    db: str | None = None,
    say: Say = print,
    keep_running: bool = False,
    model: CrmbridgeConfig | None = None,
    crm: str | None = None,
    t: Texts = ENGLISH,
) -> DemoReport:
    """Run the demo end to end; ``keep_running`` serves until interrupted afterwards.

    ``model``: the scoring and hand-off configuration to try (default: the example);
    ``crm``: the plugin whose sandbox runs (default: the first that ships one); ``t``:
    the language the demo narrates in.
    """
    started = time.monotonic()
    title = sandbox_plugin(crm)[0].title
    report = DemoReport(crm=title)
    with running_demo(db, model, crm) as (sandbox, pipeline, connector):
        say(
            t(
                N_("{crm} sandbox on {url} with {count} synthetic leads"),
                crm=title,
                url=sandbox.url,
                count=t.number(sandbox.contact_count()),
            )
        )
        report.events = _ingest(pipeline, sandbox.demo_events())
        say(
            t(
                N_("Ingested {count} website and email events (120 days)"),
                count=t.number(report.events),
            )
        )
        check = connector.check()
        for problem in check.problems:
            say(t(N_("check: {problem}"), problem=problem))
        pipeline.prepare()
        say(t(N_("Created the crmbridge properties in {crm}"), crm=title))
        # Each cycle scores at the time it runs, as the daemon's do: the sandbox stamps
        # the reply with its clock, and a cycle scoring at an earlier instant would see
        # it as a future event, counted only by a later cycle.
        report.cycles.append(_cycle(pipeline, clock.now(), say, t(N_("first sync")), t))
        _activity(sandbox, pipeline, clock.now(), say, t)
        report.cycles.append(_cycle(pipeline, clock.now(), say, t(N_("after new activity")), t))
        report.cycles.append(_cycle(pipeline, clock.now(), say, t(N_("nothing new")), t))
        report.leads = _leads(sandbox, connector, pipeline.prefix)
        report.api_calls = sandbox.api_calls()
        report.seconds = round(time.monotonic() - started, 1)
        if keep_running:
            _serve(title, sandbox, pipeline, say, t)
    return report


def _ingest(pipeline: Pipeline, events: list[dict[str, Any]]) -> int:
    ingestor = Ingestor(pipeline.store, timedelta(minutes=5))
    lines = ((i, json.dumps(e).encode()) for i, e in enumerate(events, start=1))
    result = ingestor.ingest_lines(lines, clock.now())
    return result.ingested


def _cycle(
    pipeline: Pipeline, now: datetime, say: Say, label: str, t: Texts = ENGLISH
) -> CycleSummary:
    summary = pipeline.run_once(now)
    say(
        t(
            N_(
                "Cycle ({label}): read {read}, rescored {scored}, changed {changed}, wrote "
                "{written} contacts in {calls} API calls, {seconds} s"
            ),
            label=label,
            read=t.number(summary.read),
            scored=t.number(summary.scored),
            changed=t.number(summary.changed),
            written=t.number(summary.written),
            calls=t.number(summary.api_calls),
            seconds=t.number(round(summary.duration_s, 1)),
        )
    )
    return summary


def _activity(
    sandbox: Sandbox, pipeline: Pipeline, now: datetime, say: Say, t: Texts = ENGLISH
) -> None:
    """Three warm leads visit the pricing page; one lead replies to a sales email."""
    contacts = sorted(sandbox.contacts(), key=lambda c: c.crm_id)
    warm = [c for c in contacts if "director" in c.job_title.lower()][:3]
    events = [
        {
            "type": "page_view",
            "occurred_at": (now - timedelta(minutes=m)).isoformat(),
            "contact": {"email": c.email},
            "properties": {"url": "https://acme.example/pricing"},
        }
        for c in warm
        for m in (3, 2, 1)
        if c.email
    ]
    _ingest(pipeline, events)
    sandbox.reply(contacts[0].crm_id)
    say(
        t(
            N_("Meanwhile {count} leads visited the pricing page and one replied to a sales email"),
            count=len(warm),
        )
    )


def _leads(sandbox: Sandbox, connector: Connector, prefix: str) -> list[DemoLead]:
    owners = sandbox.owner_names()
    fields = sandbox.fields
    names = [fields.first_name, fields.last_name, fields.company, fields.owner]
    names += [f"{prefix}_{k}" for k in SHOWN]
    ids = [c.crm_id for c in sandbox.contacts()]
    values = connector.read_values(ids, names)
    leads = []
    for props in values.values():
        if not props.get(f"{prefix}_score"):
            continue
        reasons = props.get(f"{prefix}_reasons") or ""
        leads.append(
            DemoLead(
                name=" ".join(
                    filter(None, (props.get(fields.first_name), props.get(fields.last_name)))
                )
                or "?",
                company=props.get(fields.company) or "",
                score=int(float(props.get(f"{prefix}_score") or 0)),
                grade=props.get(f"{prefix}_grade") or "",
                bant=props.get(f"{prefix}_bant") or "",
                stage=props.get(f"{prefix}_stage") or "",
                owner=owners.get(props.get(fields.owner) or "", ""),
                hot=props.get(f"{prefix}_hot") == "true",
                reason=reasons.split("; ")[0],
            )
        )
    return sorted(leads, key=lambda lead: (-lead.score, lead.name))


def _serve(title: str, sandbox: Sandbox, pipeline: Pipeline, say: Say, t: Texts = ENGLISH) -> None:
    say(
        t(
            N_(
                "Sandbox and pipeline keep running: {crm} API at {url} ({sign_in}), admin "
                "at {admin} — Ctrl-C to stop"
            ),
            crm=title,
            url=sandbox.url,
            sign_in=sandbox.sign_in,
            admin=sandbox.admin_url,
        )
    )
    try:
        while True:
            time.sleep(10)
            _cycle(pipeline, clock.now(), say, t(N_("periodic")), t)
    except KeyboardInterrupt:
        say(t(N_("stopped")))
