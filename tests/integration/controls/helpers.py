"""Shared by the operating-controls tests: a crmbridge over the hand-off sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from crmbridge.config import CrmbridgeConfig
from crmbridge.store.repository import Store
from crmbridge_hubspot.sandbox.server import SandboxServer
from tests.integration.handoff.harness import Bridge, load_config

#: POSTs that only read (HubSpot's search and batch read endpoints, the token's info).
READ_POSTS = ("/search", "/batch/read", "/access-token-info")


def crm_writes(server: SandboxServer) -> list[str]:
    """Every request in the sandbox's log that changes something in the CRM."""
    return [
        f"{r.method} {r.path}"
        for r in server.state.requests()
        if r.method != "GET" and not r.path.endswith(READ_POSTS)
    ]


def config_with(**bridge: Any) -> CrmbridgeConfig:
    """The hand-off suite's config with ``[bridge]`` settings changed."""
    base = load_config()
    return base.model_copy(update={"bridge": base.bridge.model_copy(update=bridge)})


@contextmanager
def bridge_on(server: SandboxServer, folder: Path, config: CrmbridgeConfig) -> Iterator[Bridge]:
    """A :class:`Bridge` with ``config`` on the SQLite store in ``folder`` (kept between uses)."""
    store = Store.open(f"sqlite:///{folder / 'crmbridge.db'}")
    try:
        yield Bridge(store, config, server)
    finally:
        store.engine.dispose()
