"""``crmbridge check`` on Salesforce: the org, the API version and budget, object and
field access of the integration user, said plainly."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crmbridge.connector import CheckReport
from crmbridge.errors import (
    AuthError,
    CrmbridgeError,
    MissingScope,
    RateLimited,
    SchemaError,
    TransientError,
)
from crmbridge_salesforce.errors import NotFound

if TYPE_CHECKING:
    from crmbridge_salesforce.connector import SalesforceConnector

#: Without Sales Engagement a reply cannot stop a cadence.
NO_CADENCES = (
    "Sales Engagement is off (connectors.salesforce.sales_engagement = false): a reply "
    "flags the lead and tasks its owner; no cadence is paused or assigned."
)
#: The object that answers whether the org has Sales Engagement.
TRACKER = "ActionCadenceTracker"


def check_org(connector: SalesforceConnector) -> CheckReport:
    """Sign in and report what works and what an admin must fix."""
    client = connector.client
    problems: list[str] = []
    account = account_id = ""
    unreachable = False
    try:
        try:
            org = client.call(
                "read the organization", lambda sf: sf.query("SELECT Id, Name FROM Organization")
            )
        except SchemaError:
            org = {}  # an org that hides its Organization row: signed in all the same
        rows = org.get("records") or [{}]
        account_id = str(rows[0].get("Id") or "")
        name = str(rows[0].get("Name") or "?")
        account = f"Salesforce org {name} ({account_id or '?'}), API v{client.version}"
        account += _budget(client.rest("read the org's limits", "limits/") or {}, connector)
        for sobject in connector.objects:
            problems.extend(_object_access(connector, sobject))
        if connector.settings.sales_engagement:
            problems.extend(_sales_engagement(connector))
        if connector.pardot is not None:
            problems.extend(connector.pardot.check())
    except (AuthError, MissingScope) as exc:
        problems.append(f"{exc} {exc.detail or ''}".strip())
    except (TransientError, RateLimited) as exc:
        problems.append(str(exc))
        unreachable = True
    except CrmbridgeError as exc:
        problems.append(str(exc))
    return CheckReport(
        ok=not problems,
        account=account,
        account_id=account_id,
        problems=tuple(problems),
        limitations=() if connector.settings.sales_engagement else (NO_CADENCES,),
        reachable=not unreachable,
    )


def _budget(limits: dict[str, Any], connector: SalesforceConnector) -> str:
    daily = limits.get("DailyApiRequests") or {}
    most, left = daily.get("Max"), daily.get("Remaining")
    if not isinstance(most, int) or not isinstance(left, int):
        return ""
    share = connector.settings.api_share
    return (
        f"; daily API requests: {most - left:,} of {most:,} used, crmbridge allows itself "
        f"{share:.0%} ({int(most * share):,})"
    )


def _object_access(connector: SalesforceConnector, sobject: str) -> list[str]:
    described = connector.fields(sobject)
    if described is None or not described.by_lower:
        return [f"the integration user cannot read {sobject}s (grant Read and Edit on {sobject})"]
    hidden = sorted(
        str(entry["name"])
        for entry in described.by_lower.values()
        if str(entry["name"]).startswith("CRMBridge_") and not entry.get("updateable")
    )
    return [
        f"{sobject}.{name} is read-only to the integration user: grant Edit on it "
        "(field-level security)"
        for name in hidden
    ]


def _sales_engagement(connector: SalesforceConnector) -> list[str]:
    """Sales Engagement is on in the settings: the org must show its cadence trackers."""
    try:
        connector.client.rest("describe the cadence trackers", f"sobjects/{TRACKER}/describe")
    except (NotFound, MissingScope):
        return [
            "Sales Engagement is not enabled in this org, or the integration user cannot "
            f"see {TRACKER} (grant the Sales Engagement user permission): enable it, or set "
            "connectors.salesforce.sales_engagement = false to flag replies and task the "
            "owner instead"
        ]
    return []
