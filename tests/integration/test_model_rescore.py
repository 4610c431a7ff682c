"""A model edit reaches every lead: the next cycle rescores every contact scored with the
old model and writes only those whose values change; ``crmbridge rescore`` does it on
demand and ``--dry-run`` writes nothing.

Against the HubSpot sandbox through the real connector, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from benchmarks.handoff_tasks import handoff_config, world
from benchmarks.hubspot_sync import _hubspot
from crmbridge.config import CrmbridgeConfig, example_config_text
from crmbridge.ingest import Ingestor
from crmbridge.store.repository import Store
from crmbridge.store.tables import ScoreRow
from crmbridge.sync.pipeline import Pipeline
from crmbridge.sync.selection import count_selected, outdated, parse_where
from crmbridge_hubspot.connector import HubSpotConnector
from crmbridge_hubspot.sandbox.server import SandboxServer

from .helpers import cli, snapshot

CONTACTS = 40
NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
#: crmbridge properties that differ between two runs by nature (a time, the store's id).
UNSTABLE = frozenset({"crmbridge_scored_at", "crmbridge_store"})


def without_handoff(config: CrmbridgeConfig, **scoring: Any) -> CrmbridgeConfig:
    """``config`` with assignment and notifications off and ``scoring`` changed."""
    return config.model_copy(
        update={
            "assignment": config.assignment.model_copy(update={"enabled": False}),
            "notifications": config.notifications.model_copy(update={"enabled": False}),
            "scoring": config.scoring.model_copy(update=scoring),
        }
    )


def crm_values(server: SandboxServer) -> dict[str, dict[str, str]]:
    """Each contact's crmbridge properties in HubSpot (by email), stable ones only."""
    return {
        c.properties.get("email", ""): {
            name: value
            for name, value in c.properties.items()
            if name.startswith("crmbridge_") and name not in UNSTABLE
        }
        for c in server.state.contacts()
    }


def contact_updates(server: SandboxServer) -> int:
    """How many contact batch updates HubSpot answered."""
    return sum(
        1
        for r in server.state.requests()
        if r.path.endswith("/contacts/batch/update") and r.status == 200
    )


@pytest.fixture
def synced(store: Store, store_url: str) -> Iterator[tuple[SandboxServer, CrmbridgeConfig]]:
    """A sandbox whose contacts were synced once (echoes read back): nothing is due."""
    with world(CONTACTS, NOW) as (server, events):
        config = without_handoff(handoff_config(server, store_url))
        lines = ((i, json.dumps(e).encode()) for i, e in enumerate(events, 1))
        Ingestor(store, timedelta(minutes=5)).ingest_lines(lines, NOW)
        pipe = Pipeline(store, config, {"hubspot": connector_for(config)})
        pipe.prepare()
        first = pipe.run_once(NOW)
        assert first.ok and first.written == CONTACTS, first.errors
        assert pipe.run_once(NOW).scored == 0  # the echoes of those writes change nothing
        yield server, config


def connector_for(config: CrmbridgeConfig) -> HubSpotConnector:
    return HubSpotConnector.from_settings(_hubspot(config))


def test_a_new_hot_threshold_rescores_every_contact_and_writes_only_the_changed(
    store: Store, synced: tuple[SandboxServer, CrmbridgeConfig]
) -> None:
    server, config = synced
    before, updates = crm_values(server), contact_updates(server)
    edited = without_handoff(config, hot_threshold=config.scoring.mql_threshold)
    pipe = Pipeline(store, edited, {"hubspot": connector_for(edited)})
    version = pipe.engine.version
    assert count_selected(store, outdated(version)) == CONTACTS

    cycle = pipe.run_once(NOW)

    after = crm_values(server)
    changed = {email for email, values in after.items() if values != before[email]}
    assert cycle.ok, cycle.errors
    assert cycle.scored == CONTACTS
    assert 0 < len(changed) < CONTACTS, "the data set no longer has leads between the two"
    assert cycle.written == cycle.changed == len(changed)
    assert contact_updates(server) - updates <= math.ceil(len(changed) / 100)
    assert count_selected(store, outdated(version)) == 0
    with store.session() as session:
        versions = set(
            session.execute(
                select(ScoreRow.model_version).where(ScoreRow.is_current.is_(True))  # type: ignore[attr-defined]
            ).scalars()
        )
    assert versions == {version}
    # Every contact is current now: the next start has nothing to rescore.
    again = Pipeline(store, edited, {"hubspot": connector_for(edited)}).run_once(NOW)
    assert (again.scored, again.written) == (0, 0)


def test_rescore_dry_run_reports_the_change_and_writes_nothing(
    store: Store, store_url: str, synced: tuple[SandboxServer, CrmbridgeConfig], tmp_path: Path
) -> None:
    server, _ = synced
    text = example_config_text().replace("hot_threshold = 100", "hot_threshold = 60")
    assert text != example_config_text()
    path = tmp_path / "crmbridge.toml"
    path.write_text(text)
    stored, requests = snapshot(store.engine), len(server.state.requests())

    result = cli(store_url, "rescore", "--dry-run", "--json", "--config", str(path))
    chosen = cli(
        store_url,
        "rescore",
        "--where",
        "hot=false",
        "--where",
        "score>=60",
        "--dry-run",
        "--config",
        str(path),
    )
    bad = cli(store_url, "rescore", "--where", "score>=lots", "--dry-run", "--config", str(path))

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["scored"] == CONTACTS
    assert 0 < report["changed"] < CONTACTS
    assert report["writes"]["crmbridge_hot"] == report["changed"]
    assert {move["new"] for move in report["moves"]["crmbridge_hot"]} == {"true"}
    assert chosen.exit_code == 0, chosen.output
    assert f"{report['changed']} would change" in chosen.stdout
    assert bad.exit_code == 1 and "whole number" in bad.output
    assert snapshot(store.engine) == stored
    assert len(server.state.requests()) == requests


@pytest.mark.parametrize(
    "expression",
    ["score>>1", "colour=red", "hot>1", "score~5", "stage>=mql", "nothing"],
)
def test_a_bad_filter_says_what_is_wrong(expression: str) -> None:
    with pytest.raises(ValueError, match=r"\S"):
        parse_where([expression])
