"""HubSpot hand-off operations: owners, tasks, sequence enrollments, list memberships.

Idempotency: a task carries a one-word reference derived from the action's key at the
end of its body (``Ref: crmbridgeref…``), so ``performed_batch`` finds it with a task
search (``associations.contact`` + ``CONTAINS_TOKEN``, five references a search: HubSpot
ORs at most five filter groups) — before a first creation (a new or restored store
never tasks the same hand-off twice), after an ambiguous batch and after a crash; an
enrollment is confirmed through the contact's enrollment status; adding to a static
list twice is harmless, so an interrupted addition is simply sent again.

Tasks are created up to 100 a call (``/crm/v3/objects/tasks/batch/create``, the
association to the contact inline). Each input carries its reference as its
``objectWriteTraceId`` too, which makes HubSpot answer per input (created, or refused
with the reason) instead of refusing the whole batch for one bad input, and lets the
answers be matched to the inputs whatever their order.

HubSpot's public API has no endpoint to pause or unenroll a sequence enrollment (see
``LIMITATIONS`` in the connector and docs/hubspot.md): ``pause_sequences`` reports that
plainly instead of pretending.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

from crmbridge import clock
from crmbridge.clock import parse_instant
from crmbridge.connector import Action, EnrollmentState, Owner, WriteResult
from crmbridge.errors import PermanentRecordError, TransientError
from crmbridge.i18n import N_
from crmbridge_hubspot.client import HubSpotClient
from crmbridge_hubspot.errors import Conflict, NotFound

TASK_TO_CONTACT = 204
TASKS = "/crm/v3/objects/tasks"
#: HubSpot creates at most 100 objects per batch-create call.
TASK_BATCH = 100
#: Filter groups are ORed, at most five a search: five references a search.
REFS_PER_SEARCH = 5
REF_PREFIX = "crmbridgeref"
TRACE_ID = "objectWriteTraceId"
#: How long HubSpot's search may take to show a new object.
INDEX_LAG_S = 3.0
OWNER_PAGE = 500
SEQUENCES = "/automation/v4/sequences"
CANNOT_PAUSE = (
    "HubSpot's API cannot pause or unenroll a sequence: HubSpot ends the enrollment "
    "itself when the contact replies (sequence setting)"
)


def reference(key: str) -> str:
    """The one-word token a task carries for its action key (search-friendly)."""
    return REF_PREFIX + hashlib.sha256(key.encode()).hexdigest()[:24]


def _millis(value: Any) -> str:
    moment = parse_instant(str(value)) if value else clock.now()
    return str(int(moment.timestamp() * 1000))


class HubSpotHandoff:
    """The :class:`~crmbridge.connector.HandoffConnector` operations on one HubSpot client."""

    can_pause_sequences = False
    #: What the reply task says instead (HubSpot's API has no pause or unenroll).
    pause_note = N_(
        "HubSpot's API cannot pause or unenroll sequences: check that the sequence ended "
        "(HubSpot ends it on a reply when the sequence's setting is on)."
    )
    #: Tasks go to HubSpot a hundred a call; enrollments and list additions one by one.
    batch_sizes: Mapping[str, int] = MappingProxyType({"task": TASK_BATCH})

    def __init__(
        self,
        client: HubSpotClient,
        *,
        index_lag_s: float = INDEX_LAG_S,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.index_lag_s = index_lag_s
        self._sleep = sleep
        self._user_ids: dict[str, str] = {}
        self._emails: dict[str, str] = {}

    def owners(self) -> list[Owner]:
        """Every owner, active and archived (archived ones marked inactive)."""
        found: list[Owner] = []
        for archived in (False, True):
            after: str | None = None
            while True:
                data = self.client.raw(
                    "list owners",
                    "GET",
                    "/crm/v3/owners",
                    qs={
                        "limit": OWNER_PAGE,
                        "archived": str(archived).lower(),
                        **({"after": after} if after else {}),
                    },
                )
                for item in data.get("results") or []:
                    owner = _owner(item, active=not archived)
                    found.append(owner)
                    if owner.user_id:
                        self._user_ids[owner.id] = owner.user_id
                    if owner.email:
                        self._emails[owner.id] = owner.email
                after = ((data.get("paging") or {}).get("next") or {}).get("after")
                if not after:
                    break
        return found

    def perform(self, action: Action) -> WriteResult:
        """Create the task, enroll, or add to the list; refusals are per-record results."""
        try:
            if action.kind == "task":
                self._create_task(action)
            elif action.kind == "enroll":
                return self._enroll(action)
            elif action.kind == "list_add":
                self._add_to_list(action)
            else:
                return WriteResult(action.crm_id, False, f"unknown action {action.kind!r}")
        except PermanentRecordError as exc:
            return WriteResult(action.crm_id, False, str(exc))
        return WriteResult(action.crm_id, True)

    def performed(self, action: Action, *, wait_for_index: bool = True) -> bool:
        """Does HubSpot already hold this action's effect?

        A task is looked up by its Ref; ``wait_for_index`` looks again after the
        search index's lag when the first search finds nothing.
        """
        if action.kind == "task":
            return action.key in self.performed_batch([action], wait_for_index=wait_for_index)
        if action.kind == "enroll":
            current = self.active_enrollment(action.crm_id)
            return current is not None and current.sequence_id == str(
                action.payload.get("sequence_id")
            )
        return False

    def perform_batch(self, actions: Sequence[Action]) -> list[WriteResult]:
        """Create up to :data:`TASK_BATCH` tasks in one call; one result per action, in order.

        Raises (a :class:`~crmbridge.errors.TransientError` for a 5xx or a timeout) when
        the call as a whole has no answer: which tasks HubSpot created is then unknown,
        and the caller asks (``performed_batch``) before sending any again.
        """
        if any(action.kind != "task" for action in actions):
            return [self.perform(action) for action in actions]
        if not actions:
            return []
        inputs = [{**_task_input(action), TRACE_ID: reference(action.key)} for action in actions]
        try:
            # Not retried here: a timeout may hide a success (see the drain's settling).
            data = self.client.raw(
                "create tasks",
                "POST",
                f"{TASKS}/batch/create",
                body={"inputs": inputs},
                retry=False,
            )
        except PermanentRecordError as exc:
            # The request as a whole was refused (HubSpot created nothing).
            return [WriteResult(action.crm_id, False, str(exc)) for action in actions]
        created, refused = _batch_outcome(data)
        results: list[WriteResult] = []
        for action in actions:
            ref = reference(action.key)
            if ref in created:
                results.append(WriteResult(action.crm_id, True))
            elif ref in refused:
                results.append(
                    WriteResult(action.crm_id, False, f"HubSpot refused the task: {refused[ref]}")
                )
            else:
                # Neither created nor refused in the answer: unknown, so the drain asks
                # HubSpot before a next attempt (retriable, attempt counted).
                results.append(
                    WriteResult(action.crm_id, False, "no result reported", retriable=True)
                )
        return results

    def performed_batch(
        self, actions: Sequence[Action], *, wait_for_index: bool = True
    ) -> set[str]:
        """The keys of ``actions`` whose effect HubSpot already holds.

        Tasks are looked up by their Refs, five a search; ``wait_for_index`` looks again
        for those not found, once the search index's lag has passed.
        """
        found = {
            action.key
            for action in actions
            if action.kind != "task" and self.performed(action, wait_for_index=wait_for_index)
        }
        tasks = [action for action in actions if action.kind == "task"]
        found |= self._find_tasks(tasks)
        missing = [action for action in tasks if action.key not in found]
        # HubSpot's search index trails its writes by a few seconds: a task created
        # just before a crash or a failed answer may not be found at once.
        if missing and wait_for_index and self.index_lag_s > 0:
            self._sleep(self.index_lag_s)
            found |= self._find_tasks(missing)
        return found

    def active_enrollment(self, crm_id: str) -> EnrollmentState | None:
        """The contact's active enrollment, or None (HubSpot answers 404 for none)."""
        try:
            data = self.client.raw(
                "read enrollment", "GET", f"{SEQUENCES}/enrollments/contact/{crm_id}"
            )
        except NotFound:
            return None
        return EnrollmentState(str(data.get("sequenceId", "")), str(data.get("id", "")))

    def pause_sequences(self, crm_id: str) -> WriteResult:
        """Not possible through HubSpot's API; the result says so."""
        return WriteResult(crm_id, False, CANNOT_PAUSE)

    # -- the calls ---------------------------------------------------------------------

    def _create_task(self, action: Action) -> None:
        # Not retried here: the drain asks the CRM (``performed``) before a next attempt.
        self.client.raw("create task", "POST", TASKS, body=_task_input(action), retry=False)

    def _find_tasks(self, actions: Sequence[Action]) -> set[str]:
        """Keys of the actions whose task (contact and Ref) HubSpot's search shows."""
        keys = {reference(action.key): action.key for action in actions}
        found: set[str] = set()
        for start in range(0, len(actions), REFS_PER_SEARCH):
            chunk = actions[start : start + REFS_PER_SEARCH]
            groups = [
                {
                    "filters": [
                        {
                            "propertyName": "associations.contact",
                            "operator": "EQ",
                            "value": action.crm_id,
                        },
                        {
                            "propertyName": "hs_task_body",
                            "operator": "CONTAINS_TOKEN",
                            "value": reference(action.key),
                        },
                    ]
                }
                for action in chunk
            ]
            data = self._search_tasks(
                {"filterGroups": groups, "limit": 100, "properties": ["hs_task_body"]}
            )
            for item in data.get("results") or []:
                body = str((item.get("properties") or {}).get("hs_task_body") or "")
                found.update(keys[word] for word in body.split() if word in keys)
        return found

    def _search_tasks(self, body: dict[str, Any]) -> dict[str, Any]:
        """One task search (every task search goes through here)."""
        return self.client.raw("search tasks", "POST", f"{TASKS}/search", body=body)

    def _enroll(self, action: Action) -> WriteResult:
        payload = action.payload
        owner = str(payload.get("owner_id") or "")
        user_id = str(payload.get("user_id") or self._user_ids.get(owner) or "")
        if not user_id and owner:
            self.owners()
            user_id = self._user_ids.get(owner, "")
        if not user_id:
            return WriteResult(action.crm_id, False, "no sender (owner with a HubSpot user)")
        # The owner sends, as a rep enrolling by hand would; the payload's address (the
        # configured default) only when HubSpot lists none for the owner.
        sender = self._emails.get(owner) or str(payload.get("sender_email") or "")
        if not sender:
            return WriteResult(action.crm_id, False, "no sender email for the enrollment")
        sequence = str(payload.get("sequence_id"))
        try:
            self.client.raw(
                "enroll in sequence",
                "POST",
                f"{SEQUENCES}/enrollments",
                qs={"userId": user_id},
                body={
                    "contactId": action.crm_id,
                    "sequenceId": sequence,
                    "senderEmail": sender,
                },
            )
        except Conflict:
            current = self.active_enrollment(action.crm_id)
            if current is not None and current.sequence_id == sequence:
                return WriteResult(action.crm_id, True)
            return WriteResult(
                action.crm_id, False, "already enrolled in another sequence", retriable=True
            )
        except PermanentRecordError as exc:
            return WriteResult(action.crm_id, False, str(exc))
        return WriteResult(action.crm_id, True)

    def _add_to_list(self, action: Action) -> None:
        list_id = str(action.payload.get("list_id"))
        self.client.raw(
            "add to list", "PUT", f"/crm/v3/lists/{list_id}/memberships/add", body=[action.crm_id]
        )


