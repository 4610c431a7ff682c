"""crmbridge's Salesforce Tasks: the record it creates for an action, and its reference.

A Task carries the one-word reference of its action's key on the last line of its
``Description`` (``Ref: crmbridgeref…``). ``Description`` is a long text field, which
SOQL cannot filter on: tasks are found by their lead or contact (``WhoId``, which SOQL
filters on) and the reference is then looked for in the text read back.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Mapping
from typing import Any

from crmbridge import clock
from crmbridge.clock import parse_instant
from crmbridge.connector import Action

REF_PREFIX = "crmbridgeref"
#: Salesforce's Task priorities (a restricted picklist) by crmbridge's names.
PRIORITIES: Mapping[str, str] = {"HIGH": "High", "MEDIUM": "Normal", "LOW": "Low"}
NOT_STARTED = "Not Started"
SUBJECT_MAX = 255
#: Task.Description holds 32,000 characters; the reference must survive the cut.
DESCRIPTION_MAX = 32_000


def reference(key: str) -> str:
    """The one-word token a task carries for its action key."""
    return REF_PREFIX + hashlib.sha256(key.encode()).hexdigest()[:24]


def references_in(text: Any) -> set[str]:
    """The references a task's ``Description`` holds (words only: linear time)."""
    if not isinstance(text, str):
        return set()
    return {word for word in text.split() if word.startswith(REF_PREFIX)}


def _activity_date(value: Any) -> str:
    moment = clock.now()
    # An unreadable due date leaves the task due today: it still reaches its owner.
    with contextlib.suppress(ValueError):
        moment = parse_instant(str(value)) if value else moment
    return moment.date().isoformat()


def task_record(action: Action, owner_id: str | None) -> dict[str, Any]:
    """The Collections create record of a task action (its reference in Description)."""
    payload = action.payload
    tail = f"\n\nRef: {reference(action.key)}"
    body = str(payload.get("body", ""))[: DESCRIPTION_MAX - len(tail)]
    priority = str(payload.get("priority", "HIGH")).upper()
    record: dict[str, Any] = {
        "attributes": {"type": "Task"},
        "WhoId": action.crm_id,
        "Subject": str(payload.get("subject", ""))[:SUBJECT_MAX],
        "Description": (body + tail).strip(),
        "ActivityDate": _activity_date(payload.get("due_at")),
        "Priority": PRIORITIES.get(priority, "Normal"),
        "Status": NOT_STARTED,
    }
    if owner_id:
        record["OwnerId"] = owner_id
    return record
