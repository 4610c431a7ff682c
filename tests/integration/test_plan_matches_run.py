"""``crmbridge plan --json`` lists exactly what the following ``run --once`` sends.

Against the HubSpot sandbox through the real connector and the real CLI: the property
writes and hand-off actions the plan lists are compared with the writes the sandbox's
request log shows the cycle made — on a first sync (the plan reads the CRM itself),
after a model change, and after assignment and notifications are turned on (owners
read from the CRM). The plan itself changes nothing in the CRM and moves no cursor.
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import structlog
from click.testing import Result
from typer.testing import CliRunner

from benchmarks.handoff_tasks import SWITCHES, world
from crmbridge.cli import app
from crmbridge.config import example_config_text
from crmbridge.ingest import Ingestor
from crmbridge.store.locks import SqliteGuard
from crmbridge.store.repository import Store
from crmbridge.sync.pipeline import CONTACTS_STREAM
from crmbridge_hubspot.sandbox.config import DEFAULT_TOKEN
from crmbridge_hubspot.sandbox.server import SandboxServer

CONTACTS = 40
NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
NOW_TEXT = "2026-12-02T09:00:00Z"
ONE_CONTACT = re.compile(r"/crm/v3/objects/contacts/(\d+)")
#: The writes whose bodies say what was sent (a search is a POST too, but reads).
WRITE_PATHS = ("/batch/update", "/batch/create", "/enrollments", "/memberships/add")

Write = tuple[str, str, str]
Act = tuple[str, str]


def handoff_on(text: str) -> str:
    """The example configuration with assignment and notifications turned on."""
    for before, after in SWITCHES.items():
        assert before in text, f"the example configuration changed: {before.strip()!r}"
        text = text.replace(before, after)
    return text


@dataclass
class Scene:
    """A sandbox, a store and a configuration file the CLI runs with."""

    server: SandboxServer
    store: Store
    url: str
    path: Path

    def cli(self, *args: str) -> Result:
        """``crmbridge ARGS --now NOW --config PATH`` in-process, on the sandbox."""
        env = {
            "CRMBRIDGE__BRIDGE__DATABASE_URL": self.url,
            "CRMBRIDGE__CONNECTORS__HUBSPOT__ENABLED": "true",
            "CRMBRIDGE__CONNECTORS__HUBSPOT__BASE_URL": self.server.url,
            "HUBSPOT_ACCESS_TOKEN": DEFAULT_TOKEN,
        }
        logging_before = structlog.get_config()
        try:
            return CliRunner().invoke(
                app, [*args, "--now", NOW_TEXT, "--config", str(self.path)], env=env
            )
        finally:
            structlog.configure(**logging_before)

    def configure(self, text: str) -> None:
        self.path.write_text(text, encoding="utf-8")

    def plan(self) -> dict[str, Any]:
        result = self.cli("plan", "--json")
        assert result.exit_code == 0, result.output
        payload: dict[str, Any] = json.loads(result.stdout)
        assert payload["problems"] == [], payload["problems"]
        assert payload["queued"] == []
        return payload

    def run_once(self) -> dict[str, Any]:
        result = self.cli("run", "--once", "--json")
        assert result.exit_code == 0, result.output
        summary: dict[str, Any] = json.loads(result.stdout)
        return summary


def planned(payload: dict[str, Any]) -> tuple[Counter[Write], Counter[Act]]:
    """The plan's property writes (contact, property, value) and actions (contact, kind)."""
    writes: Counter[Write] = Counter()
    actions: Counter[Act] = Counter()
    for change in payload["changes"]:
        name = change["property"]
        if name.startswith("action:"):
            actions[(change["crm_id"], name.removeprefix("action:"))] += 1
        else:
            writes[(change["crm_id"], name, change["new"])] += 1
    return writes, actions


