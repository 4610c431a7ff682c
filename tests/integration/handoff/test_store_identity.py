"""A vanished, restored or second store never silently replaces the one that wrote the CRM.

Every write carries the writing store's mark (``crmbridge_store``). A store that reads
another store's mark holds that contact — no score, no task — until an admin adopts
it; adopting keeps what the CRM shows of the hand-off, says what it cannot recover, and
never creates a "replied — take over" task twice: a task's Ref is searched for before
it is first created.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, text

from crmbridge.daemon.service import Daemon
from crmbridge.store import outbox
from crmbridge.store.db import alembic_config
from crmbridge.store.identity import UNMARKED, read_identity
from crmbridge.store.repository import Store
from crmbridge.sync.drain import ALREADY_THERE
from crmbridge_hubspot.handoff import REFS_PER_SEARCH
from crmbridge_hubspot.sandbox.records import ChangeSource
from crmbridge_hubspot.sandbox.server import SandboxServer
from crmbridge_hubspot.sandbox.state import SandboxState

from .harness import (
    OWNERS,
    PAUSED,
    Bridge,
    LeadSpec,
    add_leads,
    bridge_over,
    connector_for,
    event,
    load_config,
    make_sandbox,
    pricing_visits,
    prop,
    rep_edit,
    reply,
    reply_tasks,
)

MARK = "crmbridge_store"
SCORE = "crmbridge_score"
LEADS = 6


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    started = make_sandbox().start()
    yield started
    started.stop()


def _leads(server: SandboxServer) -> tuple[SandboxState, datetime, list[str]]:
    """The CRM, the first cycle's instant (in the past, for the event API's clock), and
    :data:`LEADS` leads imported a week before it."""
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    specs = [LeadSpec(i, owner=OWNERS[i % 3][0]) for i in range(LEADS)]
    return server.state, t0, add_leads(server.state, specs, t0 - timedelta(days=7))


def _crm_values(state: SandboxState, ids: list[str]) -> dict[str, dict[str, str]]:
    """crmbridge's properties of each contact as HubSpot holds them."""
    found = {}
    for crm_id in ids:
        contact = state.get_contact(crm_id)
        assert contact is not None
        found[crm_id] = {k: v for k, v in contact.properties.items() if k.startswith("crmbridge_")}
    return found


def _delete_store(folder: Path) -> None:
    for path in folder.glob("crmbridge.db*"):
        path.unlink()