def _task_input(action: Action) -> dict[str, Any]:
    """A task's properties (its Ref at the end of the body) and its contact association."""
    payload = action.payload
    body_text = f"{payload.get('body', '')}\n\nRef: {reference(action.key)}".strip()
    properties = {
        "hs_task_subject": str(payload.get("subject", ""))[:255],
        "hs_task_body": body_text,
        "hs_timestamp": _millis(payload.get("due_at")),
        "hs_task_priority": str(payload.get("priority", "HIGH")),
        "hs_task_status": "NOT_STARTED",
        "hs_task_type": "TODO",
    }
    if payload.get("owner_id"):
        properties["hubspot_owner_id"] = str(payload["owner_id"])
    return {
        "properties": properties,
        "associations": [
            {
                "to": {"id": action.crm_id},
                "types": [
                    {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": TASK_TO_CONTACT}
                ],
            }
        ],
    }


def _owner(item: Mapping[str, Any], *, active: bool) -> Owner:
    name = " ".join(str(item.get(k) or "") for k in ("firstName", "lastName")).strip()
    user = item.get("userId")
    return Owner(
        id=str(item.get("id")),
        email=str(item.get("email") or ""),
        name=name,
        active=active and not item.get("archived", False),
        user_id=str(user) if user is not None else None,
    )


def _batch_outcome(data: Any) -> tuple[set[str], dict[str, str]]:
    """The Refs a batch create answer says were created, and those it refused (why).

    An answer not shaped as HubSpot's is a :class:`~crmbridge.errors.TransientError`:
    which tasks were created is then unknown, and the drain asks before sending again.
    """
    try:
        created = {str(item[TRACE_ID]) for item in _objects(data, "results") if TRACE_ID in item}
        refused: dict[str, str] = {}
        for error in _objects(data, "errors"):
            context = error.get("context") or {}
            traces = context.get(TRACE_ID) or []
            if not isinstance(traces, list):
                raise TypeError(f"errors[].context.{TRACE_ID} is not a list")
            for trace in traces:
                refused[str(trace)] = str(error.get("message") or error.get("category"))
    except (TypeError, AttributeError) as exc:
        raise TransientError(
            f"HubSpot answered the task batch with a malformed body ({str(exc)[:120]})"
        ) from None
    return created, refused


def _objects(data: Any, key: str) -> list[dict[str, Any]]:
    """``data[key]``, a list of JSON objects (TypeError if the answer is otherwise)."""
    if not isinstance(data, dict):
        raise TypeError("the answer is not an object")
    items = data.get(key) or []
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise TypeError(f"{key} is not a list of objects")
    return items
