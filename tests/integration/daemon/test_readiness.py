"""/readyz answers whether intake can be accepted; /healthz reports sync health.

- ready: the store answers and takes writes, and the daemon is not stopping; a CRM
  that refuses the token or rate-limits every call does not make it unready;
- a SQLite file deleted or replaced under the running daemon: webhooks and events are
  refused with 503 (not 202 into a lost file), /readyz and /healthz turn 503;
- a read-only database is not ready; a busy writer is not mistaken for one;
- /healthz details each connector and turns 503 once no cycle has succeeded for
  ``daemon.unhealthy_after_cycles`` poll intervals (or the store is unwritable).
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crmbridge.config import example_config_text, parse_config
from crmbridge.daemon.sync_health import SyncHealth
from crmbridge.errors import AuthError, ConfigError, RateLimited, TransientError
from crmbridge.store.repository import Store
from crmbridge.sync.failures import CycleFailure

from .app_harness import INGEST_TOKEN, Harness, dumps, events, hubspot_headers, notification

POLL = timedelta(minutes=5)
EVENT = {
    "type": "page_view",
    "occurred_at": "2026-11-19T10:00:00Z",
    "contact": {"email": "ana@acme.es"},
}
AUTH = {"Authorization": f"Bearer {INGEST_TOKEN}"}


def _file_of(store: Store) -> Path:
    database = store.engine.url.database
    assert database is not None
    return Path(database)


def _post_event(harness: Harness) -> int:
    return harness.client.post("/v1/events", json=[EVENT], headers=AUTH).status_code


def _post_webhook(harness: Harness, event_id: int) -> int:
    body = dumps([notification(event_id, 101)])
    answer = harness.client.post("/webhooks/hubspot", content=body, headers=hubspot_headers(body))
    return answer.status_code


def test_ready_when_the_store_takes_writes(harness: Harness) -> None:
    response = harness.client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json() == {
        "status": "ready",
        "checks": {"database": True, "writable": True, "accepting": True},
    }
    health = harness.client.get("/healthz")
    assert health.status_code == 200
    assert health.json()["store"] == {"writable": True}


def test_not_ready_while_shutting_down(build: Callable[..., Harness]) -> None:
    response = build(stopping=lambda: True).client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["down"] == ["accepting"]
    assert response.json()["errors"] == {"accepting": "shutting down"}


def test_a_deleted_sqlite_file_turns_intake_and_readiness_away(harness: Harness) -> None:
    assert _post_event(harness) == 202
    assert _post_webhook(harness, 1) == 200
    stored = events(harness.store)

    _file_of(harness.store).unlink()

    refused = harness.client.post("/v1/events", json=[EVENT], headers=AUTH)
    assert refused.status_code == 503
    assert refused.headers["retry-after"]
    assert "deleted or replaced" in refused.json()["detail"]
    assert _post_webhook(harness, 2) == 503
    ready = harness.client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["down"] == ["database", "writable"]
    assert "deleted or replaced" in ready.json()["errors"]["database"]
    assert harness.client.get("/healthz").status_code == 503
    # Nothing more went into the deleted file after the first refusal.
    assert events(harness.store) == stored


def test_a_replaced_sqlite_file_is_noticed_too(harness: Harness, tmp_path: Path) -> None:
    path = _file_of(harness.store)
    copy = tmp_path / "copy.db"
    shutil.copyfile(path, copy)
    assert _post_event(harness) == 202

    copy.replace(path)  # e.g. an old backup restored over the live file

    assert _post_event(harness) == 503
    assert harness.client.get("/readyz").status_code == 503


def test_a_read_only_database_is_not_ready_and_refuses_intake(
    build: Callable[..., Harness], sqlite_store: Store
) -> None:
    path = _file_of(sqlite_store)
    read_only = Store.open(f"sqlite:///file:{path}?mode=ro&uri=true", migrate=False)
    try:
        harness = build(store=read_only)
        ready = harness.client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"] == {"database": True, "writable": False, "accepting": True}
        assert "read-only" in ready.json()["errors"]["writable"]
        assert harness.client.get("/healthz").status_code == 503
        assert _post_event(harness) == 503
    finally:
        read_only.engine.dispose()


def test_a_busy_writer_is_not_taken_for_a_read_only_database(harness: Harness) -> None:
    with closing(sqlite3.connect(_file_of(harness.store), isolation_level=None)) as other:
        other.execute("BEGIN IMMEDIATE")  # another connection holds the write lock
        try:
            response = harness.client.get("/readyz")
        finally:
            other.execute("ROLLBACK")
    assert response.status_code == 200, response.text


def _health(started: datetime, cycles: int = 3) -> SyncHealth:
    return SyncHealth(
        ["hubspot", "salesforce"],
        poll_interval=POLL,
        unhealthy_after_cycles=cycles,
        started_at=started,
    )


def test_failing_crms_do_not_stop_intake_and_healthz_details_them(
    build: Callable[..., Harness],
) -> None:
    now = datetime.now(UTC)
    health = _health(now - timedelta(minutes=1))
    health.record(now, [], polled=["hubspot", "salesforce"])
    for _ in range(2):
        health.record(
            now,
            [CycleFailure.of("hubspot", "read", AuthError("HubSpot rejected the access token"))],
            polled=["hubspot"],
        )
    health.record(
        now,
        [CycleFailure.of("salesforce", "write", RateLimited("daily limit", retry_after=3600))],
        polled=["salesforce"],
    )
    health.record(
        now,
        [CycleFailure.of("salesforce", "read", TransientError("503 from the CRM"))],
        polled=["salesforce"],
    )
    harness = build(health=health)

    assert harness.client.get("/readyz").status_code == 200
    assert _post_event(harness) == 202
    assert _post_webhook(harness, 1) == 200

    response = harness.client.get("/healthz")
    assert response.status_code == 200, response.text  # within 3 poll intervals
    body = response.json()
    hubspot, salesforce = body["connectors"]["hubspot"], body["connectors"]["salesforce"]
    assert hubspot["auth"] == "failed"
    assert hubspot["consecutive_failures"] == {
        "auth": 2,
        "missing_scope": 0,
        "rate_limited": 0,
        "unavailable": 0,
        "bad_record": 0,
        "schema": 0,
        "config": 0,
        "store": 0,
        "internal": 0,
    }
    assert "rejected the access token" in hubspot["last_error"]
    assert salesforce["consecutive_failures"]["rate_limited"] == 1
    assert salesforce["consecutive_failures"]["unavailable"] == 1
    assert salesforce["last_rate_limited"] is not None
    assert salesforce["auth"] == "ok"
    assert hubspot["last_success"] == now.isoformat().replace("+00:00", "Z")
    assert body["unhealthy_after_s"] == 3 * POLL.total_seconds()


def test_healthz_turns_503_after_the_configured_intervals_without_success(
    build: Callable[..., Harness],
) -> None:
    now = datetime.now(UTC)
    health = _health(now - 4 * POLL, cycles=3)
    health.record(now - timedelta(minutes=1), [], polled=["salesforce"])
    failure = CycleFailure.of("hubspot", "read", TransientError("timed out"))
    health.record(now, [failure], polled=["hubspot"])
    harness = build(health=health)

    response = harness.client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["unhealthy"] == ["hubspot"]
    assert body["connectors"]["hubspot"]["healthy"] is False
    assert body["connectors"]["hubspot"]["last_success"] is None
    assert body["connectors"]["salesforce"]["healthy"] is True
    assert harness.client.get("/readyz").status_code == 200

    health.record(datetime.now(UTC), [], polled=["hubspot"])
    recovered = harness.client.get("/healthz")
    assert recovered.status_code == 200, recovered.text
    assert recovered.json()["connectors"]["hubspot"]["consecutive_failures"]["unavailable"] == 0


@pytest.mark.parametrize(
    ("line", "path"),
    [
        ("unhealthy_after_cycles = 0", "daemon.unhealthy_after_cycles"),
        ("unhealthy_after_cycles = 1001", "daemon.unhealthy_after_cycles"),
        ("unhealthy_after_cycles = 2.5", "daemon.unhealthy_after_cycles"),
        ('log_format = "xml"', "daemon.log_format"),
    ],
)
def test_bad_health_and_log_settings_are_path_labelled_errors(line: str, path: str) -> None:
    key = line.split(" =", 1)[0]
    text = "\n".join(
        line if raw.startswith(f"{key} =") else raw for raw in example_config_text().splitlines()
    )
    assert line in text
    with pytest.raises(ConfigError) as raised:
        parse_config(text)
    assert any(problem.path == path for problem in raised.value.problems), raised.value


def test_the_example_config_listens_on_this_machine_only() -> None:
    config = parse_config(example_config_text()).config
    assert config.daemon.host == "127.0.0.1"
    assert config.daemon.unhealthy_after_cycles == 3
    assert config.daemon.log_format == "auto"
