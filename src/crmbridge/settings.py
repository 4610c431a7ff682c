"""Service settings: the non-scoring tables of ``crmbridge.toml``.

``[bridge]``, ``[daemon]``, ``[connectors.*]``, ``[alerts]`` and ``[report]``. Secrets
are :class:`SecretStr` and written in TOML as ``"${ENV_NAME}"``, so they never sit in
the file nor show in a repr.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    Field,
    SecretStr,
    create_model,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from crmbridge.connector.registry import plugins
from crmbridge.connector.settings import ConnectorSettings
from crmbridge.database_url import check_database_url
from crmbridge.durations import (
    Duration,
    Interval,
    at_least,
    format_duration,
)
from crmbridge.strict import Strict

#: The dashboard password's least length (``[daemon] ui_token``).
MIN_UI_TOKEN = 16


def _http_url(value: SecretStr) -> SecretStr:
    """A secret URL that crmbridge will POST to: http(s) with a host, never echoed."""
    parsed = urlsplit(value.get_secret_value().strip())
    if parsed.scheme not in {"http", "https"} or not parsed.hostname:
        raise PydanticCustomError(
            "bad_webhook_url",
            "must be an http:// or https:// URL with a host (the value is a secret: not shown)",
            {"hint": 'e.g. "${SLACK_WEBHOOK_URL}" holding https://hooks.slack.com/services/...'},
        )
    return value


#: A webhook crmbridge posts to; its URL usually carries a token, so it is a secret.
WebhookUrl = Annotated[SecretStr, AfterValidator(_http_url)]


def _listen_address(value: str) -> str:
    """An IP address or a host name uvicorn can bind; a bad one is named, not tried."""
    text = value.strip()
    try:
        ipaddress.ip_address(text)
    except ValueError:
        looks_numeric = all(part.isdigit() for part in text.split(".")) and "." in text
        if looks_numeric or not _HOSTNAME.fullmatch(text):
            raise PydanticCustomError(
                "bad_host",
                'not an IP address or host name: "{value}"',
                {"value": text[:60], "hint": '"127.0.0.1" (this machine), "0.0.0.0" (all)'},
            ) from None
    return text


def _public_url(value: str | None) -> str | None:
    """The daemon's address as the outside sees it: http(s) with a host, nothing after it
    but an optional path (the dashboard compares origins against it)."""
    if value is None:
        return None
    parsed = urlsplit(value.strip())
    if parsed.scheme not in {"http", "https"} or not parsed.hostname or parsed.query:
        raise PydanticCustomError(
            "bad_public_url",
            'not an http:// or https:// base URL: "{value}"',
            {"value": value.strip()[:80], "hint": 'e.g. "https://crmbridge.acme.es"'},
        )
    return value.strip()


_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*\.?")


def known_timezone(name: str) -> str:
    """``name`` if it is an IANA time zone; a path-labelled config error otherwise."""
    try:
        if len(name) > _MAX_ZONE_CHARS:
            raise ValueError(name)
        ZoneInfo(name)
    # OSError: the name reaches the file system ("America" is a folder; a very long
    # name is a path the system refuses).
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise PydanticCustomError(
            "bad_timezone",
            'unknown timezone "{name}"',
            {"name": name[:60], "hint": 'use an IANA name such as "Europe/Madrid"'},
        ) from None
    return name


#: The longest IANA zone name is about 30 characters.
_MAX_ZONE_CHARS = 64


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
    language: Literal["en", "es"] = Field(
        default="en",
        description="Language of every text a person reads (report, score reasons, CRM "
        'tasks): "en" or "es".',
    )
    write: bool = Field(
        default=True,
        description="false = shadow mode: read, score and plan as usual, log every write "
        "crmbridge would make and send nothing to the CRM (queued writes wait).",
    )
    link_across_crms: bool = Field(
        default=True,
        description="With several CRMs enabled, a person with the same email in each is "
        "one lead: scored once from every CRM's properties and events, written per "
        "[writeback] owners. false: each CRM's record is a lead of its own.",
    )

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, url: str) -> str:
        return check_database_url(url)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        return known_timezone(name)


class DaemonSettings(Strict):
    """``[daemon]``: the HTTP listener and polling cadence."""

    host: Annotated[str, AfterValidator(_listen_address)] = Field(
        default="127.0.0.1",
        min_length=1,
        description='Address to listen on; "0.0.0.0" for every interface (the Docker image '
        "sets it).",
    )
    port: int = Field(default=8080, ge=1, le=65535)
    poll_interval: Interval = Field(default=timedelta(minutes=5))
    drain_interval: Interval = Field(
        default=timedelta(seconds=15),
        description="How often queued writes and rescoring run between polls.",
    )
    unhealthy_after_cycles: int = Field(
        default=3,
        ge=1,
        le=1000,
        description="GET /healthz answers 503 when a connector has had no successful cycle "
        "for this many poll intervals.",
    )
    log_format: Literal["auto", "json", "console"] = Field(
        default="auto",
        description='Log lines of "crmbridge run": "json" (one object per line), "console" '
        '(readable), or "auto" (console on a terminal, JSON otherwise).',
    )
    ingest_token: SecretStr | None = None
    admin_token: SecretStr | None = Field(
        default=None,
        description="Bearer token of /v1/writes (pause and resume); the ingest token when unset.",
    )
    ui_token: SecretStr | None = Field(
        default=None,
        description="Password of the read-only dashboard at /ui (a login form that sets a "
        "signed cookie); the dashboard is off when unset.",
    )

    @field_validator("ui_token")
    @classmethod
    def _hard_to_guess(cls, token: SecretStr | None) -> SecretStr | None:
        # Throttling slows guessing per address; only length stops it from many addresses.
        if token is not None and len(token.get_secret_value().strip()) < MIN_UI_TOKEN:
            raise ValueError(
                f"at least {MIN_UI_TOKEN} characters, since the dashboard's login can be "
                "tried from many addresses (e.g. the output of: openssl rand -hex 16)"
            )
        return token

    public_url: Annotated[str | None, AfterValidator(_public_url)] = Field(
        default=None,
        description="Base URL the CRMs and browsers call (e.g. https://crmbridge.acme.es) "
        "when a proxy changes scheme or host; HubSpot signs the URL it called, the "
        "dashboard accepts sign-ins only from pages there and marks its cookie Secure "
        "when it is https.",
    )


class ConnectorTables(Strict):
    """``[connectors]``: one table per installed connector plugin.

    The fields are the installed plugins (see :func:`connector_tables_model`); this base
    only reads them.
    """

    def tables(self) -> dict[str, ConnectorSettings]:
        """Every connector's settings by name, enabled or not."""
        return {name: value for name, value in self if isinstance(value, ConnectorSettings)}

    def enabled(self) -> dict[str, ConnectorSettings]:
        """The settings of the connectors switched on (``enabled = true``)."""
        return {name: value for name, value in self.tables().items() if value.enabled}


