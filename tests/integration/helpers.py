"""Shared pieces of the integration tests: the seed scenario, a fake CRM, the CLI, snapshots."""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import structlog
from click.testing import Result
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from crmbridge.cli import app
from crmbridge.config import CrmbridgeConfig, example_config_text, parse_config
from crmbridge.connector import Write, WriteResult
from crmbridge.store.repository import Store
from crmbridge.sync.pipeline import Pipeline
from crmbridge.testing.fake import FakeConnector

#: The seed scenario's "today": the example events run up to 2026-11-19.
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
NOW_TEXT = "2026-11-20T10:00:00Z"
DB_URL_ENV = "CRMBRIDGE__BRIDGE__DATABASE_URL"


# -- configuration ---------------------------------------------------------------------


def example_config() -> CrmbridgeConfig:
    """The bundled example model, as the daemon loads it when no crmbridge.toml exists."""
    return parse_config(example_config_text(), source="example").config


# -- the seed scenario -----------------------------------------------------------------


def _example_lines(name: str) -> list[dict[str, Any]]:
    body = resources.files("crmbridge.examples").joinpath(name).read_text("utf-8")
    return [json.loads(line) for line in body.splitlines() if line.strip()]


def example_leads() -> list[dict[str, Any]]:
    """The ten seed leads (HubSpot contact records)."""
    return _example_lines("leads.jsonl")


def example_events() -> list[dict[str, Any]]:
    """The seed's canonical events about those leads."""
    return _example_lines("events.jsonl")


def seed_crm(folder: Path, contacts: Sequence[Mapping[str, Any]], **options: Any) -> FakeConnector:
    """A fake HubSpot holding ``contacts`` (``options`` go to :class:`FakeConnector`)."""
    FakeConnector.seed(folder, [dict(c) for c in contacts])
    options.setdefault("name", "hubspot")
    return FakeConnector(folder, **options)


def write_jsonl(path: Path, items: Iterable[Mapping[str, Any] | str]) -> Path:
    """Write JSON lines (strings are written as they are, for deliberately bad lines)."""
    with path.open("w", encoding="utf-8") as out:
        for item in items:
            out.write((item if isinstance(item, str) else json.dumps(item)) + "\n")
    return path


def event(
    email: str, kind: str, at: datetime | str, event_id: str | None = None, **properties: Any
) -> dict[str, Any]:
    """A canonical event about ``email``."""
    moment = at if isinstance(at, str) else at.isoformat().replace("+00:00", "Z")
    payload: dict[str, Any] = {
        "type": kind,
        "occurred_at": moment,
        "contact": {"email": email},
        "properties": properties,
    }
    if event_id is not None:
        payload["event_id"] = event_id
    return payload


_TITLES = ("Director de IT", "CIO", "Responsable de Marketing", "Head of IT", "Analyst", "CTO")
_ROLES = ("DECISION_MAKER", "BUDGET_HOLDER", "END_USER", "TECHNICAL_EVALUATOR", None)
_EVENT_KINDS = (
    ("page_view", {"url": "https://acme.es/pricing"}),
    ("page_view", {"url": "https://acme.es/blog"}),
    ("content_download", {"asset_type": "case_study"}),
    ("webinar_attended", {"watched_percent": 95}),
    ("email_click", {"url": "https://acme.es/case-studies/x", "campaign": "nurture-q4"}),
    ("meeting_booked", {}),
    ("email_open", {"campaign": "nurture-q4"}),
)