def sent(server: SandboxServer, since: int) -> tuple[Counter[Write], Counter[Act]]:
    """The contact property writes and hand-off actions HubSpot accepted after request
    number ``since``, read from the bodies in the sandbox's request log."""
    writes: Counter[Write] = Counter()
    actions: Counter[Act] = Counter()
    for request in server.state.requests()[since:]:
        if request.status >= 300 or request.method == "GET":
            continue
        body = request.json_body()
        path = request.path
        if path == "/crm/v3/objects/contacts/batch/update":
            for item in body["inputs"]:
                writes.update((item["id"], k, v) for k, v in item["properties"].items())
        elif (match := ONE_CONTACT.fullmatch(path)) and request.method == "PATCH":
            writes.update((match[1], k, v) for k, v in body["properties"].items())
        elif path in ("/crm/v3/objects/tasks/batch/create", "/crm/v3/objects/tasks"):
            for item in body.get("inputs", [body]):
                actions.update((a["to"]["id"], "task") for a in item["associations"])
        elif path == "/automation/v4/sequences/enrollments":
            actions[(str(body["contactId"]), "enroll")] += 1
        elif path.endswith("/memberships/add"):
            actions.update((str(crm_id), "list_add") for crm_id in body)
    return writes, actions


def crm_state(server: SandboxServer) -> tuple[list[dict[str, Any]], int]:
    """Every contact's properties and the number of tasks (to prove nothing was written)."""
    return [dict(c.properties) for c in server.state.contacts()], len(server.state.tasks())


def writes_sent(server: SandboxServer, since: int) -> list[str]:
    return [
        r.path
        for r in server.state.requests()[since:]
        if r.method != "GET" and r.path.endswith(WRITE_PATHS)
    ]


def assert_plan_is_the_cycle(
    scene: Scene,
) -> tuple[Counter[Write], Counter[Act], dict[str, Any]]:
    """Plan, then run one cycle: the same writes and actions (returned, with the
    plan's summary)."""
    before, since = crm_state(scene.server), len(scene.server.state.requests())
    payload = scene.plan()
    assert crm_state(scene.server) == before
    assert writes_sent(scene.server, since) == []
    since = len(scene.server.state.requests())

    cycle = scene.run_once()

    assert cycle["ok"], cycle["errors"]
    writes, actions = planned(payload)
    assert sent(scene.server, since) == (writes, actions)
    summary = payload["summary"]
    assert sum(summary["writes"].values()) == sum(writes.values())
    assert cycle["written"] == len({crm_id for crm_id, _, _ in writes})
    assert sum(summary["actions"].values()) == sum(actions.values()) == cycle["actions"]
    assert summary["contacts_changing"] == cycle["changed"]
    return writes, actions, summary


@contextmanager
def scene_on(url: str, folder: Path) -> Iterator[Scene]:
    """A sandbox of CONTACTS leads and the owners, and their events ingested into the
    store at ``url`` (which has read nothing from the CRM yet)."""
    with world(CONTACTS, NOW) as (server, events):
        store = Store.open(url)
        lines = ((i, json.dumps(e).encode()) for i, e in enumerate(events, 1))
        Ingestor(store, timedelta(minutes=5)).ingest_lines(lines, NOW)
        try:
            yield Scene(server, store, url, folder / "crmbridge.toml")
        finally:
            store.engine.dispose()


@pytest.fixture
def scene(tmp_path: Path) -> Iterator[Scene]:
    with scene_on(f"sqlite:///{tmp_path / 'store.db'}", tmp_path) as built:
        yield built


def synced(scene: Scene, text: str) -> None:
    """A first cycle with ``text`` as the configuration, and a second one that reads
    its writes back (after which nothing is due)."""
    scene.configure(text)
    assert scene.run_once()["written"] == CONTACTS
    assert scene.run_once()["scored"] == 0


