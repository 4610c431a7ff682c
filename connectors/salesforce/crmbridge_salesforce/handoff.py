"""Salesforce hand-off operations: owners (active Users) and Tasks.

Owners are the org's Users (``SELECT Id, Name, Email, IsActive FROM User``), inactive
ones marked. Assigning a lead is an ``OwnerId`` update that goes out with the scores
(sObject Collections, ``Sforce-Auto-Assign: FALSE``: assignment rules never override
the owner crmbridge chose); set ``[handoff.assignment] owner_property = "OwnerId"``.

Tasks are created up to 200 a call (``POST composite/sobjects``, ``allOrNone`` false):
Salesforce answers one SaveResult per record, in order. A task is owned by the lead's
owner, or by ``task_owner_fallback`` when that owner is a queue (a Task cannot belong
to a queue). Each task carries its reference (:mod:`crmbridge_salesforce.tasks`), so
``performed_batch`` finds it by SOQL after a crash or an unanswered call; SOQL reads
what was committed, so there is no index to wait for.

Sequences: Sales Engagement cadences are not driven yet; ``pause_sequences`` says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

from simple_salesforce.format import format_soql

from crmbridge.connector import Action, EnrollmentState, Owner, WriteResult
from crmbridge.errors import PermanentRecordError, TransientError
from crmbridge_salesforce.client import NO_AUTO_ASSIGN, SalesforceClient
from crmbridge_salesforce.errors import record_error
from crmbridge_salesforce.reads import IDS_PER_QUERY, query_pages, valid_id
from crmbridge_salesforce.tasks import reference, references_in, task_record
from crmbridge_salesforce.writes import COLLECTION_LIMIT

#: A queue's id starts so (a Group); a Task needs a User as its owner.
QUEUE_PREFIX = "00G"
OWNERS_SOQL = "SELECT Id, Name, Email, IsActive FROM User"
CANNOT_PAUSE = (
    "crmbridge does not drive Salesforce Sales Engagement cadences yet: "
    "the owner's task says the lead replied"
)


class SalesforceHandoff:
    """The :class:`~crmbridge.connector.HandoffConnector` operations on one org."""

    can_pause_sequences = False
    batch_sizes: Mapping[str, int] = MappingProxyType({"task": COLLECTION_LIMIT})
    #: SOQL reads committed rows: a task is found as soon as it was created.
    index_lag_s = 0.0

    def __init__(self, client: SalesforceClient, *, fallback_user: str | None = None) -> None:
        self.client = client
        self.fallback_user = fallback_user

    def owners(self) -> list[Owner]:
        """Every User, inactive ones marked."""
        found: list[Owner] = []
        for page in query_pages(
            self.client, OWNERS_SOQL, 2000, what="list users", include_deleted=False
        ):
            for row in page:
                found.append(
                    Owner(
                        id=str(row.get("Id")),
                        email=str(row.get("Email") or ""),
                        name=str(row.get("Name") or ""),
                        active=row.get("IsActive") is True,
                        user_id=str(row.get("Id")),
                    )
                )
        return found

    def perform(self, action: Action) -> WriteResult:
        """Create the task; other kinds are refused per record (no cadences yet)."""
        if action.kind == "task":
            return self.perform_batch([action])[0]
        return WriteResult(
            action.crm_id, False, f"Salesforce hand-off has no {action.kind!r} action"
        )

    def performed(self, action: Action, *, wait_for_index: bool = True) -> bool:
        """Does the org hold this action's task already?"""
        return action.key in self.performed_batch([action], wait_for_index=wait_for_index)

    def perform_batch(self, actions: Sequence[Action]) -> list[WriteResult]:
        """Create up to 200 tasks in one call; one result per action, in order.

        Raises when the call as a whole has no answer (a timeout, a 5xx): which tasks
        were created is then unknown, and the drain asks (``performed_batch``) first.
        """
        if any(action.kind != "task" for action in actions):
            return [self.perform(action) for action in actions]
        results: dict[int, WriteResult] = {}
        ready: list[tuple[int, dict[str, Any]]] = []
        for index, action in enumerate(actions):
            if not valid_id(action.crm_id):
                results[index] = WriteResult(
                    action.crm_id, False, "not the id of a Salesforce lead or contact"
                )
                continue
            owner, failure = self._task_owner(action)
            if failure is not None:
                results[index] = WriteResult(action.crm_id, False, failure)
                continue
            ready.append((index, task_record(action, owner)))
        for begin in range(0, len(ready), COLLECTION_LIMIT):
            chunk = ready[begin : begin + COLLECTION_LIMIT]
            for (index, _), result in zip(chunk, self._create(chunk), strict=True):
                results[index] = WriteResult(actions[index].crm_id, *result)
        return [results[index] for index in range(len(actions))]

    def performed_batch(
        self, actions: Sequence[Action], *, wait_for_index: bool = True
    ) -> set[str]:
        """The keys of ``actions`` whose task the org holds (found by lead and reference)."""
        wanted: dict[str, dict[str, str]] = {}
        for action in actions:
            if action.kind == "task" and valid_id(action.crm_id):
                wanted.setdefault(action.crm_id, {})[reference(action.key)] = action.key
        found: set[str] = set()
        who = sorted(wanted)
        for begin in range(0, len(who), IDS_PER_QUERY):
            chunk = who[begin : begin + IDS_PER_QUERY]
            # Description cannot be filtered on (long text): read it back and look.
            soql = format_soql("SELECT Id, WhoId, Description FROM Task WHERE WhoId IN {}", chunk)
            for page in query_pages(
                self.client, soql, 2000, what="find crmbridge's tasks", include_deleted=False
            ):
                for row in page:
                    refs = wanted.get(str(row.get("WhoId")), {})
                    found.update(
                        refs[r] for r in references_in(row.get("Description")) if r in refs
                    )
        return found

    def active_enrollment(self, crm_id: str) -> EnrollmentState | None:
        """No cadence is driven yet: none."""
        return None

    def pause_sequences(self, crm_id: str) -> WriteResult:
        """Not driven yet; the result says so."""
        return WriteResult(crm_id, False, CANNOT_PAUSE)

    # -- the calls ---------------------------------------------------------------------

    def _task_owner(self, action: Action) -> tuple[str | None, str | None]:
        """The task's owner (a User), or why the task cannot be created."""
        owner = str(action.payload.get("owner_id") or "")
        if owner.startswith(QUEUE_PREFIX):
            if not self.fallback_user:
                return None, (
                    f"the owner {owner} is a queue and a Task needs a user: set "
                    "connectors.salesforce.task_owner_fallback"
                )
            return self.fallback_user, None
        return owner or self.fallback_user, None

    def _create(
        self, chunk: Sequence[tuple[int, dict[str, Any]]]
    ) -> list[tuple[bool, str | None, bool]]:
        """(ok, error, retriable) per record of one Collections create call."""
        records = [record for _, record in chunk]
        try:
            # Not retried here: an unanswered call may hide a success (the drain asks).
            answer = self.client.call(
                f"create {len(records)} tasks",
                lambda sf: sf.restful(
                    "composite/sobjects",
                    method="POST",
                    headers=dict(NO_AUTO_ASSIGN),
                    json={"allOrNone": False, "records": records},
                ),
                write=True,
                retry=False,
            )
        except PermanentRecordError as exc:
            # The request as a whole was refused: nothing was created.
            return [(False, str(exc), False)] * len(records)
        if not isinstance(answer, list) or len(answer) != len(records):
            raise TransientError("Salesforce answered the task create without one result per task")
        outcome: list[tuple[bool, str | None, bool]] = []
        for result in answer:
            if isinstance(result, Mapping) and result.get("success"):
                outcome.append((True, None, False))
                continue
            errors = result.get("errors") if isinstance(result, Mapping) else None
            message, retriable = record_error(errors or [])
            outcome.append((False, f"Salesforce refused the task: {message}", retriable))
        return outcome
