"""A store's identity on SQLite and PostgreSQL: an id born with the store, marks that tell
this store's writes from another's, and the one CRM account each connector syncs.

The commands refuse a store bound to another HubSpot account (exit 2, both accounts
named), before anything is read or written.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import text
from sqlmodel import SQLModel

from connectors.hubspot.tests.connector.hubspot_harness import IMPORT, TOKEN, sandbox
from crmbridge.errors import ConfigError
from crmbridge.records import CanonicalEvent, ContactRecord
from crmbridge.store.db import make_engine, upgrade
from crmbridge.store.identity import (
    Identity,
    bind_account,
    bound_accounts,
    fork_if_restored,
    parse_mark,
    read_identity,
)
from crmbridge.store.repository import Store
from crmbridge.sync.adopt import adopt
from crmbridge_hubspot.connector import HubSpotConnector
from crmbridge_hubspot.sandbox.server import SandboxServer
from crmbridge_hubspot.settings import HubSpotSettings

from .helpers import (
    NOW,
    cli,
    crm_properties,
    example_events,
    example_leads,
    pipeline,
    seed_crm,
)

_MARK, _SCORE = "crmbridge_store", "crmbridge_score"


def test_each_store_is_born_with_its_own_id_and_keeps_it(store_url: str, store: Store) -> None:
    first = read_identity(store.engine)
    assert str(uuid.UUID(first.store_id)) == first.store_id
    assert first.generation == 0

    again = Store.open(store_url)
    try:
        assert read_identity(again.engine) == first
    finally:
        again.engine.dispose()


def test_two_stores_never_share_an_id(tmp_path: Path) -> None:
    ids = set()
    for name in ("a", "b", "c"):
        store = Store.open(f"sqlite:///{tmp_path / name}.db")
        ids.add(read_identity(store.engine).store_id)
        store.engine.dispose()
    assert len(ids) == 3


def test_an_existing_store_gets_its_id_when_upgraded(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    try:
        upgrade(engine, "0004")
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO contacts (crm, crm_id, properties, crm_values, dirty)"
                    " VALUES ('hubspot', '101', '{}', '{\"crmbridge_score\": \"40\"}', false)"
                )
            )
        upgrade(engine)
        identity = read_identity(engine)
        with engine.connect() as conn:
            held = conn.execute(text("SELECT held_by, adopted_from FROM contacts")).one()
    finally:
        engine.dispose()
    assert uuid.UUID(identity.store_id)
    # Values written before marks existed are this store's own: never held.
    assert tuple(held) == (None, None)
    assert identity.legacy_unmarked
    assert not identity.holds({"crmbridge_score": "40"}, "crmbridge_store", None)


def test_a_store_created_by_this_release_holds_values_without_a_mark(store: Store) -> None:
    identity = read_identity(store.engine)
    assert not identity.legacy_unmarked
    assert identity.holds({"crmbridge_score": "40"}, "crmbridge_store", None)


@pytest.mark.parametrize(
    ("values", "adopted_from", "held"),
    [
        ({}, None, False),  # nothing of crmbridge's: free to write
        ({"crmbridge_score": None, "crmbridge_store": ""}, None, False),
        ({"crmbridge_score": "40"}, None, True),  # written before marks, by another store
        ({"crmbridge_score": "40", "crmbridge_store": " "}, None, True),
        ({"crmbridge_score": "40"}, "unmarked", False),  # adopted
        ({"crmbridge_score": "40", "crmbridge_store": "S1:3"}, None, False),
        ({"crmbridge_score": "40", "crmbridge_store": "S2:3"}, None, True),
        ({"crmbridge_store": "typed by a person"}, "typed by a person", False),
    ],
)
def test_a_contact_is_held_when_another_writer_left_its_crmbridge_values(
    values: dict[str, str | None], adopted_from: str | None, held: bool
) -> None:
    assert Identity("S1", 7).holds(values, "crmbridge_store", adopted_from) is held


def test_a_connector_is_bound_to_the_first_account_it_syncs(store: Store) -> None:
    first = bind_account(store.engine, "hubspot", "4200017", "HubSpot account 4200017")
    again = bind_account(store.engine, "hubspot", "4200017", "HubSpot account 4200017")
    assert (first.new, again.new) == (True, False)

    with pytest.raises(ConfigError) as refused:
        bind_account(store.engine, "hubspot", "9100001", "HubSpot account 9100001")

    message = str(refused.value)
    assert "connectors.hubspot" in message
    assert "4200017" in message and "9100001" in message
    assert bound_accounts(store.engine) == {"hubspot": "4200017"}


@pytest.mark.parametrize(
    ("value", "foreign"),
    [
        (None, False),
        ("", False),
        ("S1:3", False),  # this store, a generation it issued
        ("S1:7", False),
        ("S1:8", True),  # this store's id, a generation it never issued: a restored backup
        ("S2:1", True),  # another store
        ("typed by a person", True),
        ("S1:" + "9" * 40, True),  # not a generation: kept whole, not ours
    ],
)
def test_a_mark_is_foreign_unless_this_store_issued_it(value: str | None, foreign: bool) -> None:
    assert Identity("S1", 7).is_foreign(value) is foreign


def test_a_restored_copy_keeps_its_former_id_frozen_where_the_copy_stood(store: Store) -> None:
    before = read_identity(store.engine)
    assert fork_if_restored(store.engine, [None, f"{before.store_id}:0", "other:9"]) is None

    forked = fork_if_restored(store.engine, [f"{before.store_id}:4"])

    assert forked is not None and forked == read_identity(store.engine)
    assert forked.store_id != before.store_id
    assert forked.former == ((before.store_id, 0),)
    assert not forked.is_foreign(f"{before.store_id}:0")  # written by the copy itself
    assert forked.is_foreign(f"{before.store_id}:1")  # by the original, after the copy
    assert not forked.is_foreign(f"{forked.store_id}:0")


def test_an_adopted_mark_is_ours_from_then_on() -> None:
    identity = Identity("S1", 7)
    assert identity.is_foreign("S2:4")
    assert not identity.is_foreign("S2:4", adopted_from="S2:4")
    assert identity.is_foreign("S2:5", adopted_from="S2:4")
    assert parse_mark("  S2:4  ") == parse_mark("S2:4")


# -- the commands -------------------------------------------------------------------------


@pytest.fixture
def crm() -> Iterator[SandboxServer]:
    with sandbox() as server:
        yield server


def _config(folder: Path, server: SandboxServer) -> str:
    path = folder / "crmbridge.toml"
    path.write_text(
        f'[connectors.hubspot]\nenabled = true\naccess_token = "{TOKEN}"\n'
        f'base_url = "{server.url}"\n',
        "utf-8",
    )
    return str(path)


def test_run_check_and_the_daemon_refuse_a_store_of_another_account(
    tmp_path: Path, store_url: str, crm: SandboxServer
) -> None:
    config = _config(tmp_path, crm)
    assert cli(store_url, "--config", config, "run", "--once").exit_code == 0
    writes = sum(1 for r in crm.state.requests() if r.path.endswith("/batch/update"))

    # The same credentials now reach another portal (a token of another account).
    crm.config.update({"portal_id": 9_100_001})
    for args in (["run", "--once"], ["check"], ["run"]):
        result = cli(store_url, "--config", config, *args)
        assert result.exit_code == 2, (args, result.output)
        assert "4200017" in result.output and "9100001" in result.output, result.output
    assert sum(1 for r in crm.state.requests() if r.path.endswith("/batch/update")) == writes


def test_check_reports_the_portal_the_token_reaches(crm: SandboxServer) -> None:
    settings = HubSpotSettings(enabled=True, access_token=SecretStr(TOKEN), base_url=crm.url)
    connector = HubSpotConnector.from_settings(settings)
    assert connector.check().account_id == "4200017"
    crm.config.update({"portal_id": 9_100_001})
    assert connector.check().account_id == "9100001"
    details = connector.client.raw("account details", "GET", "/account-info/v3/details")
    assert details["portalId"] == 9_100_001


def test_run_plan_and_adopt_tell_the_admin_about_held_contacts(
    tmp_path: Path, crm: SandboxServer
) -> None:
    crm.state.create_contact(
        {"email": "ana@acme.example", "jobtitle": "CIO", "numemployees": "900"},
        source=IMPORT,
        notify=False,
    )
    config = _config(tmp_path, crm)
    first, second = (f"sqlite:///{tmp_path / name}.db" for name in ("first", "second"))
    assert cli(first, "--config", config, "run", "--once").exit_code == 0

    ran = cli(second, "--config", config, "run", "--once", "--json")
    assert ran.exit_code == 0, ran.output
    assert '"held_contacts": {\n    "hubspot": 1\n  }' in ran.stdout
    planned = cli(second, "--config", config, "plan")
    said = " ".join(planned.output.split())
    assert "hubspot: 1 contacts held" in said and "crmbridge adopt" in said

    adopted = cli(second, "--config", config, "adopt")
    assert adopted.exit_code == 0, adopted.output
    assert "adopted 1 contacts" in adopted.output
    assert "not recovered" in adopted.output
    assert "held" not in " ".join(cli(second, "--config", config, "plan").output.split())


def test_a_recreated_store_holds_the_old_ones_contacts_until_adopted(
    store_url: str, store: Store, tmp_path: Path
) -> None:
    """The store's database is emptied and created again (a deleted SQLite file, a
    dropped Postgres database): the new store writes nothing over the old one's values."""
    crm = seed_crm(tmp_path / "crm", example_leads())
    store.insert_events([CanonicalEvent.model_validate(e) for e in example_events()])
    assert pipeline(store, crm).run_once(NOW).written == len(example_leads())
    old_id = read_identity(store.engine).store_id
    written, writes = crm_properties(crm), len(crm.applied_writes())
    SQLModel.metadata.drop_all(store.engine)
    with store.engine.begin() as conn:
        conn.execute(text("DROP TABLE alembic_version"))
    store.engine.dispose()

    fresh = Store.open(store_url)
    try:
        pipe = pipeline(fresh, crm)
        held = pipe.run_once(NOW + timedelta(hours=1))
        assert held.held_contacts == {crm.name: len(example_leads())}
        assert (held.written, len(crm.applied_writes())) == (0, writes)
        assert pipe.plan(NOW + timedelta(hours=1)) == []

        report = adopt(fresh, "crmbridge")
        assert (report.adopted, report.from_stores) == (
            len(example_leads()),
            {old_id: len(example_leads())},
        )
        # The example's events lived only in the old store.
        engaged = [i for i, p in written.items() if int(p["crmbridge_engagement_score"]) > 0]
        assert report.engagement_missing == len(engaged) > 0
        after = pipe.run_once(NOW + timedelta(hours=1))
        new_id = read_identity(fresh.engine).store_id
    finally:
        fresh.engine.dispose()
    assert after.held_contacts == {}
    marks = {p["crmbridge_store"].split(":")[0] for p in crm_properties(crm).values()}
    assert marks == {new_id} != {old_id}


