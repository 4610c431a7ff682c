"""Salesforce activity turned into canonical events: Tasks and EmailMessages.

Both objects are swept like leads (SOQL on ``SystemModstamp`` with the look-back);
each row becomes at most one event, its id built from the row's id, so a row read
again never makes a second event.

| Salesforce row                         | canonical event  | source        | about           |
| -------------------------------------- | ---------------- | ------------- | --------------- |
| Task, TaskSubtype or Type "Call"       | sales_activity   | call          | WhoId           |
| Task, Type "Meeting"                   | meeting_booked   | task          | WhoId           |
| Task, TaskSubtype or Type "Email"      | sales_activity   | email         | WhoId           |
| EmailMessage, Incoming                 | email_reply      | sales_email   | FromAddress     |
| EmailMessage, outgoing                 | sales_activity   | email         | first ToAddress |

``sales_activity`` (a rep called, wrote or met) stops the hand-off's SLA clock when
the rep who logged it (``CreatedById``, carried as ``owner_id``) is the lead's owner;
``email_reply`` pauses the lead's automation. Deleted rows and tasks of another kind
make no event.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from crmbridge.clock import parse_instant
from crmbridge.records import CanonicalEvent

TASK = "Task"
EMAIL = "EmailMessage"
ACTIVITY_OBJECTS = (TASK, EMAIL)
#: Fields read of each activity object (those the org has).
ACTIVITY_FIELDS = {
    TASK: (
        "Id",
        "SystemModstamp",
        "IsDeleted",
        "WhoId",
        "Subject",
        "TaskSubtype",
        "Type",
        "CompletedDateTime",
        "CreatedDate",
        "CreatedById",
    ),
    EMAIL: (
        "Id",
        "SystemModstamp",
        "IsDeleted",
        "Incoming",
        "FromAddress",
        "ToAddress",
        "Subject",
        "MessageDate",
        "ReplyToEmailMessageId",
        "CreatedDate",
        "CreatedById",
    ),
}
_SUBJECT = 200
#: A User's id: 15 or 18 characters starting 005.
_USER_ID = re.compile(r"005[A-Za-z0-9]{12}(?:[A-Za-z0-9]{3})?")


def _moment(row: Mapping[str, Any], *names: str) -> datetime | None:
    for name in names:
        value = row.get(name)
        if isinstance(value, str) and value:
            try:
                return parse_instant(value)
            except ValueError:
                continue
    return None


def _subject(row: Mapping[str, Any]) -> dict[str, str]:
    subject = row.get("Subject")
    return {"subject": subject[:_SUBJECT]} if isinstance(subject, str) and subject else {}


def _actor(row: Mapping[str, Any]) -> dict[str, str]:
    """Who logged the row (its creator), as the ``owner_id`` the SLA clock compares."""
    by = row.get("CreatedById")
    return {"owner_id": by} if isinstance(by, str) and _USER_ID.fullmatch(by) else {}


def task_event(row: Mapping[str, Any]) -> CanonicalEvent | None:
    """The event a Task row stands for, if any."""
    who = row.get("WhoId")
    if row.get("IsDeleted") or not isinstance(who, str) or not who:
        return None
    kinds = {str(row.get("TaskSubtype") or "").lower(), str(row.get("Type") or "").lower()}
    if "meeting" in kinds:
        kind, extra = "meeting_booked", {"source": "task"}
    elif "call" in kinds:
        kind, extra = "sales_activity", {"source": "call"}
    elif "email" in kinds:
        kind, extra = "sales_activity", {"source": "email"}
    else:
        return None
    moment = _moment(row, "CompletedDateTime", "CreatedDate", "SystemModstamp")
    if moment is None:
        return None
    return CanonicalEvent(
        event_id=f"salesforce:task:{row['Id']}",
        type=kind,
        occurred_at=moment,
        contact={"crm": "salesforce", "id": who},
        properties={**extra, **_subject(row), **_actor(row)},
    )


def email_event(row: Mapping[str, Any]) -> CanonicalEvent | None:
    """The event an EmailMessage row stands for, if any."""
    if row.get("IsDeleted"):
        return None
    incoming = bool(row.get("Incoming"))
    address = row.get("FromAddress") if incoming else row.get("ToAddress")
    if not isinstance(address, str) or "@" not in address:
        return None
    first = address.split(";")[0].split(",")[0].strip()
    moment = _moment(row, "MessageDate", "CreatedDate", "SystemModstamp")
    if moment is None or not first or len(first) > 254:
        return None
    kind = "email_reply" if incoming else "sales_activity"
    extra = {"source": "sales_email"} if incoming else {"source": "email", **_actor(row)}
    return CanonicalEvent(
        event_id=f"salesforce:email:{row['Id']}",
        type=kind,
        occurred_at=moment,
        contact={"email": first},
        properties={**extra, **_subject(row)},
    )


def activity_event(sobject: str, row: Mapping[str, Any]) -> CanonicalEvent | None:
    """The event of a Task or EmailMessage row; a row that cannot be one gives none."""
    try:
        return task_event(row) if sobject == TASK else email_event(row)
    except ValueError:
        # An address or subject the event model refuses: the row makes no event.
        return None
