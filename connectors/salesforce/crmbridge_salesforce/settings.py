"""``[connectors.salesforce]``: how crmbridge signs in to Salesforce and what it reads."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from types import MappingProxyType
from typing import Annotated, ClassVar, Literal

from pydantic import Field, SecretStr, StringConstraints, field_validator

from crmbridge.connector import ConnectorSettings, Duration, at_least, at_most
from crmbridge_salesforce.pardot.settings import PardotSettings

#: The REST API version every call names (simple-salesforce's own default is older).
DEFAULT_API_VERSION = "62.0"
#: Every Salesforce call gives up after this long without an answer (``timeout``).
DEFAULT_TIMEOUT = timedelta(seconds=30)
#: The longest accepted (a stop during a stalled call ends the process; the outbox
#: sends the writes again).
MAX_TIMEOUT = timedelta(minutes=5)
#: Rows can commit with a SystemModstamp below one already read: each read starts again
#: this long before the newest change read.
DEFAULT_LOOKBACK = timedelta(minutes=10)
MAX_LOOKBACK = timedelta(days=1)
#: The most records a read re-reads because of the look-back.
DEFAULT_LOOKBACK_RECORDS = 2000
#: Records a query page holds (``Sforce-Query-Options: batchSize``; 200 to 2,000).
DEFAULT_BATCH_SIZE = 2000
#: Above this many records one write goes through Bulk API 2.0 instead of Collections.
DEFAULT_BULK_THRESHOLD = 2000
#: The most records one write hands to a Bulk 2.0 job.
DEFAULT_BULK_BATCH = 25_000
#: The share of the org's daily API requests crmbridge allows itself (all replicas).
DEFAULT_API_SHARE = 0.2
_API_VERSION = r"^\d{2,3}\.0$"
#: A picklist value (Salesforce keeps them to 255 characters; Task's to 40).
PicklistValue = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)
]
#: The most values each reply-task list takes.
MAX_REPLY_RULES = 20
_OBJECTS = frozenset({"Lead", "Contact"})


class SalesforceSettings(ConnectorSettings):
    """``[connectors.salesforce]``: one way of signing in (password and security token,
    JWT bearer, OAuth client credentials or an existing session), what to read and how
    much of the org's API budget to use, and the shared secret of its webhooks."""

    username: str | None = None
    password: SecretStr | None = None
    security_token: SecretStr | None = None
    domain: str = Field(
        default="login",
        pattern=r"^[A-Za-z0-9][A-Za-z0-9.-]{0,120}$",
        description='"login", "test" or a My Domain ("acme.my").',
    )
    consumer_key: str | None = Field(
        default=None, description="The connected app's consumer key (JWT bearer)."
    )
    private_key_file: str | None = Field(
        default=None, description="The PEM private key whose certificate the connected app holds."
    )
    client_id: str | None = Field(
        default=None, description="Client-credentials flow: the connected app's consumer key."
    )
    client_secret: SecretStr | None = None
    session_id: SecretStr | None = Field(
        default=None,
        description="An existing session (with instance_url); it cannot be renewed.",
    )
    instance_url: str | None = None
    api_version: str = Field(default=DEFAULT_API_VERSION, pattern=_API_VERSION)
    objects: tuple[str, ...] = Field(
        default=("Lead", "Contact"),
        min_length=1,
        description="The objects read and scored: Lead, Contact or both.",
    )
    activity: bool = Field(
        default=True,
        description="Read Tasks and EmailMessages as events (calls, meetings, emails, replies).",
    )
    reply_call_types: tuple[PicklistValue, ...] = Field(
        default=("Inbound",),
        max_length=MAX_REPLY_RULES,
        description="A Task whose CallType is one of these is the lead's reply (an inbound "
        "call); [] turns it off.",
    )
    reply_task_types: tuple[PicklistValue, ...] = Field(
        default=(),
        max_length=MAX_REPLY_RULES,
        description='A Task whose Type is one of these (e.g. "Inbound Email") is the '
        "lead's reply.",
    )
    reply_task_subjects: tuple[PicklistValue, ...] = Field(
        default=(),
        max_length=MAX_REPLY_RULES,
        description="A Task whose Subject starts with one of these is the lead's reply "
        "(case-insensitive).",
    )
    timeout: Annotated[Duration, at_least(timedelta(milliseconds=100)), at_most(MAX_TIMEOUT)] = (
        Field(
            default=DEFAULT_TIMEOUT,
            description="Give up on a Salesforce call that has not connected or answered "
            "after this long.",
        )
    )
    lookback: Annotated[Duration, at_most(MAX_LOOKBACK)] = Field(
        default=DEFAULT_LOOKBACK,
        description="Each read starts this long before the newest change it read, for "
        "rows Salesforce commits late.",
    )
    lookback_records: int = Field(default=DEFAULT_LOOKBACK_RECORDS, ge=0, le=50_000)
    batch_size: int = Field(default=DEFAULT_BATCH_SIZE, ge=200, le=2000)
    bulk_threshold: int = Field(
        default=DEFAULT_BULK_THRESHOLD,
        ge=1,
        description="Writes of more records than this go through Bulk API 2.0.",
    )
    bulk_batch_size: int = Field(
        default=DEFAULT_BULK_BATCH,
        ge=200,
        le=150_000,
        description="The most records one write takes (a Bulk 2.0 job); 200 turns Bulk 2.0 off.",
    )
    api_share: float = Field(
        default=DEFAULT_API_SHARE,
        gt=0,
        le=1,
        description="The share of the org's daily API requests crmbridge may use, all "
        "replicas together.",
    )
    login_host: str | None = Field(
        default=None,
        description="Tests and the local sandbox only: send every *.salesforce.com request "
        "to this host:port instead.",
    )
    ca_bundle: str | None = Field(
        default=None, description="Tests and the local sandbox only: the CA that signed it."
    )
    webhook_secret: SecretStr | None = Field(
        default=None,
        description="Shared secret Salesforce webhooks send (X-Crmbridge-Secret or ?secret=); "
        "webhooks are received when it is set, even with enabled = false.",
    )
    org_id: str | None = Field(
        default=None, description="The only Salesforce org (00D...) whose webhooks are accepted."
    )
    sales_engagement: bool = Field(
        default=False,
        description="The org has Sales Engagement: a reply pauses the lead's cadence and "
        "nurture enrollments assign cadences (crmbridge check says whether it is enabled).",
    )
    cadence_on_reply: Literal["pause", "remove"] = Field(
        default="pause",
        description="What a reply does to the lead's cadence: pause it, or remove the lead.",
    )
    queue_owners: bool = Field(
        default=False,
        description="List the org's lead queues as owners too (their tasks go to "
        "task_owner_fallback).",
    )
    task_owner_fallback: str | None = Field(
        default=None,
        pattern=r"^005[A-Za-z0-9]{12}(?:[A-Za-z0-9]{3})?$",
        description="The user (005...) who owns a hand-off task when the lead's owner is a "
        "queue (a Salesforce task needs a user as its owner).",
    )
    pardot: PardotSettings = Field(
        default_factory=PardotSettings,
        description="Account Engagement (Pardot): visitor activities as events, the "
        "prospects' score and grade as pardot_score and pardot_grade.",
    )

    #: Without a webhook secret Salesforce webhooks are answered 503.
    optional_secrets: ClassVar[frozenset[str]] = frozenset({"webhook_secret"})
    #: Each way of signing in needs its own secrets only.
    secret_alternatives: ClassVar[Mapping[str, tuple[str, ...]]] = MappingProxyType(
        {
            "password": ("consumer_key", "private_key_file"),
            "security_token": ("consumer_key", "private_key_file"),
            "client_secret": ("username", "password"),
            "session_id": ("username",),
        }
    )

    @field_validator("objects")
    @classmethod
    def _known_objects(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [name for name in value if name not in _OBJECTS]
        if unknown:
            raise ValueError(f"{', '.join(unknown)}: crmbridge reads Lead and Contact only")
        return tuple(dict.fromkeys(value))

    def endpoint(self) -> str | None:
        """Where the connector's calls go: the test host when set, else Salesforce."""
        if self.login_host:
            return f"https://{self.login_host}"
        return self.instance_url or f"https://{self.domain}.salesforce.com"
