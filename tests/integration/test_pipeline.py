"""The pipeline over the seed scenario, on SQLite and PostgreSQL: a first cycle writes, a
second has nothing to do, echoes of our own writes are ignored, ties at page boundaries
are read once, time alone rescores, and ``crmbridge plan`` touches nothing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, func, select

from crmbridge.connector import Page, Write, WriteResult
from crmbridge.records import CanonicalEvent
from crmbridge.store.identity import read_identity
from crmbridge.store.repository import Store
from crmbridge.store.tables import ContactRow, ScoreRow
from crmbridge.sync.pipeline import ROUND_WAIT_S, CycleSummary
from crmbridge.sync.writeback import score_property_names
from crmbridge.testing.fake import FakeConnector

from .helpers import (
    NOW,
    applied_writes,
    cli,
    crm_properties,
    event,
    example_events,
    example_leads,
    pipeline,
    seed_crm,
    snapshot,
)

OWN = set(score_property_names("crmbridge"))
#: A lead with a profile and no activity at all: time alone never changes its score.
QUIET_LEAD = {
    "id": "111",
    "email": "quiet@example.com",
    "properties": {"jobtitle": "CIO", "numemployees": "900"},
    "updated_at": "2026-11-19T12:00:00Z",
}


def ingest(store: Store, events: list[dict[str, Any]]) -> None:
    store.insert_events([CanonicalEvent.model_validate(e) for e in events])


def log_lines(crm: FakeConnector) -> int:
    return len(crm.applied_writes())


def score_rows(store: Store) -> int:
    with store.session() as session:
        return int(session.exec(select(func.count()).select_from(ScoreRow)).one())


@pytest.fixture
def crm(tmp_path: Path) -> FakeConnector:
    return seed_crm(tmp_path / "crm", [*example_leads(), QUIET_LEAD])


def test_a_first_cycle_writes_the_scores_and_a_rerun_has_nothing_to_do(
    store: Store, crm: FakeConnector
) -> None:
    ingest(store, example_events())
    pipe = pipeline(store, crm)

    first = pipe.run_once(NOW)

    contacts = len(example_leads()) + 1
    assert first.ok, first.errors
    assert (first.read, first.scored, first.changed, first.written) == (contacts,) * 4
    held = crm_properties(crm)
    assert all(set(props) >= OWN for props in held.values())
    with store.session() as session:
        current = {
            c.crm_id: s
            for c, s in session.exec(
                select(ContactRow, ScoreRow)
                .where(ScoreRow.contact_id == ContactRow.id)
                .where(col(ScoreRow.is_current).is_(True))
            )
        }
    for crm_id, score in current.items():
        assert held[crm_id]["crmbridge_score"] == str(score.total)
        assert held[crm_id]["crmbridge_stage"] == score.stage
    # The seed's story: Jorge has all of BANT and is hot; Pablo is a customer already;
    # sales said "bad timing" about Marta.
    assert (held["102"]["crmbridge_bant"], held["102"]["crmbridge_stage"]) == ("B A N T", "sql")
    assert held["102"]["crmbridge_hot"] == "true"
    assert held["109"]["crmbridge_stage"] == "customer"
    assert held["110"]["crmbridge_stage"] == "nurture"
    assert held["102"]["crmbridge_scored_at"] == "2026-11-20T10:00:00Z"

    written = log_lines(crm)
    assert pipe.plan(NOW) == []
    again = pipe.run_once(NOW)
    later = pipe.run_once(NOW + timedelta(hours=1))

    assert (again.scored, again.changed, again.written) == (0, 0, 0)
    assert (later.scored, later.written) == (0, 0)
    assert log_lines(crm) == written
    assert set(applied_writes(crm).values()) == {1}


def test_echoes_of_our_own_writes_do_not_cause_rescoring(store: Store, crm: FakeConnector) -> None:
    ingest(store, example_events())
    pipe = pipeline(store, crm)
    pipe.run_once(NOW)
    history = score_rows(store)
    written = log_lines(crm)

    # Every write moved the record's updated_at: the next cycle reads them all back.
    echo = pipe.run_once(NOW)

    assert echo.read == len(example_leads()) + 1
    assert (echo.scored, echo.changed, echo.written) == (0, 0, 0)
    assert score_rows(store) == history
    assert log_lines(crm) == written
    with store.session() as session:
        assert not session.exec(select(ContactRow).where(col(ContactRow.dirty).is_(True))).all()

    # A person's edit in the CRM is not an echo: that record, and only it, is rescored.
    crm.write([Write("104", {"jobtitle": "CIO", "numemployees": "2000"})])
    edited = pipe.run_once(NOW)

    assert (edited.read, edited.scored, edited.changed) == (1, 1, 1)
    new = crm.applied_writes()[written + 1 :]
    assert [w["crm_id"] for w in new] == ["104"]
    assert new[0]["properties"]["crmbridge_fit_score"] == "50"
    assert pipe.run_once(NOW).read == 1  # the echo of that write, ignored again
    assert log_lines(crm) == written + 2


def _tied_contacts() -> list[dict[str, Any]]:
    """23 contacts in tie groups of 3, 8, 1 and 11 equal updated_at values."""
    contacts = []
    for group, size in enumerate((3, 8, 1, 11)):
        for i in range(size):
            contacts.append(
                {
                    "id": f"{group}{i:02d}",
                    "email": f"tie{group}-{i}@example.com",
                    "properties": {"jobtitle": "CIO", "numemployees": str(100 * (i + 1))},
                    "updated_at": f"2026-11-1{group}T09:00:00Z",
                }
            )
    return contacts


def test_ties_at_page_boundaries_are_neither_lost_nor_read_twice(
    store: Store, tmp_path: Path
) -> None:
    contacts = _tied_contacts()
    crm = seed_crm(tmp_path / "crm", contacts, page_size=5)  # smaller than a tie group
    pipe = pipeline(store, crm)

    summary = CycleSummary()
    pipe.read(crm, summary)

    assert summary.read == len(contacts) == store.contact_count()
    assert crm.read_calls == 5  # ceil(23 / 5): no page was read twice
    nothing = CycleSummary()
    pipe.read(crm, nothing)
    assert nothing.read == 0

    # A record arriving later with the very timestamp of the cursor is still read, once.
    late = {**contacts[-1], "id": "3zz", "email": "late@example.com"}
    FakeConnector.seed(tmp_path / "crm", [*contacts, late])
    once, twice = CycleSummary(), CycleSummary()
    pipe.read(crm, once)
    pipe.read(crm, twice)
    assert (once.read, twice.read) == (1, 0)

    cycle = pipe.run_once(NOW)
    assert cycle.written == len(contacts) + 1
    assert sorted(w["crm_id"] for w in crm.applied_writes()) == sorted(
        [c["id"] for c in contacts] + ["3zz"]
    )


def test_time_alone_rescores_those_whose_inactivity_crossed_a_boundary(
    store: Store, crm: FakeConnector
) -> None:
    ingest(store, example_events())
    pipe = pipeline(store, crm)
    pipe.run_once(NOW)
    pipe.run_once(NOW)  # reads the echoes of the first cycle's writes
    before = crm_properties(crm)
    written = log_lines(crm)
    later = NOW + timedelta(days=31)
    with store.session() as session:
        due = set(
            session.exec(select(ContactRow.crm_id).where(col(ContactRow.recheck_at) <= later))
        )
    assert due and "111" not in due  # the quiet lead has no clock running

    planned = pipe.plan(later)
    cycle = pipe.run_once(later)

    assert (cycle.read, cycle.scored) == (0, len(due))
    new = crm.applied_writes()[written:]
    changed = {w["crm_id"]: w["properties"] for w in new}
    assert len(new) == len(changed) == cycle.written == cycle.changed
    assert set(changed) <= due
    # Exactly what the plan announced was written ...
    assert {(c.crm_id, c.name, c.new) for c in planned} == {
        (crm_id, name, value) for crm_id, props in changed.items() for name, value in props.items()
    }
    # ... and only what changed: every value is new, plus the time of scoring beside it.
    store_id = read_identity(pipe.store.engine).store_id
    for crm_id, props in changed.items():
        assert props.pop("crmbridge_scored_at") == "2026-12-21T10:00:00Z"
        # The store's mark rides along with every change, at this pass's generation.
        assert props.pop("crmbridge_store") == f"{store_id}:2"
        assert props, crm_id
        assert all(before[crm_id].get(name) != value for name, value in props.items())
    assert any(
        int(props.get("crmbridge_score", before[i]["crmbridge_score"]))
        < int(before[i]["crmbridge_score"])
        for i, props in changed.items()
    )
    assert "-10 30 days inactive" in changed["102"]["crmbridge_reasons"]
    # A contact whose score is at its floor only gets its reasons reworded.
    assert set(changed["104"]) == {"crmbridge_reasons"}

    assert pipe.plan(later) == []
    assert pipe.run_once(later).written == 0
    assert set(applied_writes(crm).values()) == {1}


def test_plan_json_shows_what_the_next_cycle_writes_and_writes_nothing(
    store: Store, store_url: str, crm: FakeConnector
) -> None:
    ingest(store, example_events())
    pipe = pipeline(store, crm)
    pipe.run_once(NOW)
    then = NOW + timedelta(hours=3)
    ingest(
        store,
        [
            event("lucia.fernandez@agroexport.es", "meeting_booked", NOW, "m-104"),
            event("mark.taylor@brightcargo.com", "page_view", NOW, "p-105", url="/pricing"),
        ],
    )
    rows_before = snapshot(store.engine)
    log_before = crm.log_path.read_bytes()

    result = cli(store_url, "plan", "--json", "--now", "2026-11-20T13:00:00Z")

    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert {c["crm_id"] for c in payload["changes"]} == {"104", "105"}
    assert payload["queued"] == []
    assert snapshot(store.engine) == rows_before
    assert crm.log_path.read_bytes() == log_before

    cycle = pipe.run_once(then)

    new = crm.applied_writes()[log_before.count(b"\n") :]
    assert {(c["crm_id"], c["property"], c["new"]) for c in payload["changes"]} == {
        (w["crm_id"], name, value) for w in new for name, value in w["properties"].items()
    }
    assert cycle.written == 2


def six_cios(first_id: int, name: str) -> list[dict[str, Any]]:
    """Six CIOs, one modified a second after the other (ids from ``first_id``)."""
    return [
        {
            "id": str(first_id + i),
            "email": f"{name}{i}@example.com",
            "properties": {"jobtitle": "CIO"},
            "updated_at": f"2026-11-19T12:00:{i:02d}Z",
        }
        for i in range(6)
    ]


class _ActivityOnALaterPage(FakeConnector):
    """A CRM whose second page carries activity of the first page's contacts, read
    only once a scoring round has run on the first page (as a Salesforce sweep of Tasks
    after the leads)."""

    def read_changes(self, cursor: str | None, properties: Sequence[str]) -> Iterator[Page]:
        pages = list(super().read_changes(cursor, properties))
        if not pages:
            return
        yield pages[0]
        time.sleep(3 * ROUND_WAIT_S)  # the first page is scored meanwhile
        activity = tuple(
            CanonicalEvent.model_validate(
                event(str(record.email), "meeting_booked", NOW - timedelta(hours=1))
            )
            for record in pages[0].records
            if record.email
        )
        yield Page((), pages[0].cursor, activity)
        yield from pages[1:]


def test_a_contact_scored_in_two_rounds_of_a_cycle_counts_once(
    store: Store, tmp_path: Path
) -> None:
    FakeConnector.seed(tmp_path / "crm", six_cios(300, "lead"))
    crm = _ActivityOnALaterPage(tmp_path / "crm", page_size=3)
    pipe = pipeline(store, crm)

    summary = pipe.run_once(NOW)

    assert summary.ok, summary.errors
    # The first page's three leads are scored before their meetings arrive, and again
    # after: still six leads scored, changed and written, each written once.
    assert (summary.read, summary.scored, summary.changed, summary.written) == (6,) * 4
    assert set(applied_writes(crm).values()) == {1}


class _SlowFirstWrite(FakeConnector):
    """A CRM whose pages come slowly and whose first write waits until every contact
    of the read was scored (or gives up): scoring must go on while a write is out."""

    max_batch_size = 2

    def __init__(self, folder: Path, store: Store) -> None:
        super().__init__(folder, page_size=2)
        self.store = store
        self.scored_during_first_write: int | None = None
        self.pages_read_at_first_write: int | None = None

    def read_changes(self, cursor: str | None, properties: Sequence[str]) -> Iterator[Page]:
        for page in super().read_changes(cursor, properties):
            yield page
            time.sleep(3 * ROUND_WAIT_S)  # each page scored in a round of its own

    def write(self, batch: Sequence[Write]) -> list[WriteResult]:
        if self.scored_during_first_write is None:
            self.pages_read_at_first_write = self.read_calls
            deadline = time.monotonic() + 10
            while score_rows(self.store) < 6 and time.monotonic() < deadline:
                time.sleep(0.05)
            self.scored_during_first_write = score_rows(self.store)
        return super().write(batch)


def test_scoring_goes_on_while_a_write_waits_for_the_crm(store: Store, tmp_path: Path) -> None:
    FakeConnector.seed(tmp_path / "crm", six_cios(400, "writer"))
    crm = _SlowFirstWrite(tmp_path / "crm", store)

    summary = pipeline(store, crm).run_once(NOW)

    assert summary.ok, summary.errors
    # The first page's batch went out while the read went on; the later pages were
    # scored while that write was still waiting for the CRM.
    assert crm.pages_read_at_first_write is not None and crm.pages_read_at_first_write < 3
    assert crm.scored_during_first_write == 6
    assert (summary.read, summary.scored, summary.written) == (6, 6, 6)
    assert set(applied_writes(crm).values()) == {1}
