"""Values from outside crmbridge, made safe to store, compare and show.

An event body, a CRM property or a contact file can hold numbers no database or float
can represent: ``1`` followed by 400 zeros, ``1e999``, ``NaN``, ``Infinity``. crmbridge
never refuses a record for such a number and never lets one break a cycle later: the
number is kept as the text it was written as (scoring then reads it as "not a number"
and says so in the lead's notes). Both doors apply the same rule:

- :func:`loads` decodes JSON text, keeping out-of-range numbers as their source text;
- :func:`tame` does the same to values already decoded (a connector's, a test's).
"""

from __future__ import annotations

import json
import math
from typing import Any

from crmbridge.scoring.text import MAX_MAGNITUDE, plain_text

#: Integers longer than this are not even converted (``int()`` is quadratic in length).
_MAX_INT_DIGITS = 20


def _int_or_text(literal: str) -> int | str:
    digits = len(literal.lstrip("-"))
    if digits > _MAX_INT_DIGITS:
        return literal
    number = int(literal)
    return number if abs(number) <= MAX_MAGNITUDE else literal


def _float_or_text(literal: str) -> float | str:
    number = float(literal)
    return number if math.isfinite(number) and abs(number) <= MAX_MAGNITUDE else literal


def loads(data: str | bytes) -> Any:
    """``json.loads``, with every out-of-range or non-finite number kept as its text.

    ``NaN``, ``Infinity`` and ``-Infinity`` (which Python's decoder accepts, though JSON
    has no such numbers) become the strings ``"NaN"``, ``"Infinity"``, ``"-Infinity"``.
    Raises ``ValueError`` (``json.JSONDecodeError`` for bad syntax) like ``json.loads``.
    """
    return json.loads(data, parse_int=_int_or_text, parse_float=_float_or_text, parse_constant=str)


def tame(value: Any) -> Any:
    """``value`` with every unrepresentable number replaced by its text, at any depth."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value if abs(value) <= MAX_MAGNITUDE else plain_text(value)
    if isinstance(value, float):
        if math.isfinite(value) and abs(value) <= MAX_MAGNITUDE:
            return value
        return _FLOAT_NAMES.get(str(value), repr(value))
    if isinstance(value, dict):
        return {key: tame(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [tame(item) for item in value]
    return value


_FLOAT_NAMES = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


def without_nul(text: str) -> str:
    """``text`` with NUL characters replaced (PostgreSQL text columns refuse them)."""
    return text.replace("\x00", "\ufffd") if "\x00" in text else text
