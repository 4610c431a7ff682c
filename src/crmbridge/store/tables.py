"""The store's tables (SQLModel). Schema changes go through alembic migrations.

contacts, events, scores (current + history), property_history, outbox, cursors,
webhook_receipts, assignments, sla_clocks, sync_runs, and the store's identity (its id, and the CRM
account each connector syncs). Timestamps are UTC-aware everywhere.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from crmbridge.store.types import UTCDateTime


def _when(*, index: bool = False, nullable: bool = True) -> Any:
    return Field(default=None, sa_type=UTCDateTime, index=index, nullable=nullable)


def _json() -> Any:
    return Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class ContactRow(SQLModel, table=True):
    """A CRM contact/lead: its properties, what the CRM holds of ours, scoring state."""

    __tablename__ = "contacts"
    __table_args__ = (
        UniqueConstraint("crm", "crm_id", name="uq_contacts_crm_id"),
        # Partial: every cycle counts the held contacts, normally none.
        Index(
            "ix_contacts_held",
            "held_by",
            sqlite_where=text("held_by IS NOT NULL"),
            postgresql_where=text("held_by IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    crm: str = Field(max_length=32)
    crm_id: str = Field(max_length=64)
    email: str | None = Field(default=None, index=True, max_length=320)
    properties: dict[str, Any] = _json()
    crm_values: dict[str, Any] = _json()
    crm_updated_at: datetime | None = _when()
    stage: str | None = Field(default=None, max_length=32)
    dirty: bool = Field(default=True, index=True)
    recheck_at: datetime | None = _when(index=True)
    created_at: datetime | None = _when()
    updated_at: datetime | None = _when()
    #: Hand-off state (owner given, hot since, replies handled, enrollments, ...).
    handoff: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    #: The store mark the CRM showed when this contact was found written by another
    #: store: nothing is written for it until an admin adopts it.
    held_by: str | None = Field(default=None, max_length=80)
    #: The other store's mark this store took over (``crmbridge adopt``).
    adopted_from: str | None = Field(default=None, max_length=80)
    #: From this instant on, ``properties`` and the contact's ``property_history`` rows
    #: give its values at any moment (see :mod:`crmbridge.store.property_history`);
    #: ``None``: no history (stored before it was recorded, with no modification time).
    properties_since: datetime | None = _when()


class EventRow(SQLModel, table=True):
    """A canonical event, deduplicated by ``dedupe_key``; linked to a contact when known."""

    __tablename__ = "events"
    __table_args__ = (
        # Partial: only events naming a contact by CRM id need it (web events use email).
        Index(
            "ix_events_contact_ref",
            "contact_crm",
            "contact_crm_id",
            sqlite_where=text("contact_crm IS NOT NULL"),
            postgresql_where=text("contact_crm IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str = Field(unique=True, max_length=128)
    type: str = Field(max_length=64)
    occurred_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    contact_id: int | None = Field(default=None, foreign_key="contacts.id", index=True)
    contact_email: str | None = Field(default=None, index=True, max_length=320)
    contact_crm: str | None = Field(default=None, max_length=32)
    contact_crm_id: str | None = Field(default=None, max_length=64)
    properties: dict[str, Any] = _json()
    received_at: datetime | None = _when()


class ScoreRow(SQLModel, table=True):
    """One score of one contact; ``is_current`` marks the latest, the rest is history."""

    __tablename__ = "scores"
    __table_args__ = (Index("ix_scores_contact_current", "contact_id", "is_current"),)

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contacts.id")
    is_current: bool = Field(default=True)
    model_version: str = Field(max_length=32)
    scored_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    total: int
    fit: int
    engagement: int
    grade: str = Field(max_length=2)
    hot: bool
    bant: str = Field(max_length=16)
    stage: str = Field(max_length=32)
    stage_transition: str = Field(max_length=32)
    reasons: str = Field(sa_column=Column(Text, nullable=False))
    detail: dict[str, Any] = _json()


class PropertyChangeRow(SQLModel, table=True):
    """One change of one stored property of a contact, at the CRM's modification time
    (values bounded, see :mod:`crmbridge.store.property_history`)."""

    __tablename__ = "property_history"
    __table_args__ = (Index("ix_property_history_contact", "contact_id", "changed_at"),)

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contacts.id")
    property: str = Field(max_length=255)
    old_value: Any = Field(default=None, sa_column=Column(JSON, nullable=True))
    new_value: Any = Field(default=None, sa_column=Column(JSON, nullable=True))
    changed_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class OutboxRow(SQLModel, table=True):
    """One intended effect on a CRM (property write, task, sequence action)."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "connector", "status", "next_attempt_at"),
        Index("ix_outbox_target", "connector", "crm_id", "kind", "target"),
    )

    id: int | None = Field(default=None, primary_key=True)
    connector: str = Field(max_length=32)
    contact_id: int | None = Field(default=None, foreign_key="contacts.id")
    crm_id: str = Field(max_length=64)
    kind: str = Field(default="property", max_length=32)
    target: str = Field(max_length=128)
    value: dict[str, Any] = _json()
    idempotency_key: str = Field(unique=True, max_length=200)
    status: str = Field(default="pending", max_length=16)
    attempts: int = 0
    next_attempt_at: datetime | None = _when()
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    claimed_by: str | None = Field(default=None, max_length=64)
    claimed_at: datetime | None = _when()
    created_at: datetime | None = _when()
    updated_at: datetime | None = _when()


