"""Bulk API 2.0 ingest jobs: create, upload one CSV, close, poll, read results back.

``POST jobs/ingest`` opens a job (``object``, ``operation`` insert or update,
``contentType`` CSV, ``columnDelimiter``, ``lineEnding``); ``PUT jobs/ingest/{id}/batches``
takes its one CSV (201); ``PATCH jobs/ingest/{id}`` with ``state: UploadComplete`` closes
it (``Aborted`` aborts it). The rows are then saved one by one through the same checks
as the REST API (:mod:`.writes`); the job reports ``InProgress`` for
:attr:`SandboxConfig.bulk_polls_in_progress` polls, then ``JobComplete`` with
``numberRecordsProcessed``/``numberRecordsFailed``. A header naming no field fails the
whole job (``Failed``, ``errorMessage`` ``InvalidBatch : Field name not found``).

Results are CSV: ``successfulResults`` (``sf__Id``, ``sf__Created``, the row),
``failedResults`` (``sf__Id``, ``sf__Error`` as ``CODE:message:fields``, the row) and
``unprocessedrecords``. In a cell, empty means "leave unchanged" and ``#N/A`` sets the
field to null. Bulk jobs run no lead assignment rule (none is named on the job).
"""

from __future__ import annotations

import csv
import io
import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from crmbridge_salesforce.sandbox import writes
from crmbridge_salesforce.sandbox.pipeline import Services, guarded, json_body
from crmbridge_salesforce.sandbox.state import now_ms
from crmbridge_salesforce.sandbox.wire import ApiError, SalesforceJSON

#: The largest CSV one job takes (Salesforce: 150 MB; simple-salesforce sends ≤100 MB).
MAX_UPLOAD = 150 * 1024 * 1024
_DELIMITERS = {"COMMA": ",", "TAB": "\t", "PIPE": "|", "SEMICOLON": ";", "CARET": "^",
               "BACKQUOTE": "`"}  # fmt: skip
_OPERATIONS = ("insert", "update")


@dataclass
class Job:
    """One ingest job."""

    id: str
    sobject: str
    operation: str
    delimiter: str
    line_ending: str
    created: datetime
    created_by: str
    version: str
    state: str = "Open"
    csv_text: str | None = None
    polls_left: int = 0
    error: str | None = None
    header: list[str] = field(default_factory=list)
    succeeded: list[tuple[str, bool, list[str]]] = field(default_factory=list)
    failed: list[tuple[str, str, list[str]]] = field(default_factory=list)

    def info(self) -> dict[str, Any]:
        """The job as ``GET jobs/ingest/{id}`` shows it."""
        body: dict[str, Any] = {
            "id": self.id,
            "operation": self.operation,
            "object": self.sobject,
            "createdById": self.created_by,
            "createdDate": self.created,
            "systemModstamp": self.created,
            "state": self.state,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(self.version.lstrip("v")),
            "jobType": "V2Ingest",
            "lineEnding": self.line_ending,
            "columnDelimiter": next(k for k, v in _DELIMITERS.items() if v == self.delimiter),
            "contentUrl": f"services/data/{self.version}/jobs/ingest/{self.id}/batches",
            "numberRecordsProcessed": len(self.succeeded) + len(self.failed),
            "numberRecordsFailed": len(self.failed),
            "retries": 0,
            "totalProcessingTime": 0,
        }
        if self.error is not None:
            body["errorMessage"] = self.error
        return body


class Jobs:
    """The ingest jobs of one sandbox (thread-safe)."""

    def __init__(self) -> None:
        self.jobs: dict[str, Job] = {}
        self.lock = threading.Lock()

    def get(self, job_id: str) -> Job:
        """The job ``job_id`` or 404 ``NOT_FOUND``."""
        with self.lock:
            job = self.jobs.get(job_id)
        if job is None:
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        return job


