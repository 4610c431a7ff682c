"""Search index lag through the official SDK: a change reaches search only after its lag.

The lag runs on the sandbox's clock, so these tests move a fixed clock instead of
sleeping. Reads by id answer the current record at once; search shows the version
before a change until that change is indexed, and a new record not at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from hubspot import HubSpot
from hubspot.crm.contacts import (
    PublicObjectSearchRequest,
    SimplePublicObjectInput,
    SimplePublicObjectInputForCreate,
)

from crmbridge_hubspot.sandbox import SandboxConfig, SandboxServer, SandboxState

from .conftest import TOKEN, relaxed_config

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


class Clock:
    """The sandbox's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def state(clock: Clock) -> SandboxState:
    """An empty CRM on the test's clock."""
    return SandboxState(clock=clock)


@pytest.fixture
def config() -> SandboxConfig:
    """A fixed 5-second index lag."""
    return relaxed_config(index_lag_min_ms=5_000, index_lag_max_ms=5_000)


def _search(client: HubSpot) -> dict[str, dict[str, Any]]:
    """Every contact search shows: id → (firstname, lastmodifieddate)."""
    found = client.crm.contacts.search_api.do_search(
        public_object_search_request=PublicObjectSearchRequest(
            properties=["firstname"], limit=200, sorts=["hs_object_id"]
        )
    )
    return {r.id: r.properties for r in found.results}


def _create(client: HubSpot, name: str) -> str:
    made = client.crm.contacts.basic_api.create(
        simple_public_object_input_for_create=SimplePublicObjectInputForCreate(
            properties={"email": f"{name.lower()}@example.com", "firstname": name}
        )
    )
    return str(made.id)


def _rename(client: HubSpot, contact_id: str, name: str) -> None:
    client.crm.contacts.basic_api.update(
        contact_id,
        simple_public_object_input=SimplePublicObjectInput(properties={"firstname": name}),
    )


def test_a_new_contact_reaches_search_after_its_lag_but_reads_by_id_at_once(
    client: HubSpot, clock: Clock
) -> None:
    contact_id = _create(client, "Ana")
    assert client.crm.contacts.basic_api.get_by_id(contact_id).properties["firstname"] == "Ana"
    assert _search(client) == {}
    clock.advance(4.999)
    assert _search(client) == {}
    clock.advance(0.001)
    assert _search(client)[contact_id]["firstname"] == "Ana"


def test_search_shows_the_version_before_an_update_until_it_is_indexed(
    client: HubSpot, clock: Clock
) -> None:
    contact_id = _create(client, "Ana")
    clock.advance(10)
    indexed = _search(client)[contact_id]
    _rename(client, contact_id, "Anabel")
    clock.advance(1)
    assert _search(client)[contact_id] == indexed  # old name, old lastmodifieddate
    clock.advance(4)
    shown = _search(client)[contact_id]
    assert shown["firstname"] == "Anabel"
    assert shown["lastmodifieddate"] > indexed["lastmodifieddate"]


def test_a_later_change_indexed_sooner_supersedes_and_search_never_goes_back(
    client: HubSpot, clock: Clock, state: SandboxState
) -> None:
    contact_id = _create(client, "Ana")
    clock.advance(10)
    lags = iter([timedelta(seconds=20), timedelta(seconds=2)])
    state.contact_index.lag = lambda: next(lags)
    _rename(client, contact_id, "Beatriz")  # indexed at +20 s
    clock.advance(1)
    _rename(client, contact_id, "Carmen")  # indexed at +3 s
    clock.advance(3)
    assert _search(client)[contact_id]["firstname"] == "Carmen"
    clock.advance(30)
    assert _search(client)[contact_id]["firstname"] == "Carmen"
    assert state.contact_index.lagging() == 0


def test_a_deleted_contact_leaves_search_at_once(client: HubSpot, clock: Clock) -> None:
    contact_id = _create(client, "Ana")
    clock.advance(10)
    _rename(client, contact_id, "Anabel")
    client.crm.contacts.basic_api.archive(contact_id)
    assert _search(client) == {}
    clock.advance(10)
    assert _search(client) == {}


def test_random_lags_are_seeded_and_within_the_range(clock: Clock) -> None:
    def lags(seed: int) -> list[timedelta]:
        state = SandboxState(clock=clock)
        config = relaxed_config(index_lag_min_ms=0, index_lag_max_ms=30_000, index_lag_seed=seed)
        with SandboxServer(state, config) as server:
            sdk = HubSpot(access_token=TOKEN, host=server.url, base_url=server.url)
            ids = [_create(sdk, f"P{n}") for n in range(40)]
            found: dict[str, timedelta] = {}
            for _ in range(31):
                for contact_id in _search(sdk):
                    found.setdefault(contact_id, clock.now - T0)
                clock.advance(1)
            clock.now = T0
        assert set(found) == set(ids)
        return [found[i] for i in ids]

    first = lags(7)
    assert first == lags(7)
    assert first != lags(8)
    assert max(first) <= timedelta(seconds=30)
    assert len(set(first)) > 10  # drawn per record, not one lag for all


@pytest.fixture
def unlagged() -> Iterator[tuple[HubSpot, SandboxServer]]:
    with SandboxServer(SandboxState(), SandboxConfig()) as server:
        yield HubSpot(access_token="sandbox-token", host=server.url, base_url=server.url), server


def test_index_lag_is_off_by_default_and_switched_on_through_the_admin_api(
    unlagged: tuple[HubSpot, SandboxServer],
) -> None:
    sdk, server = unlagged
    first = _create(sdk, "Ana")
    assert first in _search(sdk)
    admin = f"{server.url}/_sandbox/config"
    refused = requests.patch(
        admin, json={"index_lag_min_ms": 9_000, "index_lag_max_ms": 1_000}, timeout=5
    )
    assert refused.status_code == 400
    assert "index_lag_max_ms" in refused.text
    answer = requests.patch(
        admin, json={"index_lag_min_ms": 60_000, "index_lag_max_ms": 60_000}, timeout=5
    )
    assert answer.status_code == 200
    second = _create(sdk, "Bea")
    assert second not in _search(sdk)
    assert set(_search(sdk)) == {first}