class CursorRow(SQLModel, table=True):
    """Where incremental reading of one stream of one connector stands."""

    __tablename__ = "cursors"

    connector: str = Field(primary_key=True, max_length=32)
    stream: str = Field(primary_key=True, max_length=64)
    value: str = Field(sa_column=Column(Text, nullable=False))
    updated_at: datetime | None = _when()


class SyncRunRow(SQLModel, table=True):
    """One pipeline cycle: counts, duration and errors."""

    __tablename__ = "sync_runs"

    id: int | None = Field(default=None, primary_key=True)
    started_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    finished_at: datetime | None = _when()
    status: str = Field(default="running", max_length=16)
    read: int = 0
    stored: int = 0
    scored: int = 0
    changed: int = 0
    written: int = 0
    failed: int = 0
    duration_s: float = 0.0
    errors: dict[str, Any] = _json()


class WebhookReceiptRow(SQLModel, table=True):
    """A webhook event id already accepted (replay protection)."""

    __tablename__ = "webhook_receipts"
    __table_args__ = (UniqueConstraint("connector", "event_id", name="uq_webhook_event"),)

    id: int | None = Field(default=None, primary_key=True)
    connector: str = Field(max_length=32)
    event_id: str = Field(max_length=128)
    received_at: datetime | None = _when()


class AssignmentRow(SQLModel, table=True):
    """An owner given to a contact by crmbridge."""

    __tablename__ = "assignments"

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contacts.id", index=True)
    owner_id: str = Field(max_length=64)
    strategy: str = Field(max_length=32)
    assigned_at: datetime | None = _when()


class SlaClockRow(SQLModel, table=True):
    """Time-to-contact commitment for a contact in a stage."""

    __tablename__ = "sla_clocks"

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contacts.id", index=True)
    stage: str = Field(max_length=32)
    started_at: datetime | None = _when()
    due_at: datetime | None = _when()
    contacted_at: datetime | None = _when()
    breached_at: datetime | None = _when()
    owner_id: str | None = Field(default=None, max_length=64)
    escalated_at: datetime | None = _when()


class RateBudgetRow(SQLModel, table=True):
    """Requests sent to one CRM in one time slice, by every replica together."""

    __tablename__ = "rate_budget"

    connector: str = Field(primary_key=True, max_length=32)
    slice_start: int = Field(primary_key=True, sa_type=BigInteger)
    count: int = 0


