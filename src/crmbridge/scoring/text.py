"""Normalisation of the free text and numbers that CRMs hand us.

CRM values are typed by people: "DIRECTORA DE TECNOLOGÍA", "1.000", "500+", "n/a".
Rules compare normalised forms so that case, accents and thousands separators never
decide whether a lead scores.

Every value here comes from outside (a public form, a CRM field, an event) and may be
absurd: a 400-digit number, ``NaN``, a megabyte of spaces. Nothing in this module takes
more than linear time in the length of a value, text is matched on at most
:data:`MAX_SCORED_CHARS` characters, a number is read from at most
:data:`MAX_NUMBER_CHARS`, and a number beyond :data:`MAX_MAGNITUDE` is "not a number".
"""

from __future__ import annotations

import math
import re
import unicodedata
from functools import lru_cache

#: Characters of a text value that rules look at; the rest is ignored (a job title, a
#: URL or a form name is far shorter; a megabyte of text would only slow every rule).
MAX_SCORED_CHARS = 4096
#: A number written by a person fits in this many characters, separators included.
MAX_NUMBER_CHARS = 64
#: Larger magnitudes are typing accidents or attacks, not company sizes or percentages;
#: they are also where floats stop holding whole numbers exactly (2**53 ≈ 9.007e15).
MAX_MAGNITUDE = 1e15
#: Texts longer than this are normalised without the cache (it would hold them all).
_CACHED_CHARS = 256
#: ``str(int)`` refuses integers of more than 4,300 digits; ours are shown shortened.
_INT_TEXT_BITS = 10_000

_SPACES = re.compile(r"\s+")
# "1,000" / "1.000" / "1 000" / "10,000,000": groups of exactly three digits.
_GROUPED = re.compile(r"^[+-]?\d{1,3}(?:[.,\u00a0 ]\d{3})+$")
# "500-1000" / "500 – 1,000": HubSpot's size bands; the lower bound is what we know for sure.
_RANGE = re.compile(r"^(?P<low>[\d.,\u00a0 ]+?)\s*(?:-|–|—|to|a)\s*[\d.,\u00a0 ]+$")
_SUFFIX = {"k": 1_000, "m": 1_000_000}


def normalize_text(value: str) -> str:
    """Lower-case, strip accents and collapse white space: the form every text match uses.

    Only the first :data:`MAX_SCORED_CHARS` characters are read.
    """
    value = value[:MAX_SCORED_CHARS]
    if len(value) > _CACHED_CHARS:
        return _normalize(value)
    return _normalize_cached(value)


def _normalize(value: str) -> str:
    decomposed = unicodedata.normalize("NFKD", value)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", stripped.casefold()).strip()


_normalize_cached = lru_cache(maxsize=65536)(_normalize)


def plain_text(value: object) -> str:
    """``str(value)``, safe for any value: a huge integer is shown by its size."""
    if isinstance(value, int) and value.bit_length() > _INT_TEXT_BITS:
        digits = value.bit_length() * 3 // 10
        return f"{'-' if value < 0 else ''}<integer of about {digits} digits>"
    return str(value)


def to_text(value: object) -> str:
    """Render a property value as normalised text (booleans as ``true``/``false``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return normalize_text(value)
    return normalize_text(plain_text(value))


def shown(value: object, limit: int = 40) -> str:
    """A value as a person reads it in a note: quoted, on one line, at most ``limit`` chars.

    A longer value is cut with "…" and its length is given, so that ``"1"`` followed by
    60,000 spaces is never shown as ``'1'``.
    """
    raw = plain_text(value)
    text = _SPACES.sub(" ", raw[: limit * 4])
    if len(raw) <= limit and text == raw:
        return repr(text)
    cut = text[: limit - 1] + "…" if len(text) > limit - 1 else text + "…"
    return f"{cut!r} ({len(raw):,} characters)"


def in_range(number: float) -> bool:
    """True for a finite number no larger than :data:`MAX_MAGNITUDE`."""
    return math.isfinite(number) and abs(number) <= MAX_MAGNITUDE


def parse_number(value: object) -> float | None:
    """Read a number the way a person wrote it, or ``None`` when it is not one.

    Accepts ``600``, ``"600"``, ``"1,000"``, ``"1.000"`` (thousands separators),
    ``"2.5"``, ``"2,5"`` (decimal comma), ``"500+"``, ``"10k"`` and size bands such as
    ``"500-1000"`` (the lower bound). ``"n/a"``, ``""`` and booleans are not numbers, nor
    are ``NaN``, infinities, magnitudes above :data:`MAX_MAGNITUDE` and texts longer than
    :data:`MAX_NUMBER_CHARS` once trimmed.
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        # Compared as an integer: float() of a 400-digit integer raises OverflowError.
        return float(value) if abs(value) <= MAX_MAGNITUDE else None
    if isinstance(value, float):
        return value if in_range(value) else None
    if not isinstance(value, str):
        return None
    if len(value) > MAX_NUMBER_CHARS:
        # Only a long value is trimmed here: a short one is the cache's key as it is.
        value = value.strip()
        if len(value) > MAX_NUMBER_CHARS:
            return None
    return _parse_text_number(value)


@lru_cache(maxsize=65536)
def _parse_text_number(raw: str) -> float | None:
    text = raw.strip().lower().rstrip("+").strip()
    if not text:
        return None
    multiplier = 1
    if text[-1] in _SUFFIX and len(text) > 1:
        multiplier = _SUFFIX[text[-1]]
        text = text[:-1].strip()
    band = _RANGE.match(text)
    if band:
        text = band.group("low").strip()
    if _GROUPED.match(text):
        text = re.sub(r"[.,\u00a0 ]", "", text)
    elif text.count(",") == 1 and "." not in text:
        text = text.replace(",", ".")
    try:
        number = float(text) * multiplier
    except ValueError:
        return None
    # float() also reads "nan", "inf" and "Infinity" (e.g. "NaN" from spreadsheet exports).
    return number if in_range(number) else None
