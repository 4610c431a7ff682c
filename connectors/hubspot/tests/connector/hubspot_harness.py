"""The HubSpot sandbox as a CRM for connector tests: servers, connectors, a harness.

Tokens look like private-app tokens so a leak into a message would be recognisable.
Contacts are seeded straight into the sandbox's state (as an import would make them),
with modification times a month in the past, one second apart unless they are ties.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from crmbridge.config import example_config_text, parse_config
from crmbridge.connector.rate_governor import RateGovernor
from crmbridge.store.repository import Store
from crmbridge.sync.pipeline import Pipeline
from crmbridge.testing.conformance import RequestKind, SeedTimes
from crmbridge_hubspot import HubSpotConnector
from crmbridge_hubspot.client import DEFAULT_BURST
from crmbridge_hubspot.connector import SEARCH_LIMIT
from crmbridge_hubspot.sandbox.records import ChangeSource
from crmbridge_hubspot.sandbox.server import SandboxServer, build
from crmbridge_hubspot.settings import HubSpotSettings

TOKEN = "pat-na1-5f1c2e7a-0b3d-4c8e-9a21-7d6e4f3b2a10"
WRONG_TOKEN = "pat-na1-0e9d8c7b-6a5f-4e3d-2c1b-0a9f8e7d6c5b"
TOKEN_SETTING = "connectors.hubspot.access_token"
IMPORT = ChangeSource("IMPORT", "conformance-seed")
#: The bundled example model, as the daemon would run it.
CONFIG = parse_config(example_config_text(), source="bundled example").config
USER = ChangeSource("CRM_UI", "userId:7")


def sandbox(**settings: Any) -> SandboxServer:
    """An empty sandbox accepting :data:`TOKEN` (not started: use ``with``)."""
    state, config = build("empty", TOKEN, **settings)
    return SandboxServer(state, config)


def connector_for(server: SandboxServer, token: str = TOKEN) -> HubSpotConnector:
    """The connector as the daemon builds it from ``[connectors.hubspot]``."""
    settings = HubSpotSettings(enabled=True, access_token=SecretStr(token), base_url=server.url)
    return HubSpotConnector.from_settings(settings)


def set_rate_limit(server: SandboxServer, max_requests: int, interval_ms: int) -> None:
    """Tighten the sandbox's 10-second limit, from an empty window."""
    server.config.update({"rate_limit_max": max_requests, "rate_limit_interval_ms": interval_ms})
    server.services.limiter.reset()


def count_requests(server: SandboxServer, kind: RequestKind = "all") -> int:
    """Requests the sandbox answered (its log keeps the last 10,000)."""
    log = server.state.requests()
    if kind == "write":
        return sum(1 for r in log if r.method == "POST" and r.path.endswith("/batch/update"))
    if kind == "rate_limited":
        return sum(1 for r in log if r.status == 429)
    if kind == "server_error":
        return sum(1 for r in log if r.status >= 500)
    return len(log)


class HubSpotSandboxHarness:
    """:class:`~crmbridge.testing.conformance.ConformanceHarness` for HubSpot."""

    credential_setting = TOKEN_SETTING
    page_size = SEARCH_LIMIT
    contact_fields: Mapping[str, str] = {
        "email": "email",
        "firstname": "firstname",
        "lastname": "lastname",
        "company": "company",
    }

    def __init__(self, server: SandboxServer) -> None:
        self.server = server
        self.state = server.state
        self._window_s: float | None = None
        self._times = SeedTimes(self.state.now() - timedelta(days=30))

    def make_connector(self, *, valid_credentials: bool = True) -> HubSpotConnector:
        connector = connector_for(self.server, TOKEN if valid_credentials else WRONG_TOKEN)
        if self._window_s is not None:
            # A deployment on a plan with this window configures it; the budget inside
            # it the governor learns from HubSpot's X-HubSpot-RateLimit-Max header.
            connector.client.governor = RateGovernor(DEFAULT_BURST, self._window_s)
        return connector

    def secrets(self) -> Sequence[str]:
        return (TOKEN, WRONG_TOKEN)

    def seed_contacts(
        self, specs: Sequence[Mapping[str, str]], *, same_modified_time: bool = False
    ) -> list[str]:
        ids = []
        times = self._times.take(len(specs), same=same_modified_time)
        for spec, at in zip(specs, times, strict=True):
            values = {self.contact_fields[k]: v for k, v in spec.items()}
            contact = self.state.create_contact(
                values, source=IMPORT, created_at=at, updated_at=at, notify=False
            )
            ids.append(contact.id)
        return ids

    def edit_contact(self, crm_id: str, values: Mapping[str, str]) -> None:
        mapped = {self.contact_fields.get(k, k): v for k, v in values.items()}
        self.state.update_contacts([(crm_id, mapped)], source=USER, as_user=True)

    def crm_values(self, crm_id: str, names: Sequence[str]) -> dict[str, str | None]:
        contact = self.state.get_contact(crm_id)
        assert contact is not None, f"no contact {crm_id} in the sandbox"
        return {name: contact.properties.get(name) for name in names}

    def field_names(self) -> set[str]:
        return {definition.name for definition in self.state.contact_properties()}

    def missing_id(self) -> str:
        return "987654321"

    def unwritable_value(self) -> tuple[str, str]:
        return "crmbridge_grade", "Z"

    def set_rate_limit(self, max_requests: int, interval_s: float) -> None:
        set_rate_limit(self.server, max_requests, int(interval_s * 1000))
        self._window_s = interval_s

    def set_fault_rate(self, rate: float, *, seed: int = 0, after_apply: bool = False) -> None:
        self.server.config.update(
            {"fault_rate": rate, "fault_seed": seed, "fault_after_handler": after_apply}
        )
        self.server.services.faults.reseed()

    def count_requests(self, kind: RequestKind = "all") -> int:
        return count_requests(self.server, kind)


@contextmanager
def pipeline_over(connector: HubSpotConnector, folder: Path) -> Iterator[Pipeline]:
    """The daemon's pipeline: the bundled model, a fresh SQLite store, one connector."""
    store = Store.open(f"sqlite:///{folder / 'crmbridge.db'}")
    try:
        yield Pipeline(store, CONFIG, {connector.name: connector})
    finally:
        store.engine.dispose()
