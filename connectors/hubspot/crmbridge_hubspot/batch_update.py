"""HubSpot's batch update of an object type (contacts, companies), one result per record.

A value HubSpot refuses for every record (a property that does not exist) fails the
batch's records, never the batch as an error; a record refused on its own is found by
halving the batch until it stands alone, so the others are still written.

A record is written only when the answer names it among its ``results``. One the
answer names neither there nor among its ``errors`` is not confirmed: it is sent once
more (a property write is idempotent), and if that answer leaves it out too it fails
as retriable, so the outbox tries it again later. A record merged into another is
answered under the new record's id, so a write to a merged-away id is not confirmed
either: the next read folds it into the new record.

The answer is read as JSON, not as the SDK's models: HubSpot returns every written
record with its properties and timestamps, and building models of them (a date parse
per timestamp) cost more than the rest of a write. Only ids and errors are kept; an
answer not shaped as HubSpot's confirms nothing, so its records are sent again.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from crmbridge.connector import Write, WriteResult
from crmbridge.errors import PermanentRecordError, SchemaError
from crmbridge_hubspot.client import HubSpotClient, unparsed

#: Records one batch update takes.
BATCH_LIMIT = 100
#: The longest reason kept from one of HubSpot's errors.
REASON_MOST = 500


def update_batches(
    client: HubSpotClient, what: str, method: Any, batch: Sequence[Write]
) -> list[WriteResult]:
    """Write ``batch`` through ``method`` (the SDK's ``update_with_http_info``),
    ``BATCH_LIMIT`` records a call; ``what`` names the call in errors and logs."""
    results: list[WriteResult] = []
    send = unparsed(method)
    for start in range(0, len(batch), BATCH_LIMIT):
        results.extend(_update(client, what, send, list(batch[start : start + BATCH_LIMIT])))
    return results


def batch_answer(raw: bytes) -> tuple[set[str], dict[str, str]]:
    """The ids a batch update's answer names as written, and those it refuses with why.

    Whatever is not shaped as HubSpot's answer (a proxy's page, a truncated body, an
    entry of the wrong type) names nothing: those records count as unanswered.
    """
    try:
        data = json.loads(raw or b"{}")
    except (ValueError, RecursionError):
        return set(), {}
    if not isinstance(data, dict):
        return set(), {}
    written = {
        str(result["id"]) for result in _entries(data.get("results")) if _is_id(result.get("id"))
    }
    failed: dict[str, str] = {}
    for error in _entries(data.get("errors")):
        context = error.get("context")
        ids = context.get("ids") if isinstance(context, dict) else None
        reason = f"{_text(error.get('category'))}: {_text(error.get('message'))}".strip(": ")
        for crm_id in ids if isinstance(ids, list) else []:
            if _is_id(crm_id):
                failed[str(crm_id)] = reason
    return written, failed


def _entries(value: Any) -> list[dict[str, Any]]:
    return [entry for entry in value if isinstance(entry, dict)] if isinstance(value, list) else []


def _is_id(value: Any) -> bool:
    return isinstance(value, str | int) and not isinstance(value, bool)


def _text(value: Any) -> str:
    return value[:REASON_MOST] if isinstance(value, str) else ""


#: Why a record HubSpot's answer left out is not counted as written.
UNCONFIRMED = (
    "HubSpot's answer to the batch update named this record neither as written nor as "
    "refused; it will be sent again"
)


def _update(
    client: HubSpotClient, what: str, method: Any, items: list[Write], *, resend: bool = True
) -> list[WriteResult]:
    body = {
        "inputs": [
            {
                "id": w.crm_id,
                "properties": {k: ("" if v is None else v) for k, v in w.properties.items()},
            }
            for w in items
        ]
    }
    try:
        data = client.call(what, method, body)
    except SchemaError as exc:
        return [WriteResult(w.crm_id, False, str(exc)) for w in items]
    except PermanentRecordError as exc:
        if len(items) == 1:
            return [WriteResult(items[0].crm_id, False, str(exc))]
        middle = len(items) // 2
        return _update(client, what, method, items[:middle], resend=resend) + _update(
            client, what, method, items[middle:], resend=resend
        )
    written, failed = batch_answer(data)
    unanswered = [w for w in items if w.crm_id not in failed and w.crm_id not in written]
    again: dict[str, WriteResult] = {}
    if unanswered and resend:
        resent = _update(client, what, method, unanswered, resend=False)
        again = {result.crm_id: result for result in resent}
    elif unanswered:
        again = {
            w.crm_id: WriteResult(w.crm_id, False, UNCONFIRMED, retriable=True) for w in unanswered
        }
    return [
        again.get(w.crm_id) or WriteResult(w.crm_id, w.crm_id not in failed, failed.get(w.crm_id))
        for w in items
    ]
