"""The Salesforce sandbox as ``crmbridge demo`` and ``crmbridge sandbox`` see it.

:class:`SalesforceSandboxProvider` is the plugin's
:class:`~crmbridge.connector.SandboxProvider`: it starts the Salesforce-compatible
sandbox of :mod:`crmbridge_salesforce.sandbox` in-process over TLS (for ``crmbridge
demo --crm salesforce`` and tests) or serves it until Ctrl-C. The connector reaches it
in session-id mode with the sandbox's CA bundle. The server is imported only when one
is started, so loading the plugin stays cheap.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from crmbridge import clock
from crmbridge.connector import (
    Connector,
    ConnectorSettings,
    LeadFields,
    SandboxContact,
    SandboxOptions,
)
from crmbridge.connector.sandbox import DEMO_SEED
from crmbridge_salesforce.connector import SalesforceConnector
from crmbridge_salesforce.settings import SalesforceSettings

if TYPE_CHECKING:
    from crmbridge_salesforce.sandbox.server import SandboxServer
    from crmbridge_salesforce.sandbox.state import LoggedRequest

#: Salesforce's names of what the demo shows of a lead.
SALESFORCE_LEAD_FIELDS = LeadFields(
    first_name="FirstName",
    last_name="LastName",
    company="Company",
    owner="OwnerId",
    # The example model's HubSpot properties, as Lead fields the sandbox fills in.
    renames=(
        ("jobtitle", "Title"),
        ("numemployees", "NumberOfEmployees"),
        ("lifecyclestage", "Status"),
        ("hubspot_owner_id", "OwnerId"),
        ("mobilephone", "MobilePhone"),
    ),
)
#: The session id the demo's connector uses (the sandbox's own, no secret).
DEMO_SESSION = "sandbox-token"


def call_label(entry: LoggedRequest) -> str:
    """What an API request did, in words ("query", "update records", "create field"...)."""
    parts = entry.path.split("/")
    resource = "/".join(parts[4:]) if len(parts) > 4 else entry.path
    if resource.startswith(("query", "queryAll")):
        return "query"
    if resource.startswith("composite/sobjects"):
        return "update records" if entry.method == "PATCH" else "create records"
    if resource.startswith("jobs/ingest"):
        return "bulk job"
    if resource.startswith("tooling/"):
        return "create field" if entry.method == "POST" else "find fields"
    if resource.endswith("/describe"):
        return "describe"
    if resource.startswith("actions/"):
        return "cadence action"
    if resource.startswith("sobjects/"):
        return f"{entry.method.lower()} record"
    return resource or entry.path


class SalesforceSandbox:
    """A started Salesforce sandbox, as a :class:`~crmbridge.connector.Sandbox`."""

    fields = SALESFORCE_LEAD_FIELDS

    def __init__(self, server: SandboxServer, session: str) -> None:
        #: The running server, for Salesforce-specific tests (``state`` is the org).
        self.server = server
        self.url = server.instance_url
        self.admin_url = f"{server.instance_url}/_sandbox/log"
        self.sign_in = f"session id {session} (trust {server.ca_bundle})"
        self._settings = SalesforceSettings(
            enabled=True,
            instance_url=server.instance_url,
            session_id=SecretStr(session),
            ca_bundle=str(server.ca_bundle),
        )
        self.settings: ConnectorSettings = self._settings

    def connect(self) -> Connector:
        """A Salesforce connector pointed at the sandbox (session-id mode)."""
        return SalesforceConnector.from_settings(self._settings)

    def api_calls(self) -> dict[str, int]:
        """The API requests the sandbox answered, by what they did."""
        calls = Counter(
            call_label(e)
            for e in self.server.admin.request_log()
            if e.path.startswith("/services/data/")
        )
        return dict(calls)

    def contact_count(self) -> int:
        """How many leads (not converted) and contacts the org holds."""
        return len(self.contacts())

    def _rows(self) -> list[dict[str, Any]]:
        """Every live lead (not converted) and contact, as the org holds it."""
        state = self.server.state
        return [
            *(r for r in state.visible("Lead", include_deleted=False) if not r["IsConverted"]),
            *state.visible("Contact", include_deleted=False),
        ]

    def contacts(self) -> list[SandboxContact]:
        """Every live lead and contact, with its email and title."""
        return [SandboxContact(r["Id"], r["Email"] or None, r["Title"] or "") for r in self._rows()]

    def demo_events(self) -> list[dict[str, Any]]:
        """The leads' 120 days of website and email events."""
        from crmbridge_salesforce.sandbox.seed import DECISION_MAKERS, demo_events

        keen = {
            r["Email"]
            for r in self._rows()
            if r.get("Title") in DECISION_MAKERS and (r.get("NumberOfEmployees") or 0) > 500
        }
        return demo_events([c.email for c in self.contacts() if c.email], keen=keen)

    def reply(self, crm_id: str) -> None:
        """The lead answers a sales email (an incoming EmailMessage related to it)."""
        from crmbridge_salesforce.sandbox.seed import reply

        reply(self.server.state, crm_id, clock.now())

    def owner_names(self) -> dict[str, str]:
        """Each user's full name by id (what ``OwnerId`` holds)."""
        users = self.server.state.visible("User", include_deleted=False)
        return {u["Id"]: str(u["Name"]) for u in users}


class SalesforceSandboxProvider:
    """The Salesforce plugin's :class:`~crmbridge.connector.SandboxProvider`."""

    @contextmanager
    def start(self, seed: str = DEMO_SEED) -> Iterator[SalesforceSandbox]:
        """A sandbox seeded with ``seed`` ("demo": 200 leads; "empty"), on a free port."""
        from crmbridge_salesforce.sandbox.config import SandboxConfig
        from crmbridge_salesforce.sandbox.server import SandboxServer, build

        config = SandboxConfig(static_session=DEMO_SESSION)
        with SandboxServer(build(seed), config) as server:
            yield SalesforceSandbox(server, DEMO_SESSION)

    def serve(self, options: SandboxOptions) -> None:
        """Serve on ``options.host:options.port`` over TLS until Ctrl-C; ``options.token``
        is a session id the sandbox accepts."""
        from crmbridge_salesforce.sandbox.server import serve

        if any(options.index_lag_ms):
            print("--index-lag: the Salesforce sandbox has no search index lag; ignored")
        serve(
            options.port,
            options.seed,
            host=options.host,
            session_id=options.token,
            fault_rate=options.fault_rate,
            latency_ms=options.latency_ms,
        )
