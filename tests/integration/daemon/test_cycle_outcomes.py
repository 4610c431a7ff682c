"""What the daemon's jobs record about a cycle, in ``sync_runs``, health and metrics.

A file-backed CRM stands in for HubSpot (``crmbridge.testing.fake``), the store is the
test's SQLite file and the jobs are the daemon's own ``poll``/``drain``:

- a cycle that raises something unexpected: its ``sync_runs`` row is "aborted" (not left
  "running"), a ``cycle.crashed`` log line carries the traceback, and the failure counts
  as kind ``internal`` in the health report and the metrics;
- writes the CRM refuses for now are counted as ``failed`` in ``crmbridge_writes_total``
  and the connector's poll still counts as a success;
- "running" rows left by a dead process are closed as "aborted" at start;
- a cycle that crashes during the start-up checks does not stop the start;
- a cycle already running when the SQLite file is deleted fails rather than leave a
  new, empty file behind; the next job does not start;
- a connector's declared rate governor paces its requests, its budget is the
  ``crmbridge_api_rate_budget_remaining`` gauge, and on Postgres the replicas share it;
  a connector declaring none has no such gauge.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import structlog
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError

from crmbridge import clock
from crmbridge.connector import DailyCount, Page, Write, WriteResult
from crmbridge.connector.rate_governor import RateGovernor
from crmbridge.daemon.http import create_app
from crmbridge.daemon.service import Daemon
from crmbridge.logging import configure_logging
from crmbridge.store.repository import Store
from crmbridge.store.tables import SyncRunRow
from crmbridge.testing.fake import FakeConnector

from .app_harness import make_config
from .daemon_helpers import metric_value

CONTACTS = [
    {
        "id": str(1000 + i),
        "email": f"lead{i}@example.com",
        "properties": {"jobtitle": "CIO", "numemployees": "600"},
        "updated_at": "2026-11-01T10:00:00Z",
    }
    for i in range(6)
]


class BrokenCrm(FakeConnector):
    """Its client fails in a way no CRM error describes (a bug, say)."""

    def read_changes(self, cursor: str | None, properties: Sequence[str]) -> Iterator[Page]:
        raise RuntimeError("the CRM client broke")


#: A person's email that a failing statement carries as a bound value.
PRIVATE_EMAIL = "private.person@example.org"


class FailingStatement(FakeConnector):
    """Reading runs a statement the database refuses, with an email as a bound value."""

    store: Store

    def read_changes(self, cursor: str | None, properties: Sequence[str]) -> Iterator[Page]:
        with self.store.engine.connect() as connection:
            connection.execute(
                text("SELECT id FROM no_such_table WHERE email = :email"),
                {"email": PRIVATE_EMAIL},
            )
        yield from ()


class CrashingWriter(FakeConnector):
    """Reads normally; writing fails in a way no CRM error describes."""

    def write(self, batch: Sequence[Write]) -> list[WriteResult]:
        raise ValueError("the CRM client broke while writing")


class RefusingCrm(FakeConnector):
    """Answers "503" for every record of a write (retriable), reads normally."""

    def write(self, batch: Sequence[Write]) -> list[WriteResult]:
        return [WriteResult(w.crm_id, False, "HTTP 503 unavailable", True) for w in batch]


def _daemon(store: Store, connector: FakeConnector) -> Daemon:
    FakeConnector.seed(connector.folder, CONTACTS)
    base = make_config()
    # The store's own URL: the daemon's SQLite lock file sits next to it.
    bridge = base.bridge.model_copy(
        update={"database_url": store.engine.url.render_as_string(hide_password=False)}
    )
    config = base.model_copy(update={"bridge": bridge})
    return Daemon(config, store, {connector.name: connector}, serve_http=False)


def _statuses(store: Store) -> list[str]:
    with store.session() as session:
        return [row.status for row in session.exec(select(SyncRunRow)).scalars()]  # type: ignore[call-overload]


def test_a_crashed_cycle_is_closed_as_aborted_and_counted(
    sqlite_store: Store, tmp_path: Path
) -> None:
    daemon = _daemon(sqlite_store, BrokenCrm(tmp_path / "crm", name="hubspot"))

    with structlog.testing.capture_logs() as logs:
        daemon.poll("hubspot")

    assert _statuses(sqlite_store) == ["aborted"]
    crashed = [line for line in logs if line["event"] == "cycle.crashed"]
    assert len(crashed) == 1
    # The line names the type only; the exception's text stays in the traceback.
    assert crashed[0]["error"] == "unexpected error: RuntimeError"
    assert crashed[0].get("exc_info"), "the traceback is part of the log line"
    report = daemon.health.report(daemon.clock())["connectors"]["hubspot"]
    assert report["consecutive_failures"]["internal"] == 1
    assert report["last_success"] is None
    text = daemon.metrics.render().decode()
    series = 'crmbridge_cycle_failures_total{connector="hubspot",kind="internal"}'
    assert metric_value(text, series) == 1.0


def test_a_database_error_shows_no_bound_value_in_healthz_or_the_log(
    sqlite_store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``/healthz`` is unauthenticated: a failing statement's SQL and bound values (an
    email here) never reach it, nor any log line (tracebacks included)."""
    crm = FailingStatement(tmp_path / "crm", name="hubspot")
    crm.store = sqlite_store
    daemon = _daemon(sqlite_store, crm)
    configure_logging(log_format="json")
    try:
        daemon.poll("hubspot")
        client = TestClient(create_app(sqlite_store, daemon.config, health=daemon.health))
        health = client.get("/healthz")
    finally:
        configure_logging(level="INFO")
    log = capsys.readouterr().err

    last_error = health.json()["connectors"]["hubspot"]["last_error"]
    assert last_error == "cycle: database error: OperationalError"
    assert PRIVATE_EMAIL not in health.text and "no_such_table" not in health.text
    assert "cycle.crashed" in log and "no_such_table" in log, "the traceback is logged"
    assert PRIVATE_EMAIL not in log
    with sqlite_store.session() as session:
        runs = session.exec(select(SyncRunRow.errors)).all()  # type: ignore[call-overload]
    assert PRIVATE_EMAIL not in json.dumps([row[0] for row in runs])


