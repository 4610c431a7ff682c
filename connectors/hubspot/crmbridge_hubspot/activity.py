"""HubSpot activity that lives on the contact record, turned into canonical events.

HubSpot exposes a contact's latest activity as properties rather than as an event
stream. Each new value of these properties becomes one canonical event; the event id
includes the value, so reading the same contact again never duplicates it.

| HubSpot property                          | canonical event | properties                |
| ----------------------------------------- | --------------- | ------------------------- |
| recent_conversion_date (+ _event_name)    | form_submit     | form (the conversion name)|
| hs_sales_email_last_replied               | email_reply     | source = sales_email      |
| hs_email_last_open_date                   | email_open      | source = marketing_email  |
| hs_email_last_click_date                  | email_click     | source = marketing_email  |
| hs_analytics_num_page_views (a new count) | page_view       | page_views = the count    |
| notes_last_contacted                      | sales_activity  | source = last_contacted   |

``notes_last_contacted`` ("Last contacted") is when a rep last logged a call, an
email or a meeting with the contact: it stops the SLA clock. It scores nothing unless
a rule names ``sales_activity``.

Page views carry no URL (HubSpot keeps only a count), so URL rules do not match them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from crmbridge.clock import parse_instant
from crmbridge.records import CanonicalEvent

#: (property, event type, extra event properties) for the dated activity properties.
DATED: tuple[tuple[str, str, dict[str, str]], ...] = (
    ("recent_conversion_date", "form_submit", {}),
    ("hs_sales_email_last_replied", "email_reply", {"source": "sales_email"}),
    ("hs_email_last_open_date", "email_open", {"source": "marketing_email"}),
    ("hs_email_last_click_date", "email_click", {"source": "marketing_email"}),
    ("notes_last_contacted", "sales_activity", {"source": "last_contacted"}),
)
PAGE_VIEWS = "hs_analytics_num_page_views"
ACTIVITY_PROPERTIES = (*(name for name, _, _ in DATED), "recent_conversion_event_name", PAGE_VIEWS)


def _instant(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    text = str(value)
    try:
        if text.isdigit():  # HubSpot also writes dates as ms since the epoch
            return datetime.fromtimestamp(int(text) / 1000, UTC)
        return parse_instant(text)
    except ValueError:
        return None


def activity_events(
    contact_id: str, properties: Mapping[str, Any], modified_at: datetime | None
) -> list[CanonicalEvent]:
    """The canonical events this contact's activity properties stand for."""
    events = []
    ref = {"crm": "hubspot", "id": contact_id}
    for name, kind, extra in DATED:
        moment = _instant(properties.get(name))
        if moment is None:
            continue
        props = dict(extra)
        if kind == "form_submit" and properties.get("recent_conversion_event_name"):
            props["form"] = str(properties["recent_conversion_event_name"])
        events.append(
            CanonicalEvent(
                event_id=f"hubspot:{contact_id}:{kind}:{int(moment.timestamp() * 1000)}",
                type=kind,
                occurred_at=moment,
                contact=ref,
                properties=props,
            )
        )
    views = properties.get(PAGE_VIEWS)
    if views not in (None, "", "0") and modified_at is not None:
        events.append(
            CanonicalEvent(
                event_id=f"hubspot:{contact_id}:page_views:{views}",
                type="page_view",
                occurred_at=modified_at,
                contact=ref,
                properties={"page_views": str(views), "source": "hubspot_analytics"},
            )
        )
    return events
