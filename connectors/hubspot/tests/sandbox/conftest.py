"""Fixtures: a fresh sandbox served on a free port, and SDK clients pointed at it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from hubspot import HubSpot

from crmbridge_hubspot.sandbox import SandboxConfig, SandboxServer, SandboxState

TOKEN = "sandbox-token"
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def body_of(exc: Exception) -> dict[str, Any]:
    """The parsed JSON body of an SDK ApiException."""
    parsed: dict[str, Any] = json.loads(getattr(exc, "body", "") or "{}")
    return parsed


def relaxed_config(**changes: Any) -> SandboxConfig:
    """Settings for tests: generous limits unless a test asks otherwise."""
    config = SandboxConfig(search_per_second=10_000, rate_limit_max=100_000)
    config.update(changes)
    return config


def add_contacts(state: SandboxState, count: int, **extra: str) -> list[str]:
    """Create ``count`` plain contacts directly in the state; returns their ids."""
    from crmbridge_hubspot.sandbox.records import ChangeSource

    ids = []
    for number in range(count):
        values = {
            "email": f"person{number}@example.com",
            "firstname": f"Person{number}",
            "lastname": "Example",
            **extra,
        }
        contact = state.create_contact(values, source=ChangeSource("IMPORT"), notify=False)
        ids.append(contact.id)
    return ids


@pytest.fixture
def state() -> SandboxState:
    """An empty CRM."""
    return SandboxState()


@pytest.fixture
def config() -> SandboxConfig:
    """Relaxed settings (tests that exercise limits make their own)."""
    return relaxed_config()


@pytest.fixture
def server(state: SandboxState, config: SandboxConfig) -> Iterator[SandboxServer]:
    """The sandbox served on 127.0.0.1 and a free port."""
    with SandboxServer(state, config) as running:
        yield running


@pytest.fixture
def client(server: SandboxServer) -> HubSpot:
    """The official SDK pointed at the sandbox (``api_request`` too)."""
    return HubSpot(access_token=TOKEN, host=server.url, base_url=server.url)