def _copy_store(source: Path, target: Path) -> None:
    """A consistent copy of a live SQLite store (what a backup tool makes)."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)


def _restore(backup: Path, folder: Path) -> None:
    _delete_store(folder)
    _copy_store(backup, folder / "crmbridge.db")


def _task_searches(state: SandboxState) -> int:
    return sum(1 for r in state.requests() if r.path.endswith("/tasks/search"))


def test_a_deleted_store_holds_every_contact_until_adopted_and_never_duplicates_a_task(
    server: SandboxServer, tmp_path: Path
) -> None:
    state, t0, ids = _leads(server)
    engaged, replied = ids[:3], ids[3:]
    with bridge_over(server, tmp_path) as first:
        first_id = read_identity(first.store.engine).store_id
        first.post_events([e for crm_id in engaged for e in pricing_visits(crm_id, t0)])
        first.cycle(t0)
        for crm_id in replied:
            reply(state, crm_id, t0 + timedelta(minutes=1))
        first.cycle(t0 + timedelta(minutes=10))
    written = _crm_values(state, ids)
    tasks_before = len(state.tasks())
    assert all(values[MARK].startswith(f"{first_id}:") for values in written.values())
    assert all(len(reply_tasks(state, crm_id)) == 1 for crm_id in replied)
    assert all(int(written[crm_id]["crmbridge_engagement_score"]) > 0 for crm_id in engaged)

    _delete_store(tmp_path)
    with bridge_over(server, tmp_path) as fresh:
        fresh_id = read_identity(fresh.store.engine).store_id
        assert fresh_id != first_id
        held = fresh.cycle(t0 + timedelta(minutes=20))
        # Every contact carries the first store's mark: nothing is written over it.
        assert held.held_contacts == {"hubspot": LEADS}
        assert (held.written, held.actions) == (0, 0)
        assert _crm_values(state, ids) == written
        assert len(state.tasks()) == tasks_before
        assert fresh.pipeline.plan(t0 + timedelta(minutes=25)) == []

        adopted = fresh.pipeline.run_once(t0 + timedelta(minutes=30), adopt_held=True)
        assert adopted.ok, adopted.errors
        report = adopted.adoption
        assert report is not None
        assert report.adopted == LEADS
        assert report.from_stores == {first_id: LEADS}
        assert report.paused_recovered == len(replied)
        # The pricing visits lived only in the first store: said, not hidden.
        assert report.engagement_missing == len(engaged)
        assert any("engagement points" in line for line in report.lines())
        assert adopted.held_contacts == {}
        after = _crm_values(state, ids)

    # The fresh store now owns the contacts, and no hand-off was done twice.
    assert all(values[MARK].startswith(f"{fresh_id}:") for values in after.values())
    assert all(len(reply_tasks(state, crm_id)) == 1 for crm_id in replied)
    assert len(state.tasks()) == tasks_before
    assert all(prop(state, crm_id, PAUSED) == "true" for crm_id in replied)


def test_a_task_whose_ref_is_in_the_crm_is_never_created_again(
    server: SandboxServer, tmp_path: Path
) -> None:
    """A backup taken after the tasks were planned, restored after they were created."""
    state, t0, ids = _leads(server)
    backup = tmp_path / "backup.db"
    with bridge_over(server, tmp_path) as original:
        original.cycle(t0)
        # The replies reach crmbridge through the event API; the tasks are planned only.
        at = t0 + timedelta(minutes=1)
        original.post_events([event("email_reply", crm_id, at) for crm_id in ids])
        original.plan_only(t0 + timedelta(minutes=5))
        _copy_store(tmp_path / "crmbridge.db", backup)
        original.cycle(t0 + timedelta(minutes=10))
    assert all(len(reply_tasks(state, crm_id)) == 1 for crm_id in ids)
    searches = _task_searches(state)

    _restore(backup, tmp_path)
    with bridge_over(server, tmp_path) as restored:
        with restored.store.session() as session:
            waiting = [r for r in outbox.list_rows(session, ["pending"], 100) if r.kind == "task"]
        assert len(waiting) == LEADS and all(r.attempts == 0 for r in waiting)
        summary = restored.cycle(t0 + timedelta(minutes=20))
        with restored.store.session() as session:
            settled = outbox.list_rows(session, [outbox.DONE], 100)

    assert all(len(reply_tasks(state, crm_id)) == 1 for crm_id in ids)
    assert summary.actions == 0
    skipped = [r for r in settled if r.kind == "task" and r.last_error == ALREADY_THERE]
    assert sorted(r.crm_id for r in skipped) == sorted(ids)
    # One search per five tasks (HubSpot ORs five filter groups), before their creation
    # would have been attempted.
    assert _task_searches(state) - searches == math.ceil(LEADS / REFS_PER_SEARCH)


def test_a_restored_backup_holds_what_its_original_wrote_after_the_copy(
    server: SandboxServer, tmp_path: Path
) -> None:
    state, t0, ids = _leads(server)
    backup = tmp_path / "backup.db"
    later, other = ids[0], ids[1]
    with bridge_over(server, tmp_path) as original:
        original.cycle(t0)
        original_id = read_identity(original.store.engine).store_id
        _copy_store(tmp_path / "crmbridge.db", backup)
        original.post_events(pricing_visits(later, t0 + timedelta(minutes=5), count=3))
        original.cycle(t0 + timedelta(minutes=10))
    newer = _crm_values(state, [later])[later]

    _restore(backup, tmp_path)
    with bridge_over(server, tmp_path) as restored:
        # The first read finds the original's later write: the copy takes its own id.
        restored.cycle(t0 + timedelta(minutes=15))
        identity = read_identity(restored.store.engine)
        assert identity.store_id != original_id
        assert [store_id for store_id, _ in identity.former] == [original_id]
        # The copy writes other leads for a while (its generations move on) ...
        for minutes in (20, 25, 30):
            at = t0 + timedelta(minutes=minutes)
            restored.post_events(pricing_visits(other, at, count=1))
            assert restored.cycle(at).written == 1
        # ... and the lead the backup never saw engage is still not its to overwrite.
        restored.post_events([event("page_view", later, t0 + timedelta(minutes=35))])
        summary = restored.cycle(t0 + timedelta(minutes=40))
        assert summary.held_contacts == {"hubspot": 1}
        assert summary.written == 0
    assert _crm_values(state, [later])[later] == newer


@contextmanager
def _two_stores(server: SandboxServer, tmp_path: Path) -> Iterator[tuple[Bridge, Bridge]]:
    """Two stores, in two working directories, on the same account."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with (
        bridge_over(server, tmp_path / "a") as first,
        bridge_over(server, tmp_path / "b") as second,
    ):
        yield first, second