def _csv(job: Job, header: list[str], rows: list[tuple[list[str], list[str]]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=job.delimiter, lineterminator="\n")
    writer.writerow([*header, *job.header])
    for prefix, row in rows:
        writer.writerow([*prefix, *row])
    return out.getvalue()


def _process(services: Services, job: Job) -> None:
    """Save every row of the job's CSV; a header naming no field fails the whole job."""
    state = services.state
    text = job.csv_text or ""
    if job.line_ending == "CRLF":
        text = text.replace("\r\n", "\n")
    reader = csv.reader(io.StringIO(text), delimiter=job.delimiter)
    try:
        lines = list(reader)
    except csv.Error as exc:
        job.state, job.error = "Failed", f"InvalidBatch : {exc}"
        return
    if not lines:
        job.state, job.error = "Failed", "InvalidBatch : the CSV has no header"
        return
    job.header = lines[0]
    unknown = [c for c in job.header if state.schema.field(job.sobject, c) is None]
    if unknown:
        job.state, job.error = "Failed", f"InvalidBatch : Field name not found : {unknown[0]}"
        return
    for row in lines[1:]:
        if len(row) != len(job.header):
            job.failed.append(("", "INVALID_FIELD:row has a different number of cells:--", row))
            continue
        values: dict[str, Any] = {}
        for name, cell in zip(job.header, row, strict=True):
            if cell == "":
                continue
            values[name] = None if cell == "#N/A" else cell
        record_id = values.pop("Id", None) or values.pop("id", None)
        if job.operation == "update":
            result = writes.update(state, job.sobject, record_id, values, auto_assign=False)
        else:
            result = writes.create(state, job.sobject, values, auto_assign=False)
        if result["success"]:
            job.succeeded.append((result["id"], job.operation == "insert", row))
        else:
            error = result["errors"][0]
            fields = ",".join(error["fields"]) or "--"
            shown = str(record_id or "") if job.operation == "update" else ""
            job.failed.append((shown, f"{error['statusCode']}:{error['message']}:{fields}", row))
    job.state = "InProgress" if job.polls_left > 0 else "JobComplete"


def routes(services: Services) -> list[Route]:
    """The Bulk API 2.0 ingest routes."""
    jobs = Jobs()
    services.extras["bulk_jobs"] = jobs
    state = services.state

    async def create(request: Request) -> Response:
        body = await json_body(request, limit=64 * 1024)
        if not isinstance(body, dict):
            raise ApiError(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
        sobject = state.schema.object_name(str(body.get("object", "")))
        operation = body.get("operation")
        if sobject is None:
            raise ApiError(400, "INVALIDENTITY", f"Entity '{body.get('object')}' is not supported")
        if operation not in _OPERATIONS:
            raise ApiError(400, "INVALIDJOB", f"Operation {operation!r} is not supported here")
        if body.get("contentType", "CSV") != "CSV":
            raise ApiError(400, "INVALIDJOB", "contentType must be CSV")
        delimiter = _DELIMITERS.get(str(body.get("columnDelimiter", "COMMA")))
        line_ending = str(body.get("lineEnding", "LF"))
        if delimiter is None or line_ending not in ("LF", "CRLF"):
            raise ApiError(400, "INVALIDJOB", "unknown columnDelimiter or lineEnding")
        job = Job(
            id="750" + secrets.token_hex(6)[:12] + "AAA",
            sobject=sobject,
            operation=str(operation),
            delimiter=delimiter,
            line_ending=line_ending,
            created=now_ms(),
            created_by=state.users.integration,
            version=request.path_params["version"],
            polls_left=services.config.bulk_polls_in_progress,
        )
        with jobs.lock:
            jobs.jobs[job.id] = job
        return SalesforceJSON(job.info())

    async def job_info(request: Request) -> Response:
        job = jobs.get(request.path_params["job_id"])
        if request.method == "DELETE":
            if job.state in ("Open", "UploadComplete", "InProgress"):
                raise ApiError(400, "INVALIDJOBSTATE", "Only closed jobs can be deleted")
            with jobs.lock:
                jobs.jobs.pop(job.id, None)
            return Response(status_code=204)
        if request.method == "PATCH":
            body = await json_body(request, limit=64 * 1024)
            wanted = body.get("state") if isinstance(body, dict) else None
            if wanted == "UploadComplete":
                if job.state != "Open":
                    raise ApiError(400, "INVALIDJOBSTATE", f"Job is {job.state}, not Open")
                if job.csv_text is None:
                    job.state, job.error = "Failed", "InvalidBatch : no data was uploaded"
                else:
                    job.state = "UploadComplete"
                    _process(services, job)
            elif wanted == "Aborted":
                if job.state not in ("Open", "UploadComplete", "InProgress"):
                    raise ApiError(400, "INVALIDJOBSTATE", f"Job is {job.state}")
                job.state = "Aborted"
            else:
                raise ApiError(400, "INVALIDJOBSTATE", "state must be UploadComplete or Aborted")
            return SalesforceJSON(job.info())
        if job.state == "InProgress":
            job.polls_left -= 1
            info = job.info()
            if job.polls_left <= 0:
                job.state = "JobComplete"
            return SalesforceJSON(info)
        return SalesforceJSON(job.info())

    async def upload(request: Request) -> Response:
        job = jobs.get(request.path_params["job_id"])
        if not request.headers.get("content-type", "").startswith("text/csv"):
            raise ApiError(400, "INVALIDCONTENTTYPE", "Content-Type must be text/csv")
        if job.state != "Open" or job.csv_text is not None:
            raise ApiError(400, "INVALIDJOBSTATE", "Only one upload is allowed, on an Open job")
        raw = await request.body()
        if len(raw) > MAX_UPLOAD:
            raise ApiError(413, "REQUEST_ENTITY_TOO_LARGE", "The upload exceeds 150 MB")
        try:
            job.csv_text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ApiError(400, "INVALIDBATCH", "The CSV must be UTF-8") from exc
        return Response(status_code=201)

    async def results(request: Request) -> Response:
        job = jobs.get(request.path_params["job_id"])
        kind = request.path_params["kind"]
        if job.state not in ("JobComplete", "Failed", "Aborted"):
            raise ApiError(400, "INVALIDJOBSTATE", "Results are available once the job ends")
        if kind == "successfulResults":
            text = _csv(job, ["sf__Id", "sf__Created"],
                        [([i, str(c).lower()], row) for i, c, row in job.succeeded])  # fmt: skip
        elif kind == "failedResults":
            text = _csv(job, ["sf__Id", "sf__Error"], [([i, e], row) for i, e, row in job.failed])
        elif kind == "unprocessedrecords":
            done = len(job.succeeded) + len(job.failed)
            rows = list(csv.reader(io.StringIO(job.csv_text or ""), delimiter=job.delimiter))
            text = _csv(job, [], [([], row) for row in rows[1 + done :]])
        else:
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        return Response(text, media_type="text/csv")

    base = "/services/data/{version}/jobs/ingest"
    return [
        Route(base, guarded(services, create), methods=["POST"]),
        Route(base + "/{job_id}", guarded(services, job_info), methods=["GET", "PATCH", "DELETE"]),
        Route(base + "/{job_id}/batches", guarded(services, upload), methods=["PUT"]),
        Route(base + "/{job_id}/{kind}", guarded(services, results), methods=["GET"]),
    ]