def test_a_hold_judged_on_values_a_read_replaced_meanwhile_is_not_made(store: Store) -> None:
    """A poll stores the CRM's newer values while a rescoring batch judges the older
    ones: the batch's hold is not made, and the contact stays due for the newer."""
    at = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)
    record = ContactRecord(
        crm="hubspot",
        id="101",
        email="ana@acme.example",
        properties={_MARK: "another-store:3", _SCORE: "40"},
        updated_at=at,
    )
    store.store_page("hubspot", "contacts", [record], None, (_MARK, _SCORE))
    with store.session() as session:
        (taken,) = store.take_due(session, at, 0, 10)
    newer = ContactRecord(
        crm="hubspot",
        id="101",
        email="ana@acme.example",
        properties={_MARK: "", _SCORE: ""},
        updated_at=at + timedelta(minutes=1),
    )
    store.store_page("hubspot", "contacts", [newer], None, (_MARK, _SCORE))
    with store.session() as session:
        (untouched,) = store.due_contacts(session, at, 0, 10)
        assert not untouched.dirty  # the read changed no input
        held = {"cid": taken.id, "held_by": "another-store:3", "seen": taken.crm_updated_at}
        store.hold_contacts(session, [held])
        session.commit()
        assert store.held_counts() == {}
        (due,) = store.due_contacts(session, at, 0, 10)
        assert due.id == taken.id and due.dirty
        # Judged on the values stored last, the hold is made.
        store.hold_contacts(session, [{**held, "seen": due.crm_updated_at}])
        session.commit()
    assert store.held_counts() == {"hubspot": 1}


def test_a_held_contact_is_due_again_when_a_read_finds_its_crmbridge_values_changed(
    store: Store,
) -> None:
    """An echo of the same values leaves a held contact alone; values changed in the CRM
    (the other store wrote again, an admin cleared them) make it due, to be judged again."""
    at = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)

    def read(mark: str, minutes: int) -> None:
        record = ContactRecord(
            crm="hubspot",
            id="101",
            email="ana@acme.example",
            properties={_MARK: mark, _SCORE: "40"},
            updated_at=at + timedelta(minutes=minutes),
        )
        store.store_page("hubspot", "contacts", [record], None, (_MARK, _SCORE))

    read("another-store:3", 0)
    with store.session() as session:
        (taken,) = store.take_due(session, at, 0, 10)
        held = {"cid": taken.id, "held_by": "another-store:3", "seen": taken.crm_updated_at}
        store.hold_contacts(session, [held])
        session.commit()
    assert store.held_counts() == {"hubspot": 1}
    read("another-store:3", 0)
    with store.session() as session:
        assert store.due_contacts(session, at, 0, 10) == []
    read("another-store:4", 5)
    with store.session() as session:
        (due,) = store.due_contacts(session, at, 0, 10)
    assert due.dirty and due.held_by == "another-store:3"
