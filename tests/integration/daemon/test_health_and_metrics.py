"""/readyz when the database is down or hangs, /metrics, and no secrets in logs."""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import structlog
from fastapi.testclient import TestClient

from crmbridge.daemon import metrics
from crmbridge.daemon.http import create_app
from crmbridge.records import ContactRecord
from crmbridge.store.db import make_engine
from crmbridge.store.probe import StoreProbe
from crmbridge.store.repository import Store
from crmbridge.store.tables import OutboxRow

from .app_harness import (
    APP_SECRET,
    INGEST_TOKEN,
    NOW,
    SF_SECRET,
    Harness,
    dumps,
    hubspot_headers,
    make_config,
    notification,
)
from .daemon_helpers import metric_value

METRIC_NAMES = (
    "crmbridge_events_ingested_total",
    "crmbridge_scores_computed_total",
    "crmbridge_writes_total",
    "crmbridge_api_calls_total",
    "crmbridge_api_rate_budget_remaining",
    "crmbridge_webhook_events_total",
    "crmbridge_outbox_depth",
    "crmbridge_rescore_outdated",
    "crmbridge_cycle_duration_seconds",
    "crmbridge_webhook_to_write_seconds",
    "crmbridge_last_success_timestamp_seconds",
    "crmbridge_cycle_failures_total",
)


def broken_store(tmp_path: Path) -> Store:
    """A store whose database cannot be opened (its directory went away)."""
    folder = tmp_path / "missing"
    folder.mkdir()
    engine = make_engine(f"sqlite:///{folder / 'nowhere.db'}")
    engine.dispose()
    shutil.rmtree(folder)
    return Store(engine)


def test_readyz_is_503_when_the_database_fails_while_metrics_still_answer(
    build: Callable[..., Harness], tmp_path: Path
) -> None:
    harness = build(store=broken_store(tmp_path))

    response = harness.client.get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["down"] == ["database", "writable"]
    assert "OperationalError" in body["errors"]["database"]
    assert str(tmp_path) not in response.text  # no connection details leak
    scraped = harness.client.get("/metrics")
    assert scraped.status_code == 200
    assert "# TYPE crmbridge_outbox_depth gauge" in scraped.text
    assert "# TYPE crmbridge_rescore_outdated gauge" in scraped.text


def test_a_database_outage_during_a_webhook_is_503_so_the_crm_retries(
    build: Callable[..., Harness], tmp_path: Path
) -> None:
    harness = build(store=broken_store(tmp_path))
    body = dumps([notification(1, 101)])
    response = harness.client.post("/webhooks/hubspot", content=body, headers=hubspot_headers(body))
    assert response.status_code == 503
    assert response.headers["retry-after"]


def test_a_hung_database_check_times_out() -> None:
    release = threading.Event()

    class Hanging:
        def connect(self) -> Any:
            release.wait(5)
            raise RuntimeError("gave up")

    store = SimpleNamespace(engine=Hanging(), is_sqlite=False)
    probe = StoreProbe(store, timeout_s=0.05)  # type: ignore[arg-type]
    started = time.monotonic()
    state = probe.check()
    assert not state.ok and state.error is not None and "no answer" in state.error
    assert time.monotonic() - started < 1
    state = probe.check()  # the first check still hangs: no second thread piles up
    assert not state.ok and state.error is not None and "previous" in state.error
    release.set()


# -- metrics ------------------------------------------------------------------------------


def test_metrics_exposes_every_metric_name(harness: Harness) -> None:
    metrics.record_writes("hubspot", "done", 3)
    metrics.record_api_call("hubspot", remaining=187)
    metrics.record_scores_computed(5)
    metrics.observe_cycle(1.5)
    metrics.record_events_ingested(2, source="cli")
    metrics.record_cycle_failure("hubspot", "auth")
    metrics.set_last_success("hubspot", NOW)
    response = harness.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    for name in METRIC_NAMES:
        assert name in text, name
    assert 'crmbridge_writes_total{connector="hubspot",status="done"} 3.0' in text
    assert 'crmbridge_api_rate_budget_remaining{connector="hubspot"} 187.0' in text
    assert "crmbridge_scores_computed_total 5.0" in text
    assert "crmbridge_cycle_duration_seconds_count 1.0" in text
    assert 'crmbridge_outbox_depth{status="pending"} 0.0' in text
    assert "crmbridge_rescore_outdated 0.0" in text
    assert 'crmbridge_cycle_failures_total{connector="hubspot",kind="auth"} 1.0' in text
    last = metric_value(text, 'crmbridge_last_success_timestamp_seconds{connector="hubspot"}')
    assert last == NOW.timestamp()


