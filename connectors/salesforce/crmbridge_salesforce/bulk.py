"""Large writes through Bulk API 2.0: one ingest job per object, failed rows read back.

Above ``bulk_threshold`` records a write is one Bulk 2.0 update job per object (create
the job, upload the CSV, close it, poll until it completes) instead of one Collections
call per 200 records. Once the job completes, its failed and successful rows are read
back, and every record gets its own :class:`~crmbridge.connector.WriteResult`: a
failed row carries Salesforce's ``sf__Error``; the others were saved when the job
processed every row, and are retried later otherwise.

In a Bulk CSV an empty cell leaves a field as it is; ``#N/A`` clears it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

from simple_salesforce.api import Salesforce
from simple_salesforce.bulk2 import SFBulk2Handler

from crmbridge.connector import Write, WriteResult
from crmbridge_salesforce.client import NO_AUTO_ASSIGN, SalesforceClient
from crmbridge_salesforce.errors import RETRIABLE_CODES
from crmbridge_salesforce.fields import ObjectFields
from crmbridge_salesforce.writes import prepare

#: How long simple-salesforce waits before its first look at a closed job (seconds).
FIRST_POLL_S = 0.5
CLEAR = "#N/A"


def _cell(value: Any) -> str:
    if value is None:
        return CLEAR
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def bulk_write(
    client: SalesforceClient,
    batch: Sequence[Write],
    fields: Callable[[str], ObjectFields | None],
) -> list[WriteResult]:
    """Write ``batch`` with one Bulk 2.0 update job per object."""
    results: dict[int, WriteResult] = {}
    by_object: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for index, write in enumerate(batch):
        record, failure = prepare(write, fields)
        if failure is not None:
            results[index] = failure
        elif record is not None:
            sobject = str(record.pop("attributes")["type"])
            record["Id"] = record.pop("id")
            by_object.setdefault(sobject, []).append((index, record))
    for sobject, items in by_object.items():
        outcome = _job(client, sobject, [record for _, record in items])
        for index, record in items:
            results[index] = outcome.get(
                str(record["Id"]),
                WriteResult(str(record["Id"]), False, "not processed by the job", retriable=True),
            )
    return [results[index] for index in range(len(batch))]


def _job(
    client: SalesforceClient, sobject: str, records: Sequence[Mapping[str, Any]]
) -> dict[str, WriteResult]:
    """Run one update job; the result of every record Salesforce reported on."""
    columns = sorted({name for record in records for name in record})
    # A batch mixes records changing different fields. An empty cell leaves a field as
    # it is; only a field the record really clears gets #N/A (which empties it).
    csv_records = [
        {c: _cell(record[c]) if c in record else "" for c in columns} for record in records
    ]

    def run(sf: Salesforce) -> tuple[dict[str, Any], str]:
        handler = cast(SFBulk2Handler, sf.bulk2)
        handler.headers.update(NO_AUTO_ASSIGN)
        target = getattr(handler, sobject)
        jobs = target.update(records=csv_records, wait=FIRST_POLL_S)
        return dict(jobs[0]), target.get_failed_records(str(jobs[0]["job_id"]))

    job, failed_text = client.call(f"bulk update of {len(records)} {sobject}s", run, write=True)
    outcome: dict[str, WriteResult] = {}
    for row in _rows(failed_text):
        crm_id = row.get("Id") or row.get("sf__Id") or ""
        error = (row.get("sf__Error") or "refused without a reason")[:300]
        code = error.split(":", 1)[0].strip()
        outcome[crm_id] = WriteResult(crm_id, False, error, retriable=code in RETRIABLE_CODES)
    if int(job.get("numberRecordsProcessed") or 0) >= len(records):
        # The job completed and processed every row: each one not failed was saved.
        for record in records:
            crm_id = str(record["Id"])
            outcome.setdefault(crm_id, WriteResult(crm_id, True))
    return outcome
