"""The account score end to end: sandbox → real SDK → store → roll-up → outbox → company.

Three companies and a contact without one, scored by job title only (CEO 50, Director
30, Manager 10), so every roll-up is computed by hand:

- Acme: CEO, Director, Manager, Manager → max 50, sum of the top 3: 90
- Birch: Director → 30 and 30
- Cedar: Manager, Manager → 10 and 20
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from crmbridge.cli.explain import explain_stored
from crmbridge.config import CrmbridgeConfig, parse_config
from crmbridge.store import outbox
from crmbridge.store.repository import Store
from crmbridge.sync.attempts import mark_failed
from crmbridge.sync.drain import Drainer
from crmbridge.sync.pipeline import CycleSummary, Pipeline
from crmbridge_hubspot.sandbox.server import SandboxServer

from .hubspot_harness import IMPORT, TOKEN, USER, connector_for, sandbox

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
PROPERTY = "crmbridge_account_score"
UPDATE = "/crm/v3/objects/companies/batch/update"
TITLES = {"CEO": 50, "Director": 30, "Manager": 10}
MEMBERS = {
    "Acme": ["CEO", "Director", "Manager", "Manager"],
    "Birch": ["Director"],
    "Cedar": ["Manager", "Manager"],
}
EXPECTED = {
    "max": {"Acme": "50", "Birch": "30", "Cedar": "10"},
    "sum_top_n": {"Acme": "90", "Birch": "30", "Cedar": "20"},
}


def config(method: str) -> CrmbridgeConfig:
    rules = "\n".join(
        f'[[scoring.fit]]\nname = "{title}"\nwhen = {{ jobtitle = "{title}" }}\npoints = {points}\n'
        for title, points in TITLES.items()
    )
    text = f"""
[bridge]
write = true

[scoring]
mql_threshold = 60
hot_threshold = 100

{rules}

[account_score]
enabled = true
method = "{method}"
top_n = 3

[assignment]
enabled = false

