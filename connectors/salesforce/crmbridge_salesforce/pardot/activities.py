"""Pardot visitor activities turned into canonical events (pure: no I/O).

Each v5 visitor activity has a numeric ``type``; the ones crmbridge scores become
events, the others are skipped and counted by type (:class:`Parsed.skipped`).

| type | Pardot's name             | canonical event      |
| ---- | ------------------------- | -------------------- |
| 1    | Click (email link)        | email_click          |
| 2    | View (tracked page)       | page_view            |
| 4    | Success (form, form handler) | form_submit       |
| 11   | Open (email)              | email_open           |
| 17   | Click (Third Party)       | email_click          |
| 20   | Visit (a session)         | site_visit           |
| 21   | Custom URL Click          | link_click           |
| 24   | Attended Webinar          | webinar_attended     |
| 25   | Registered for Webinar    | webinar_registered   |

The event is about the activity's prospect: its Salesforce lead or contact id
(``prospect.salesforceId``) when it has one, else its email. An activity with neither
(an anonymous visitor's) makes no event. Its id is ``pardot:activity:<id>``, so an
activity read again is stored once; it happened at ``createdAt`` (Pardot's "time the
activity occurred"); ``updatedAt`` places it in the read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from crmbridge.clock import parse_instant
from crmbridge.records import CanonicalEvent

#: Pardot type code → (canonical event type, extra properties).
EVENT_TYPES: Mapping[int, tuple[str, Mapping[str, str]]] = {
    1: ("email_click", {}),
    2: ("page_view", {}),
    4: ("form_submit", {}),
    11: ("email_open", {}),
    17: ("email_click", {"third_party": "true"}),
    20: ("site_visit", {}),
    21: ("link_click", {}),
    24: ("webinar_attended", {}),
    25: ("webinar_registered", {}),
}
#: The fields every query asks for (``fields`` is required by v5).
FIELDS = (
    "id",
    "type",
    "typeName",
    "details",
    "createdAt",
    "updatedAt",
    "prospectId",
    "prospect.salesforceId",
    "prospect.email",
    "campaignId",
    "formId",
    "formHandlerId",
    "emailId",
    "customRedirectId",
    "landingPageId",
)
#: Ids of Pardot objects carried as event properties (``campaignId`` → ``campaign_id``).
_LINKS = {
    "campaignId": "campaign_id",
    "formId": "form_id",
    "formHandlerId": "form_handler_id",
    "emailId": "email_id",
    "customRedirectId": "custom_redirect_id",
    "landingPageId": "landing_page_id",
    "prospectId": "prospect_id",
}
_SALESFORCE_ID = re.compile(r"^(?:00Q|003)[A-Za-z0-9]{12}(?:[A-Za-z0-9]{3})?$")
_MAX_ID = 2**63 - 1
_MAX_TEXT = 500
_MAX_TIME = 64
_MAX_EMAIL = 254


@dataclass(frozen=True, slots=True)
class Parsed:
    """One activity read: where it stands in the read, and its event or why none."""

    activity_id: str
    updated_at: datetime
    #: When the activity happened (``createdAt``), if readable.
    created_at: datetime | None = None
    event: CanonicalEvent | None = None
    #: Why no event (``type 6``, ``no prospect``, ...); ``None`` when there is one.
    skipped: str | None = None


def _number(value: Any) -> int | None:
    """A positive id Pardot gives as a JSON integer (a bool or a float is none)."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 0 < value <= _MAX_ID else None


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value or len(value) > _MAX_TIME:
        return None
    try:
        return parse_instant(value)
    except (ValueError, OverflowError):
        return None


def place(row: Any) -> tuple[str, datetime] | None:
    """The ``(id, updatedAt)`` that place an activity in the read, if it has them."""
    if not isinstance(row, Mapping):
        return None
    number, updated = _number(row.get("id")), _instant(row.get("updatedAt"))
    if number is None or updated is None:
        return None
    return str(number), updated


def _contact(row: Mapping[str, Any]) -> dict[str, str] | None:
    prospect = row.get("prospect")
    if not isinstance(prospect, Mapping):
        return None
    crm_id = prospect.get("salesforceId")
    if isinstance(crm_id, str) and _SALESFORCE_ID.match(crm_id):
        return {"crm": "salesforce", "id": crm_id}
    email = prospect.get("email")
    if isinstance(email, str) and "@" in email and len(email) <= _MAX_EMAIL:
        return {"email": email.strip()}
    return None


def _properties(row: Mapping[str, Any], code: int, extra: Mapping[str, str]) -> dict[str, str]:
    props = {"source": "pardot", "pardot_type": str(code), **extra}
    name = row.get("typeName")
    if isinstance(name, str) and name:
        props["pardot_type_name"] = name[:_MAX_TEXT]
    details = row.get("details")
    if isinstance(details, str) and details:
        props["details"] = details[:_MAX_TEXT]
    for field, prop in _LINKS.items():
        number = _number(row.get(field))
        if number is not None:
            props[prop] = str(number)
    return props


def parse(row: Any) -> Parsed | None:
    """The activity ``row`` stands for; ``None`` when it cannot even be placed (no id or
    no readable ``updatedAt``). Never raises on odd values."""
    placed = place(row)
    if placed is None:
        return None
    activity_id, updated = placed
    created = _instant(row.get("createdAt"))
    code = row.get("type")
    if isinstance(code, bool) or not isinstance(code, int) or code not in EVENT_TYPES:
        shown = code if isinstance(code, int) and not isinstance(code, bool) else "?"
        text = str(shown)[:12]
        return Parsed(activity_id, updated, created, skipped=f"type {text}")
    contact = _contact(row)
    if contact is None:
        return Parsed(activity_id, updated, created, skipped="no prospect")
    occurred = created or updated
    kind, extra = EVENT_TYPES[code]
    try:
        event = CanonicalEvent(
            event_id=f"pardot:activity:{activity_id}",
            type=kind,
            occurred_at=occurred,
            contact=contact,
            properties=_properties(row, code, extra),
        )
    except ValueError:
        # An email or text the event model refuses: counted, never a crash.
        return Parsed(activity_id, updated, created, skipped="refused by the event model")
    return Parsed(activity_id, updated, created, event)
