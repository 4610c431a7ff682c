"""``crmbridge demo``: the whole product against a local HubSpot sandbox, in one command.

No account and no network: a HubSpot-compatible sandbox is started in-process with
~200 synthetic leads and 120 days of their activity, and the real pipeline — the
official HubSpot SDK, the store, the scoring model of ``config.example.toml`` (or the
one given with ``--config``), the outbox — runs against it for a few cycles.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from crmbridge.config import CrmbridgeConfig, example_config_text, parse_config
from crmbridge.ingest import Ingestor
from crmbridge.store.repository import Store
from crmbridge.sync.pipeline import CycleSummary, Pipeline
from crmbridge_hubspot.connector import HubSpotConnector
from crmbridge_hubspot.sandbox.config import DEFAULT_TOKEN
from crmbridge_hubspot.sandbox.server import SandboxServer, build
from crmbridge_hubspot.settings import HubSpotSettings

Say = Callable[[str], None]
SHOWN = ("score", "grade", "bant", "stage", "hot", "reasons")


@dataclass
class DemoLead:
    """One lead as HubSpot holds it after the demo."""

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
    """What the demo did and what HubSpot holds at the end."""

    leads: list[DemoLead] = field(default_factory=list)
    cycles: list[CycleSummary] = field(default_factory=list)
    events: int = 0
    api_calls: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def demo_config(
    base_url: str, database_url: str, model: CrmbridgeConfig | None = None
) -> CrmbridgeConfig:
    """A model (default: the bundled example) pointed at the sandbox and a local database.

    Only the sandbox is reached: the model's own CRM accounts, database and notification
    webhooks are replaced, so trying a model never writes to a real account or channel
    (and shadow mode, ``[bridge] write = false``, does not apply to the sandbox).
    """
    config = model or parse_config(example_config_text()).config
    # Every other CRM switched off: the demo reaches the sandbox only.
    tables: dict[str, Any] = {name: type(t)() for name, t in config.connectors.tables().items()}
    tables["hubspot"] = HubSpotSettings(
        enabled=True, base_url=base_url, access_token=_secret(DEFAULT_TOKEN)
    )
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


def _secret(value: str) -> Any:
    from pydantic import SecretStr

    return SecretStr(value)


@contextmanager
def _database(db: str | None) -> Iterator[str]:
    if db:
        yield db if "://" in db else f"sqlite:///{Path(db).resolve()}"
        return
    with tempfile.TemporaryDirectory(prefix="crmbridge-demo-") as folder:
        yield f"sqlite:///{Path(folder) / 'demo.db'}"


@contextmanager
def running_demo(
    db: str | None = None, model: CrmbridgeConfig | None = None
) -> Iterator[tuple[SandboxServer, Pipeline, HubSpotConnector]]:
    """A started sandbox and a pipeline wired to it (for the demo and --keep-running)."""
    state, settings = build("demo")
    with SandboxServer(state, settings) as server, _database(db) as database_url:
        config = demo_config(server.url, database_url, model)
        hubspot = config.connectors.tables()["hubspot"]
        assert isinstance(hubspot, HubSpotSettings)
        connector = HubSpotConnector.from_settings(hubspot)
        store = Store.open(database_url)
        yield server, Pipeline(store, config, {"hubspot": connector}), connector


def run_demo(
    db: str | None = None,
    say: Say = print,
    keep_running: bool = False,
    model: CrmbridgeConfig | None = None,
) -> DemoReport:
    """Run the demo end to end; ``keep_running`` serves until interrupted afterwards.

    ``model``: the scoring and hand-off configuration to try (default: the example).
    """
    started = time.monotonic()
    report = DemoReport()
    with running_demo(db, model) as (server, pipeline, connector):
        state = server.state
        say(f"HubSpot sandbox on {server.url} with {state.contact_count()} synthetic leads")
        report.events = _ingest(pipeline, state.demo_events)
        say(f"Ingested {report.events:,} website and email events (120 days)")
        check = connector.check()
        for problem in check.problems:
            say(f"check: {problem}")
        pipeline.prepare()
        say("Created the crmbridge properties in HubSpot")
        now = datetime.now(UTC)
        report.cycles.append(_cycle(pipeline, now, say, "first sync"))
        _activity(server, pipeline, now, say)
        report.cycles.append(
            _cycle(pipeline, now + timedelta(seconds=1), say, "after new activity")
        )
        report.cycles.append(_cycle(pipeline, now + timedelta(seconds=2), say, "nothing new"))
        report.leads = _leads(server, connector, pipeline.prefix)
        report.api_calls = dict(connector.client.calls)
        report.seconds = round(time.monotonic() - started, 1)
        if keep_running:
            _serve(server, pipeline, say)
    return report


def _ingest(pipeline: Pipeline, events: list[dict[str, Any]]) -> int:
    ingestor = Ingestor(pipeline.store, timedelta(minutes=5))
    lines = ((i, json.dumps(e).encode()) for i, e in enumerate(events, start=1))
    result = ingestor.ingest_lines(lines, datetime.now(UTC))
    return result.ingested


def _cycle(pipeline: Pipeline, now: datetime, say: Say, label: str) -> CycleSummary:
    summary = pipeline.run_once(now)
    say(
        f"Cycle ({label}): read {summary.read}, rescored {summary.scored}, "
        f"changed {summary.changed}, wrote {summary.written} contacts "
        f"in {summary.api_calls} API calls, {summary.duration_s:.1f} s"
    )
    return summary


def _activity(server: SandboxServer, pipeline: Pipeline, now: datetime, say: Say) -> None:
    """Three warm leads visit the pricing page; one lead replies to a sales email."""
    contacts = sorted(server.state.contacts(), key=lambda c: c.id)
    warm = [c for c in contacts if "director" in c.properties.get("jobtitle", "").lower()][:3]
    events = [
        {
            "type": "page_view",
            "occurred_at": (now - timedelta(minutes=m)).isoformat(),
            "contact": {"email": c.properties.get("email", "")},
            "properties": {"url": "https://acme.example/pricing"},
        }
        for c in warm
        for m in (3, 2, 1)
        if c.properties.get("email")
    ]
    _ingest(pipeline, events)
    replier = contacts[0]
    requests.post(f"{server.url}/_sandbox/contacts/{replier.id}/reply", json={}, timeout=10)
    say(f"Meanwhile {len(warm)} leads visited the pricing page and one replied to a sales email")


def _leads(server: SandboxServer, connector: HubSpotConnector, prefix: str) -> list[DemoLead]:
    owners = {o.id: f"{o.first_name} {o.last_name}" for o in server.state.owners()}
    names = ["firstname", "lastname", "company", "hubspot_owner_id"]
    names += [f"{prefix}_{k}" for k in SHOWN]
    ids = [c.id for c in server.state.contacts()]
    values = connector.read_values(ids, names)
    leads = []
    for props in values.values():
        if not props.get(f"{prefix}_score"):
            continue
        reasons = props.get(f"{prefix}_reasons") or ""
        leads.append(
            DemoLead(
                name=" ".join(filter(None, (props.get("firstname"), props.get("lastname")))) or "?",
                company=props.get("company") or "",
                score=int(float(props.get(f"{prefix}_score") or 0)),
                grade=props.get(f"{prefix}_grade") or "",
                bant=props.get(f"{prefix}_bant") or "",
                stage=props.get(f"{prefix}_stage") or "",
                owner=owners.get(props.get("hubspot_owner_id") or "", ""),
                hot=props.get(f"{prefix}_hot") == "true",
                reason=reasons.split("; ")[0],
            )
        )
    return sorted(leads, key=lambda lead: (-lead.score, lead.name))


def _serve(server: SandboxServer, pipeline: Pipeline, say: Say) -> None:
    say(
        f"Sandbox and pipeline keep running: HubSpot API at {server.url} (token "
        f"{DEFAULT_TOKEN}), admin at {server.url}/_sandbox — Ctrl-C to stop"
    )
    try:
        while True:
            time.sleep(10)
            _cycle(pipeline, datetime.now(UTC), say, "periodic")
    except KeyboardInterrupt:
        say("stopped")
