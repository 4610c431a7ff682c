"""The one place crmbridge reads the clock, so ``--now`` can fix it everywhere.

Everything else asks :func:`now` (or takes an instant from its caller); a test in
``tests/unit/test_layering.py`` keeps it so. ``time.monotonic`` for durations is not a
reading of the date and stays where it is used.
"""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    """The real current instant, UTC-aware (bookkeeping, health, the sandbox's clock)."""
    return datetime.now(UTC)


def parse_instant(text: str) -> datetime:
    """Parse ISO-8601 (``2026-11-20T10:00:00Z``, offsets allowed; no zone means UTC).

    Raises ``ValueError`` for text that is no instant, or one no UTC datetime holds
    (year 1 at +05:00), as callers catch for values a CRM sends."""
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{text[:40]!r} is out of range in UTC") from None


def resolve_now(fixed: str | None) -> datetime:
    """``fixed`` if given (``--now`` / ``CRMBRIDGE_NOW``), else the real current time."""
    return parse_instant(fixed) if fixed else now()
