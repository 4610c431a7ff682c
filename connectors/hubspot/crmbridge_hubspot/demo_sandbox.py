"""The HubSpot sandbox as crmbridge's demo and ``crmbridge sandbox`` command see it.

:class:`HubSpotSandboxProvider` is the plugin's
:class:`~crmbridge.connector.SandboxProvider`: it starts the HubSpot-compatible
sandbox of :mod:`crmbridge_hubspot.sandbox` in-process (for ``crmbridge demo`` and
tests) or serves it until Ctrl-C. The sandbox's server (uvicorn, starlette) is imported
only when one is started, so loading the plugin stays cheap for every other command.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from crmbridge.connector import (
    Connector,
    ConnectorSettings,
    LeadFields,
    SandboxContact,
    SandboxOptions,
)
from crmbridge.connector.sandbox import DEMO_SEED
from crmbridge_hubspot.connector import HubSpotConnector
from crmbridge_hubspot.settings import HubSpotSettings

if TYPE_CHECKING:
    from crmbridge_hubspot.sandbox.server import SandboxServer

#: HubSpot's names of what the demo shows of a lead.
HUBSPOT_LEAD_FIELDS = LeadFields(
    first_name="firstname", last_name="lastname", company="company", owner="hubspot_owner_id"
)


class HubSpotSandbox:
    """A started HubSpot sandbox, as a :class:`~crmbridge.connector.Sandbox`."""

    fields = HUBSPOT_LEAD_FIELDS

    def __init__(self, server: SandboxServer, token: str) -> None:
        #: The running server, for HubSpot-specific tests (its ``state`` is the CRM).
        self.server = server
        self.url = server.url
        self.admin_url = f"{server.url}/_sandbox"
        # The sandbox's own token: no secret, shown to whoever runs the demo.
        self.sign_in = f"token {token}"
        self._settings = HubSpotSettings(
            enabled=True, base_url=server.url, access_token=SecretStr(token)
        )
        self.settings: ConnectorSettings = self._settings
        self._connectors: list[HubSpotConnector] = []

    def connect(self) -> Connector:
        """A HubSpot connector pointed at the sandbox (its calls are counted)."""
        connector = HubSpotConnector.from_settings(self._settings)
        self._connectors.append(connector)
        return connector

    def api_calls(self) -> dict[str, int]:
        """The connectors' API calls by what they did ("batch update contacts", ...)."""
        total: Counter[str] = Counter()
        for connector in self._connectors:
            total.update(connector.client.calls)
        return dict(total)

    def contact_count(self) -> int:
        """How many contacts the sandbox holds."""
        return self.server.state.contact_count()

    def contacts(self) -> list[SandboxContact]:
        """Every contact, with its email and job title."""
        return [
            SandboxContact(
                c.id, c.properties.get("email") or None, c.properties.get("jobtitle", "")
            )
            for c in self.server.state.contacts()
        ]

    def demo_events(self) -> list[dict[str, Any]]:
        """The seeded leads' 120 days of website and email events."""
        return list(self.server.state.demo_events)

    def reply(self, crm_id: str) -> None:
        """The contact replies to a sales email (HubSpot then ends its sequence)."""
        import requests

        answer = requests.post(f"{self.url}/_sandbox/contacts/{crm_id}/reply", json={}, timeout=10)
        answer.raise_for_status()

    def owner_names(self) -> dict[str, str]:
        """Each owner's full name by owner id (what ``hubspot_owner_id`` holds)."""
        return {o.id: f"{o.first_name} {o.last_name}" for o in self.server.state.owners()}


class HubSpotSandboxProvider:
    """The HubSpot plugin's :class:`~crmbridge.connector.SandboxProvider`."""

    @contextmanager
    def start(self, seed: str = DEMO_SEED) -> Iterator[HubSpotSandbox]:
        """A sandbox seeded with ``seed`` ("demo": ~200 leads; "empty"), on a free port."""
        from crmbridge_hubspot.sandbox.config import DEFAULT_TOKEN
        from crmbridge_hubspot.sandbox.server import SandboxServer, build

        state, config = build(seed, DEFAULT_TOKEN)
        with SandboxServer(state, config) as server:
            yield HubSpotSandbox(server, DEFAULT_TOKEN)

    def serve(self, options: SandboxOptions) -> None:
        """Serve on ``options.host:options.port`` until Ctrl-C."""
        from crmbridge_hubspot.sandbox.server import serve

        serve(
            options.port,
            options.seed,
            options.token,
            host=options.host,
            webhook_url=options.webhook_url,
            rate_limit_max=options.rate_limit,
            fault_rate=options.fault_rate,
            latency_ms=options.latency_ms,
            index_lag_min_ms=options.index_lag_ms[0],
            index_lag_max_ms=options.index_lag_ms[1],
        )
