"""Contacts edited while crmbridge polls, with HubSpot's search showing each change late.

200 contacts (1,000 with ``--long``) are each edited once while the daemon's pipeline
polls the sandbox, and each change (crmbridge's own writes included) reaches search
0–30 s after it is made, on the sandbox's clock, which the test moves instead of
sleeping. Each edit must be read exactly once and written back exactly once: none
missed, none read twice.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crmbridge.connector import Page, Write, WriteResult
from crmbridge.connector.rate_governor import RateGovernor
from crmbridge_hubspot import HubSpotConnector
from crmbridge_hubspot.client import HubSpotClient
from crmbridge_hubspot.sandbox.config import SandboxConfig
from crmbridge_hubspot.sandbox.server import SandboxServer
from crmbridge_hubspot.sandbox.state import SandboxState

from .hubspot_harness import IMPORT, TOKEN, USER, connector_for, pipeline_over

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
#: Contacts edited, and the sandbox time their edits are spread over: the default run
#: and ``--long`` (the issue's figure). Both edit faster than one contact a second.
SHORT = (200, 60)
LONG = (1_000, 300)
POLL_S = 5
TICK_S = 0.5
MAX_LAG_MS = 30_000


class Clock:
    """The sandbox's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def server(clock: Clock) -> Iterator[SandboxServer]:
    state = SandboxState(clock=clock)
    config = SandboxConfig(tokens={TOKEN: None}, search_per_second=10_000, rate_limit_max=100_000)
    with SandboxServer(state, config) as running:
        yield running


def seed(state: SandboxState, count: int) -> list[str]:
    """Analysts of small companies, imported a month ago (indexed long since)."""
    at = T0 - timedelta(days=30)
    return [
        state.create_contact(
            {
                "email": f"lead{i}@example.com",
                "firstname": f"Lead{i}",
                "jobtitle": "Analyst",
                "numemployees": "20",
            },
            source=IMPORT,
            created_at=at,
            updated_at=at,
            notify=False,
        ).id
        for i in range(count)
    ]


@pytest.fixture
def size(request: pytest.FixtureRequest) -> tuple[int, int]:
    return LONG if request.config.getoption("--long") else SHORT


