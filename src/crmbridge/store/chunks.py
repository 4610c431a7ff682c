"""Long lists of ids cut into statements of a bounded size.

A statement's bound parameters are limited (SQLite builds allow from 999 to 32,766,
PostgreSQL 65,535), and every item of an ``IN (...)`` list is one of them: a list that
grows with the input (a webhook delivery, a deletion of many records) is sent in chunks.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")

#: Items per statement: far below every parameter limit, with room for the others.
CHUNK = 500


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[list[T]]:
    """``items`` in consecutive lists of at most ``size`` (none for no items)."""
    for start in range(0, len(items), size):
        yield list(items[start : start + size])
