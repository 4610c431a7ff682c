"""Salesforce hand-off operations: owners, Tasks, Campaign lists and cadences.

Owners are the org's Users (``SELECT Id, Name, Email, IsActive FROM User``), inactive
ones marked, and its queues with ``queue_owners = true``. Assigning a lead is an
``OwnerId`` update that goes out with the scores (sObject Collections,
``Sforce-Auto-Assign: FALSE``: assignment rules never override the owner crmbridge
chose); set ``[assignment] owner_property = "OwnerId"``.

Tasks are created up to 200 a call (``POST composite/sobjects``, ``allOrNone`` false):
Salesforce answers one SaveResult per record, in order. A task is owned by the lead's
owner, or by ``task_owner_fallback`` when that owner is a queue (a Task cannot belong
to a queue) or a deactivated user (Salesforce refuses it with
``INACTIVE_OWNER_OR_USER``; the refused task is created again for the fallback).
Each task carries its reference (:mod:`crmbridge_salesforce.tasks`), so
``performed_batch`` finds it by SOQL after a crash or an unanswered call; SOQL reads
what was committed, so a task not found at once is looked for again a few seconds
later (the unanswered request may still be committing).

A list addition (``list_add``) is a Campaign membership: ``list_id`` is the Campaign's
id, and a lead or contact already in it counts as added.

Sequences are Sales Engagement cadences (:mod:`crmbridge_salesforce.cadences`) when
``sales_engagement = true``: a reply pauses (or removes) the lead's cadence, confirmed
by its tracker, and nurture enrollments assign it to one. Without Sales Engagement a
reply sets the paused flag and tasks the owner, as on HubSpot.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

from simple_salesforce.format import format_soql

from crmbridge.connector import Action, EnrollmentState, Owner, WriteResult
from crmbridge.errors import PermanentRecordError, TransientError
from crmbridge.i18n import N_
from crmbridge_salesforce.cadences import Cadences
from crmbridge_salesforce.client import NO_AUTO_ASSIGN, SalesforceClient
from crmbridge_salesforce.errors import record_error
from crmbridge_salesforce.reads import IDS_PER_QUERY, object_of, query_pages, valid_id
from crmbridge_salesforce.tasks import reference, references_in, task_record
from crmbridge_salesforce.writes import COLLECTION_LIMIT

#: How long a create whose answer was lost may still be committing: SOQL reads only
#: committed rows, so a lost task is looked for again after this.
SETTLE_S = 5.0
#: A queue's id starts so (a Group); a Task needs a User as its owner.
QUEUE_PREFIX = "00G"
#: Salesforce's answer to a campaign member that exists already.
DUPLICATE = "DUPLICATE_VALUE"
#: Salesforce's answer to a record owned by a deactivated user: a task of a lead
#: whose owner left goes to ``task_owner_fallback``.
INACTIVE = "INACTIVE_OWNER_OR_USER"
OWNERS_SOQL = "SELECT Id, Name, Email, IsActive FROM User"
QUEUES_SOQL = "SELECT Id, Name, Email FROM Group WHERE Type = 'Queue'"
#: What the reply task says when crmbridge pauses no cadence (Sales Engagement off).
PAUSE_NOTE = N_(
    "Sales Engagement is off for crmbridge (connectors.salesforce.sales_engagement), so "
    "it paused no cadence: if the lead is in one, pause it in Salesforce."
)
CANNOT_PAUSE = (
    "Sales Engagement is off (connectors.salesforce.sales_engagement): no cadence to "
    "pause; the owner's task says the lead replied"
)


class SalesforceHandoff:
    """The :class:`~crmbridge.connector.HandoffConnector` operations on one org."""

    batch_sizes: Mapping[str, int] = MappingProxyType({"task": COLLECTION_LIMIT})

    def __init__(
        self,
        client: SalesforceClient,
        *,
        fallback_user: str | None = None,
        queues: bool = False,
        cadences: Cadences | None = None,
        index_lag_s: float = SETTLE_S,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.index_lag_s = index_lag_s
        self._sleep = sleep
        self.fallback_user = fallback_user
        self.queues = queues
        #: Sales Engagement, when the org has it (``sales_engagement = true``).
        self.cadences = cadences
        self.can_pause_sequences = cadences is not None
        self.pause_note = PAUSE_NOTE

    def owners(self) -> list[Owner]:
        """Every User, inactive ones marked; the queues too when configured."""
        found = [_owner(row, user=True) for row in self._rows(OWNERS_SOQL, "list users")]
        if self.queues:
            found += [_owner(row, user=False) for row in self._rows(QUEUES_SOQL, "list queues")]
        return found

    def _rows(self, soql: str, what: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for page in query_pages(self.client, soql, 2000, what=what, include_deleted=False):
            rows.extend(page)
        return rows

    def perform(self, action: Action) -> WriteResult:
        """Create the task or the campaign membership, enroll in or stop a cadence."""
        if action.kind == "task":
            return self.perform_batch([action])[0]
        if action.kind == "list_add":
            return self._join_campaign(action)
        if action.kind == "pause":
            return self.pause_sequences(action.crm_id)
        if action.kind == "enroll" and self.cadences is not None:
            payload = action.payload
            user = str(payload.get("user_id") or payload.get("owner_id") or "") or None
            if user is not None and user.startswith(QUEUE_PREFIX):
                user = self.fallback_user
            return self.cadences.enroll(action.crm_id, str(payload.get("sequence_id")), user)
        return WriteResult(
            action.crm_id, False, f"Salesforce hand-off has no {action.kind!r} action here"
        )

    def performed(self, action: Action, *, wait_for_index: bool = True) -> bool:
        """Does the org hold this action's effect already?

        A task is found by its reference, an enrollment and a stop by the cadence
        tracker; a campaign membership is simply sent again (joining twice is answered
        "already a member", which counts as done).
        """
        if action.kind in ("enroll", "pause") and self.cadences is not None:
            row = self.cadences.tracker(action.crm_id)
            if action.kind == "pause":
                return row is None or self.cadences.stopped(row)
            return self.cadences.holds(row, str(action.payload.get("sequence_id")))
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
            created = self._create([record for _, record in chunk], "tasks")
            again: list[tuple[int, dict[str, Any]]] = []
            for (index, record), (ok, error, retriable, codes) in zip(chunk, created, strict=True):
                if INACTIVE in codes and self._can_reassign(record):
                    # Refused as a whole, so nothing exists yet: safe to create again.
                    again.append((index, {**record, "OwnerId": self.fallback_user}))
                    continue
                if INACTIVE in codes:
                    error = f"{error}: set connectors.salesforce.task_owner_fallback"
                results[index] = WriteResult(actions[index].crm_id, ok, error, retriable)
            if again:
                redone = self._create([record for _, record in again], "tasks")
                for (index, _), (ok, error, retriable, _codes) in zip(again, redone, strict=True):
                    results[index] = WriteResult(actions[index].crm_id, ok, error, retriable)
        return [results[index] for index in range(len(actions))]

    def _can_reassign(self, record: Mapping[str, Any]) -> bool:
        """Can a task its owner may not hold (inactive) go to the fallback user?"""
        return bool(self.fallback_user) and record.get("OwnerId") != self.fallback_user

    def performed_batch(
        self, actions: Sequence[Action], *, wait_for_index: bool = True
    ) -> set[str]:
        """The keys of ``actions`` whose task the org holds (found by lead and reference).

        ``wait_for_index`` looks again, once :data:`SETTLE_S` has passed, for the tasks
        not found: a create whose answer was lost may still be committing.
        """
        found = self._find_tasks(actions)
        missing = [a for a in actions if a.kind == "task" and a.key not in found]
        if missing and wait_for_index and self.index_lag_s > 0:
            self._sleep(self.index_lag_s)
            found |= self._find_tasks(missing)
        return found

    def _find_tasks(self, actions: Sequence[Action]) -> set[str]:
        """Keys of the task actions whose task SOQL shows now."""
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
        """The target's active cadence (none without Sales Engagement)."""
        return None if self.cadences is None else self.cadences.enrollment(crm_id)

    def pause_sequences(self, crm_id: str) -> WriteResult:
        """Pause or remove the target's cadence (``cadence_on_reply``), confirmed by its
        tracker; without Sales Engagement the result says so."""
        if self.cadences is None:
            return WriteResult(crm_id, False, CANNOT_PAUSE)
        return self.cadences.stop(crm_id)

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

    def _join_campaign(self, action: Action) -> WriteResult:
        """Add the lead or contact to the campaign named by the action's ``list_id``."""
        campaign = str(action.payload.get("list_id") or "")
        sobject = object_of(action.crm_id)
        if not valid_id(campaign) or sobject is None:
            return WriteResult(
                action.crm_id, False, f"no campaign {campaign[:40]!r} for {action.crm_id[:40]}"
            )
        member = {
            "attributes": {"type": "CampaignMember"},
            "CampaignId": campaign,
            f"{sobject}Id": action.crm_id,
        }
        [(ok, error, retriable, _)] = self._create([member], "campaign members", joined=True)
        return WriteResult(action.crm_id, ok, error, retriable=retriable)

    def _create(
        self,
        records: Sequence[dict[str, Any]],
        what: str,
        *,
        joined: bool = False,
    ) -> list[tuple[bool, str | None, bool, frozenset[str]]]:
        """(ok, error, retriable, error codes) per record of one Collections create call;
        with ``joined``, a record Salesforce already holds (DUPLICATE_VALUE) counts as
        done."""
        try:
            # Not retried here: an unanswered call may hide a success (the drain asks).
            answer = self.client.call(
                f"create {len(records)} {what}",
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
            return [(False, str(exc), False, frozenset())] * len(records)
        if not isinstance(answer, list) or len(answer) != len(records):
            raise TransientError(f"Salesforce answered the {what} create without one result each")
        outcome: list[tuple[bool, str | None, bool, frozenset[str]]] = []
        for result in answer:
            if isinstance(result, Mapping) and result.get("success"):
                outcome.append((True, None, False, frozenset()))
                continue
            errors = (result.get("errors") if isinstance(result, Mapping) else None) or []
            found = frozenset(str(e.get("statusCode")) for e in errors if isinstance(e, Mapping))
            if joined and DUPLICATE in found:
                outcome.append((True, None, False, found))
                continue
            message, retriable = record_error(errors)
            outcome.append((False, f"Salesforce refused the {what}: {message}", retriable, found))
        return outcome


def _owner(row: Mapping[str, Any], *, user: bool) -> Owner:
    """A User (active as Salesforce says) or a queue (no user: its tasks go to the
    fallback user) as an owner."""
    rid = str(row.get("Id"))
    return Owner(
        id=rid,
        email=str(row.get("Email") or ""),
        name=str(row.get("Name") or ""),
        active=row.get("IsActive") is True if user else True,
        user_id=rid if user else None,
    )
