"""Rules on the contact's company, end to end: sandbox → real SDK → store → score → write.

Contacts and companies are seeded straight into the sandbox; the pipeline runs with a
model whose only fit rule reads ``company.numberofemployees``. Read calls are counted in
the sandbox's request log: links in association batches, companies in batch reads,
each company read once however many contacts it has.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from crmbridge.config import CrmbridgeConfig, parse_config
from crmbridge.scoring.model import Condition, FitRule
from crmbridge.store.repository import Store
from crmbridge.sync.pipeline import Pipeline
from crmbridge_hubspot.sandbox.server import SandboxServer

from .hubspot_harness import IMPORT, TOKEN, connector_for, sandbox

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
MODEL = """
[bridge]
write = true

[scoring]
mql_threshold = 60
hot_threshold = 100

[[scoring.fit]]
name = "Company of 500 or more"
when = { "company.numberofemployees" = { gte = 500 } }
points = 40

[[scoring.fit]]
name = "Software company"
when = { "company.industry" = "Software" }
points = 10

[assignment]
enabled = false

[notifications]
enabled = false
"""
CONFIG: CrmbridgeConfig = parse_config(MODEL, source="test").config
COMPANY_SCOPES = ["crm.objects.companies.read", "crm.schemas.companies.read"]


@dataclass
class World:
    """A sandbox with contacts spread over companies (and a few without one)."""

    server: SandboxServer
    #: contact id → company id (None: no company).
    company_of: dict[str, str | None]
    sizes: dict[str, str]

    def calls(self, path_end: str) -> int:
        return sum(1 for r in self.server.state.requests() if r.path.endswith(path_end))

    def expected(self, contact_id: str) -> str:
        """The fit points the model gives the contact, from its company in HubSpot."""
        company = self.company_of[contact_id]
        found = self.server.state.companies.get(company) if company else None
        values = found.properties if found else {}
        return expected_fit(values.get("numberofemployees"), values.get("industry"))

    def score_of(self, contact_id: str) -> str | None:
        contact = self.server.state.get_contact(contact_id)
        assert contact is not None
        return contact.properties.get("crmbridge_fit_score")


def seed(server: SandboxServer, contacts: int, companies: int, sizes: list[str]) -> World:
    """``contacts`` contacts, every sixth without a company, the rest round-robin over
    ``companies`` companies (sized by ``sizes`` in turn), half as primary."""
    book = server.state.companies
    made = [
        book.create(
            {
                "name": f"Company {n}",
                "numberofemployees": sizes[n % len(sizes)],
                "industry": "Software" if n % 2 else "Retail",
            }
        ).id
        for n in range(companies)
    ]
    company_of: dict[str, str | None] = {}
    for n in range(contacts):
        contact = server.state.create_contact(
            {"email": f"lead{n}@example.com", "firstname": f"Lead{n}"}, source=IMPORT, notify=False
        )
        if n % 6 == 5:
            company_of[contact.id] = None
            continue
        company = made[n % companies]
        server.state.associate_company(contact.id, company, primary=n % 2 == 0)
        company_of[contact.id] = company
    return World(
        server, company_of, {c: book.get(c).properties.get("numberofemployees", "") for c in made}
    )  # type: ignore[union-attr]


@pytest.fixture
def world() -> Iterator[World]:
    with sandbox() as server:
        yield seed(server, contacts=60, companies=7, sizes=["12", "800", "5000", "40"])


def pipeline(store: Store, server: SandboxServer) -> Pipeline:
    pipe = Pipeline(store, CONFIG, {"hubspot": connector_for(server)})
    pipe.prepare()
    return pipe


def expected_fit(size: str | None, industry: str | None) -> str:
    points = 0
    if size is not None and float(size) >= 500:
        points += 40
    if industry == "Software":
        points += 10
    return str(points)


def test_a_fit_rule_on_the_company_scores_contacts_with_batched_reads(
    store: Store, world: World
) -> None:
    pipe = pipeline(store, world.server)
    world.server.state.reset_observations()

    cycle = pipe.run_once(NOW)

    assert cycle.ok, cycle.errors
    for contact_id in world.company_of:
        assert world.score_of(contact_id) == world.expected(contact_id), contact_id
    # 60 contacts: one association batch; 7 companies: one batch read, each company once.
    assert world.calls("/associations/contacts/companies/batch/read") == 1
    assert world.calls("/objects/companies/batch/read") == 1
    assert world.calls("/objects/companies/search") == 0  # the first read starts from now


def test_a_company_change_rescores_its_contacts_and_writes_only_what_changed(
    store: Store, world: World
) -> None:
    pipe = pipeline(store, world.server)
    assert pipe.run_once(NOW).ok
    assert pipe.run_once(NOW).scored == 0  # the echoes of the writes change nothing
    big = next(c for c, size in world.sizes.items() if size == "800")
    members = [k for k, v in world.company_of.items() if v == big]
    before = {k: world.score_of(k) for k in world.company_of}
    world.server.state.reset_observations()

    world.server.state.companies.update(big, {"numberofemployees": "30"})
    cycle = pipe.run_once(NOW)

    assert cycle.ok, cycle.errors
    assert cycle.scored == len(members)
    assert cycle.written == len(members)
    after = {k: world.score_of(k) for k in world.company_of}
    assert {k for k in after if after[k] != before[k]} == set(members)
    assert world.calls("/objects/companies/search") >= 1
    assert world.calls("/objects/companies/batch/read") == 0  # the search carried the values
    assert world.calls("/associations/contacts/companies/batch/read") == 0
    # Nothing changed since: the next cycle scores and writes nothing.
    quiet = pipe.run_once(NOW)
    assert (quiet.scored, quiet.written) == (0, 0)


def test_a_new_association_links_the_contact_when_it_is_read_again(
    store: Store, world: World
) -> None:
    pipe = pipeline(store, world.server)
    assert pipe.run_once(NOW).ok
    loner = next(k for k, v in world.company_of.items() if v is None)
    big = next(c for c, size in world.sizes.items() if size == "5000")
    assert world.score_of(loner) == "0"

    world.server.state.reset_observations()
    world.server.state.associate_company(loner, big, primary=True)
    cycle = pipe.run_once(NOW)

    assert cycle.ok, cycle.errors
    # The echoes of the first cycle's writes are read too: only the contact that moved
    # has its link read again, and its company was cached already.
    assert world.calls("/associations/contacts/companies/batch/read") == 1
    assert world.calls("/objects/companies/batch/read") == 0
    world.company_of[loner] = big
    assert world.score_of(loner) == world.expected(loner) != "0"


def test_absurd_company_values_never_stop_the_batch(store: Store) -> None:
    with sandbox() as server:
        absurd = ["1" + "0" * 400, "NaN", "-Infinity", "1e999", "600"]
        world = seed(server, contacts=30, companies=5, sizes=absurd)
        book = server.state.companies
        huge = next(iter(world.sizes))
        book.update(huge, {"industry": "S" * 200_000})
        pipe = pipeline(store, server)

        cycle = pipe.run_once(NOW)

        assert cycle.ok, cycle.errors
        assert cycle.scored == 30
        sound = [k for k, v in world.company_of.items() if v and world.sizes[v] == "600"]
        assert sound and all(world.score_of(k) in ("40", "50") for k in sound)
        unreadable = [k for k, v in world.company_of.items() if v and world.sizes[v] != "600"]
        assert all(world.score_of(k) in ("0", "10") for k in unreadable)


def test_read_calls_stay_batched_for_many_contacts(store: Store) -> None:
    with sandbox() as server:
        world = seed(server, contacts=450, companies=130, sizes=["10", "900"])
        pipe = pipeline(store, server)
        server.state.reset_observations()

        assert pipe.run_once(NOW).ok

        linked = {c for c in world.company_of.values() if c}
        assert world.calls("/associations/contacts/companies/batch/read") == math.ceil(450 / 1000)
        assert world.calls("/objects/companies/batch/read") == math.ceil(len(linked) / 100)


def test_without_the_companies_scope_the_read_fails_by_name_and_recovers_once_granted(
    store: Store,
) -> None:
    contacts_only = [
        "crm.objects.contacts.read",
        "crm.objects.contacts.write",
        "crm.schemas.contacts.read",
        "crm.schemas.contacts.write",
    ]
    with sandbox(tokens={TOKEN: contacts_only}) as server:
        world = seed(server, contacts=12, companies=3, sizes=["900"])
        pipe = pipeline(store, server)

        refused = pipe.run_once(NOW)

        assert [(f.stage, f.kind) for f in refused.failures] == [("read", "missing_scope")]
        assert "crm.objects.companies.read" in refused.errors[0]
        server.config.update({"tokens": {TOKEN: [*contacts_only, *COMPANY_SCOPES]}})
        granted = pipe.run_once(NOW)

        assert granted.ok, granted.errors
        for contact_id in world.company_of:
            assert world.score_of(contact_id) == world.expected(contact_id), contact_id


def test_a_rule_on_another_company_property_reads_each_company_once_more(
    store: Store, world: World
) -> None:
    assert pipeline(store, world.server).run_once(NOW).ok
    world.server.state.reset_observations()
    rule = FitRule(name="In Spain", when={"company.country": Condition(eq="Spain")}, points=5)
    model = CONFIG.model_copy(
        update={"scoring": CONFIG.scoring.model_copy(update={"fit": [*CONFIG.scoring.fit, rule]})}
    )
    spain = next(iter(world.sizes))
    world.server.state.companies.update(spain, {"country": "Spain"})

    cycle = Pipeline(store, model, {"hubspot": connector_for(world.server)}).run_once(NOW)

    assert cycle.ok, cycle.errors
    assert world.calls("/objects/companies/batch/read") == 1  # 7 companies, one call
    assert world.calls("/associations/contacts/companies/batch/read") == 0
    members = [k for k, v in world.company_of.items() if v == spain]
    for contact_id in members:
        assert world.score_of(contact_id) == str(int(world.expected(contact_id)) + 5)