def test_plan_of_a_first_sync_is_what_the_first_cycle_sends(scene: Scene) -> None:
    scene.configure(handoff_on(example_config_text()))
    assert scene.store.get_cursor("hubspot", CONTACTS_STREAM) is None

    writes, actions, _ = assert_plan_is_the_cycle(scene)

    owners = {crm_id for crm_id, name, _ in writes if name == "hubspot_owner_id"}
    assert owners and {crm_id for crm_id, kind in actions if kind == "task"} == owners
    assert len({crm_id for crm_id, _, _ in writes}) == CONTACTS


def test_plan_of_a_first_sync_on_postgres_is_what_the_first_cycle_sends(
    postgres_url: str, tmp_path: Path
) -> None:
    with scene_on(postgres_url, tmp_path) as scene:
        scene.configure(handoff_on(example_config_text()))

        writes, actions, _ = assert_plan_is_the_cycle(scene)

        assert len({crm_id for crm_id, _, _ in writes}) == CONTACTS
        assert actions


def test_plan_reads_a_never_synced_crm_without_moving_its_cursor(scene: Scene) -> None:
    scene.configure(handoff_on(example_config_text()))

    first, second = scene.plan(), scene.plan()

    assert scene.store.get_cursor("hubspot", CONTACTS_STREAM) is None
    assert first["read_ahead"][0]["contacts"] == CONTACTS
    assert first["changes"] == second["changes"]
    assert first["summary"]["new_leads"] == CONTACTS


def test_plan_after_a_model_change_is_what_the_rescore_sends(scene: Scene) -> None:
    text = example_config_text()
    synced(scene, text)
    edited = text.replace("hot_threshold = 100", "hot_threshold = 60")
    assert edited != text
    scene.configure(edited)

    writes, _, _ = assert_plan_is_the_cycle(scene)

    assert {name for _, name, _ in writes} >= {"crmbridge_hot"}
    assert len({crm_id for crm_id, _, _ in writes}) < CONTACTS


def test_plan_after_assignment_is_turned_on_is_what_the_cycle_sends(scene: Scene) -> None:
    text = example_config_text()
    synced(scene, text)
    scene.configure(handoff_on(text))

    writes, actions, _ = assert_plan_is_the_cycle(scene)

    owners = {(crm_id, value) for crm_id, name, value in writes if name == "hubspot_owner_id"}
    assert owners, "no lead is hot in the data set any more"
    assert {owner for _, owner in owners} <= {"101", "102", "103"}
    assert Counter(kind for _, kind in actions) == {"task": len(owners)}


