"""Crash recovery of write-back against the HubSpot sandbox, through the real connector.

A process that dies after HubSpot applied a batch but before it marked the outbox rows
done leaves them ``in_flight``. Recovery reads the contacts back and settles every row
the CRM already holds, so nothing is sent twice. HubSpot keeps datetimes to the
millisecond: ``crmbridge_scored_at`` is queued as ``…:00.123456Z`` and read back as
``…:00.123Z``, and must still count as held.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from crmbridge import clock
from crmbridge.connector import Write
from crmbridge.store import outbox
from crmbridge.store.repository import Store
from crmbridge.store.tables import OutboxRow
from crmbridge.sync.drain import Drainer
from crmbridge.sync.pipeline import CycleSummary
from crmbridge_hubspot.sandbox.server import SandboxServer
from crmbridge_hubspot.sandbox.state import SandboxState
from tests.integration.daemon.daemon_helpers import WriteLog

from .hubspot_harness import CONFIG, IMPORT, connector_for, count_requests, pipeline_over, sandbox

#: Microseconds on purpose: HubSpot will keep only the milliseconds of scored_at.
NOW = datetime(2026, 11, 26, 10, 0, 0, 123456, tzinfo=UTC)
SCORED_AT = "crmbridge_scored_at"
CONTACTS = 30
_TITLES = ("CIO", "Director de IT", "Analyst", "Head of IT")
_SIZES = ("20", "300", "600", "1500")


def per_contact(log: WriteLog) -> Counter[str]:
    """How many updates each contact received (a write of an unchanged value counts)."""
    return Counter(write.contact_id for write in log.writes())


def seed(state: SandboxState) -> list[str]:
    """Varied contacts, as an import a week ago made them; their ids."""
    at = (state.now() - timedelta(days=7)).replace(microsecond=0)
    ids = []
    for i in range(CONTACTS):
        values = {
            "email": f"lead{i}@recover.example",
            "firstname": f"Lead{i}",
            "jobtitle": _TITLES[i % len(_TITLES)],
            "numemployees": _SIZES[i % len(_SIZES)],
        }
        contact = state.create_contact(
            values, source=IMPORT, created_at=at, updated_at=at, notify=False
        )
        ids.append(contact.id)
    return ids


def property_rows(store: Store) -> list[Any]:
    """Every property-write row of the outbox."""
    with store.session() as session:
        rows = outbox.list_rows(session, outbox.STATUSES, 100_000)
    return [row for row in rows if row.kind == outbox.PROPERTY]


def crash_in_flight(store: Store) -> int:
    """Put every written property row back in flight, as a crash before marking would."""
    table = OutboxRow.__table__  # type: ignore[attr-defined]
    claimed = clock.now() - timedelta(hours=1)
    with store.session() as session:
        changed = session.execute(
            update(table)
            .where(table.c.kind == outbox.PROPERTY, table.c.status == outbox.DONE)
            .values(status=outbox.IN_FLIGHT, claimed_by="dead-process", claimed_at=claimed)
        ).rowcount
        session.commit()
    return int(changed)


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    with sandbox() as running:
        yield running


def test_rows_the_crm_applied_before_a_crash_are_settled_without_a_second_update(
    server: SandboxServer, tmp_path: Path
) -> None:
    ids = seed(server.state)
    updates = WriteLog(server.state)
    connector = connector_for(server)
    with pipeline_over(connector, tmp_path) as pipeline:
        pipeline.prepare()
        first = pipeline.run_once(NOW)
        assert first.ok, first.errors
        assert first.written == CONTACTS
        assert per_contact(updates) == Counter(dict.fromkeys(ids, 1))
        writes = count_requests(server, "write")

        rows = property_rows(pipeline.store)
        assert {r.value["value"] for r in rows if r.target == SCORED_AT} == {
            "2026-11-26T10:00:00.123456Z"
        }
        held = server.state.get_contact(ids[0])
        assert held is not None
        assert held.properties[SCORED_AT] == "2026-11-26T10:00:00.123Z"

        orphans = crash_in_flight(pipeline.store)
        assert orphans == len(property_rows(pipeline.store))
        drainer = Drainer(pipeline.store, connector, CONFIG.outbox)
        settled = drainer.recover(NOW, all_in_flight=True)
        drained = drainer.drain(NOW)
        # And the next full cycle finds nothing to write either.
        after = pipeline.run_once(NOW + timedelta(minutes=5))

        statuses = Counter(r.status for r in property_rows(pipeline.store))

    assert settled == orphans
    assert (drained.written, drained.failed) == (0, 0)
    assert statuses == Counter({outbox.DONE: orphans})
    assert after.ok, after.errors
    assert after.written == 0
    assert count_requests(server, "write") == writes
    assert per_contact(updates) == Counter(dict.fromkeys(ids, 1))


def test_a_crash_between_batches_sends_only_what_the_crm_did_not_apply(
    server: SandboxServer, tmp_path: Path
) -> None:
    ids = seed(server.state)
    connector = connector_for(server)
    with pipeline_over(connector, tmp_path) as pipeline:
        pipeline.prepare()
        pipeline.read(connector, CycleSummary())
        pipeline.rescorer.run(NOW)
        with pipeline.store.session() as session:
            claimed = outbox.claim(session, connector.name, CONTACTS, NOW)
        assert {row.crm_id for row in claimed} == set(ids)
        # The dead drainer's first call reached HubSpot: a third of the contacts.
        values: dict[str, dict[str, str]] = {}
        for row in claimed:
            values.setdefault(row.crm_id, {})[row.target] = row.value
        applied = ids[: CONTACTS // 3]
        outcomes = connector.write([Write(crm_id, values[crm_id]) for crm_id in applied])
        assert all(outcome.ok for outcome in outcomes)
        updates = WriteLog(server.state)

        drainer = Drainer(pipeline.store, connector, CONFIG.outbox)
        settled = drainer.recover(NOW, all_in_flight=True)
        drained = drainer.drain(NOW)
        statuses = Counter(r.status for r in property_rows(pipeline.store))

    assert settled == sum(len(values[crm_id]) for crm_id in applied)
    assert drained.written == CONTACTS - len(applied)
    assert statuses == Counter({outbox.DONE: len(claimed)})
    assert per_contact(updates) == Counter(dict.fromkeys(ids[len(applied) :], 1))
    for crm_id in ids:
        contact = server.state.get_contact(crm_id)
        assert contact is not None
        assert contact.properties[SCORED_AT] == "2026-11-26T10:00:00.123Z"
