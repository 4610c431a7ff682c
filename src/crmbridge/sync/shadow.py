"""Shadow mode (``[bridge] write = false``): every write is logged, none is sent.

The pipeline reads, scores and plans as usual and the outbox fills as usual; the drain
sends nothing. Each waiting row is logged once as ``write.shadow`` — the contact, the
property and ``old → new`` (or the hand-off action and its key) — and logged again only
when its value changes. The rows stay ``pending``: they are not counted as written and
the CRM's values are not remembered as changed, so turning writes on later sends what
is still wanted, exactly once (a property row is updated in place while it waits, an
action is queued once by its key).
"""

from __future__ import annotations

import json
from typing import Any

from crmbridge.logging import get_logger
from crmbridge.store import outbox
from crmbridge.store.controls import WaitingWrite, waiting_writes
from crmbridge.store.repository import Store

#: Rows read per query while walking the outbox.
PAGE = 1_000
#: Remembered rows; past this the memory starts afresh (some rows are logged again).
MAX_REMEMBERED = 200_000
#: Longest value text put in a log line.
MAX_VALUE = 300


class ShadowLog:
    """Logs the writes waiting in the outbox, each once per value."""

    def __init__(self) -> None:
        self._logged: dict[int, str] = {}

    def report(self, store: Store, connector: str) -> int:
        """Log the rows not logged yet (or changed since); return how many rows wait."""
        log = get_logger(connector=connector, mode="shadow")
        waiting = 0
        after = 0
        while True:
            with store.session() as session:
                rows = waiting_writes(session, connector, outbox.RETRYABLE, after, PAGE)
            if not rows:
                return waiting
            waiting += len(rows)
            after = rows[-1].id
            for row in rows:
                fingerprint = json.dumps(row.value, sort_keys=True, default=str)
                if self._logged.get(row.id) == fingerprint:
                    continue
                if len(self._logged) >= MAX_REMEMBERED:
                    self._logged.clear()
                self._logged[row.id] = fingerprint
                log.info("write.shadow", **_fields(row))


def _fields(row: WaitingWrite) -> dict[str, Any]:
    """What a shadow log line says about one write: the record id, not the person's
    email (logs outlive ``crmbridge forget``), and never a URL."""
    common: dict[str, Any] = {"crm_id": row.crm_id}
    if row.kind == outbox.PROPERTY:
        return {
            **common,
            "property": row.target,
            "old": _short(row.old),
            "new": _short(row.value.get("value")),
        }
    # Ids say what the action targets; free text (a task's subject naming the lead, a
    # post's body) is left out of logs.
    ids = {k: _short(v) for k, v in row.value.items() if k.endswith("_id") or k == "channel"}
    other = sorted(k for k in row.value if k not in ids)
    return {**common, "action": row.kind, "key": row.target, "detail": ids, "fields": other}


def _short(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"