def test_plan_prints_the_summary_and_bounds_the_rows_it_prints(
    scene: Scene, tmp_path: Path
) -> None:
    scene.configure(handoff_on(example_config_text()))
    folder = tmp_path / "out"
    folder.mkdir()

    shown = scene.cli("plan", "--limit", "5", "--csv", str(folder))
    payload = scene.plan()

    assert shown.exit_code == 0, shown.output
    for heading in ("Writes and actions", "Stage moves", "Score distribution", "Rules"):
        assert heading in shown.stdout
    left = len(payload["changes"]) - 5
    assert f"… {left:,} more rows" in shown.stdout
    with (folder / "crmbridge-plan.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(payload["changes"])
    # A cell a spreadsheet would run as a formula ("- - - -" for no BANT letter) is
    # written as text, behind a quote.
    assert {
        (r["crm_id"], r["property"], r["new"].removeprefix("'"))
        for r in rows
        if r["kind"] == "property"
    } == {
        (c["crm_id"], c["property"], c["new"])
        for c in payload["changes"]
        if not c["property"].startswith("action:")
    }


def test_plan_offline_or_beside_a_running_daemon_reads_nothing(scene: Scene) -> None:
    scene.configure(handoff_on(example_config_text()))
    requests = len(scene.server.state.requests())

    offline = scene.cli("plan", "--json", "--offline")
    nowhere = scene.cli("plan", "--offline", "--csv", str(scene.path.parent / "no" / "x.csv"))
    assert len(scene.server.state.requests()) == requests
    assert nowhere.exit_code == 1 and "cannot write it" in nowhere.output
    guard = SqliteGuard(scene.url)
    guard.acquire()
    try:
        beside = scene.cli("plan", "--json")
    finally:
        guard.release()

    assert offline.exit_code == 0, offline.output
    assert json.loads(offline.stdout)["changes"] == []
    assert beside.exit_code == 0, beside.output
    busy = json.loads(beside.stdout)
    assert busy["changes"] == [] and busy["read_ahead"][0]["contacts"] == 0
    assert any("daemon" in problem for problem in busy["problems"])
    assert scene.store.contact_count() == 0


def test_plan_leaves_the_leads_already_hot_alone_when_apply_to_existing_is_false(
    scene: Scene,
) -> None:
    text = example_config_text()
    synced(scene, text)
    waived = handoff_on(text)
    for table in ("[assignment]\nenabled = true\n", "[notifications]\nenabled = true\n"):
        assert table in waived
        waived = waived.replace(table, f"{table}apply_to_existing = false\n")
    # Every lead is rescored (a model edit) in the cycle that turns the steps on.
    scene.configure(waived.replace("mql_threshold = 60", "mql_threshold = 55"))

    writes, actions, summary = assert_plan_is_the_cycle(scene)

    assert summary["contacts_rescored"] == CONTACTS
    assert summary["hot"]["after"] > 0
    assert not any(name == "hubspot_owner_id" for _, name, _ in writes)
    assert actions == Counter()


def test_a_first_sync_over_another_stores_writes_plans_nothing_and_says_why(
    scene: Scene, tmp_path: Path
) -> None:
    synced(scene, example_config_text())
    fresh = Scene(scene.server, scene.store, f"sqlite:///{tmp_path / 'other.db'}", scene.path)

    payload = fresh.plan()
    shown = fresh.cli("plan")

    assert payload["changes"] == []
    assert payload["held_found"] == CONTACTS
    assert f"{CONTACTS} more contacts would be held" in shown.stderr
    since = len(scene.server.state.requests())
    fresh.run_once()
    assert sent(scene.server, since) == (Counter(), Counter())


def test_plan_exits_1_when_the_crm_fails_yet_prints_what_it_could(scene: Scene) -> None:
    scene.configure(handoff_on(example_config_text()))
    faults = {"fault_rate": 1.0, "fault_statuses": [400]}
    scene.server.config.update({**faults, "fault_paths": ["/crm/v3/objects/contacts"]})

    unread = scene.cli("plan", "--json")

    assert unread.exit_code == 1, unread.output
    payload = json.loads(unread.stdout)
    assert payload["read_ahead"][0]["problem"] and payload["problems"]

    scene.server.config.update({"fault_rate": 0.0})
    synced(scene, example_config_text())
    scene.configure(handoff_on(example_config_text()))
    scene.server.config.update({**faults, "fault_paths": ["/crm/v3/owners"]})

    ownerless = scene.cli("plan")

    assert ownerless.exit_code == 1, ownerless.output
    assert "owners not read" in ownerless.stderr and "would change" in ownerless.stdout


def test_a_model_edit_moving_leads_into_archive_lists_none_and_plan_says_so(
    scene: Scene,
) -> None:
    listed = example_config_text().replace('# archive_list_id = "77"', 'archive_list_id = "77"')
    synced(scene, listed)
    edited = listed.replace("reactivation_after_days = 90", "reactivation_after_days = 1")
    scene.configure(edited.replace("archive_after_days = 30", "archive_after_days = 1"))

    writes, actions, summary = assert_plan_is_the_cycle(scene)

    # The edit moved leads quiet for days into the side stages at once: a baseline, no
    # mass enrolment or list membership.
    moved = Counter(value for _, name, value in writes if name == "crmbridge_stage")
    assert moved["archived"] + moved["reactivation"] > 0, summary["stage_moves"]
    assert actions == Counter()
    assert summary["baselines"] == {
        f"moved to {stage} by the model edit": moved[stage]
        for stage in ("archived", "reactivation")
        if moved[stage]
    }
