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

if TYPE_CHECKING:
    from crmbridge_salesforce.connector import SalesforceConnector

LIMITATIONS = (
    "Hand-off on Salesforce (owners, tasks, sales cadences) is not part of this release: "
    "crmbridge scores leads and contacts and writes the scores back.",
)


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
        limitations=LIMITATIONS,
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
