"""Incremental reads of Pardot: visitor activities (events) and prospects (score, grade).

Both are v5 queries ``orderBy=updatedAt,id`` filtered ``updatedAtAfterOrEqualTo`` a
look-back window before the newest change read
(:class:`~crmbridge.connector.LookbackCursor`), followed page by page through
``nextPageUrl`` (Pardot's page token keeps the query's filter and order and resumes
after the last row it returned). v5 answers from a cache that can be up to a minute
behind, so an activity can show up with an ``updatedAt`` below one already read: the
window re-reads it, and the cursor remembers every activity read within the window so
one read again is dropped. Ties on ``updatedAt`` across page boundaries are kept whole:
the next read starts at or before the tie and drops the ids it already holds.

An activity read again because it changed (a newer ``updatedAt``) is the same activity:
it makes no second event (and its event id would be stored once anyway).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from crmbridge.connector import LookbackCursor
from crmbridge.errors import TransientError
from crmbridge.records import CanonicalEvent
from crmbridge_salesforce.pardot.activities import FIELDS, Parsed, parse, place
from crmbridge_salesforce.pardot.client import PardotClient
from crmbridge_salesforce.pardot.settings import PardotSettings

ACTIVITIES = "visitor-activities"
PROSPECTS = "prospects"
ORDER = "updatedAt,id"
PROSPECT_FIELDS = (
    "id",
    "email",
    "salesforceId",
    "crmLeadFid",
    "crmContactFid",
    "score",
    "grade",
    "updatedAt",
)
#: Pardot's grades: F to A+ (a prospect starts at D).
GRADES = frozenset({"F", *(f"{letter}{sign}" for letter in "ABCD" for sign in ("", "+", "-"))})
_MAX_SCORE = 10**9


@dataclass
class ActivityPage:
    """The events of one page of activities, the position after it, and what was skipped."""

    events: tuple[CanonicalEvent, ...]
    position: LookbackCursor
    skipped: Counter[str] = field(default_factory=Counter)


def _params(fields: tuple[str, ...], start: datetime | None, limit: int) -> dict[str, str]:
    params = {"fields": ",".join(fields), "orderBy": ORDER, "limit": str(limit)}
    if start is not None:
        params["updatedAtAfterOrEqualTo"] = start.isoformat()
    return params


def _pages(
    client: PardotClient, obj: str, params: Mapping[str, str], what: str
) -> Iterator[list[Any]]:
    answer = client.query(what, obj, params)
    # A page naming one already answered would be followed for ever (a read may yield
    # nothing between pages it holds already, so no stop would end it).
    followed: set[str] = set()
    while True:
        values = answer.get("values")
        yield values if isinstance(values, list) else []
        following = answer.get("nextPageUrl")
        if not isinstance(following, str) or not following:
            return
        if following in followed:
            raise TransientError(
                f"Pardot named a page it had already answered as the next ({what}); the "
                "read starts again from its stored position"
            )
        followed.add(following)
        answer = client.next_page(what, following)


def sweep_activities(
    client: PardotClient, position: LookbackCursor, settings: PardotSettings
) -> Iterator[ActivityPage]:
    """The activities changed since ``position``, a page at a time, as events."""
    start = position.start(settings.lookback)
    params = _params(FIELDS, start, settings.page_size)
    # What this sweep knows it read: what the cursor remembered when it began, and
    # every activity met since (the cursor forgets as the window moves on).
    read = set(position.seen)
    for rows in _pages(client, ACTIVITIES, params, "read Pardot visitor activities"):
        skipped: Counter[str] = Counter()
        placed = []
        for row in rows:
            parsed = parse(row)
            if parsed is None:
                skipped["unreadable id or updatedAt"] += 1
            else:
                placed.append(parsed)
        fresh = [p for p in placed if position.admits(p.updated_at, p.activity_id)]
        events = []
        for parsed in fresh:
            known = parsed.activity_id in read or _read_before(parsed, start)
            read.add(parsed.activity_id)
            if known:
                continue  # changed since it was read: the same activity, no second event
            if parsed.event is not None:
                events.append(parsed.event)
            elif parsed.skipped is not None:
                skipped[parsed.skipped] += 1
        if fresh:
            position = position.advance(
                [(p.updated_at, p.activity_id) for p in fresh],
                window=settings.lookback,
                keep=settings.lookback_records,
                floor=placed[-1].updated_at,
            )
        if fresh or skipped:
            yield ActivityPage(tuple(events), position, skipped)


def _read_before(parsed: Parsed, start: datetime | None) -> bool:
    """Was this activity read by an earlier sweep, and only changed since?

    An activity is stamped ``updatedAt`` when it happens (``createdAt``), and the
    earlier sweeps read every activity stamped before this sweep's start (one v5
    showed late, within the look-back, included). One that happened before it and is
    met again with a newer stamp only changed; the cursor may have forgotten it (the
    window moved on), so its creation says it.
    """
    return start is not None and parsed.created_at is not None and parsed.created_at < start


@dataclass(frozen=True, slots=True)
class Standing:
    """A prospect's Pardot score and grade, as rules read them."""

    score: str | None
    grade: str | None
    #: The prospect's ``updatedAt`` when these values were first read: the latest they
    #: can have been set (a Salesforce record's own modification time does not move
    #: when Pardot changes them). Not part of what a standing is.
    since: datetime | None = field(default=None, compare=False)


