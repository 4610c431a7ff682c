"""One incremental read of a search sorted on modification time, as a sequence of pages.

Kept apart from the HTTP calls so the paging rules can be tested against any index
(the property tests drive it with a simulated lagging one). A sweep starts at the
cursor's look-back start and queries ``lastmodifieddate >= start`` ascending; it goes
on from the last modification of each full page. A full page whose records all share
one modification instant is paged by record id instead: paging it by offset would
skip a record whenever an edit moves another one out of the block mid-read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from crmbridge.connector import LookbackCursor

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Query:
    """One search: modified at or after ``start`` (after it when ``strict``), oldest
    first; with ``after_id``, the records modified exactly at ``start`` with a larger
    id, by id. ``start`` is ``None`` for everything."""

    start: datetime | None
    strict: bool = False
    after_id: int | None = None


@dataclass(frozen=True, slots=True)
class Answer(Generic[T]):
    """A search page: ``(modified_at, id, record)`` rows in the query's order, and
    whether the page was full with more results behind it."""

    rows: Sequence[tuple[datetime, str, T]]
    more: bool


def sweep(
    position: LookbackCursor,
    search: Callable[[Query], Answer[T]],
    *,
    window: timedelta,
    keep: int,
) -> Iterator[tuple[list[tuple[datetime, str, T]], LookbackCursor]]:
    """The records not read yet, page by page, each with the cursor after it."""
    query = Query(position.start(window))
    while True:
        answer = search(query)
        rows = answer.rows
        fresh = [row for row in rows if position.admits(row[0], row[1])]
        if fresh:
            # Forget only what this sweep has passed: the newest modification read may
            # lie ahead of it (in the look-back), with late records before it.
            position = position.advance(
                [(at, rid) for at, rid, _ in fresh], window=window, keep=keep, floor=rows[-1][0]
            )
            yield fresh, position
        if query.after_id is not None:
            # The block is read once a page of it is not full: go on after it.
            if answer.more:
                query = Query(query.start, after_id=int(rows[-1][1]))
            else:
                query = Query(query.start, strict=True)
            continue
        if not answer.more:
            return
        tied = rows[0][0] == rows[-1][0]
        query = Query(rows[0][0], after_id=0) if tied else Query(rows[-1][0])
