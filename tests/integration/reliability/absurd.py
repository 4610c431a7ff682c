"""The absurd values every generator mixes in, and JSON text that can carry them.

Python's ``json`` cannot write every case (a 5,000-digit integer exceeds the int→str
limit, ``1e999`` would be read back as ``inf``), so events are built from plain values
plus :class:`Raw` pieces of JSON text, serialised by :func:`to_json`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

MEGABYTE = 1024 * 1024


@dataclass(frozen=True)
class Raw:
    """JSON text written as it is (a number JSON parsers disagree about, deep nesting)."""

    text: str

    def __repr__(self) -> str:  # hypothesis prints failing examples: keep them short
        more = "…" if len(self.text) > 40 else ""
        return f"Raw({self.text[:40]!r}{more}, {len(self.text)} chars)"


def to_json(value: Any) -> str:
    """JSON text of ``value``; :class:`Raw` pieces are copied verbatim.

    Lone surrogates come out as ``\\udXXX`` escapes (``ensure_ascii``), as a client
    that does not validate its strings would send them.
    """
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, dict):
        items = (f"{json.dumps(str(k))}:{to_json(v)}" for k, v in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, list):
        return "[" + ",".join(to_json(v) for v in value) + "]"
    return json.dumps(value)


def nested(depth: int) -> Raw:
    """An object nested ``depth`` levels deep."""
    return Raw('{"a":' * depth + "1" + "}" * depth)


HUGE_400 = "1" + "0" * 400
HUGE_5000 = "9" * 5000
SPACED_60K = "1" + " " * 60_000 + "1x"
#: Out-of-range or non-finite numbers: accepted, kept as text, "not a number" to scoring.
NOT_FINITE_NUMBERS = (HUGE_400, "-" + HUGE_400, HUGE_5000, "1e999", "-1e999", "NaN", "Infinity")
NOT_FINITE_LITERALS = ("-Infinity", *NOT_FINITE_NUMBERS)

#: Text that is stored and matched as text, never crashes anything.
ODD_TEXT = (
    "مدير تقنية المعلومات",  # RTL
    "\u202eRTL override\u202c",
    "CIO 🚀🔥",
    "👩🏽‍💻 Head of IT",
    "Dire\u0301ctor de IT",  # combining acute
    "e" + "\u0301" * 500,  # one letter, 500 combining marks
    "Z̸̢̛̤̗͈̬͊̽̆a̶l̷g̵o̴",
    "\u00a0600\u00a0",
    "1.000",
    "500+",
    "10k",
    "500-1000",
    "n/a",
    "-0.0",
    "0x1F",
    "1_000",
    "",
    " ",
    "\t\n",
    "x" * 70_000,
)
#: Whole numbers padded with a megabyte of spaces (a number to a patient reader).
PADDED_MEGABYTE = (" " * MEGABYTE + "600", "600" + " " * MEGABYTE)

absurd_numbers = st.sampled_from(NOT_FINITE_LITERALS).map(Raw)
odd_text = st.sampled_from(ODD_TEXT)