def synthetic_contacts(count: int, rng: random.Random) -> list[dict[str, Any]]:
    """``count`` varied HubSpot contacts, updated in small groups sharing a timestamp."""
    base = datetime(2026, 11, 1, tzinfo=UTC)
    contacts = []
    for i in range(count):
        props: dict[str, Any] = {
            "firstname": f"Lead{i}",
            "jobtitle": rng.choice(_TITLES),
            "numemployees": str(rng.choice((20, 300, 600, 1500))),
        }
        role = rng.choice(_ROLES)
        if role:
            props["hs_buying_role"] = role
        if rng.random() < 0.3:
            props["crmbridge_budget"] = "approved"
            props["crmbridge_need"] = "visibility"
        moment = base + timedelta(minutes=i // 7)  # ties of up to seven records
        contacts.append(
            {
                "id": str(1000 + i),
                "email": f"lead{i}@example{i % 13}.com",
                "properties": props,
                "updated_at": moment.isoformat().replace("+00:00", "Z"),
            }
        )
    return contacts


def synthetic_events(
    contacts: Sequence[Mapping[str, Any]], count: int, rng: random.Random, now: datetime
) -> list[dict[str, Any]]:
    """``count`` events spread over the 120 days before ``now`` (some without event_id)."""
    events = []
    for i in range(count):
        contact = rng.choice(contacts)
        kind, props = rng.choice(_EVENT_KINDS)
        at = now - timedelta(days=rng.uniform(0, 120))
        at = at.replace(microsecond=0)
        event_id = f"ev-{i}" if i % 3 else None
        events.append(event(contact["email"], kind, at, event_id, **props))
    return events


class FlakyCrm(FakeConnector):
    """A fake CRM that answers "503" for some records, a given number of times each.

    The failures are retriable, as a CRM's transient errors are; every other record of
    the batch is applied normally.
    """

    def __init__(self, folder: Path, *, failures: Mapping[str, int], **options: Any) -> None:
        options.setdefault("name", "hubspot")
        super().__init__(folder, **options)
        self.failures = dict(failures)
        self.attempts: Counter[str] = Counter()

    def write(self, batch: Sequence[Write]) -> list[WriteResult]:
        refused, passed = [], []
        for item in batch:
            self.attempts[item.crm_id] += 1
            if self.failures.get(item.crm_id, 0) > 0:
                self.failures[item.crm_id] -= 1
                refused.append(WriteResult(item.crm_id, False, "HTTP 503 unavailable", True))
            else:
                passed.append(item)
        return refused + super().write(passed)


# -- the command line ------------------------------------------------------------------


def cli(db_url: str, *args: str, input: bytes | str | None = None) -> Result:
    """Run ``crmbridge ARGS`` in-process against the database at ``db_url``.

    The command configures logging for its process, onto the runner's stderr, which is
    closed when it returns: the previous logging setup is put back, as a process exit would.
    """
    runner = CliRunner()
    logging_before = structlog.get_config()
    try:
        return runner.invoke(app, list(args), env={DB_URL_ENV: db_url}, input=input)
    finally:
        structlog.configure(**logging_before)


# -- observing the store and the CRM ---------------------------------------------------


def snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in a stable order (to prove something wrote nothing)."""
    tables = sorted(inspect(engine).get_table_names())
    with engine.connect() as conn:
        return {
            name: sorted(
                (tuple(row) for row in conn.execute(text(f'SELECT * FROM "{name}"'))), key=repr
            )
            for name in tables
        }


def applied_writes(connector: FakeConnector) -> Counter[tuple[str, str, str | None]]:
    """How many times each (crm_id, property, value) was applied to the fake CRM."""
    counts: Counter[tuple[str, str, str | None]] = Counter()
    for write in connector.applied_writes():
        for name, value in write["properties"].items():
            counts[(write["crm_id"], name, value)] += 1
    return counts


def crm_properties(connector: FakeConnector) -> dict[str, dict[str, Any]]:
    """The fake CRM's current properties of every record."""
    return {crm_id: record.get("properties", {}) for crm_id, record in connector.state().items()}


def pipeline(store: Store, connector: FakeConnector) -> Pipeline:
    """The daemon's pipeline over ``store``: the bundled example model, one connector."""
    return Pipeline(store, example_config(), {connector.name: connector})