def test_a_second_store_on_the_same_account_writes_nothing_over_the_first(
    server: SandboxServer, tmp_path: Path
) -> None:
    state, t0, ids = _leads(server)
    with _two_stores(server, tmp_path) as (first, second):
        first.cycle(t0)
        written = _crm_values(state, ids)
        summary = second.cycle(t0 + timedelta(minutes=5))
        assert summary.held_contacts == {"hubspot": LEADS}
        assert summary.written == 0
        assert _crm_values(state, ids) == written
        # The first store goes on as before.
        first.post_events(pricing_visits(ids[0], t0 + timedelta(minutes=6)))
        assert first.cycle(t0 + timedelta(minutes=10)).written == 1
        assert first.cycle(t0 + timedelta(minutes=10)).held_contacts == {}


#: crmbridge's writes through the API, as HubSpot records their source.
_INTEGRATION = ChangeSource("INTEGRATION", "crmbridge")


def _as_an_earlier_release_left_it(state: SandboxState, ids: list[str], folder: Path) -> None:
    """The CRM and the store as a release before marks left them: crmbridge values in
    the CRM without ``crmbridge_store``, and a store at the schema before identities."""
    state.update_contacts([(crm_id, {MARK: ""}) for crm_id in ids], source=_INTEGRATION)
    # Without crmbridge's foreign-key pragma: SQLite rebuilds the contacts table to drop
    # the identity columns, which its events' foreign keys would refuse.
    engine = create_engine(f"sqlite:///{folder / 'crmbridge.db'}")
    try:
        command.downgrade(alembic_config(engine), "0005")
        # Nor did such a release ever read a mark back: what the store knows the CRM
        # holds carries none either (left in, it would name a store no longer known).
        with engine.begin() as connection:
            connection.execute(
                text("UPDATE contacts SET crm_values = json_remove(crm_values, :mark)"),
                {"mark": f"$.{MARK}"},
            )
    finally:
        engine.dispose()


def test_values_written_before_marks_belong_to_the_upgraded_store_and_no_other(
    server: SandboxServer, tmp_path: Path
) -> None:
    state, t0, ids = _leads(server)
    (tmp_path / "old").mkdir()
    (tmp_path / "new").mkdir()
    with bridge_over(server, tmp_path / "old") as before:
        before.post_events(pricing_visits(ids[0], t0))
        before.cycle(t0)
    _as_an_earlier_release_left_it(state, ids, tmp_path / "old")
    unmarked = _crm_values(state, ids)
    assert all(MARK not in values and values[SCORE] for values in unmarked.values())

    with (
        bridge_over(server, tmp_path / "old") as upgraded,
        bridge_over(server, tmp_path / "new") as second,
    ):
        assert read_identity(upgraded.store.engine).legacy_unmarked
        assert not read_identity(second.store.engine).legacy_unmarked
        # A store created after marks existed never wrote without one: another store
        # (this one's predecessor in another directory, or a deleted one) wrote them.
        summary = second.cycle(t0 + timedelta(minutes=5))
        assert summary.held_contacts == {"hubspot": LEADS}
        assert (summary.written, summary.actions) == (0, 0)
        assert _crm_values(state, ids) == unmarked

        # The upgraded store wrote them: it goes on, and marks what it writes.
        upgraded_id = read_identity(upgraded.store.engine).store_id
        upgraded.post_events(pricing_visits(ids[1], t0 + timedelta(minutes=6)))
        ran = upgraded.cycle(t0 + timedelta(minutes=10))
        assert ran.held_contacts == {}
        assert ran.written >= 1
        assert prop(state, ids[1], MARK) == f"{upgraded_id}:1"

        adopted = second.pipeline.run_once(t0 + timedelta(minutes=15), adopt_held=True)
        assert adopted.ok, adopted.errors
        assert adopted.adoption is not None
        # Each contact under the mark the CRM shows now: one was written since it was held.
        assert adopted.adoption.from_stores == {UNMARKED: LEADS - 1, upgraded_id: 1}
        assert any("without a store mark" in line for line in adopted.adoption.lines())
        second_id = read_identity(second.store.engine).store_id
        assert second.cycle(t0 + timedelta(minutes=20)).held_contacts == {}
    assert all(v[MARK].startswith(f"{second_id}:") for v in _crm_values(state, ids).values())


