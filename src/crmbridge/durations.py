"""Durations as admins write them in ``crmbridge.toml``: ``"90s"``, ``"5m"``, ``"2h"``.

Shared by the core's settings and by connector plugins' (through
:mod:`crmbridge.connector`), so every duration in the file reads and fails alike.
"""

from __future__ import annotations

import math
import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator
from pydantic_core import PydanticCustomError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION_HINT = 'write a number and a unit, e.g. "90s", "5m", "2h", "1d"'
#: The longest duration any setting takes. Every interval, lease and deadline is far
#: shorter; the bound keeps date arithmetic downstream (now + duration) from overflowing.
MAX_DURATION = timedelta(days=365)
SECOND = timedelta(seconds=1)


def format_duration(value: timedelta) -> str:
    """``timedelta(minutes=5)`` → ``"5m"``: a duration as an admin writes it."""
    seconds = value.total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


def parse_duration(value: Any) -> timedelta:
    """Accept ``"90s"``, ``"5m"``, ``"2h"``, ``"1d"`` or a number of seconds.

    Negative, non-finite and longer-than-a-year values are refused here, before a
    :class:`timedelta` is built (a huge one would overflow).
    """
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, int | float) and not isinstance(value, bool):
        try:
            seconds = float(value)
        except OverflowError:  # an integer with hundreds of digits
            seconds = math.inf
    elif isinstance(value, str) and (match := _DURATION.match(value)):
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
    else:
        shown = value if isinstance(value, str) else str(value).lower()
        raise PydanticCustomError(
            "bad_duration",
            'invalid duration "{value}"',
            {"value": shown[:40], "hint": _DURATION_HINT},
        )
    if not math.isfinite(seconds) or seconds > MAX_DURATION.total_seconds():
        raise PydanticCustomError(
            "bad_duration", "must be at most {most}", {"most": format_duration(MAX_DURATION)}
        )
    if seconds < 0:
        raise PydanticCustomError("bad_duration", "must not be negative")
    return timedelta(seconds=seconds)


def at_least(minimum: timedelta) -> AfterValidator:
    """A validator refusing a duration shorter than ``minimum`` (zero often means "spin")."""

    def check(value: timedelta) -> timedelta:
        if value < minimum:
            raise PydanticCustomError(
                "bad_duration",
                "must be at least {least} (got {value})",
                {"least": format_duration(minimum), "value": format_duration(value)},
            )
        return value

    return AfterValidator(check)


def at_most(maximum: timedelta) -> AfterValidator:
    """A validator refusing a duration longer than ``maximum`` (e.g. a wait that would
    outlast the daemon's graceful stop)."""

    def check(value: timedelta) -> timedelta:
        if value > maximum:
            raise PydanticCustomError(
                "bad_duration",
                "must be at most {most} (got {value})",
                {"most": format_duration(maximum), "value": format_duration(value)},
            )
        return value

    return AfterValidator(check)


#: A duration from zero to MAX_DURATION; fields with a floor add ``at_least(...)``.
Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
#: A duration of at least one second: an interval of zero would run continuously.
Interval = Annotated[Duration, at_least(SECOND)]