def test_refused_writes_are_counted_as_failed(sqlite_store: Store, tmp_path: Path) -> None:
    daemon = _daemon(sqlite_store, RefusingCrm(tmp_path / "crm", name="hubspot"))

    daemon.poll("hubspot")

    text = daemon.metrics.render().decode()
    failed = metric_value(text, 'crmbridge_writes_total{connector="hubspot",status="failed"}')
    assert failed == len(CONTACTS)
    assert (
        metric_value(text, 'crmbridge_writes_total{connector="hubspot",status="done"}', default=0)
        == 0
    )
    assert _statuses(sqlite_store) == ["failed"]
    # Records refused one by one are not the connector failing: the poll succeeded.
    report = daemon.health.report(daemon.clock())["connectors"]["hubspot"]
    assert report["last_success"] is not None
    assert metric_value(text, 'crmbridge_last_success_timestamp_seconds{connector="hubspot"}')


@pytest.mark.parametrize("rows", [1, 3])
def test_running_rows_of_a_dead_process_are_aborted_at_start(
    sqlite_store: Store, tmp_path: Path, rows: int
) -> None:
    for _ in range(rows):
        sqlite_store.start_run(clock.now())  # a process died in each of these cycles
    daemon = _daemon(sqlite_store, FakeConnector(tmp_path / "crm", name="hubspot"))

    with structlog.testing.capture_logs() as logs:
        daemon.preflight()

    statuses = _statuses(sqlite_store)
    assert statuses[:rows] == ["aborted"] * rows
    assert "running" not in statuses
    warned: list[dict[str, Any]] = [
        line for line in logs if line["event"] == "cycle.aborted_by_previous_process"
    ]
    assert warned and warned[0]["runs"] == rows, json.dumps(logs, default=str)
    if daemon.guard is not None:
        daemon.guard.release()


