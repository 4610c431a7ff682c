"""Schema migrations: data written under an old revision survives the upgrade, and the
migrated schema is exactly what the models declare — on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel, select

from crmbridge.store import outbox
from crmbridge.store.db import alembic_config, current_revision, make_engine, upgrade
from crmbridge.store.repository import Store
from crmbridge.store.tables import ContactRow

HANDOFF_TABLES = {"webhook_receipts", "assignments", "sla_clocks"}


def head_revision(engine: Engine) -> str | None:
    """The newest migration shipped, whatever its number."""
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


@pytest.fixture
def engine(empty_db_url: str) -> Iterator[Engine]:
    made = make_engine(empty_db_url)
    yield made
    made.dispose()


def _insert_at_0001(engine: Engine) -> None:
    """What a 0001-era crmbridge stored, written with plain SQL (no models involved)."""
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO contacts (crm, crm_id, email, properties, crm_values, crm_updated_at,"
                " stage, dirty, recheck_at, created_at, updated_at) VALUES ('hubspot', '101',"
                " 'ana.garcia@logistica-iberica.es', '{\"jobtitle\": \"Directora de IT\"}',"
                " '{\"crmbridge_score\": \"105\"}', '2026-11-19 12:00:00', 'mql', false,"
                " '2026-12-19 10:00:00', '2026-11-19 12:00:01', '2026-11-19 12:00:01')"
            )
        )
        for key, kind, at in (
            ("ev-1", "page_view", "2026-11-10 10:00:00"),
            ("ev-2", "webinar_attended", "2026-11-11 09:30:00.250000"),
        ):
            conn.execute(
                text(
                    "INSERT INTO events (dedupe_key, type, occurred_at, contact_id, contact_email,"
                    " properties, received_at) VALUES (:key, :kind, :at,"
                    " (SELECT id FROM contacts WHERE crm_id = '101'),"
                    " 'ana.garcia@logistica-iberica.es', '{\"url\": \"https://acme.es/pricing\"}',"
                    " '2026-11-19 12:00:02')"
                ),
                {"key": key, "kind": kind, "at": datetime.fromisoformat(at)},
            )
        conn.execute(
            text(
                "INSERT INTO outbox (connector, contact_id, crm_id, kind, target, value,"
                " idempotency_key, status, attempts, next_attempt_at, last_error, created_at,"
                " updated_at) VALUES ('hubspot', (SELECT id FROM contacts WHERE crm_id = '101'),"
                " '101', 'property', 'crmbridge_score', '{\"value\": \"110\"}', 'key-1', 'failed',"
                " 2, '2026-11-20 10:05:00', 'HTTP 502', '2026-11-20 10:00:00',"
                " '2026-11-20 10:01:00')"
            )
        )


def test_data_written_at_0001_survives_the_upgrade_to_head(engine: Engine) -> None:
    upgrade(engine, "0001")
    assert current_revision(engine) == "0001"
    assert not HANDOFF_TABLES & set(inspect(engine).get_table_names())
    _insert_at_0001(engine)

    upgrade(engine)

    assert current_revision(engine) == head_revision(engine)
    assert set(inspect(engine).get_table_names()) >= HANDOFF_TABLES
    store = Store(engine)
    assert store.contact_count() == 1
    assert store.event_count() == 2
    with store.session() as session:
        contact = session.exec(select(ContactRow)).one()
        assert contact.email == "ana.garcia@logistica-iberica.es"
        assert contact.properties == {"jobtitle": "Directora de IT"}
        assert contact.crm_values == {"crmbridge_score": "105"}
        assert contact.crm_updated_at == datetime(2026, 11, 19, 12, tzinfo=UTC)
        assert contact.recheck_at == datetime(2026, 12, 19, 10, tzinfo=UTC)
        assert (contact.stage, contact.dirty) == ("mql", False)
        assert contact.id is not None
        events = store.events_for(session, [contact.id])[contact.id]
        assert sorted((e.type, e.occurred_at, e.event_id) for e in events) == [
            ("page_view", datetime(2026, 11, 10, 10, tzinfo=UTC), "ev-1"),
            ("webinar_attended", datetime(2026, 11, 11, 9, 30, 0, 250000, tzinfo=UTC), "ev-2"),
        ]
        assert all(e.properties == {"url": "https://acme.es/pricing"} for e in events)
        [row] = outbox.list_rows(session, ["failed"], 10)
        assert (row.crm_id, row.target, row.value, row.attempts, row.last_error) == (
            "101",
            "crmbridge_score",
            {"value": "110"},
            2,
            "HTTP 502",
        )
        assert row.next_attempt_at == datetime(2026, 11, 20, 10, 5, tzinfo=UTC)
    # The 0002 tables are usable, and the old rows take part in new work.
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO assignments (contact_id, owner_id, strategy)"
                " SELECT id, 'owner-7', 'round_robin' FROM contacts"
            )
        )
        conn.execute(text("INSERT INTO webhook_receipts (connector, event_id) VALUES ('h', 'w1')"))
    with store.session() as session:
        assert outbox.retry_dead(session, None, datetime(2026, 11, 21, tzinfo=UTC)) == 1


def test_the_migrated_schema_is_exactly_the_models(engine: Engine) -> None:
    upgrade(engine)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, SQLModel.metadata)
    assert differences == []


def test_upgrading_twice_is_harmless(empty_db_url: str) -> None:
    first = Store.open(empty_db_url)
    first.engine.dispose()
    again = Store.open(empty_db_url)
    try:
        assert current_revision(again.engine) == head_revision(again.engine)
        assert again.contact_count() == 0
    finally:
        again.engine.dispose()


def test_a_migration_interrupted_half_way_leaves_no_half_built_schema(engine: Engine) -> None:
    """0001 fails at its fifth table; its first four must not stay behind without a
    revision, or every later start would fail with "table contacts already exists"
    (SQLite runs DDL outside transactions unless told otherwise).
    """
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE outbox (squatter INTEGER)"))

    with pytest.raises(Exception, match="outbox"):
        upgrade(engine)

    assert set(inspect(engine).get_table_names()) == {"outbox"}
    assert current_revision(engine) is None
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE outbox"))
    upgrade(engine)
    assert current_revision(engine) == head_revision(engine)


def test_0007_deletes_the_webhook_marker_rows_and_keeps_the_stream_cursors(
    engine: Engine,
) -> None:
    """Webhooks wrote ``changed:<crm id>`` rows into ``cursors`` that nothing read."""
    upgrade(engine, "0006")
    rows = [
        ("hubspot", "contacts", "2026-11-20T10:00:00+00:00|101"),
        ("hubspot", "changed:101", "2026-11-20T10:01:00+00:00"),
        ("salesforce", "changed:00Q5e00000AbCdEEAZ", "2026-11-20T10:02:00+00:00"),
        ("hubspot", "CHANGED:kept", "not a marker: another case"),
    ]
    with engine.begin() as conn:
        for connector, stream, value in rows:
            conn.execute(
                text(
                    "INSERT INTO cursors (connector, stream, value, updated_at)"
                    " VALUES (:c, :s, :v, '2026-11-20 10:00:00')"
                ),
                {"c": connector, "s": stream, "v": value},
            )

    upgrade(engine, "0007")

    with engine.connect() as conn:
        left = {tuple(row) for row in conn.execute(text("SELECT connector, stream FROM cursors"))}
    assert left == {("hubspot", "contacts"), ("hubspot", "CHANGED:kept")}


def test_0009_starts_each_stored_contacts_history_at_its_last_modification(
    engine: Engine,
) -> None:
    """The values held were the CRM's from its last modification on: the history of a
    contact stored before 0009 is complete from there (the read time when unknown)."""
    upgrade(engine, "0008")
    _insert_at_0001(engine)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO contacts (crm, crm_id, properties, crm_values, dirty, updated_at)"
                " VALUES ('hubspot', '102', '{}', '{}', false, '2026-11-20 08:00:00')"
            )
        )

    upgrade(engine, "0009")

    with Store(engine).session() as session:
        since = {c.crm_id: c.properties_since for c in session.exec(select(ContactRow))}
    assert since == {
        "101": datetime(2026, 11, 19, 12, tzinfo=UTC),
        "102": datetime(2026, 11, 20, 8, tzinfo=UTC),
    }
