"""The text a JSON column stores: :func:`json.dumps`, with a fast path for the outbox.

Every outbox row's value is a one-key ``{"value": "<text>"}`` and a first sync writes
some ten of them per contact. ``json.dumps`` of a dict sets up an iterative encoder on
each call; a string alone is escaped directly. The fast path builds the same text from
the escaped string, so what is stored does not change.
"""

from __future__ import annotations

import json
from typing import Any

_ONE_VALUE_PREFIX = '{"value": '


def json_text(value: Any) -> str:
    """``json.dumps(value)`` (default options), faster for ``{"value": str}``."""
    if type(value) is dict and len(value) == 1:
        inner = value.get("value")
        if type(inner) is str:
            # Same separators and ASCII escaping as json.dumps with its defaults.
            return _ONE_VALUE_PREFIX + json.dumps(inner) + "}"
    return json.dumps(value)
