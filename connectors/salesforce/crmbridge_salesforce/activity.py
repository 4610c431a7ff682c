"""Salesforce activity turned into canonical events: Tasks and EmailMessages.

Both objects are swept like leads (SOQL on ``SystemModstamp`` with the look-back);
each row becomes at most one event, its id built from the row's id, so a row read
again never makes a second event.

| Salesforce row                         | canonical event  | source        | about           |
| -------------------------------------- | ---------------- | ------------- | --------------- |
| Task, TaskSubtype or Type "Call"       | sales_activity   | call          | WhoId           |
| Task, Type "Meeting"                   | meeting_booked   | task          | WhoId           |
| Task, TaskSubtype or Type "Email"      | sales_activity   | email         | WhoId           |
| Task that is a reply (:class:`ReplyTasks`) | email_reply  | task          | WhoId           |
| EmailMessage, Incoming                 | email_reply      | sales_email   | FromAddress     |
| EmailMessage, outgoing                 | sales_activity   | email         | first ToAddress |

``sales_activity`` (a rep called, wrote or met) stops the hand-off's SLA clock when
the rep who logged it (``CreatedById``, carried as ``owner_id``) is the lead's owner;
``email_reply`` pauses the lead's automation. A reply Task makes its reply event as
well as its own (an inbound call the owner logged both pauses and stops the clock).
Deleted rows and tasks of another kind make no event.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from crmbridge.clock import parse_instant
from crmbridge.records import CanonicalEvent
from crmbridge_salesforce.tasks import references_in

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
        "CallType",
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


#: Read of Tasks only when a reply rule looks at types or subjects: crmbridge's own
#: tasks (their reference in it) are never a reply.
DESCRIPTION = "Description"


@dataclass(frozen=True, slots=True)
class ReplyTasks:
    """Which Tasks are a lead's reply, like an incoming EmailMessage.

    Salesforce's Task has no "incoming" flag. A Task is a reply when its ``CallType``
    (a restricted picklist: Inbound, Internal, Outbound) is one of ``call_types`` (an
    inbound call: the lead called), or its ``Type`` (an org's own picklist, e.g. an
    "Inbound Email" value) is one of ``types``, or its ``Subject`` starts with one of
    ``subjects``. Values compare without regard to case. A task crmbridge created (its
    reference in ``Description``) is never a reply.
    """

    call_types: frozenset[str] = frozenset({"inbound"})
    types: frozenset[str] = frozenset()
    subjects: tuple[str, ...] = ()

    @classmethod
    def of(
        cls, call_types: Sequence[str], types: Sequence[str], subjects: Sequence[str]
    ) -> ReplyTasks:
        """The rule from the settings' lists."""
        return cls(
            frozenset(v.casefold() for v in call_types),
            frozenset(v.casefold() for v in types),
            tuple(v.casefold() for v in subjects if v),
        )

    @property
    def needs_description(self) -> bool:
        """Whether a read must fetch ``Description`` to leave crmbridge's tasks out."""
        return bool(self.types or self.subjects)

    def matches(self, row: Mapping[str, Any]) -> bool:
        """Is this Task row a reply?"""
        if references_in(row.get(DESCRIPTION)):
            return False
        if _folded(row.get("CallType")) in self.call_types:
            return True
        if _folded(row.get("Type")) in self.types:
            return True
        subject = _folded(row.get("Subject"))
        return bool(subject) and subject.startswith(self.subjects)


def _folded(value: Any) -> str:
    return value.strip().casefold() if isinstance(value, str) else ""


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


def reply_task_event(row: Mapping[str, Any], rule: ReplyTasks) -> CanonicalEvent | None:
    """The reply a Task row stands for, if ``rule`` says it is one."""
    who = row.get("WhoId")
    if row.get("IsDeleted") or not isinstance(who, str) or not who or not rule.matches(row):
        return None
    moment = _moment(row, "CompletedDateTime", "CreatedDate", "SystemModstamp")
    if moment is None:
        return None
    return CanonicalEvent(
        event_id=f"salesforce:task:{row['Id']}:reply",
        type="email_reply",
        occurred_at=moment,
        contact={"crm": "salesforce", "id": who},
        properties={"source": "task", **_subject(row)},
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


def activity_events(
    sobject: str, row: Mapping[str, Any], replies: ReplyTasks | None = None
) -> tuple[CanonicalEvent, ...]:
    """The events of a Task or EmailMessage row (none for a row that cannot be one);
    ``replies`` says which Tasks are replies (default: inbound calls)."""
    try:
        if sobject != TASK:
            found = [email_event(row)]
        else:
            found = [task_event(row), reply_task_event(row, replies or ReplyTasks())]
    except ValueError:
        # An address or subject the event model refuses: the row makes no event.
        return ()
    return tuple(event for event in found if event is not None)