def standing(row: Mapping[str, Any]) -> Standing:
    """The score (a whole number) and grade (F to A+) of a prospect row; odd values are
    left out rather than passed on."""
    score = row.get("score")
    text: str | None = None
    if isinstance(score, int) and not isinstance(score, bool) and abs(score) <= _MAX_SCORE:
        text = str(score)
    grade = row.get("grade")
    return Standing(text, grade if isinstance(grade, str) and grade in GRADES else None)


def crm_ids(row: Mapping[str, Any]) -> set[str]:
    """The Salesforce lead and contact ids a prospect row names."""
    found = set()
    for name in ("salesforceId", "crmLeadFid", "crmContactFid"):
        value = row.get(name)
        if isinstance(value, str) and 15 <= len(value) <= 18 and value.isalnum():
            found.add(value)
    return found


class ProspectStandings:
    """Every prospect's score and grade by Salesforce id, kept current by incremental
    reads. Held in memory: a daemon reads every prospect once after it starts
    (ceil(prospects / page_size) calls), then only those changed."""

    def __init__(self) -> None:
        self.by_crm_id: dict[str, Standing] = {}
        self.position = LookbackCursor()
        #: Ids whose score or grade changed and whose record has not been handed over
        #: since: kept across reads, so a read that stops or fails before it hands them
        #: over (the position has moved past their prospects) hands them over next time.
        self.unsent: set[str] = set()

    def refresh(self, client: PardotClient, settings: PardotSettings) -> set[str]:
        """Read the prospects changed since the last refresh; the Salesforce ids whose
        score or grade changed."""
        changed: set[str] = set()
        params = _params(PROSPECT_FIELDS, self.position.start(settings.lookback),
                         settings.page_size)  # fmt: skip
        for rows in _pages(client, PROSPECTS, params, "read Pardot prospects"):
            placed = []
            for row in rows:
                where = place(row)
                if where is None:
                    continue
                placed.append((where[1], where[0], row))
            fresh = [(at, pid, row) for at, pid, row in placed if self.position.admits(at, pid)]
            # Every row is compared, not only the fresh: a change within the second of
            # the version read has the same updatedAt; the value says it changed.
            for at, _, row in placed:
                now = replace(standing(row), since=at)
                for crm_id in crm_ids(row):
                    if self.by_crm_id.get(crm_id) != now:
                        self.by_crm_id[crm_id] = now
                        changed.add(crm_id)
                        self.unsent.add(crm_id)
            if fresh:
                self.position = self.position.advance(
                    [(at, pid) for at, pid, _ in fresh],
                    window=settings.lookback,
                    keep=settings.lookback_records,
                    floor=placed[-1][0],
                )
        return changed