def connector_tables_model() -> type[ConnectorTables]:
    """The ``[connectors]`` model of this installation: a table per installed plugin."""
    fields: dict[str, Any] = {
        name: (plugin.settings, Field(default_factory=plugin.settings))
        for name, plugin in plugins().items()
    }
    return create_model("ConnectorsSettings", __base__=ConnectorTables, **fields)


#: ``[writeback] owner``: every CRM is a system of record.
BOTH = "both"
OWNER_PATTERN = r"^[a-z][a-z0-9_]*$"


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
    owner: Annotated[str, Field(pattern=OWNER_PATTERN, max_length=32)] = Field(
        default=BOTH,
        description="The system of record of every crmbridge property: a connector's name "
        '(e.g. "salesforce"), or "both" (default): written into each CRM. A CRM\'s own '
        "sync (HubSpot's Salesforce sync) carries the value to the other.",
    )
    owners: dict[
        Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=100)],
        Annotated[str, Field(pattern=OWNER_PATTERN, max_length=32)],
    ] = Field(
        default_factory=dict,
        max_length=100,
        description='Per property, its system of record (crmbridge_score = "salesforce"), '
        "overriding owner.",
    )

    def owner_of(self, name: str) -> str:
        """The connector ``name`` is written to, or ``"both"`` (every CRM)."""
        return self.owners.get(name, self.owner)

    def writes_to(self, name: str, connector: str) -> bool:
        """Is property ``name`` written into ``connector`` (its owner, or both)?"""
        owner = self.owner_of(name)
        return owner in (BOTH, connector)