def test_a_deleted_sqlite_file_is_never_created_again(sqlite_store: Store, tmp_path: Path) -> None:
    daemon = _daemon(sqlite_store, FakeConnector(tmp_path / "crm", name="hubspot"))
    database = sqlite_store.engine.url.database
    assert database is not None
    path = Path(database)
    daemon.poll("hubspot")
    assert _statuses(sqlite_store) == ["ok"]

    path.unlink()
    sqlite_store.engine.dispose()  # the next session needs a new connection

    with pytest.raises(OperationalError):
        daemon.pipeline.run_once(daemon.clock())  # a cycle that had already started
    assert not path.exists(), "a new, empty store file was created"
    with structlog.testing.capture_logs() as logs:
        daemon.drain()
    assert [line["event"] for line in logs] == ["store.gone", "cycle.skipped"]
    assert not path.exists()


def test_a_cycle_crashing_at_start_does_not_stop_the_start(
    sqlite_store: Store, tmp_path: Path
) -> None:
    first = _daemon(sqlite_store, CrashingWriter(tmp_path / "crm", name="hubspot"))
    first.poll("hubspot")  # scores are queued; sending them crashes
    assert _statuses(sqlite_store) == ["aborted"]

    second = _daemon(sqlite_store, CrashingWriter(tmp_path / "crm", name="hubspot"))
    with structlog.testing.capture_logs() as logs:
        second.preflight()
        # The first poll reads, then settles the outbox, whose drain crashes again.
        second.poll("hubspot")

    try:
        assert [line["event"] for line in logs if line["event"] == "cycle.crashed"] == [
            "cycle.crashed"
        ]
        assert _statuses(sqlite_store) == ["aborted", "aborted"]
        report = second.health.report(second.clock())["connectors"]["hubspot"]
        assert report["consecutive_failures"]["internal"] == 1
    finally:
        if second.guard is not None:
            second.guard.release()


BUDGET = 'crmbridge_api_rate_budget_remaining{connector="hubspot"}'


def test_the_daemon_reads_and_shares_the_budget_a_connector_declares(
    store: Store, tmp_path: Path
) -> None:
    governor = RateGovernor(50, 10.0)
    crm = FakeConnector(tmp_path / "crm", name="hubspot", rate_governor=governor)
    daemon = _daemon(store, crm)
    # Replicas can only share a budget through Postgres.
    assert (governor.shared is None) == store.is_sqlite

    daemon.poll("hubspot")

    assert crm.write_calls > 0
    assert governor.stats.requests == crm.read_calls + crm.write_calls
    assert metric_value(daemon.metrics.render().decode(), BUDGET) == governor.budget == 49
    if daemon.guard is not None:
        daemon.guard.release()


class DailyLimitedConnector(FakeConnector):
    """A CRM limiting requests per day, whose share replicas count together."""

    count: DailyCount | None = None

    def share_daily_count(self, count: DailyCount) -> None:
        self.count = count


def test_replicas_count_a_daily_limit_together_in_the_store(store: Store, tmp_path: Path) -> None:
    crm = DailyLimitedConnector(tmp_path / "crm", name="salesforce")
    daemon = _daemon(store, crm)
    if daemon.guard is not None:
        daemon.guard.release()
    if store.is_sqlite:
        assert crm.count is None  # one process: it counts its own calls
        return
    assert crm.count is not None
    crm.count.add(3)
    # Another replica's count, on its own connection, sees the same total.
    assert type(crm.count)(store.engine, "salesforce:day").total() == 3


def test_a_connector_without_a_governor_has_no_budget_gauge(
    sqlite_store: Store, tmp_path: Path
) -> None:
    daemon = _daemon(sqlite_store, FakeConnector(tmp_path / "crm", name="hubspot"))

    daemon.poll("hubspot")

    assert metric_value(daemon.metrics.render().decode(), BUDGET, default=-1) == -1
