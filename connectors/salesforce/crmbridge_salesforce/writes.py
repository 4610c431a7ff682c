"""Writes through sObject Collections: ``PATCH composite/sobjects``, 200 records a call.

``allOrNone`` is false, so Salesforce saves every record it can and answers one
SaveResult per record, in order (``{id, success, errors: [{statusCode, message,
fields}]}``); each becomes the :class:`~crmbridge.connector.WriteResult` of its outbox
row. ``Sforce-Auto-Assign: FALSE`` goes with every write, or a score update could
re-run lead assignment rules.

Values arrive in crmbridge's canonical text form and are sent typed as the field's
describe says (numbers, booleans, text); a value that cannot be typed fails its record
only. A field the integration user cannot edit fails the records that carry it, with
what to grant.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from crmbridge.connector import Write, WriteResult
from crmbridge_salesforce.client import SalesforceClient
from crmbridge_salesforce.errors import CONVERTED, record_error
from crmbridge_salesforce.fields import ObjectFields
from crmbridge_salesforce.reads import object_of

COLLECTION_LIMIT = 200
_NUMBERS = frozenset({"double", "int", "percent", "currency", "long"})


def typed(value: str | None, kind: str) -> Any:
    """``value`` as the JSON a field of type ``kind`` takes; ``ValueError`` if it cannot be."""
    if value is None or value == "":
        return None
    if kind in _NUMBERS:
        number = float(value)
        if number != number or number in (float("inf"), float("-inf")):
            raise ValueError(f"{value!r} is not a finite number")
        return int(number) if kind in ("int", "long") or number.is_integer() else number
    if kind == "boolean":
        lowered = value.strip().lower()
        if lowered not in ("true", "false"):
            raise ValueError(f"{value!r} is not true or false")
        return lowered == "true"
    return value


def prepare(
    write: Write, fields: Callable[[str], ObjectFields | None]
) -> tuple[dict[str, Any] | None, WriteResult | None]:
    """The Collections record for ``write``, or the result that fails it before sending."""
    sobject = object_of(write.crm_id)
    if sobject is None:
        return None, WriteResult(
            write.crm_id, False, "not the id of a Salesforce lead or contact", retriable=False
        )
    described = fields(sobject)
    if described is None:
        return None, WriteResult(write.crm_id, False, f"crmbridge does not read {sobject}s")
    record: dict[str, Any] = {"attributes": {"type": sobject}, "id": write.crm_id}
    for name, value in write.properties.items():
        sf_name = described.resolve(name)
        if sf_name is None or not described.updateable(sf_name):
            shown = sf_name or name
            return None, WriteResult(
                write.crm_id,
                False,
                f"{sobject}.{shown} is missing or not editable by the integration user: "
                "run crmbridge check for the field and the permission to grant",
            )
        kind = str(described.by_lower[sf_name.lower()].get("type") or "string")
        try:
            record[sf_name] = typed(value, kind)
        except ValueError as exc:
            return None, WriteResult(write.crm_id, False, f"{sobject}.{sf_name}: {exc}")
    return record, None


def save_results(sent: Sequence[Mapping[str, Any]], answer: Any) -> list[WriteResult]:
    """One result per sent record, from Collections' SaveResults (in the same order)."""
    results = answer if isinstance(answer, list) else []
    out = []
    for index, record in enumerate(sent):
        crm_id = str(record["id"])
        result = results[index] if index < len(results) else None
        if not isinstance(result, Mapping):
            out.append(WriteResult(crm_id, False, "Salesforce gave no result", retriable=True))
            continue
        if result.get("success"):
            out.append(WriteResult(crm_id, True))
            continue
        errors = result.get("errors") or []
        message, retriable = record_error(errors)
        if any(e.get("statusCode") == CONVERTED for e in errors if isinstance(e, Mapping)):
            message = "the lead was converted: crmbridge scores its contact from now on"
        out.append(WriteResult(crm_id, False, message, retriable=retriable))
    return out


def collections_write(
    client: SalesforceClient,
    batch: Sequence[Write],
    fields: Callable[[str], ObjectFields | None],
) -> list[WriteResult]:
    """Write ``batch`` through Collections calls of at most 200 records."""
    results: dict[int, WriteResult] = {}
    ready: list[tuple[int, dict[str, Any]]] = []
    for index, write in enumerate(batch):
        record, failure = prepare(write, fields)
        if failure is not None:
            results[index] = failure
        elif record is not None:
            ready.append((index, record))
    for begin in range(0, len(ready), COLLECTION_LIMIT):
        chunk = ready[begin : begin + COLLECTION_LIMIT]
        records = [record for _, record in chunk]
        answer = client.rest(
            f"update {len(records)} records",
            "composite/sobjects",
            method="PATCH",
            write=True,
            json={"allOrNone": False, "records": records},
        )
        for (index, _), result in zip(chunk, save_results(records, answer), strict=True):
            results[index] = result
    return [results[index] for index in range(len(batch))]
