"""The records that cross the boundary between crmbridge and a CRM connector.

Data passed across this boundary is frozen: a connector never mutates what the core gave
it, and the core never mutates what a connector returned.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from crmbridge.records import CanonicalEvent, ContactRecord

FieldType = Literal["number", "string", "bool", "enumeration", "datetime"]


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """A custom property/field crmbridge writes (created by ``ensure_schema``)."""

    name: str
    label: str
    type: FieldType
    options: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True, slots=True)
class Page:
    """Contacts changed since a cursor, and the cursor to persist once they are stored.

    ``events`` carries CRM-side activity found on those contacts (form submissions,
    replies, ...) as canonical events; they are stored before the page. ``gone`` names
    records the read found deleted (not merged: a merge is the survivor's
    ``merged_ids``): crmbridge forgets what it stored of them.
    """

    records: tuple[ContactRecord, ...]
    cursor: str
    events: tuple[CanonicalEvent, ...] = ()
    gone: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CheckReport:
    """What ``check()`` found: problems to fix and what the CRM's API cannot do.

    ``account`` describes the CRM account for a person; ``account_id`` identifies it
    (e.g. HubSpot's portal id; empty when the CRM did not say): a store is bound to the
    account it first synced and refuses another.
    """

    ok: bool
    account: str = ""
    account_id: str = ""
    problems: tuple[str, ...] = ()
    limitations: tuple[str, ...] = ()
    #: False when the CRM did not answer (network, 5xx, rate limit): the problems may
    #: go away by themselves, unlike a refused token or a missing scope.
    reachable: bool = True


@dataclass(frozen=True, slots=True)
class Write:
    """Property values to set on one CRM record (values in canonical string form)."""

    crm_id: str
    properties: Mapping[str, str | None]


@dataclass(frozen=True, slots=True)
class WriteResult:
    """The outcome for one record of a batch; never a whole-batch verdict."""

    crm_id: str
    ok: bool
    error: str | None = None
    retriable: bool = False


ActionKind = Literal["task", "enroll", "list_add", "pause"]


@dataclass(frozen=True, slots=True)
class Action:
    """A hand-off effect on one CRM record that is not a property value.

    ``key`` is deterministic for the intention (e.g. ``hot-task:123:2026-11-20``): the
    outbox stores it as the row's idempotency key, and a connector carries it into the
    CRM (a task's body) so ``performed`` can tell, after a crash, whether it happened.

    ``payload`` by kind: ``task`` — subject, body, due_at (ISO), priority, owner_id;
    ``enroll`` — sequence_id, owner_id, sender_email; ``list_add`` — list_id;
    ``pause`` — none (pause or unenroll the record's active sequences).
    """

    kind: ActionKind
    crm_id: str
    key: str
    payload: Mapping[str, Any]

    def describe(self) -> str:
        """One line for ``crmbridge plan``."""
        if self.kind == "task":
            owner = self.payload.get("owner_id")
            whom = f"for owner {owner}" if owner else "unassigned (the lead has no owner)"
            return f'task "{self.payload.get("subject", "")}" {whom}'
        if self.kind == "enroll":
            return f"enroll in sequence {self.payload.get('sequence_id')}"
        if self.kind == "pause":
            return "pause active sequences"
        return f"add to list {self.payload.get('list_id')}"


@dataclass(frozen=True, slots=True)
class Owner:
    """A CRM user who can own leads."""

    id: str
    email: str = ""
    name: str = ""
    active: bool = True
    user_id: str | None = None


@dataclass(frozen=True, slots=True)
class EnrollmentState:
    """A contact's active sequence enrollment as the CRM reports it."""

    sequence_id: str
    enrollment_id: str = ""
