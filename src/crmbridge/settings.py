"""Service settings: the non-scoring tables of ``crmbridge.toml``.

``[bridge]``, ``[daemon]`` and ``[connectors.*]``. Secrets are :class:`SecretStr` and
written in TOML as ``"${ENV_NAME}"``, so they never sit in the file nor show in a repr.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BeforeValidator, Field, SecretStr, field_validator
from pydantic_core import PydanticCustomError

from crmbridge.scoring.model import Strict

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: Any) -> Any:
    """Accept ``"90s"``, ``"5m"``, ``"2h"``, ``"1d"`` or a number of seconds."""
    if isinstance(value, str):
        match = _DURATION.match(value)
        if not match:
            raise PydanticCustomError(
                "bad_duration",
                'invalid duration "{value}"',
                {"value": value, "hint": 'write a number and a unit, e.g. "90s", "5m", "2h", "1d"'},
            )
        return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])
    return value


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


def known_timezone(name: str) -> str:
    """``name`` if it is an IANA time zone; a path-labelled config error otherwise."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise PydanticCustomError(
            "bad_timezone",
            'unknown timezone "{name}"',
            {"name": name, "hint": 'use an IANA name such as "Europe/Madrid"'},
        ) from None
    return name


#: A file named crmbridge.db next to the config file (see ``config.load_config``).
DEFAULT_DATABASE_URL = "sqlite:///crmbridge.db"


class BridgeSettings(Strict):
    """``[bridge]``: storage and the business timezone."""

    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        description="sqlite:///path.db (a relative path is relative to the config file), "
        "or postgresql+psycopg://user@host/db in production.",
    )
    timezone: str = Field(default="UTC", description="IANA name, e.g. Europe/Madrid.")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        return known_timezone(name)


class DaemonSettings(Strict):
    """``[daemon]``: the HTTP listener and polling cadence."""

    host: str = "0.0.0.0"  # a container listens on every interface
    port: int = Field(default=8080, ge=1, le=65535)
    poll_interval: Duration = Field(default=timedelta(minutes=5))
    drain_interval: Duration = Field(
        default=timedelta(seconds=15),
        description="How often queued writes and rescoring run between polls.",
    )
    ingest_token: SecretStr | None = None
    public_url: str | None = Field(
        default=None,
        description="Base URL the CRMs call (e.g. https://crmbridge.acme.es) when a proxy "
        "changes scheme or host; HubSpot signs the URL it called.",
    )
    salesforce_webhook_secret: SecretStr | None = Field(
        default=None,
        description="Shared secret Salesforce webhooks send (X-Crmbridge-Secret or ?secret=).",
    )
    salesforce_org_id: str | None = Field(
        default=None, description="The only Salesforce org (00D...) whose webhooks are accepted."
    )


class HubSpotSettings(Strict):
    """``[connectors.hubspot]``: a private-app token (or OAuth) and the API base URL."""

    enabled: bool = False
    access_token: SecretStr | None = None
    base_url: str = "https://api.hubapi.com"
    app_secret: SecretStr | None = Field(default=None, description="Verifies webhook signatures.")
    client_id: str | None = None
    client_secret: SecretStr | None = None
    refresh_token: SecretStr | None = None


class SalesforceSettings(Strict):
    """``[connectors.salesforce]``: one of password, JWT or client-credentials auth."""

    enabled: bool = False
    username: str | None = None
    password: SecretStr | None = None
    security_token: SecretStr | None = None
    domain: str = Field(default="login", description='"login", "test" or a My Domain.')
    consumer_key: str | None = None
    private_key_file: str | None = None
    client_id: str | None = None
    client_secret: SecretStr | None = None
    instance_url: str | None = None


class ConnectorsSettings(Strict):
    """``[connectors]``: one table per CRM."""

    hubspot: HubSpotSettings = Field(default_factory=HubSpotSettings)
    salesforce: SalesforceSettings = Field(default_factory=SalesforceSettings)


class WritebackSettings(Strict):
    """``[writeback]``: which properties crmbridge writes into the CRM."""

    prefix: str = Field(
        default="crmbridge",
        pattern=r"^[a-z][a-z0-9_]*$",
        description="Custom properties are named <prefix>_score, <prefix>_stage, ...",
    )
    lifecyclestage: bool = Field(
        default=False, description="Also move HubSpot's lifecyclestage (forward only)."
    )


class OutboxSettings(Strict):
    """``[outbox]``: retries of CRM writes across cycles."""

    max_attempts: int = Field(default=8, ge=1, le=100)
    backoff_initial: Duration = Field(default=timedelta(seconds=30))
    backoff_max: Duration = Field(default=timedelta(hours=1))
    lease: Duration = Field(
        default=timedelta(minutes=10),
        description="An in-flight write older than this is presumed orphaned by a crash.",
    )


class IngestSettings(Strict):
    """``[ingest]``: acceptance rules for incoming events."""

    max_future_skew: Duration = Field(
        default=timedelta(minutes=5), description="Reject events dated further in the future."
    )