class StoreIdentityRow(SQLModel, table=True):
    """The store's one identity row: its id, and the last write generation it issued.

    The id is created with the store; every write carries it with the generation
    (``<prefix>_store``), so values written by another store, or by a later state of
    this one that a restored backup no longer remembers, are recognised.
    """

    __tablename__ = "store_identity"

    id: str = Field(primary_key=True, max_length=36)
    generation: int = Field(default=0, sa_type=BigInteger)
    created_at: datetime | None = _when()
    #: Upgraded from a release before marks while holding contacts: crmbridge values
    #: without a mark were written by this store (see :mod:`crmbridge.store.identity`).
    legacy_unmarked: bool = Field(default=False)


class ConnectorAccountRow(SQLModel, table=True):
    """The CRM account a connector of this store syncs (bound on its first start)."""

    __tablename__ = "connector_accounts"

    connector: str = Field(primary_key=True, max_length=32)
    account_id: str = Field(max_length=64)
    label: str = Field(default="", max_length=200)
    bound_at: datetime | None = _when()


class ControlRow(SQLModel, table=True):
    """An operating switch an admin set (e.g. ``writes_paused``), shared by every replica."""

    __tablename__ = "controls"

    name: str = Field(primary_key=True, max_length=64)
    value: dict[str, Any] = _json()
    updated_at: datetime | None = _when()


class CompanyRow(SQLModel, table=True):
    """A CRM company (account) some contact belongs to, cached for ``company.`` rules.

    ``fetched`` names the set of properties read (a digest of their names): a model
    that reads another property makes the cached copy outdated.
    """

    __tablename__ = "companies"
    __table_args__ = (UniqueConstraint("crm", "crm_id", name="uq_companies_crm_id"),)

    id: int | None = Field(default=None, primary_key=True)
    crm: str = Field(max_length=32)
    crm_id: str = Field(max_length=64)
    properties: dict[str, Any] = _json()
    fetched: str = Field(default="", max_length=32)
    crm_updated_at: datetime | None = _when()
    updated_at: datetime | None = _when()


class ContactCompanyRow(SQLModel, table=True):
    """Which company a contact belongs to, as the CRM last said.

    ``current`` is false once the contact was read again: the link is then asked for
    anew (the contact may have moved), and its company kept to see whether it did.
    """

    __tablename__ = "contact_companies"
    __table_args__ = (Index("ix_contact_companies_company", "crm", "company_crm_id"),)

    contact_id: int = Field(primary_key=True, foreign_key="contacts.id")
    crm: str = Field(max_length=32)
    company_crm_id: str | None = Field(default=None, max_length=64)
    current: bool = Field(default=True)
    linked_at: datetime | None = _when()


class LeadLinkRow(SQLModel, table=True):
    """A contact that is one lead with records of other CRMs (the same email in each).

    ``lead_id`` is the smallest contact id of the lead's records: every record of the
    lead carries it. A person found once in a CRM has no row (see
    :mod:`crmbridge.store.lead_links`).
    """

    __tablename__ = "lead_links"

    contact_id: int = Field(primary_key=True, foreign_key="contacts.id")
    lead_id: int = Field(index=True)
    linked_at: datetime | None = _when()


class SyncLoopRow(SQLModel, table=True):
    """A crmbridge property seen flapping: the value crmbridge wrote into ``connector``
    replaced by the value the same person holds in ``other`` (a CRM-to-CRM sync)."""

    __tablename__ = "sync_loops"

    connector: str = Field(primary_key=True, max_length=32)
    property: str = Field(primary_key=True, max_length=128)
    other: str = Field(primary_key=True, max_length=32)
    times: int = 0
    crm_id: str = Field(default="", max_length=64)
    ours: str = Field(default="", max_length=200)
    theirs: str = Field(default="", max_length=200)
    first_seen: datetime | None = _when()
    last_seen: datetime | None = _when()