def test_by_default_the_process_metrics_are_exported_too(sqlite_store: Store) -> None:
    text = TestClient(create_app(sqlite_store, make_config())).get("/metrics").text
    assert "python_info" in text
    assert "crmbridge_outbox_depth" in text


def test_the_outbox_depth_is_read_from_the_store_at_scrape_time(harness: Harness) -> None:
    with harness.store.session() as session:
        for status in ("pending", "pending", "dead"):
            session.add(
                OutboxRow(
                    connector="hubspot",
                    crm_id="101",
                    target="crmbridge_score",
                    idempotency_key=f"k-{status}-{time.monotonic_ns()}",
                    status=status,
                )
            )
        session.commit()
    text = harness.client.get("/metrics").text
    assert 'crmbridge_outbox_depth{status="pending"} 2.0' in text
    assert 'crmbridge_outbox_depth{status="dead"} 1.0' in text


def test_webhook_to_write_latency_is_observed_once_per_named_record(harness: Harness) -> None:
    body = dumps([notification(1, 101), notification(2, 102)])
    harness.client.post("/webhooks/hubspot", content=body, headers=hubspot_headers(body))

    assert metrics.observe_written("hubspot", ["101", "999"]) == 1
    assert metrics.observe_written("hubspot", ["101"]) == 0  # already observed

    text = harness.client.get("/metrics").text
    assert 'crmbridge_webhook_to_write_seconds_count{connector="hubspot"} 1.0' in text


def test_each_app_has_its_own_registry(build: Callable[..., Harness]) -> None:
    first = build()
    first.metrics.writes.labels("hubspot", "done").inc()
    second = build()
    assert "crmbridge_writes_total{" in first.client.get("/metrics").text
    assert "crmbridge_writes_total{" not in second.client.get("/metrics").text
    assert metrics.current() is second.metrics


# -- logging ------------------------------------------------------------------------------


def test_no_secret_reaches_the_logs(harness: Harness) -> None:
    client = harness.client
    event = {
        "type": "page_view",
        "occurred_at": "2026-11-19T10:00:00Z",
        "contact": {"email": "ana@acme.es"},
    }
    body = dumps([notification(1, 101)])
    with structlog.testing.capture_logs() as logs:
        client.post("/v1/events", json=[event], headers={"Authorization": f"Bearer {INGEST_TOKEN}"})
        client.post("/v1/events", json=[event], headers={"Authorization": "Bearer guess"})
        client.post("/webhooks/hubspot", content=body, headers=hubspot_headers(body))
        client.post("/webhooks/hubspot", content=body, headers={"X-HubSpot-Signature-v3": "x"})
        client.post(f"/webhooks/salesforce?secret={SF_SECRET}", content=b"<x/>")
        client.post("/webhooks/salesforce", content=b"{}", headers={"X-Crmbridge-Secret": "no"})
    written = json.dumps(logs, default=str)
    assert logs  # the requests were logged
    for secret in (INGEST_TOKEN, APP_SECRET, SF_SECRET, "Bearer"):
        assert secret not in written


def test_the_clock_decides_signature_freshness(tmp_path: Path) -> None:
    """A daemon whose clock is an hour ahead refuses signatures made "now"."""
    store = Store.open(f"sqlite:///{tmp_path / 'clock.db'}")
    app = create_app(store, make_config(), clock=lambda: NOW + timedelta(hours=1))
    body = dumps([notification(1, 101)])
    response = TestClient(app).post(
        "/webhooks/hubspot", content=body, headers=hubspot_headers(body)
    )
    assert response.status_code == 401
    store.store_page("hubspot", "contacts", [ContactRecord(crm="hubspot", id="1")], "c", [])
    store.engine.dispose()
