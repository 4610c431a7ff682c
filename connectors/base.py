"""The connector contract: what every CRM connector provides, and shared helpers.

A connector declares *what* (its name, its maximum batch size, how to read a page, how
to write a batch, how to map its SDK's errors); crmbridge owns *how* (cursors, the
outbox, retries across cycles). Data passed across this boundary is frozen.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol, runtime_checkable

from crmbridge.clock import parse_instant
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
    replies, ...) as canonical events; they are stored before the page.
    """

    records: tuple[ContactRecord, ...]
    cursor: str
    events: tuple[CanonicalEvent, ...] = ()


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


@runtime_checkable
class HandoffConnector(Protocol):
    """The hand-off operations: owners, tasks, sequences, lists.

    ``perform`` applies one action; ``performed`` answers, before a task is first
    created and for an action interrupted by a crash, whether the CRM already holds it
    (a task carrying the key, an enrollment in that sequence, a list membership).
    ``can_pause_sequences`` is False where the CRM's API offers no pause/unenroll
    (HubSpot): the planner then says so in the task.
    """

    can_pause_sequences: bool

    def owners(self) -> list[Owner]:
        """Every owner the CRM lists (inactive ones marked)."""
        ...

    def perform(self, action: Action) -> WriteResult:
        """Apply one action; failures are reported in the result, not raised, per record."""
        ...

    def performed(self, action: Action, *, wait_for_index: bool = True) -> bool:
        """Does the CRM already hold the effect of ``action``?

        ``wait_for_index=False`` asks once, without waiting for a CRM's search index to
        catch up: enough before a first attempt, where only an older copy (another
        store's, a previous life's) could exist.
        """
        ...

    def active_enrollment(self, crm_id: str) -> EnrollmentState | None:
        """The record's active sequence enrollment, if any."""
        ...

    def pause_sequences(self, crm_id: str) -> WriteResult:
        """Pause or unenroll the record's active sequences where the API allows it."""
        ...


@runtime_checkable
class Connector(Protocol):
    """What the pipeline needs from a CRM.

    ``read_changes`` yields pages of contacts changed since ``cursor`` (``None`` = from
    the beginning), carrying ``properties``; the caller persists each page's cursor only
    after storing the page. ``read_values`` returns the CRM's current values of
    ``properties`` for ``crm_ids`` (used to reconcile writes interrupted by a crash).
    ``write`` applies a batch of at most ``max_batch_size`` records and reports per
    record. Errors are raised as the :mod:`crmbridge.errors` tree.
    """

    name: str
    max_batch_size: int

    def check(self) -> CheckReport:
        """Verify credentials and permissions; say plainly what is missing or impossible."""
        ...

    def ensure_schema(self, fields: Sequence[FieldSpec]) -> list[str]:
        """Create missing custom fields idempotently; return the names created."""
        ...

    def read_changes(self, cursor: str | None, properties: Sequence[str]) -> Iterator[Page]:
        """Contacts changed since ``cursor``, oldest first, in pages."""
        ...

    def read_values(
        self, crm_ids: Sequence[str], properties: Sequence[str]
    ) -> dict[str, dict[str, str | None]]:
        """Current values of ``properties`` for each record that exists."""
        ...

    def write(self, batch: Sequence[Write]) -> list[WriteResult]:
        """Apply ``batch``; one result per input, partial failures reported per record."""
        ...


@dataclass(frozen=True, slots=True)
class TieCursor:
    """An incremental cursor on a modification timestamp that survives ties.

    Records are read oldest first. Several records can share the last timestamp of a
    page, and the next page may hold more of them; the cursor therefore remembers the
    ids already seen *at* that timestamp, reads ``>= at`` next time and drops those
    ids, so no record at a page boundary is lost or read twice.
    """

    at: datetime | None = None
    ids: frozenset[str] = field(default_factory=frozenset)

    def encode(self) -> str:
        """The text persisted in the cursors table."""
        return json.dumps(
            {"at": self.at.isoformat() if self.at else None, "ids": sorted(self.ids)},
            separators=(",", ":"),
        )

    @classmethod
    def decode(cls, text: str | None) -> TieCursor:
        """Parse a persisted cursor (``None`` means read from the beginning)."""
        if not text:
            return cls()
        data = json.loads(text)
        at = parse_instant(data["at"]) if data.get("at") else None
        return cls(at, frozenset(data.get("ids", ())))

    def admits(self, at: datetime, record_id: str) -> bool:
        """True if a record modified at ``at`` has not been read yet."""
        if self.at is None or at > self.at:
            return True
        return at == self.at and record_id not in self.ids

    def advance(self, page: Sequence[tuple[datetime, str]]) -> TieCursor:
        """The cursor after reading ``page`` (``(modified_at, id)`` pairs, oldest first)."""
        if not page:
            return self
        last = page[-1][0]
        seen = {record_id for at, record_id in page if at == last}
        if last == self.at:
            seen |= self.ids
        return TieCursor(last, frozenset(seen))
