"""HubSpot's less common answers and stalled connections, through the official SDK against
the sandbox: what the connector waits, retries, keeps and says.

- 423 Locked: one wait of 2 s, one retry, the write lands;
- 477 Migration in progress with a long Retry-After: the cycle fails as transient, the
  writes stay in the outbox with no attempt counted, no call is sent until then, and the
  failure says when calls resume;
- 502, 504, 521–526: transient, retried with backoff, on the SDK and the raw call path;
- the daily limit used up: no call until midnight in the account's time zone, said so;
- a stalled connection: the call fails after the configured timeout, without retries.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlmodel import select

from crmbridge import clock
from crmbridge.connector import Write
from crmbridge.errors import RateLimited, RetryLater
from crmbridge.store.tables import OutboxRow
from crmbridge.sync.failures import failure_kind
from crmbridge_hubspot import HubSpotConnector
from crmbridge_hubspot.account_stops import daily_reset
from crmbridge_hubspot.client import HubSpotClient
from crmbridge_hubspot.errors import TimedOut, translate
from crmbridge_hubspot.sandbox.server import SandboxServer
from crmbridge_hubspot.settings import HubSpotSettings

from .hubspot_harness import IMPORT, TOKEN, connector_for, pipeline_over, sandbox

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
UPDATE = "/crm/v3/objects/contacts/batch/update"
OWNERS = "/crm/v3/owners"


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    with sandbox() as running:
        yield running
        # Held requests are let go, or the server's stop would wait for them.
        running.config.update({"stall_rate": 0})


def waiting_connector(server: SandboxServer, waits: list[float]) -> HubSpotConnector:
    """A connector whose retry waits are recorded instead of slept."""
    client = HubSpotClient(TOKEN, server.url, sleep=waits.append)
    return HubSpotConnector(client)


def contact(server: SandboxServer, index: int = 0) -> str:
    values = {"email": f"lead{index}@faults.example", "jobtitle": "CIO"}
    return server.state.create_contact(values, source=IMPORT, notify=False).id


def sent(server: SandboxServer, path: str) -> list[int]:
    """Statuses of the requests to ``path``, in order."""
    return [r.status for r in server.state.requests() if r.path == path]


def test_a_lock_is_waited_out_for_two_seconds_and_retried_once(server: SandboxServer) -> None:
    crm_id = contact(server)
    server.config.update({"fault_paths": [UPDATE], "fault_next": [423]})
    waits: list[float] = []
    connector = waiting_connector(server, waits)

    [result] = connector.write([_write(crm_id)])

    assert result.ok, result.error
    assert sent(server, UPDATE) == [423, 200]
    assert waits == [2.0]


@pytest.mark.parametrize("status", [502, 504, 521, 522, 523, 524, 525, 526])
def test_gateway_and_edge_errors_are_retried_with_backoff(
    server: SandboxServer, status: int
) -> None:
    crm_id = contact(server)
    waits: list[float] = []
    connector = waiting_connector(server, waits)

    server.config.update({"fault_paths": [UPDATE], "fault_next": [status]})
    [result] = connector.write([_write(crm_id)])
    server.config.update({"fault_paths": [OWNERS], "fault_next": [status]})
    owners = connector.client.raw("owners", "GET", OWNERS)  # the raw call path

    assert result.ok, result.error
    assert "results" in owners
    assert sent(server, UPDATE) == [status, 200]
    assert sent(server, OWNERS) == [status, 200]
    assert len(waits) == 2 and all(0 <= wait <= 30 for wait in waits)


def test_a_long_migration_keeps_the_writes_and_says_when_calls_resume(
    server: SandboxServer, tmp_path: Path
) -> None:
    for index in range(3):
        contact(server, index)
    connector = connector_for(server)
    server.config.update(
        {"fault_paths": [UPDATE], "fault_next": [477], "fault_retry_after_s": 3600}
    )
    with pipeline_over(connector, tmp_path) as pipeline:
        pipeline.prepare()
        first = pipeline.run_once(NOW)
        again = pipeline.run_once(NOW + timedelta(hours=2))
        with pipeline.store.session() as session:
            rows = session.exec(select(OutboxRow).where(OutboxRow.kind == "property")).all()

    [failure] = first.failures
    assert (failure.stage, failure.kind) == ("write", "unavailable")
    assert "477" in failure.message and "calls resume after" in failure.message
    assert first.dead == 0 and first.written == 0
    # Kept, not dropped: pending, no attempt counted, due after the Retry-After.
    assert rows and {row.status for row in rows} == {"pending"}
    assert {row.attempts for row in rows} == {0}
    # One 477 only: until the announced time no call reaches HubSpot.
    assert sent(server, UPDATE) == [477]
    assert any("calls resume after" in line for line in again.errors)


def test_a_short_retry_after_is_waited_out_inside_the_call(server: SandboxServer) -> None:
    crm_id = contact(server)
    server.config.update({"fault_paths": [UPDATE], "fault_next": [477], "fault_retry_after_s": 3})
    waits: list[float] = []

    [result] = waiting_connector(server, waits).write([_write(crm_id)])

    assert result.ok and waits == [3.0]


def test_a_migration_error_is_transient_with_the_wait_asked() -> None:
    error = translate(477, "{}", what="batch update contacts", headers={"Retry-After": "7200"})

    assert isinstance(error, RetryLater) and error.retry_after == 7200
    assert failure_kind(error) == "unavailable"


def test_the_daily_limit_stops_calls_until_midnight_in_the_account_zone(
    server: SandboxServer,
) -> None:
    connector = connector_for(server)
    server.config.update({"daily_limit": 40})
    server.services.limiter.reset()
    calls = 0
    with pytest.raises(RateLimited) as caught:
        while calls < 60:
            connector.client.raw("owners", "GET", OWNERS)
            calls += 1
    before = len(server.state.requests())
    with pytest.raises(RateLimited) as again:
        connector.client.raw("owners", "GET", OWNERS)

    # The account's zone was read while calls were running out (the sandbox's: Madrid).
    assert connector.client.account_zone == "Europe/Madrid"
    assert calls == 39  # the 40th request of the day read the zone
    error = caught.value
    assert error.policy == "DAILY"
    resume = daily_reset(clock.now(), "Europe/Madrid")
    assert f"{resume:%Y-%m-%d %H:%M} UTC" in str(error) and "Europe/Madrid" in str(error)
    assert abs(error.retry_after - (resume - clock.now()).total_seconds()) < 60
    # Nothing more is sent until then; the error still says when.
    assert len(server.state.requests()) == before
    assert again.value.policy == "DAILY" and "resume at" in str(again.value)


def test_a_cycle_out_of_daily_calls_keeps_its_writes_and_says_when_they_resume(
    server: SandboxServer, tmp_path: Path
) -> None:
    for index in range(3):
        contact(server, index)
    connector = connector_for(server)
    with pipeline_over(connector, tmp_path) as pipeline:
        pipeline.prepare()
        # The day's calls run out as the scores are written.
        server.config.update({"fault_paths": [UPDATE], "fault_next": [429]})
        summary = pipeline.run_once(NOW)
        with pipeline.store.session() as session:
            rows = session.exec(select(OutboxRow).where(OutboxRow.kind == "property")).all()

    assert summary.written == 0 and summary.dead == 0
    assert [f.kind for f in summary.failures] == ["rate_limited"]
    [line] = summary.errors
    assert "daily API limit is used up" in line and "resume" in line
    assert rows and {row.status for row in rows} == {"pending"}
    assert {row.attempts for row in rows} == {0}
    assert sent(server, UPDATE) == [429]


def test_a_daily_429_in_an_unknown_zone_tries_again_at_the_next_hour(
    server: SandboxServer,
) -> None:
    connector = connector_for(server)
    server.config.update({"daily_limit": 0})

    with pytest.raises(RateLimited) as caught:
        connector.client.raw("owners", "GET", OWNERS)

    assert connector.client.account_zone is None  # its details were refused too
    assert "could not read" in str(caught.value)
    assert caught.value.retry_after <= 3600


def test_daily_reset_is_the_next_midnight_of_the_zone() -> None:
    assert daily_reset(NOW, "Europe/Madrid") == datetime(2026, 11, 20, 23, 0, tzinfo=UTC)
    assert daily_reset(NOW, "America/Los_Angeles") == datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
    assert daily_reset(NOW, None) == datetime(2026, 11, 20, 11, 0, tzinfo=UTC)
    assert daily_reset(NOW, "Not/AZone") == datetime(2026, 11, 20, 11, 0, tzinfo=UTC)


@pytest.mark.parametrize("path", ["sdk", "raw"])
def test_a_stalled_call_fails_after_the_timeout_without_retries(
    server: SandboxServer, path: str
) -> None:
    server.config.update({"stall_rate": 1.0, "stall_s": 60, "fault_paths": [OWNERS]})
    settings = HubSpotSettings(
        enabled=True,
        access_token=SecretStr(TOKEN),
        base_url=server.url,
        timeout=timedelta(milliseconds=500),
    )
    client = HubSpotConnector.from_settings(settings).client
    started = time.monotonic()

    with pytest.raises(TimedOut) as caught:
        if path == "sdk":
            client.call("owners", client.owners_api.get_page_with_http_info)
        else:
            client.raw("owners", "GET", OWNERS)

    assert 0.5 <= time.monotonic() - started < 3
    assert "no answer in time (read timeout)" in str(caught.value)
    assert failure_kind(caught.value) == "unavailable"
    assert server.state.counters()["stalls_injected"] == 1


def _bodies(server: SandboxServer, path: str) -> list[list[str]]:
    """The record ids of each request to ``path``, in order."""
    return [
        [item["id"] for item in json.loads(r.body)["inputs"]]
        for r in server.state.requests()
        if r.path == path
    ]


def test_a_record_the_batch_answer_leaves_out_is_sent_again(server: SandboxServer) -> None:
    ids = [contact(server, i) for i in range(3)]
    server.config.update({"batch_drop_next": 1})
    connector = waiting_connector(server, [])

    results = connector.write([_write(i) for i in ids])

    assert [(r.crm_id, r.ok) for r in results] == [(i, True) for i in ids]
    [first, again] = _bodies(server, UPDATE)
    assert first == ids and again == [ids[-1]]


def test_a_record_never_confirmed_is_not_counted_as_written(server: SandboxServer) -> None:
    ids = [contact(server, i) for i in range(3)]
    server.config.update({"batch_drop_next": 2})
    connector = waiting_connector(server, [])

    *written, lost = connector.write([_write(i) for i in ids])

    assert [(r.ok, r.error) for r in written] == [(True, None)] * 2
    assert (lost.crm_id, lost.ok, lost.retriable) == (ids[-1], False, True)
    assert "neither as written nor as refused" in (lost.error or "")
    assert len(_bodies(server, UPDATE)) == 2


def test_a_cycle_retries_an_unconfirmed_record_until_it_is_confirmed(
    server: SandboxServer, tmp_path: Path
) -> None:
    ids = [contact(server, i) for i in range(3)]
    connector = connector_for(server)
    with pipeline_over(connector, tmp_path) as pipeline:
        pipeline.prepare()
        server.config.update({"batch_drop_next": 2})
        first = pipeline.run_once(NOW)
        again = pipeline.run_once(NOW + timedelta(hours=2))
        with pipeline.store.session() as session:
            rows = session.exec(select(OutboxRow).where(OutboxRow.kind == "property")).all()

    assert (first.written, first.failed, first.dead) == (2, 1, 0)
    assert again.ok and again.written == 1
    assert {row.status for row in rows} == {"done"}
    assert all(server.state.get_contact(i).properties.get("crmbridge_score") for i in ids)


def _write(crm_id: str) -> Write:
    return Write(crm_id, {"jobtitle": "CTO"})