def test_every_edit_is_read_and_written_once_though_search_shows_it_late(
    server: SandboxServer, clock: Clock, tmp_path: Path, size: tuple[int, int]
) -> None:
    contacts, span_s = size
    ids = seed(server.state, contacts)
    connector = connector_for(server)
    # The sandbox's limits are relaxed: the scenario is about the index, not pacing.
    connector.client.search_governor = RateGovernor(10_000, 1.0)
    read: Counter[tuple[str, datetime]] = Counter()
    written: Counter[str] = Counter()
    reading, writing = connector.read_changes, connector.write

    def read_changes(cursor: str | None, properties: Sequence[str]) -> Iterator[Page]:
        for page in reading(cursor, properties):
            read.update((r.id, r.updated_at) for r in page.records if r.updated_at)
            yield page

    def write(batch: Sequence[Write]) -> list[WriteResult]:
        written.update(w.crm_id for w in batch)
        return writing(batch)

    connector.read_changes = read_changes  # type: ignore[method-assign]
    connector.write = write  # type: ignore[method-assign]

    rng = random.Random(14)
    due = sorted((rng.randrange(int(span_s / TICK_S)), contact_id) for contact_id in ids)
    edited_at: dict[str, datetime] = {}
    with pipeline_over(connector, tmp_path) as pipeline:
        pipeline.prepare()
        first = pipeline.run_once(clock.now)
        assert first.ok and first.written == contacts, first
        server.config.update(
            {"index_lag_min_ms": 0, "index_lag_max_ms": MAX_LAG_MS, "index_lag_seed": 3}
        )
        read.clear()
        written.clear()
        ticks = int((span_s + MAX_LAG_MS / 1000) / TICK_S)
        polls_per_tick = int(POLL_S / TICK_S)
        cycles = []
        for tick in range(ticks):
            clock.now = T0 + timedelta(seconds=tick * TICK_S)
            edits = [contact_id for when, contact_id in due if when == tick]
            if edits:
                # A person edits them in HubSpot: each becomes a CIO of a larger company.
                changed, _ = server.state.update_contacts(
                    [(c, {"jobtitle": "CIO", "numemployees": "1500"}) for c in edits],
                    source=USER,
                    as_user=True,
                )
                edited_at.update((c.id, c.updated_at) for c in changed)
            if tick % polls_per_tick == polls_per_tick - 1:
                cycles.append(pipeline.run_once(clock.now))
        # Polls go on until the index has caught up with crmbridge's own last writes.
        for _ in range(int(MAX_LAG_MS / 1000 / POLL_S) + 2):
            clock.now += timedelta(seconds=POLL_S)
            cycles.append(pipeline.run_once(clock.now))
            if cycles[-1].written == 0 and not server.state.contact_index.lagging():
                break
        lagging = server.state.contact_index.lagging()

    assert all(c.ok for c in cycles), [c for c in cycles if not c.ok][:1]
    assert lagging == 0, "the run ended before the index caught up"
    twice = [pair for pair, n in read.items() if n > 1]
    assert twice == [], f"{len(twice)} versions read twice"
    newest: dict[str, datetime] = {}
    for contact_id, at in read:
        newest[contact_id] = max(at, newest.get(contact_id, at))
    missed = [c for c, at in edited_at.items() if newest.get(c, at - timedelta(1)) < at]
    assert missed == [], f"{len(missed)} edits never read"
    assert len(edited_at) == contacts
    assert written == Counter(dict.fromkeys(ids, 1)), "an edit written twice, or not at all"
    # Each cycle: the new changes (one page here) and a look-back of at most
    # lookback_pages pages, one more when a page boundary falls inside a tie.
    searches = connector.client.calls["search contacts"]
    assert searches <= len(cycles) * (1 + 2 + 1)


def test_a_late_contact_found_by_the_light_look_back_is_read_by_id_once(
    server: SandboxServer, clock: Clock
) -> None:
    state = server.state
    ids = seed(state, 300)
    clock.now = T0 + timedelta(minutes=1)
    # 300 recent edits: more than a full re-read is worth, so the look-back is searched
    # for ids and times only.
    state.update_contacts([(c, {"firstname": "Edited"}) for c in ids], source=USER, as_user=True)
    # Retries (of the faults below) need not wait.
    connector = HubSpotConnector(HubSpotClient(TOKEN, server.url, sleep=lambda _s: None))
    connector.client.search_governor = RateGovernor(10_000, 1.0)
    properties = ["firstname", "jobtitle"]
    cursor = None
    for page in connector.read_changes(None, properties):
        cursor = page.cursor
    lags = iter([timedelta(seconds=20), timedelta(0)])
    state.contact_index.lag = lambda: next(lags)
    clock.now += timedelta(seconds=1)
    state.update_contacts([(ids[5], {"firstname": "Late"})], source=USER, as_user=True)
    clock.now += timedelta(seconds=1)
    state.update_contacts([(ids[7], {"firstname": "Prompt"})], source=USER, as_user=True)

    def read() -> list[tuple[str, str]]:
        nonlocal cursor
        got: list[tuple[str, str]] = []
        for page in connector.read_changes(cursor, properties):
            got.extend((r.id, str(r.properties.get("firstname"))) for r in page.records)
            cursor = page.cursor
        return got

    assert read() == [(ids[7], "Prompt")]
    clock.now += timedelta(seconds=20)
    calls = dict(connector.client.calls)
    assert read() == [(ids[5], "Late")]
    assert connector.client.calls["batch read contacts"] - calls.get("batch read contacts", 0) == 1
    # Unanswered calls in the look-back are retried like any other: nothing read twice.
    server.config.update({"fault_rate": 0.3, "fault_seed": 5})
    server.services.faults.reseed()
    assert read() == []
    assert read() == []
    assert state.counters().get("faults_injected", 0) > 0
