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
from crmbridge.config import CrmbridgeConfig, example_config_text, parse_config
from crmbridge.ingest import Ingestor
from crmbridge.store.repository import Store
from crmbridge.store.selection import count_selected, outdated, parse_where
from crmbridge.store.tables import ContactRow, ScoreRow
from crmbridge.sync.pipeline import Pipeline
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

    # The synced data set's clock: a day later some scores have decayed on their own.
    at = ("--now", NOW.isoformat())
    result = cli(store_url, "rescore", "--dry-run", "--json", *at, "--config", str(path))
    chosen = cli(
        store_url,
        "rescore",
        *at,
        "--where",
        "hot=false",
        "--where",
        "score>=60",
        "--dry-run",
        "--config",
        str(path),
    )
    bad = cli(store_url, "rescore", "--where", "score>=lots", "--dry-run", "--config", str(path))
    planned = cli(store_url, "plan", "--offline", "--json", *at, "--config", str(path))

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["scored"] == CONTACTS
    assert 0 < report["changed"] < CONTACTS
    assert report["writes"]["crmbridge_hot"] == report["changed"]
    assert {move["new"] for move in report["moves"]["crmbridge_hot"]} == {"true"}
    assert chosen.exit_code == 0, chosen.output
    assert f"{report['changed']} would change" in chosen.stdout
    assert "Rescore (dry run)" in chosen.stdout and "Writes and actions" in chosen.stdout
    # The next cycle rescores the same contacts (all outdated): plan's summary is the same.
    assert planned.exit_code == 0, planned.output
    assert report["summary"] == json.loads(planned.stdout)["summary"]
    assert report["summary"]["contacts_changing"] == report["changed"]
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


def owners_and_tasks(server: SandboxServer) -> tuple[dict[str, str], list[tuple[Any, ...]]]:
    """Each contact's owner in HubSpot (by email, owned ones only) and every task."""
    owners = {
        c.properties.get("email", ""): c.properties["hubspot_owner_id"]
        for c in server.state.contacts()
        if c.properties.get("hubspot_owner_id")
    }
    tasks = [(t.contact_ids, t.properties.get("hs_task_subject")) for t in server.state.tasks()]
    return owners, tasks


def hot_emails(store: Store) -> set[str]:
    with store.session() as session:
        return {
            email
            for (email,) in session.execute(
                select(ContactRow.email)  # type: ignore[call-overload]
                .join(ScoreRow, ScoreRow.contact_id == ContactRow.id)  # type: ignore[arg-type]
                .where(ScoreRow.is_current.is_(True), ScoreRow.hot.is_(True))  # type: ignore[attr-defined]
            )
        }


def switched_on(server: SandboxServer, store_url: str, **apply: bool) -> CrmbridgeConfig:
    """The configuration with assignment and notifications on (``apply_to_existing``
    as given, by table)."""
    config = handoff_config(server, store_url)
    return config.model_copy(
        update={
            name: getattr(config, name).model_copy(update={"apply_to_existing": value})
            for name, value in apply.items()
        }
    )


def fast_tasks(config: CrmbridgeConfig) -> HubSpotConnector:
    connector = connector_for(config)
    assert connector.handoff is not None
    connector.handoff.index_lag_s = 0.1  # the sandbox's search shows a task at once
    return connector


def test_turning_assignment_on_gives_the_hot_leads_an_owner_and_a_task_once(
    store: Store, store_url: str, synced: tuple[SandboxServer, CrmbridgeConfig]
) -> None:
    server, _ = synced
    hot = hot_emails(store)
    assert hot and owners_and_tasks(server) == ({}, [])
    config = switched_on(server, store_url)
    # plan (which reads no owner list from the CRM yet) shows the notification's tasks.
    notifying = config.model_copy(
        update={"assignment": config.assignment.model_copy(update={"enabled": False})}
    )
    planned = Pipeline(store, notifying, {}).plan(NOW)

    cycle = Pipeline(store, config, {"hubspot": fast_tasks(config)}).run_once(NOW)

    owners, tasks = owners_and_tasks(server)
    assert cycle.ok, cycle.errors
    assert set(owners) == hot
    assert len(tasks) == cycle.actions == len(hot)
    assert len(set(tasks)) == len(tasks)
    assert {c.email for c in planned if c.name == "action:task"} == hot
    # A restart with the same configuration: nothing more to do (the owners written
    # come back as inputs of those leads, which are rescored and write nothing).
    again = Pipeline(store, config, {"hubspot": fast_tasks(config)}).run_once(NOW)
    assert (again.written, again.actions) == (0, 0)
    assert owners_and_tasks(server) == (owners, tasks)


def test_apply_to_existing_false_leaves_the_leads_already_hot_alone(
    store: Store, store_url: str, synced: tuple[SandboxServer, CrmbridgeConfig]
) -> None:
    server, _ = synced
    config = switched_on(server, store_url, assignment=False, notifications=False)

    cycle = Pipeline(store, config, {"hubspot": fast_tasks(config)}).run_once(NOW)
    # Even when rescored for another reason (here: every lead, after a model edit).
    edited = config.model_copy(
        update={"scoring": config.scoring.model_copy(update={"mql_threshold": 55})}
    )
    rescored = Pipeline(store, edited, {"hubspot": fast_tasks(edited)}).run_once(NOW)

    assert cycle.ok and rescored.ok, (cycle.errors, rescored.errors)
    assert rescored.scored == CONTACTS
    assert owners_and_tasks(server) == ({}, [])


def test_a_trigger_added_later_enrolls_none_of_the_leads_already_matching(
    store: Store, synced: tuple[SandboxServer, CrmbridgeConfig]
) -> None:
    server, config = synced
    rules = parse_config(
        '[[triggers]]\nname = "Hot → list"\nthen = { add_to_list = "7" }\n'
        "[triggers.when]\nhot = true\n"
    ).config.triggers
    assert hot_emails(store)
    added = config.model_copy(update={"triggers": rules})
    requests = len(server.state.requests())
    assert Pipeline(store, added, {}).plan(NOW) == []

    cycle = Pipeline(store, added, {"hubspot": connector_for(added)}).run_once(NOW)

    assert cycle.ok, cycle.errors
    assert cycle.scored == CONTACTS  # every lead met the new trigger at once
    assert (cycle.actions, cycle.written) == (0, 0)
    assert not any("/lists/" in r.path for r in server.state.requests()[requests:])