class AccountScoreSettings(Strict):
    """``[account_score]``: a roll-up of contacts' scores written to their company."""

    enabled: bool = Field(default=False, description="Write the account score at all.")
    method: Literal["max", "sum_top_n"] = Field(
        default="max",
        description="max: the best contact's score; sum_top_n: the sum of the top_n best.",
    )
    top_n: int = Field(default=3, ge=1, le=100, description="Contacts summed by sum_top_n.")
    property: str = Field(
        default="",
        max_length=100,
        pattern=r"^([a-z][a-z0-9_]*)?$",
        description="The company property written (default: <prefix>_account_score).",
    )


class OutboxSettings(Strict):
    """``[outbox]``: retries of CRM writes across cycles."""

    max_attempts: int = Field(default=8, ge=1, le=100)
    backoff_initial: Interval = Field(default=timedelta(seconds=30))
    backoff_max: Interval = Field(default=timedelta(hours=1))
    # A lease near zero would hand every write still in flight to a second worker.
    lease: Annotated[Duration, at_least(timedelta(seconds=10))] = Field(
        default=timedelta(minutes=10),
        description="An in-flight write older than this is presumed orphaned by a crash.",
    )

    @model_validator(mode="after")
    def _backoff_ordered(self) -> OutboxSettings:
        if self.backoff_initial > self.backoff_max:
            raise PydanticCustomError(
                "backoff_order",
                "outbox.backoff_initial ({initial}) is longer than outbox.backoff_max ({most})",
                {
                    "initial": format_duration(self.backoff_initial),
                    "most": format_duration(self.backoff_max),
                    "hint": "the first retry cannot wait longer than the longest one",
                },
            )
        return self


class IngestSettings(Strict):
    """``[ingest]``: acceptance rules for incoming events."""

    max_future_skew: Duration = Field(
        default=timedelta(minutes=5), description="Reject events dated further in the future."
    )


class AlertSettings(Strict):
    """``[alerts]``: a Slack-compatible webhook told when the bridge needs a person."""

    webhook_url: WebhookUrl | None = Field(
        default=None,
        description='Slack incoming webhook (or any URL taking {"text": ...}); a secret, '
        'written as "${SLACK_WEBHOOK_URL}".',
    )
    timeout: Annotated[Duration, at_least(timedelta(milliseconds=100))] = Field(
        default=timedelta(seconds=5), description="Give up on one alert post after this long."
    )


ReportDay = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
#: An e-mail address as far as the report needs one: something@host, no spaces or commas.
Address = Annotated[str, Field(pattern=r"^[^@\s,<>]+@[^@\s,<>]+$", max_length=254)]


class SmtpSettings(Strict):
    """``[report.smtp]``: the mail server the report is sent through."""

    host: str = Field(min_length=1, max_length=253)
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = Field(
        default="starttls",
        description='"starttls" (port 587), "tls" (implicit TLS, port 465), or "none" '
        "(a local relay only).",
    )
    username: str | None = None
    password: SecretStr | None = Field(default=None, description='Written as "${SMTP_PASSWORD}".')
    sender: Address = Field(description="The From address.")
    timeout: Annotated[Duration, at_least(timedelta(seconds=1))] = Field(
        default=timedelta(seconds=30)
    )

    @model_validator(mode="after")
    def _no_clear_text_login(self) -> SmtpSettings:
        # Without TLS a login sends the password readable to anyone on the way: only a
        # relay on this machine may take one.
        if (
            self.security == "none"
            and (self.username or self.password)
            and not _loopback(self.host)
        ):
            raise ValueError(
                'security = "none" sends the login unencrypted: use "starttls" or "tls", '
                "or a relay on this machine (localhost)"
            )
        return self


def _loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ReportSettings(Strict):
    """``[report]``: the daemon writes last week's report once a week (one replica)."""

    enabled: bool = False
    folder: Path | None = Field(
        default=None,
        description="Where the weekly files go (a relative path is relative to the config "
        "file); required when enabled.",
    )
    weekday: ReportDay = Field(default="mon", description="Day the previous week's report is made.")
    hour: int = Field(default=7, ge=0, le=23, description="Hour of that day, [bridge] timezone.")
    email_to: list[Address] = Field(default_factory=list, max_length=100)
    smtp: SmtpSettings | None = None

    @model_validator(mode="after")
    def _complete(self) -> ReportSettings:
        if self.enabled and self.folder is None:
            raise ValueError("folder is required when the weekly report is enabled")
        if self.email_to and self.smtp is None:
            raise ValueError("email_to needs [report.smtp] to send through")
        return self