[notifications]
enabled = false
"""
    return parse_config(text, source="test").config


@dataclass
class World:
    server: SandboxServer
    companies: dict[str, str]
    #: contact id → company name (None: no company).
    contacts: dict[str, str | None]

    def score(self, name: str) -> str | None:
        found = self.server.state.companies.get(self.companies[name])
        assert found is not None
        return found.properties.get(PROPERTY)

    def updates(self) -> list[dict[str, object]]:
        """The companies batch updates made, as their request bodies."""
        return [json.loads(r.body) for r in self.server.state.requests() if r.path.endswith(UPDATE)]

    def updated_at(self) -> dict[str, datetime]:
        book = self.server.state.companies
        return {n: book.get(i).updated_at for n, i in self.companies.items()}  # type: ignore[union-attr]


@pytest.fixture
def world() -> Iterator[World]:
    with sandbox() as server:
        book = server.state.companies
        companies = {name: book.create({"name": name}).id for name in MEMBERS}
        contacts: dict[str, str | None] = {}
        n = 0
        for name, titles in [*MEMBERS.items(), ("", ["CEO"])]:
            for title in titles:
                n += 1
                contact = server.state.create_contact(
                    {"email": f"lead{n}@example.com", "jobtitle": title},
                    source=IMPORT,
                    notify=False,
                )
                if name:
                    server.state.associate_company(contact.id, companies[name], primary=True)
                contacts[contact.id] = name or None
        yield World(server, companies, contacts)


def pipeline(store: Store, world: World, method: str = "max") -> Pipeline:
    pipe = Pipeline(store, config(method), {"hubspot": connector_for(world.server)})
    pipe.prepare()
    return pipe


def company_rows(store: Store) -> list[Any]:
    """The company rows of the outbox (id, crm_id, status, value...)."""
    with store.session() as session:
        rows = outbox.list_rows(session, outbox.STATUSES, 1000)
    return [row for row in rows if row.kind == outbox.COMPANY_PROPERTY]


@pytest.mark.parametrize("method", ["max", "sum_top_n"])
def test_the_roll_up_is_written_once_in_one_batch_and_not_again(
    store: Store, world: World, method: str
) -> None:
    pipe = pipeline(store, world, method)
    definition = world.server.state.companies.property(PROPERTY)
    assert definition is not None and definition.group_name == "crmbridge"
    world.server.state.reset_observations()

    cycle = pipe.run_once(NOW)

    assert cycle.ok, cycle.errors
    assert cycle.companies_written == 3
    assert {name: world.score(name) for name in MEMBERS} == EXPECTED[method]
    assert len(world.updates()) == 1
    rows = company_rows(store)
    assert sorted(row.status for row in rows) == ["done"] * 3
    # A quiet cycle, then one where every contact is rescored to the same score: no write.
    world.server.state.reset_observations()
    assert pipe.run_once(NOW).ok
    for contact_id in world.contacts:
        world.server.state.update_contacts(
            [(contact_id, {"lastname": "Again"})], source=USER, as_user=True
        )
    again = pipe.run_once(NOW)
    assert again.ok and again.scored == len(world.contacts)
    assert world.updates() == []
    assert len(company_rows(store)) == 3


def test_a_contact_score_change_rewrites_only_its_company(store: Store, world: World) -> None:
    pipe = pipeline(store, world)
    assert pipe.run_once(NOW).ok
    before = world.updated_at()
    birch = next(c for c, name in world.contacts.items() if name == "Birch")
    world.server.state.reset_observations()

    world.server.state.update_contacts([(birch, {"jobtitle": "CEO"})], source=USER, as_user=True)
    cycle = pipe.run_once(NOW)

    assert cycle.ok, cycle.errors
    assert world.score("Birch") == "50"
    [body] = world.updates()
    assert body["inputs"] == [{"id": world.companies["Birch"], "properties": {PROPERTY: "50"}}]
    after = world.updated_at()
    assert [name for name in MEMBERS if after[name] != before[name]] == ["Birch"]


def test_a_contact_moving_to_another_company_rolls_up_both(store: Store, world: World) -> None:
    pipe = pipeline(store, world)
    assert pipe.run_once(NOW).ok
    ceo = next(c for c, name in world.contacts.items() if name == "Acme")  # the CEO: 50
    world.server.state.reset_observations()

    world.server.state.companies.dissociate(ceo, world.companies["Acme"])
    world.server.state.associate_company(ceo, world.companies["Cedar"], primary=True)
    cycle = pipe.run_once(NOW)

    assert cycle.ok, cycle.errors
    # Acme: Director, Manager, Manager → 30; Cedar: CEO, Manager, Manager → 50.
    assert {name: world.score(name) for name in MEMBERS} == {
        "Acme": "30",
        "Birch": "30",
        "Cedar": "50",
    }
    [body] = world.updates()
    assert sorted(item["id"] for item in body["inputs"]) == sorted(  # type: ignore[union-attr]
        [world.companies["Acme"], world.companies["Cedar"]]
    )


def test_explain_shows_the_account_score_of_the_lead_company(
    store: Store, store_url: str, world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    pipe = pipeline(store, world, "sum_top_n")
    assert pipe.run_once(NOW).ok
    manager = next(c for c, name in world.contacts.items() if name == "Cedar")
    settings = config("sum_top_n")
    settings = settings.model_copy(
        update={"bridge": settings.bridge.model_copy(update={"database_url": store_url})}
    )
    capsys.readouterr()  # the cycles' log lines

    assert explain_stored(settings, manager, NOW, crm="hubspot", live=False, as_json=True)

    shown = json.loads(capsys.readouterr().out)
    assert shown["account"] == {
        "company": world.companies["Cedar"],
        "property": PROPERTY,
        "value": "20",
        "status": "done",
    }


def test_plan_shows_the_company_write_a_score_change_would_make(store: Store, world: World) -> None:
    pipe = pipeline(store, world, "sum_top_n")
    assert pipe.run_once(NOW).ok
    acme = next(c for c, name in world.contacts.items() if name == "Acme")  # the CEO
    world.server.state.update_contacts([(acme, {"jobtitle": "Manager"})], source=USER, as_user=True)
    pipe.read(pipe.connectors["hubspot"], CycleSummary())

    planned = [c for c in pipe.plan(NOW) if c.name.startswith("company.")]

    # Acme: Director, Manager, Manager, Manager → 30 + 10 + 10.
    assert [(c.crm_id, c.name, c.old, c.new) for c in planned] == [
        (world.companies["Acme"], f"company.{PROPERTY}", "90", "50")
    ]
    assert world.score("Acme") == "90"  # plan writes nothing
    assert pipe.run_once(NOW).ok
    assert world.score("Acme") == "50"


def test_a_5xx_after_the_batch_was_applied_ends_written_once(store: Store, world: World) -> None:
    pipe = pipeline(store, world)
    # The CRM applies the batch, then answers 500 (then 502 on the client's retry).
    world.server.config.update(
        {"fault_paths": [UPDATE], "fault_next": [500, 502], "fault_after_handler": True}
    )
    world.server.state.reset_observations()

    first = pipe.run_once(NOW)
    world.server.config.update({"fault_next": [], "fault_after_handler": False})

    assert {name: world.score(name) for name in MEMBERS} == EXPECTED["max"]
    if not first.ok:  # the client gave up: the rows wait for their retry
        rows = company_rows(store)
        assert {row.status for row in rows} == {"failed"}
        with store.session() as session:
            outbox.retry_dead(session, None, NOW)
        assert pipe.run_once(NOW).ok
    rows = company_rows(store)
    assert sorted(row.status for row in rows) == ["done"] * 3
    assert {row.crm_id: row.value["value"] for row in rows} == {
        world.companies[n]: v for n, v in EXPECTED["max"].items()
    }


def test_rows_left_in_flight_by_a_crash_are_settled_by_reading_the_companies(
    store: Store, world: World
) -> None:
    pipe = pipeline(store, world)
    assert pipe.run_once(NOW).ok
    birch, cedar = world.companies["Birch"], world.companies["Cedar"]
    with store.session() as session:
        outbox.queue_company_values(session, "hubspot", PROPERTY, {birch: "50", cedar: "70"}, NOW)
        session.commit()
        claimed = outbox.claim_actions(
            session, "hubspot", 100, NOW, kinds=(outbox.COMPANY_PROPERTY,)
        )
    assert sorted(row.crm_id for row in claimed) == sorted([birch, cedar])
    # Birch's value reached HubSpot, Cedar's did not; then the process was killed.
    world.server.state.companies.update(birch, {PROPERTY: "50"})
    world.server.state.reset_observations()
    drainer = Drainer(store, pipe.connectors["hubspot"], pipe.config.outbox)

    settled = drainer.recover(NOW, all_in_flight=True)

    assert settled == 1
    assert world.updates() == []
    ids = {row.id for row in claimed}
    status = {row.crm_id: row.status for row in company_rows(store) if row.id in ids}
    assert status == {birch: "done", cedar: "pending"}
    # The next drain sends Cedar's alone.
    assert drainer.drain(NOW).companies == 1
    assert [body["inputs"] for body in world.updates()] == [
        [{"id": cedar, "properties": {PROPERTY: "70"}}]
    ]
    assert world.score("Cedar") == "70"


def test_recovery_goes_on_when_the_companies_cannot_be_read(store: Store, world: World) -> None:
    pipe = pipeline(store, world)
    assert pipe.run_once(NOW).ok
    birch = world.companies["Birch"]
    with store.session() as session:
        outbox.queue_company_values(session, "hubspot", PROPERTY, {birch: "50"}, NOW)
        session.commit()
        claimed = outbox.claim_actions(
            session, "hubspot", 100, NOW, kinds=(outbox.COMPANY_PROPERTY,)
        )
    # The process was killed, and the companies scope was taken away meanwhile.
    world.server.config.update({"tokens": {TOKEN: ["crm.objects.contacts.read"]}})
    drainer = Drainer(store, pipe.connectors["hubspot"], pipe.config.outbox)

    settled = drainer.recover(NOW, all_in_flight=True)

    assert settled == 0
    ids = {row.id for row in claimed}
    assert {row.status for row in company_rows(store) if row.id in ids} == {"pending"}


def test_a_value_retried_after_a_newer_one_never_puts_the_older_back(
    store: Store, world: World
) -> None:
    pipe = pipeline(store, world)
    assert pipe.run_once(NOW).ok
    birch = world.companies["Birch"]
    with store.session() as session:
        outbox.queue_company_values(session, "hubspot", PROPERTY, {birch: "51"}, NOW)
        session.commit()
        older = outbox.claim_actions(session, "hubspot", 100, NOW, kinds=(outbox.COMPANY_PROPERTY,))
        # A newer value arrives while the older one is being sent, which then fails.
        outbox.queue_company_values(session, "hubspot", PROPERTY, {birch: "61"}, NOW)
        mark_failed(session, older, "503", retriable=True, settings=pipe.config.outbox, now=NOW)
        session.commit()
    drainer = Drainer(store, pipe.connectors["hubspot"], pipe.config.outbox)
    world.server.state.reset_observations()

    drainer.drain(NOW)  # the newer value is due at once
    drainer.drain(NOW + timedelta(days=1))  # the older one's retry comes due

    assert world.score("Birch") == "61"
    assert [body["inputs"] for body in world.updates()] == [
        [{"id": birch, "properties": {PROPERTY: "61"}}]
    ]
    assert {row.status for row in company_rows(store) if row.id == older[0].id} == {"done"}
