"""The Salesforce sandbox as a CRM for connector tests: connectors and a harness.

Leads are seeded straight into the sandbox's org (as an import would make them), with
SystemModstamps a month in the past, one second apart unless they are ties.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import SecretStr

from crmbridge.connector.rate_governor import RateGovernor
from crmbridge.testing.conformance import RequestKind
from crmbridge_salesforce.connector import SalesforceConnector
from crmbridge_salesforce.fields import custom_field, is_own_name
from crmbridge_salesforce.sandbox import SandboxServer
from crmbridge_salesforce.sandbox.state import LoggedRequest
from crmbridge_salesforce.settings import SalesforceSettings

WRONG_PASSWORD = "not-the-sandbox-password"
CREDENTIAL_SETTING = "connectors.salesforce.password"
PAGE_SIZE = 200
#: The conformance suite's canonical fields, as Lead fields.
LEAD_FIELDS: Mapping[str, str] = {
    "email": "Email", "firstname": "FirstName", "lastname": "LastName", "company": "Company"
}  # fmt: skip


def settings_for(server: SandboxServer, **overrides: Any) -> SalesforceSettings:
    """``[connectors.salesforce]`` for the sandbox: password sign-in, leads only."""
    config = server.config
    values: dict[str, Any] = {
        "enabled": True,
        "username": config.username,
        "password": SecretStr(config.password),
        "security_token": SecretStr(config.security_token),
        "login_host": server.login_host,
        "ca_bundle": str(server.ca_bundle),
        "objects": ["Lead"],
        "batch_size": PAGE_SIZE,
        "bulk_batch_size": PAGE_SIZE,
        "timeout": "10s",
        **overrides,
    }
    return SalesforceSettings(**values)


def connector_for(server: SandboxServer, **overrides: Any) -> SalesforceConnector:
    """The connector as the daemon builds it from ``[connectors.salesforce]``."""
    return SalesforceConnector.from_settings(settings_for(server, **overrides))


def is_write(method: str, path: str) -> bool:
    """A request that writes records (Collections, a record PATCH, a Bulk job's upload)."""
    if method == "PATCH" and path.endswith("/composite/sobjects"):
        return True
    if method == "PATCH" and "/sobjects/" in path:
        return True
    return method == "PUT" and path.endswith("/batches")


#: What each kind of :meth:`SalesforceSandboxHarness.count_requests` counts.
KINDS: Mapping[str, Callable[[LoggedRequest], bool]] = {
    "all": lambda r: True,
    "write": lambda r: is_write(r.method, r.path),
    # Salesforce refuses for its limits with a 403 REQUEST_LIMIT_EXCEEDED, not a 429.
    "rate_limited": lambda r: r.status in (403, 429),
    "server_error": lambda r: r.status >= 500,
}


def count_requests(server: SandboxServer, kind: RequestKind = "all") -> int:
    """API requests the sandbox answered (logins included) of ``kind``."""
    return sum(1 for entry in server.admin.request_log() if KINDS[kind](entry))


class SalesforceSandboxHarness:
    """:class:`~crmbridge.testing.conformance.ConformanceHarness` for Salesforce leads."""

    credential_setting = CREDENTIAL_SETTING
    page_size = PAGE_SIZE
    contact_fields = LEAD_FIELDS

    def __init__(self, server: SandboxServer) -> None:
        self.server = server
        self._window: tuple[int, float] | None = None
        self._next_at = (datetime.now(UTC) - timedelta(days=30)).replace(microsecond=0)

    def make_connector(self, *, valid_credentials: bool = True) -> SalesforceConnector:
        overrides: dict[str, Any] = {}
        if not valid_credentials:
            overrides["password"] = SecretStr(WRONG_PASSWORD)
        connector = connector_for(self.server, **overrides)
        if self._window is not None:
            connector.client.governor = RateGovernor(*self._window)
        return connector

    def secrets(self) -> Sequence[str]:
        config = self.server.config
        return (config.password, config.security_token, WRONG_PASSWORD)

    def seed_contacts(
        self, specs: Sequence[Mapping[str, str]], *, same_modified_time: bool = False
    ) -> list[str]:
        step = timedelta(0) if same_modified_time else timedelta(seconds=1)
        stamps = [self._next_at + n * step for n in range(len(specs))]
        self._next_at = (stamps[-1] if stamps else self._next_at) + timedelta(seconds=1)
        create = self.server.admin.create
        return [
            create("Lead", {self.contact_fields[k]: v for k, v in spec.items()}, modstamp=at)
            for spec, at in zip(specs, stamps, strict=True)
        ]

    def edit_contact(self, crm_id: str, values: Mapping[str, str]) -> None:
        mapped = {self.contact_fields.get(k, k): v for k, v in values.items()}
        self.server.admin.edit("Lead", crm_id, mapped)

    def crm_values(self, crm_id: str, names: Sequence[str]) -> dict[str, str | None]:
        record = self.server.admin.record("Lead", crm_id)
        held = {}
        for name in names:
            value = record.get(custom_field(name) if is_own_name(name) else name)
            held[name] = None if value is None or value == "" else _text(value)
        return held

    def field_names(self) -> set[str]:
        names = {f.name for f in self.server.state.schema.fields("Lead")}
        return names | {n[:-3].lower() for n in names if n.endswith("__c")}

    def missing_id(self) -> str:
        return "00Q5g00000ZZZZZEAA"

    def unwritable_value(self) -> tuple[str, str]:
        # Longer than the Text(255) field holds: STRING_TOO_LONG.
        return "crmbridge_bant", "B A N T " * 40

    def set_rate_limit(self, max_requests: int, interval_s: float) -> None:
        # Salesforce has no short-window limit: the governor paces the connector.
        self._window = (max_requests, interval_s)

    def set_fault_rate(self, rate: float, *, seed: int = 0, after_apply: bool = False) -> None:
        faults = self.server.faults
        faults.rate = rate
        if hasattr(faults, "after_apply"):
            faults.after_apply = after_apply
        if hasattr(faults, "reseed"):
            faults.reseed(seed)

    def count_requests(self, kind: RequestKind = "all") -> int:
        return count_requests(self.server, kind)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)
