"""The sandbox's Account Engagement (Pardot) business unit: prospects and visitor
activities, and the v5 query semantics crmbridge relies on.

Times are stored to the second (as Pardot shows them, so many records share one) and
answered in the API user's time zone (``RESPONSE_OFFSET``), as v5 does. A record can
be *staged*: it exists with its ``updatedAt`` but queries do not see it until
:meth:`PardotState.commit` (v5 answers from a cache up to a minute behind). A query is
keyset-paged: the page token holds the query's filters, order and the sort key of the
last row returned, and each page is read from the live data after it (a record updated
mid-read moves ahead and is met again).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from crmbridge import clock

#: The business unit the sandbox answers for (18 characters starting 0Uv).
BUSINESS_UNIT_ID = "0Uv5f000000SBOXAAA"
#: The API user's time zone: v5 reports times in it.
RESPONSE_OFFSET = timezone(timedelta(hours=-8))
#: A token sequence stops after this many records (Pardot: 100,000).
TOKEN_RECORDS = 100_000
#: Type codes and Pardot's names for them.
TYPE_NAMES = {
    1: "Click", 2: "View", 3: "Error", 4: "Success", 5: "Session", 6: "Sent", 7: "Search",
    11: "Open", 12: "Unsubscribe Page", 13: "Bounced", 17: "Click (Third Party)",
    20: "Visit", 21: "Custom URL Click", 23: "Invited to Webinar",
    24: "Attended Webinar", 25: "Registered for Webinar",
}  # fmt: skip


@dataclass(frozen=True)
class ObjectSpec:
    """What a v5 object allows: its fields, sub-object fields, sort and filter fields."""

    fields: frozenset[str]
    sortable: frozenset[str]
    filters: frozenset[str]


ACTIVITY = ObjectSpec(
    fields=frozenset({
        "id", "type", "typeName", "details", "createdAt", "updatedAt", "prospectId",
        "visitorId", "visitId", "campaignId", "formId", "formHandlerId", "emailId",
        "listEmailId", "customRedirectId", "landingPageId", "fileId",
        "prospect.id", "prospect.email", "prospect.salesforceId",
    }),
    sortable=frozenset({"id", "createdAt", "updatedAt"}),
    filters=frozenset({
        "updatedAtAfterOrEqualTo", "updatedAtAfter", "updatedAtBefore",
        "updatedAtBeforeOrEqualTo", "createdAtAfterOrEqualTo", "idGreaterThan",
        "prospectId", "type",
    }),
)  # fmt: skip
PROSPECT = ObjectSpec(
    fields=frozenset({
        "id", "email", "firstName", "lastName", "salesforceId", "crmLeadFid",
        "crmContactFid", "score", "grade", "createdAt", "updatedAt",
    }),
    sortable=frozenset({"id", "createdAt", "updatedAt", "lastActivityAt"}),
    filters=frozenset({
        "updatedAtAfterOrEqualTo", "updatedAtAfter", "updatedAtBefore",
        "updatedAtBeforeOrEqualTo", "idGreaterThan", "email",
    }),
)  # fmt: skip
SPECS = {"visitor-activities": ACTIVITY, "prospects": PROSPECT}


def second(moment: datetime | None = None) -> datetime:
    """``moment`` (default now) in UTC, to the second as Pardot keeps times."""
    value = (moment or clock.now()).astimezone(UTC)
    return value.replace(microsecond=0)


def shown(value: Any) -> Any:
    """A stored value as v5 writes it (times in the API user's zone)."""
    if isinstance(value, datetime):
        return value.astimezone(RESPONSE_OFFSET).isoformat()
    return value


@dataclass
class PardotState:
    """Prospects and visitor activities by id (thread-safe)."""

    business_unit_id: str = BUSINESS_UNIT_ID
    #: Calls per day before code 122 (Growth edition: 25,000).
    daily_limit: int = 25_000
    #: Requests answered at once before code 66 (Pardot: 5).
    max_concurrent: int = 5
    #: A fault: every later page names itself as the next one (a cycle of page tokens).
    looping_pages: bool = False
    prospects: dict[int, dict[str, Any]] = field(default_factory=dict)
    activities: dict[int, dict[str, Any]] = field(default_factory=dict)
    staged: set[tuple[str, int]] = field(default_factory=set)
    calls: dict[str, int] = field(default_factory=dict)
    _ids: Any = field(default_factory=lambda: itertools.count(1_000_001))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add_prospect(self, *, email: str | None, salesforce_id: str | None = None,
                     score: int = 0, grade: str | None = None,
                     at: datetime | None = None) -> int:  # fmt: skip
        """A prospect; its id."""
        with self._lock:
            pid: int = next(self._ids)
            lead = salesforce_id if salesforce_id and salesforce_id.startswith("00Q") else None
            contact = salesforce_id if salesforce_id and salesforce_id.startswith("003") else None
            stamp = second(at)
            self.prospects[pid] = {
                "id": pid, "email": email, "salesforceId": salesforce_id,
                "crmLeadFid": lead, "crmContactFid": contact, "score": score,
                "grade": grade, "createdAt": stamp, "updatedAt": stamp,
                "firstName": None, "lastName": None,
            }  # fmt: skip
            return pid

    def update_prospect(self, pid: int, at: datetime | None = None, **values: Any) -> None:
        """Change a prospect (``score=``, ``grade=``...); stamps ``updatedAt`` (now, or
        ``at``)."""
        with self._lock:
            self.prospects[pid].update(values, updatedAt=second(at))

    def add_activities(self, rows: Iterable[Mapping[str, Any]], *, staged: bool = False
                       ) -> list[int]:  # fmt: skip
        """Activities from ``{"type", "prospect_id", "at", "created_at", "details"}``."""
        ids = []
        with self._lock:
            for row in rows:
                aid = next(self._ids)
                stamp = second(row.get("at"))
                self.activities[aid] = {
                    "id": aid, "type": row["type"],
                    "typeName": TYPE_NAMES.get(row["type"], "Other"),
                    "details": row.get("details"),
                    "createdAt": second(row.get("created_at") or stamp),
                    "updatedAt": stamp, "prospectId": row.get("prospect_id"),
                    "visitorId": None, "visitId": None, "campaignId": row.get("campaign_id"),
                    "formId": row.get("form_id"), "formHandlerId": None, "emailId": None,
                    "listEmailId": None, "customRedirectId": None, "landingPageId": None,
                    "fileId": None,
                }  # fmt: skip
                if staged:
                    self.staged.add(("visitor-activities", aid))
                ids.append(aid)
        return ids

    def touch_activity(self, aid: int, at: datetime | None = None) -> None:
        """Pardot updated the activity (its ``updatedAt`` moves)."""
        with self._lock:
            self.activities[aid]["updatedAt"] = second(at)

    def commit(self) -> None:
        """Every staged record becomes visible (the cache caught up)."""
        with self._lock:
            self.staged.clear()

    def count_call(self) -> bool:
        """Count one call against today's limit; False when the limit is used up."""
        day = clock.now().astimezone(UTC).date().isoformat()
        with self._lock:
            used = self.calls.get(day, 0)
            if used >= self.daily_limit:
                return False
            self.calls[day] = used + 1
            return True

    def rows(self, obj: str) -> list[dict[str, Any]]:
        """The visible records of ``obj`` (copies), with their prospect when asked."""
        with self._lock:
            table = self.activities if obj == "visitor-activities" else self.prospects
            return [dict(r) for i, r in table.items() if (obj, i) not in self.staged]

    def prospect(self, pid: Any) -> dict[str, Any] | None:
        """A prospect by id (a copy)."""
        with self._lock:
            found = self.prospects.get(pid) if isinstance(pid, int) else None
            return dict(found) if found is not None else None


def sort_key(row: Mapping[str, Any], order: Sequence[tuple[str, bool]]) -> tuple[Any, ...]:
    """The row's position in ``order`` (``(field, descending)``), ``id`` last."""
    key: list[Any] = []
    for name, descending in (*order, ("id", False)):
        value = row.get(name)
        number = value.timestamp() if isinstance(value, datetime) else value or 0
        key.append(-number if descending else number)
    return tuple(key)
