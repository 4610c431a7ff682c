"""What a connector implements: reading, writing and, optionally, the hand-off.

A connector declares *what* (its name, its maximum batch size, how to read a page, how
to write a batch, how to map its API's errors); crmbridge owns *how* (cursors, the
outbox, retries across cycles).

Optional capabilities are declared, never discovered: a connector answers
:attr:`Connector.handoff` and :attr:`Connector.rate_governor` with ``None`` when it has
no such thing, and crmbridge reads nothing else of it (no probing of its attributes).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Protocol, runtime_checkable

from crmbridge.connector.rate_governor import RateGovernor
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


class HandoffConnector(Protocol):
    """The hand-off operations: owners, tasks, sequences, lists.

    A connector offers them through :attr:`Connector.handoff`; without them crmbridge
    still scores and writes, and its planners queue no CRM action (tasks, enrollments,
    list memberships) for that connector.

    ``perform`` applies one action; ``performed`` answers, before a task is first
    created and for an action interrupted by a crash, whether the CRM already holds it
    (a task carrying the key, an enrollment in that sequence, a list membership).
    ``can_pause_sequences`` is False where the CRM's API offers no pause/unenroll
    (HubSpot), or where the connector is set not to use it: the reply task then says
    ``pause_note``, the CRM's own words on what the owner should check (an English
    message marked for the catalog with :func:`crmbridge.i18n.N_`, translated where it
    is shown).

    Batching is declared, not probed: ``batch_sizes`` names the action kinds the CRM
    applies several to a call, with the most one call takes (HubSpot: ``{"task":
    100}``); the drain sends those kinds through ``perform_batch`` and asks about them
    through ``performed_batch``, and every other kind one by one through ``perform``.
    ``index_lag_s`` is how long the CRM's search may take to show what was just
    written: after an ambiguous attempt (a timeout, a 5xx) the answer of
    ``performed_batch(..., wait_for_index=True)`` is trusted only once it has passed.
    """

    can_pause_sequences: bool
    pause_note: str
    batch_sizes: Mapping[str, int]
    index_lag_s: float

    def owners(self) -> list[Owner]:
        """Every owner the CRM lists (inactive ones marked)."""
        ...

    def perform(self, action: Action) -> WriteResult:
        """Apply one action; failures are reported in the result, not raised, per record."""
        ...

    def perform_batch(self, actions: Sequence[Action]) -> list[WriteResult]:
        """Apply actions of one kind in one call (at most ``batch_sizes[kind]``).

        One result per action, in order; per-action refusals are results. Raises (the
        :mod:`crmbridge.errors` tree) when the call as a whole failed: after a timeout or
        a 5xx which actions were applied is unknown.
        """
        ...

    def performed_batch(
        self, actions: Sequence[Action], *, wait_for_index: bool = True
    ) -> set[str]:
        """The keys of ``actions`` whose effect the CRM already holds (as ``performed``,
        asked for many at once)."""
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


class Connector(Protocol):
    """What the pipeline needs from a CRM.

    ``read_changes`` yields pages of contacts changed since ``cursor`` (``None`` = from
    the beginning), carrying ``properties``; the caller persists each page's cursor only
    after storing the page. ``read_values`` returns the CRM's current values of
    ``properties`` for ``crm_ids`` (used to reconcile writes interrupted by a crash).
    ``write`` applies a batch of at most ``max_batch_size`` records and reports per
    record. Errors are raised as the :mod:`crmbridge.errors` tree.

    Two optional capabilities, ``None`` where the connector has none:

    - ``handoff``: the :class:`HandoffConnector` operations (owners, tasks, sequences,
      lists); without them no hand-off action is planned or sent for this connector.
    - ``rate_governor``: the :class:`~crmbridge.connector.rate_governor.RateGovernor`
      pacing every request the connector makes. The daemon reads its ``budget`` for
      the ``crmbridge_api_rate_budget_remaining`` gauge and, with replicas on one
      Postgres, sets its ``shared`` hook so that all replicas together stay under the
      CRM's budget. A connector whose API has no request budget answers ``None``.
    """

    name: str
    max_batch_size: int

    @property
    def handoff(self) -> HandoffConnector | None:
        """The hand-off operations, or ``None`` where the connector performs no action."""
        ...

    @property
    def rate_governor(self) -> RateGovernor | None:
        """The governor pacing this connector's requests, or ``None`` without one."""
        ...

    def check(self) -> CheckReport:
        """Verify credentials and permissions; say plainly what is missing or impossible."""
        ...

    def ensure_schema(self, fields: Sequence[FieldSpec]) -> list[str]:
        """Create missing custom fields idempotently; return the names created."""
        ...

    def property_names(self) -> frozenset[str] | None:
        """The names of every contact property the CRM has, or ``None`` when it cannot say.

        ``crmbridge check`` warns about scoring rules on a property missing from it; a
        connector whose CRM accepts any property (or cannot list them) answers ``None``.
        """
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


class DailyCount(Protocol):
    """Requests every replica sent in the last 24 hours (the daemon's, in the store)."""

    def add(self, calls: int = 1) -> None:
        """Count calls sent now."""
        ...

    def total(self) -> int:
        """Every replica's calls of the last 24 hours."""
        ...


@runtime_checkable
class SharesDailyCount(Protocol):
    """A connector whose CRM limits requests per day (Salesforce): replicas on one
    store count their requests together against crmbridge's share of that limit."""

    def share_daily_count(self, count: DailyCount) -> None:
        """Count every request in ``count`` and hold writes by its total from now on."""
        ...


@runtime_checkable
class PacesSearches(Protocol):
    """A connector whose CRM limits searches apart from its other requests (HubSpot:
    five a second, outside the ten-second window): replicas on one store pace their
    searches together, as they do their other requests."""

    @property
    def search_governor(self) -> RateGovernor:
        """The governor pacing this connector's searches only."""
        ...
