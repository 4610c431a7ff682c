"""The sandbox's Account Engagement business unit for connector tests."""

from __future__ import annotations

from typing import Any

from crmbridge_salesforce.connector import SalesforceConnector
from crmbridge_salesforce.sandbox import SandboxServer
from crmbridge_salesforce.sandbox.pardot_state import BUSINESS_UNIT_ID, PardotState

from .salesforce_harness import connector_for


def pardot_of(server: SandboxServer) -> PardotState:
    """The sandbox's business unit (prospects, activities, limits)."""
    state: PardotState = server.services.extras["pardot"]
    return state


def pardot_connector(
    server: SandboxServer, *, activity: bool = False, **pardot: Any
) -> SalesforceConnector:
    """The Salesforce connector with Pardot on, pointed at the sandbox."""
    settings = {
        "enabled": True,
        "business_unit_id": BUSINESS_UNIT_ID,
        "base_url": server.instance_url,
        "page_size": 200,
        **pardot,
    }
    return connector_for(server, activity=activity, pardot=settings)


def pardot_requests(server: SandboxServer) -> int:
    """v5 requests the sandbox answered."""
    return sum(1 for r in server.admin.request_log() if r.path.startswith("/api/v5/"))
