"""The records the sandbox CRM hands out: frozen snapshots, never live rows.

Contacts with per-property history, owners, tasks, sequences and enrollments, lists,
request-log entries, the change events webhook subscribers receive, and the domain
errors :class:`~crmbridge_hubspot.sandbox.state.SandboxState` raises.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from crmbridge_hubspot.sandbox.schema import Issue
from crmbridge_hubspot.sandbox.timeutil import iso_ms


class InvalidValuesError(Exception):
    """Some written property values were refused; nothing was applied."""

    def __init__(self, issues: Sequence[Issue]) -> None:
        super().__init__("; ".join(i.message for i in issues))
        self.issues = list(issues)


class AlreadyExistsError(Exception):
    """A unique name, email or enrollment already exists."""

    def __init__(self, message: str, existing_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.existing_id = existing_id


class NotFoundError(Exception):
    """A referenced record does not exist."""

    def __init__(self, message: str, ids: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.ids = list(ids)


class RefusedError(Exception):
    """The request is well-formed but the CRM will not do it (e.g. a dynamic list)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class ChangeSource:
    """Who changed a value: HubSpot's ``sourceType`` and ``sourceId``."""

    type: str
    id: str | None = None


SEED_SOURCE = ChangeSource("IMPORT", "sandbox-seed")


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One past value of a property (``propertiesWithHistory``)."""

    value: str
    timestamp: datetime
    source: ChangeSource

    def to_json(self) -> dict[str, Any]:
        """The API's ``ValueWithTimestamp``."""
        body: dict[str, Any] = {
            "value": self.value,
            "timestamp": iso_ms(self.timestamp),
            "sourceType": self.source.type,
        }
        if self.source.id is not None:
            body["sourceId"] = self.source.id
        return body


@dataclass(frozen=True, slots=True)
class Contact:
    """A snapshot of one contact."""

    id: str
    properties: Mapping[str, str]
    created_at: datetime
    updated_at: datetime
    history: Mapping[str, tuple[HistoryEntry, ...]]
    archived: bool = False


@dataclass(frozen=True, slots=True)
class ContactChange:
    """One contact event for webhook subscribers."""

    object_id: int
    kind: Literal["creation", "propertyChange", "deletion", "merge"]
    occurred_at: datetime
    source: ChangeSource
    property_name: str | None = None
    property_value: str | None = None
    #: A merge: ``object_id`` is the new record, ``primary_id`` the primary one, and
    #: ``merged_ids`` the other records folded in.
    merged_ids: tuple[int, ...] = ()
    properties_moved: int = 0
    primary_id: int | None = None


@dataclass(frozen=True, slots=True)
class Owner:
    """A HubSpot owner: ``id`` goes into ``hubspot_owner_id``; ``user_id`` is the user."""

    id: str
    email: str
    first_name: str
    last_name: str
    user_id: int
    created_at: datetime
    updated_at: datetime
    teams: tuple[tuple[str, str], ...] = ()
    type: str = "PERSON"
    archived: bool = False

    def to_json(self) -> dict[str, Any]:
        """The API's ``PublicOwner``."""
        return {
            "id": self.id,
            "email": self.email,
            "type": self.type,
            "firstName": self.first_name,
            "lastName": self.last_name,
            "userId": self.user_id,
            "userIdIncludingInactive": self.user_id,
            "createdAt": iso_ms(self.created_at),
            "updatedAt": iso_ms(self.updated_at),
            "archived": self.archived,
            "teams": [
                {"id": tid, "name": name, "primary": i == 0}
                for i, (tid, name) in enumerate(self.teams)
            ],
        }


@dataclass(frozen=True, slots=True)
class Task:
    """A task engagement and the contacts it is associated with (type 204)."""

    id: str
    properties: Mapping[str, str]
    contact_ids: tuple[str, ...]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class SalesSequence:
    """A sales sequence owned by a user."""

    id: str
    name: str
    user_id: int
    created_at: datetime
    updated_at: datetime
    folder_id: str | None = None
    unenroll_on_reply: bool = True

    def to_json(self) -> dict[str, Any]:
        """The list endpoint's sequence object."""
        body: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "userId": str(self.user_id),
            "createdAt": iso_ms(self.created_at),
            "updatedAt": iso_ms(self.updated_at),
        }
        if self.folder_id:
            body["folderId"] = self.folder_id
        return body


@dataclass(frozen=True, slots=True)
class Enrollment:
    """A contact's enrollment in a sequence; ``finished_at`` once it ended."""

    id: str
    contact_id: str
    sequence_id: str
    sequence_name: str
    sender_email: str
    user_id: int
    to_email: str
    enrolled_at: datetime
    updated_at: datetime
    finished_at: datetime | None = None
    finish_reason: str | None = None

    @property
    def active(self) -> bool:
        """Still running (HubSpot has not unenrolled the contact)."""
        return self.finished_at is None

    def to_json(self) -> dict[str, Any]:
        """Every field, for the admin view."""
        return {
            "id": self.id,
            "contactId": self.contact_id,
            "sequenceId": self.sequence_id,
            "sequenceName": self.sequence_name,
            "senderEmail": self.sender_email,
            "userId": self.user_id,
            "toEmail": self.to_email,
            "enrolledAt": iso_ms(self.enrolled_at),
            "updatedAt": iso_ms(self.updated_at),
            "finishedAt": iso_ms(self.finished_at) if self.finished_at else None,
            "finishReason": self.finish_reason,
        }


@dataclass(frozen=True, slots=True)
class StaticList:
    """A list (ILS) and its members with the time each was added."""

    list_id: str
    name: str
    processing_type: str
    created_at: datetime
    members: Mapping[str, datetime]

    def to_json(self) -> dict[str, Any]:
        """A summary for the admin view."""
        return {
            "listId": self.list_id,
            "name": self.name,
            "processingType": self.processing_type,
            "objectTypeId": "0-1",
            "createdAt": iso_ms(self.created_at),
            "size": len(self.members),
        }


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One API request as the sandbox saw it."""

    method: str
    path: str
    query: str
    status: int
    timestamp: datetime
    duration_ms: float
    #: The JSON body of a write to the CRM API (cut at the log's bound), else empty:
    #: what a test compares with what crmbridge meant to write.
    body: str = ""

    def json_body(self) -> Any:
        """The body parsed, or None when there is none (or it was cut)."""
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return None

    def to_json(self) -> dict[str, Any]:
        """The admin view of the record (without the body)."""
        return {
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "status": self.status,
            "timestamp": iso_ms(self.timestamp),
            "duration_ms": round(self.duration_ms, 3),
        }
