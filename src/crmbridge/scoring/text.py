"""Normalisation of the free text and numbers that CRMs hand us.

CRM values are typed by people: "DIRECTORA DE TECNOLOGÍA", "1.000", "500+", "n/a".
Rules compare normalised forms so that case, accents and thousands separators never
decide whether a lead scores.
"""

from __future__ import annotations

import math
import re
import unicodedata
from functools import lru_cache

_SPACES = re.compile(r"\s+")
# "1,000" / "1.000" / "1 000" / "10,000,000": groups of exactly three digits.
_GROUPED = re.compile(r"^[+-]?\d{1,3}(?:[.,\u00a0 ]\d{3})+$")
# "500-1000" / "500 – 1,000": HubSpot's size bands; the lower bound is what we know for sure.
_RANGE = re.compile(r"^(?P<low>[\d.,\u00a0 ]+?)\s*(?:-|–|—|to|a)\s*[\d.,\u00a0 ]+$")
_SUFFIX = {"k": 1_000, "m": 1_000_000}


@lru_cache(maxsize=65536)
def normalize_text(value: str) -> str:
    """Lower-case, strip accents and collapse white space: the form every text match uses."""
    decomposed = unicodedata.normalize("NFKD", value)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", stripped.casefold()).strip()


def to_text(value: object) -> str:
    """Render a property value as normalised text (booleans as ``true``/``false``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return normalize_text(str(value))


def parse_number(value: object) -> float | None:
    """Read a number the way a person wrote it, or ``None`` when it is not one.

    Accepts ``600``, ``"600"``, ``"1,000"``, ``"1.000"`` (thousands separators),
    ``"2.5"``, ``"2,5"`` (decimal comma), ``"500+"``, ``"10k"`` and size bands such as
    ``"500-1000"`` (the lower bound). ``"n/a"``, ``""`` and booleans are not numbers.
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        number = float(value)
        return number if math.isfinite(number) else None
    return _parse_text_number(str(value))


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
    return number if math.isfinite(number) else None
