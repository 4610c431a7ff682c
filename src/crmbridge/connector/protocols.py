"""What a connector implements: reading, writing and, optionally, the hand-off.

A connector declares *what* (its name, its maximum batch size, how to read a page, how
to write a batch, how to map its API's errors); crmbridge owns *how* (cursors, the
outbox, retries across cycles).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol, runtime_checkable

from crmbridge.connector.types import (
    Action,
    CheckReport,
    EnrollmentState,
    FieldSpec,
    Owner,
    Page,
    Write,
    WriteResult,
)


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
