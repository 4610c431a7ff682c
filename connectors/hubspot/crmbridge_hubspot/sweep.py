"""One incremental read of a search sorted on modification time, as a sequence of pages.

Kept apart from the HTTP calls so the paging rules can be tested against any index
(the property tests drive it with a simulated lagging one).

A read (:func:`read_pages`) starts in the window before the newest modification read
(the look-back). When that window holds only a few records already read, one sweep
re-reads them in full from its start. Otherwise the read has two parts: the look-back
is searched for ids and modification times only (almost all of it was read before and
is dropped, so it costs little to transfer and parse), and the few records it finds
late are read by id, in full (their current version, which may be newer than the one
search shows); then the main sweep searches from the newest modification read on.

The main sweep reads only what was searchable when it began: records modified later
(our own writes, made while the read goes on, among them) are left to the next read,
which starts before them (the cursor never passes what was read). Otherwise every
record written during a long read would come back at the sweep's tail. The bound is
the CRM's own clock: when the first page is full, one search sorted newest first,
limit 1, answers the newest modification searchable then; the sweep stops there.
A read answered by one page needs no bound (a quiet CRM costs no extra search).
A record modified before the bound but indexed after the read is searchable later
at a modification before the next read's start or after it: the look-back or the
main sweep of the next read finds it, as without the bound.

A sweep queries ``lastmodifieddate >= start`` ascending and goes on from the last
modification of each full page. A full page whose records all share one modification
instant is paged by record id instead: paging it by offset would skip a record
whenever an edit moves another one out of the block mid-read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

from crmbridge.connector import LookbackCursor

T = TypeVar("T")
#: Up to this many records already read in the look-back, one full sweep re-reads them
#: (a quiet CRM costs one search a read); above it the look-back is searched lightly.
SMALL_LOOKBACK = 50
Row = tuple[datetime, str, T]
#: Search results per page (HubSpot's most).
SEARCH_LIMIT = 200
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: HubSpot's modification times are in whole milliseconds.
_MS = timedelta(milliseconds=1)


@dataclass(frozen=True, slots=True)
class Query:
    """One search: modified at or after ``start`` (after it when ``strict``) and before
    ``before`` if set, oldest first; with ``after_id``, the records modified exactly at
    ``start`` with a larger id, by id. ``start`` is ``None`` for everything. ``newest``
    asks instead for the one record modified last (newest first, limit 1)."""

    start: datetime | None
    strict: bool = False
    after_id: int | None = None
    before: datetime | None = None
    newest: bool = False


#: The search for the newest modification searchable now (see :func:`read_pages`).
NEWEST = Query(None, newest=True)


@dataclass(frozen=True, slots=True)
class Answer(Generic[T]):
    """A search page: ``(modified_at, id, record)`` rows in the query's order, and
    whether the page was full with more results behind it."""

    rows: Sequence[Row[T]]
    more: bool


Pages = Iterator[tuple[list[Row[T]], LookbackCursor]]


def read_pages(
    position: LookbackCursor,
    search: Callable[[Query], Answer[T]],
    *,
    light: Callable[[Query], Answer[Any]],
    fetch: Callable[[Sequence[str]], list[Row[T]]],
    window: timedelta,
    keep: int,
    small: int = SMALL_LOOKBACK,
) -> Pages[T]:
    """The records not read yet, page by page, each with the cursor after it.

    ``search`` answers a query in full, ``light`` with ids and modification times only,
    ``fetch`` reads records by id (their current version; unknown ids left out).
    Up to ``small`` records already read in the look-back are re-read in full.
    """
    at, begin = position.at, position.start(window)

    def bound() -> datetime | None:
        newest = light(NEWEST).rows
        # ``before`` excludes its instant: the newest modification itself is read.
        return newest[0][0] + _MS if newest else None

    if at is None or begin is None or begin >= at:
        yield from _sweep(position, search, Query(at), window=window, keep=keep, bound=bound)
        return
    if sum(1 for m in position.seen.values() if begin <= m < at) <= small:
        # Re-reading a few records in full costs less than a separate search.
        yield from _sweep(position, search, Query(begin), window=window, keep=keep, bound=bound)
        return
    lookback = Query(begin, before=at)
    for late, after in _sweep(position, light, lookback, window=window, keep=keep, fetch=fetch):
        position = after
        yield late, after
    yield from _sweep(position, search, Query(at), window=window, keep=keep, bound=bound)


def _sweep(
    position: LookbackCursor,
    search: Callable[[Query], Answer[Any]],
    query: Query,
    *,
    window: timedelta,
    keep: int,
    fetch: Callable[[Sequence[str]], list[Row[Any]]] | None = None,
    bound: Callable[[], datetime | None] | None = None,
) -> Pages[Any]:
    while True:
        answer = search(query)
        rows = answer.rows
        if bound is not None and answer.more:
            # Asked before the first page is handed on, so before any write it causes.
            limit, bound = bound(), None
            if limit is not None:
                query = replace(query, before=max(limit, rows[-1][0] + _MS))
        fresh = [row for row in rows if position.admits(row[0], row[1])]
        if fresh:
            pairs = [(at, rid) for at, rid, _ in fresh]
            found = fetch([rid for _, rid in pairs]) if fetch is not None else fresh
            # Forget only what this sweep has passed: the newest modification read may
            # lie ahead of it (in the look-back), with late records before it.
            position = position.advance(
                pairs,
                window=window,
                keep=keep,
                floor=rows[-1][0],
                ahead=[(at, rid) for at, rid, _ in found] if fetch is not None else (),
            )
            if found:
                yield found, position
        if query.after_id is not None:
            # The block is read once a page of it is not full: go on after it.
            after = int(rows[-1][1]) if answer.more else None
            query = Query(query.start, strict=after is None, after_id=after, before=query.before)
            continue
        if not answer.more:
            return
        tied = rows[0][0] == rows[-1][0]
        query = Query(rows[-1][0], after_id=0 if tied else None, before=query.before)


def search_body(
    query: Query, properties: list[str], modified: str = "lastmodifieddate"
) -> dict[str, Any]:
    """The search request for ``query`` (see :class:`~crmbridge_hubspot.sweep.Query`);
    ``modified`` is the object's modification property (companies: ``hs_lastmodifieddate``)."""
    start, strict, after_id = query.start, query.strict, query.after_id
    body: dict[str, Any] = {
        "sorts": [{"propertyName": modified, "direction": "ASCENDING"}],
        "properties": properties,
        "limit": SEARCH_LIMIT,
    }
    if query.newest:
        body["sorts"] = [{"propertyName": modified, "direction": "DESCENDING"}]
        body["limit"] = 1
        return body
    if start is None:
        return body
    millis = str((start - _EPOCH) // timedelta(milliseconds=1))
    if after_id is None:
        operator = "GT" if strict else "GTE"
        filters = [{"propertyName": modified, "operator": operator, "value": millis}]
        if query.before is not None:
            below = str((query.before - _EPOCH) // timedelta(milliseconds=1))
            filters.append({"propertyName": modified, "operator": "LT", "value": below})
    else:
        body["sorts"] = [{"propertyName": "hs_object_id", "direction": "ASCENDING"}]
        filters = [
            {"propertyName": modified, "operator": "EQ", "value": millis},
            {"propertyName": "hs_object_id", "operator": "GT", "value": str(after_id)},
        ]
    body["filterGroups"] = [{"filters": filters}]
    return body
