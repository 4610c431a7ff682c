"""The two records that cross crmbridge's edges: the canonical event and the contact.

Both are validated here once (pydantic) and turned into the engine's frozen
dataclasses. The formats are described in docs/events.md and docs/scoring.md.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from crmbridge.external import tame, without_nul
from crmbridge.scoring.types import Contact, Event

#: The longest email address (and the store's column for it).
MAX_EMAIL_CHARS = 320
#: Text the databases can store: PostgreSQL refuses NUL characters.
NO_NUL = r"^[^\x00]*$"


class ContactRef(BaseModel):
    """Whom an event is about: an email, or a CRM id."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Lengths are the store's column sizes (PostgreSQL refuses longer values).
    email: str | None = Field(default=None, max_length=MAX_EMAIL_CHARS, pattern=NO_NUL)
    crm: str | None = Field(default=None, max_length=32, pattern=NO_NUL)
    id: str | None = Field(default=None, max_length=64, pattern=NO_NUL)

    @field_validator("email")
    @classmethod
    def _clean_email(cls, value: str | None) -> str | None:
        return normalize_email(value) if value is not None else None

    @model_validator(mode="after")
    def _identified(self) -> ContactRef:
        if not self.email and not (self.crm and self.id):
            raise ValueError('contact needs "email", or "crm" and "id"')
        return self

    def key(self) -> str:
        """A stable identity string used for dedupe hashes and lookups."""
        return f"email:{self.email}" if self.email else f"{self.crm}:{self.id}"


class CanonicalEvent(BaseModel):
    """A behaviour event from a website, form tool, email tool or the CRM itself."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: str | None = Field(
        default=None, max_length=128, pattern=NO_NUL, description="Dedupe key; a hash when absent."
    )
    type: str = Field(
        min_length=1,
        max_length=64,
        pattern=NO_NUL,
        description="page_view, form_submit, email_click, ...",
    )
    occurred_at: datetime = Field(description="ISO-8601; without a zone it is read as UTC.")
    contact: ContactRef
    properties: dict[str, Any] = Field(default_factory=dict)

    @field_validator("occurred_at")
    @classmethod
    def _representable_in_utc(cls, value: datetime) -> datetime:
        if value.tzinfo is not None:
            try:
                value.astimezone(UTC)
            except OverflowError:
                raise ValueError("out of range once converted to UTC") from None
        return value

    @field_validator("properties")
    @classmethod
    def _storable(cls, value: dict[str, Any]) -> dict[str, Any]:
        # An unrepresentable number is kept as text: scoring reads it as "not a number".
        value = _tamed(value)
        problem = _storage_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @property
    def had_timezone(self) -> bool:
        """False when the timestamp arrived without a zone (it was read as UTC)."""
        return self.occurred_at.tzinfo is not None

    @cached_property
    def occurred_at_utc(self) -> datetime:
        """The timestamp in UTC (naive input is taken to be UTC)."""
        moment = self.occurred_at
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)

    def dedupe_key(self, properties_json: str | None = None) -> str:
        """``event_id`` if given, else a hash of type + contact + occurred_at + properties.

        ``properties_json`` is :func:`canonical_json` of the properties when the caller
        already has it (ingestion stores that same text), to serialise them only once.
        """
        if self.event_id:
            return self.event_id
        props = canonical_json(self.properties) if properties_json is None else properties_json
        payload = "\x1f".join(
            (self.type, self.contact.key(), self.occurred_at_utc.isoformat(), props)
        )
        return "h:" + hashlib.blake2b(payload.encode(), digest_size=16).hexdigest()

    def to_event(self) -> Event:
        """The engine's view of this event."""
        return Event(self.type, self.occurred_at_utc, self.properties, self.dedupe_key())


class ContactRecord(BaseModel):
    """A contact/lead as a connector hands it over (CRM-internal property names)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    crm: str = "local"
    id: str = Field(min_length=1)
    email: str | None = None
    properties: dict[str, Any] = Field(default_factory=dict)
    updated_at: datetime | None = None
    #: Records the CRM merged into this one (their history now belongs to it).
    merged_ids: tuple[str, ...] = ()

    @field_validator("id", mode="before")
    @classmethod
    def _id_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value

    @field_validator("email")
    @classmethod
    def _clean_email(cls, value: str | None) -> str | None:
        email = normalize_email(without_nul(value)) if value else None
        # No address is longer (RFC 5321); the store's column is not either. The contact
        # is still stored and scored, only not matched to events by this "email".
        return email if email and len(email) <= MAX_EMAIL_CHARS else None

    @field_validator("properties")
    @classmethod
    def _storable(cls, value: dict[str, Any]) -> dict[str, Any]:
        # A CRM record is never refused for its values: what no database can store (an
        # unrepresentable number, a NUL character) is kept as text the store accepts.
        return storable_properties(value)

    def to_contact(self) -> Contact:
        """The engine's view of this contact."""
        return Contact(self.id, self.properties, self.email, self.crm, self.updated_at)


def storable_properties(value: dict[str, Any]) -> dict[str, Any]:
    """A CRM record's properties as every store keeps them: unrepresentable numbers
    and NUL characters turned into text the database accepts (never refused)."""
    return {without_nul(key): _text_safe(item) for key, item in _tamed(value).items()}


def _tamed(value: dict[str, Any]) -> dict[str, Any]:
    try:
        tamed: dict[str, Any] = tame(value)
    except RecursionError:
        raise ValueError("properties are nested too deeply") from None
    return tamed


def _text_safe(value: Any) -> Any:
    """``value`` with NUL characters replaced in every string it holds."""
    if isinstance(value, str):
        return without_nul(value)
    if isinstance(value, dict):
        return {without_nul(str(k)): _text_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_text_safe(item) for item in value]
    return value


def _storage_problem(value: Any) -> str | None:
    """Why ``value`` cannot be stored as JSON text in every database, if it cannot."""
    if isinstance(value, str) and "\x00" in value:
        return "text contains a NUL character"
    if isinstance(value, dict):
        for key, item in value.items():
            problem = _storage_problem(key) or _storage_problem(item)
            if problem:
                return problem
    if isinstance(value, list):
        for item in value:
            problem = _storage_problem(item)
            if problem:
                return problem
    return None


def canonical_json(value: Any) -> str:
    """Compact JSON with sorted keys: equal content always gives equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def normalize_email(value: str) -> str:
    """Emails are matched case-insensitively after trimming."""
    return value.strip().lower()


def validation_reason(exc: ValidationError) -> str:
    """One line naming each bad field, e.g. ``occurred_at: Field required``."""
    parts = []
    for err in exc.errors(include_url=False):
        where = ".".join(str(p) for p in err["loc"]) or "record"
        message = err["msg"]
        if message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        parts.append(f"{where}: {message}")
    return "; ".join(parts)