def test_a_hold_follows_what_the_crm_shows_at_the_next_read(
    server: SandboxServer, tmp_path: Path
) -> None:
    """An admin clears the first store's values of one held contact. Rescoring before
    the next read (a drain beside the poll) judges on the values last read and holds it
    still; the read that finds them gone lets it go, and the cycle writes it."""
    state, t0, ids = _leads(server)
    cleared, kept = ids[0], ids[1:]
    with _two_stores(server, tmp_path) as (first, second):
        first.cycle(t0)
        first_id = read_identity(first.store.engine).store_id
        second_id = read_identity(second.store.engine).store_id
        assert second.cycle(t0 + timedelta(minutes=5)).held_contacts == {"hubspot": LEADS}
        rep_edit(state, cleared, dict.fromkeys(_crm_values(state, [cleared])[cleared], ""))
        second.post_events(pricing_visits(cleared, t0 + timedelta(minutes=6)))
        early = second.pipeline.run_once(t0 + timedelta(minutes=7), read=False)
        assert early.ok, early.errors
        assert early.held_contacts == {"hubspot": LEADS}
        assert (early.written, early.actions) == (0, 0)
        assert _crm_values(state, [cleared])[cleared] == {}

        ran = second.cycle(t0 + timedelta(minutes=10))
        assert ran.held_contacts == {"hubspot": LEADS - 1}
        assert ran.written == 1
    assert prop(state, cleared, MARK) == f"{second_id}:1"
    assert int(prop(state, cleared, "crmbridge_engagement_score") or 0) > 0
    assert all(v[MARK] == f"{first_id}:1" for v in _crm_values(state, kept).values())


def _restored_after_its_original_wrote(
    server: SandboxServer, tmp_path: Path
) -> tuple[SandboxState, str, str, dict[str, str]]:
    """A backup of a store that held unscored events of one lead, restored after the
    original scored and wrote them; the CRM, the lead, the original's id, its values."""
    state, t0, ids = _leads(server)
    backup = tmp_path / "backup.db"
    later = ids[0]
    with bridge_over(server, tmp_path) as original:
        original.cycle(t0)
        original_id = read_identity(original.store.engine).store_id
        # Events the backup holds but had not scored yet: a drain of the restored copy
        # would score and write them at once.
        original.post_events(pricing_visits(later, t0 + timedelta(minutes=5), count=3))
        _copy_store(tmp_path / "crmbridge.db", backup)
        original.cycle(t0 + timedelta(minutes=10))
    newer = _crm_values(state, [later])[later]
    assert newer[MARK].startswith(f"{original_id}:")

    _restore(backup, tmp_path)
    return state, later, original_id, newer


@contextmanager
def _daemon_over(server: SandboxServer, tmp_path: Path) -> Iterator[Daemon]:
    """The daemon (no HTTP) on the store in ``tmp_path``, past its start-up checks."""
    url = f"sqlite:///{tmp_path / 'crmbridge.db'}"
    config = load_config()
    config = config.model_copy(
        update={"bridge": config.bridge.model_copy(update={"database_url": url})}
    )
    store = Store.open(url)
    daemon = Daemon(config, store, {"hubspot": connector_for(server)}, serve_http=False)
    try:
        daemon.preflight()
        yield daemon
    finally:
        if daemon.guard is not None:
            daemon.guard.release()
        store.engine.dispose()


def test_a_restored_backup_started_as_a_daemon_reads_the_crm_before_it_writes(
    server: SandboxServer, tmp_path: Path
) -> None:
    state, later, original_id, newer = _restored_after_its_original_wrote(server, tmp_path)
    with _daemon_over(server, tmp_path) as daemon:
        daemon.drain()  # a webhook's nudge, or the drain interval, before the poll
        assert _crm_values(state, [later])[later] == newer
        daemon.poll("hubspot")
        identity = read_identity(daemon.store.engine)
        assert [store_id for store_id, _ in identity.former] == [original_id]
        assert daemon.store.held_counts() == {"hubspot": 1}
    assert _crm_values(state, [later])[later] == newer


def test_a_restored_daemon_whose_first_read_fails_plans_no_write(
    server: SandboxServer, tmp_path: Path
) -> None:
    state, later, original_id, newer = _restored_after_its_original_wrote(server, tmp_path)
    with _daemon_over(server, tmp_path) as daemon:
        before = read_identity(daemon.store.engine)
        with daemon.store.session() as session:
            rows = dict(outbox.depth(session))
        server.config.update({"fault_rate": 1.0, "fault_statuses": [400]})
        daemon.poll("hubspot")  # the read fails: nothing is rescored, no mark issued
        server.config.update({"fault_rate": 0.0})
        assert read_identity(daemon.store.engine) == before
        with daemon.store.session() as session:
            assert outbox.depth(session) == rows
        daemon.poll("hubspot")
        identity = read_identity(daemon.store.engine)
        assert [store_id for store_id, _ in identity.former] == [original_id]
        assert daemon.store.held_counts() == {"hubspot": 1}
    assert _crm_values(state, [later])[later] == newer
