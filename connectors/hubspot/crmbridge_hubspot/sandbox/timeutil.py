"""Time formats the HubSpot API speaks: ISO-8601 with milliseconds and ``Z``, and ms epochs."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from crmbridge import clock

_EPOCH_MS = re.compile(r"^-?\d{1,15}$")
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def utc_now() -> datetime:
    """The current instant, timezone-aware UTC."""
    return clock.now()


def iso_ms(moment: datetime) -> str:
    """``2024-01-17T19:55:04.281Z``: the shape HubSpot uses for every datetime."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def to_ms(moment: datetime) -> int:
    """Milliseconds since the Unix epoch."""
    return int(moment.astimezone(UTC).timestamp() * 1000)


def from_ms(millis: int) -> datetime:
    """The UTC instant ``millis`` ms after the Unix epoch."""
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=millis)


def truncate_ms(moment: datetime) -> datetime:
    """Drop sub-millisecond precision, as HubSpot stores instants."""
    moment = moment.astimezone(UTC)
    return moment.replace(microsecond=(moment.microsecond // 1000) * 1000)


def parse_instant(text: str) -> datetime | None:
    """Read a ms-epoch string, an ISO-8601 datetime or a bare date (UTC midnight).

    Naive ISO datetimes are taken as UTC. Returns None when the text is neither.
    """
    text = text.strip()
    if not text:
        return None
    if _EPOCH_MS.match(text):
        try:
            return from_ms(int(text))
        except OverflowError:
            return None
    if _DATE_ONLY.match(text):
        text += "T00:00:00"
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
