"""Changing the org from outside the API: what reps, admins and Salesforce itself do.

:class:`Admin` is the Python interface (tests use it in-process); ``/_sandbox/...`` the
same over HTTP for ``crmbridge sandbox`` (no session needed; never counted or failed):

- ``POST /_sandbox/records/{sobject}``: create a record (``modstamp``, ``staged``);
- ``PATCH /_sandbox/records/{sobject}/{id}``: a rep edits it (``modstamp`` optional);
- ``POST /_sandbox/commit/{id}``: a staged record becomes visible (a late commit);
- ``POST /_sandbox/touch/{sobject}/{id}``: a system update moves only SystemModstamp;
- ``POST /_sandbox/convert/{lead id}``: convert a lead;
- ``POST /_sandbox/hide/{sobject}/{field}``: hide a field from the integration user;
- ``POST /_sandbox/faults``: ``{"kind", "count", "path_prefix", "method", "after"}``;
- ``POST /_sandbox/expire-sessions``; ``GET /_sandbox/log``; ``GET /_sandbox/usage``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from crmbridge import clock
from crmbridge_salesforce.sandbox import writes
from crmbridge_salesforce.sandbox.api_actions import SALES_ENGAGEMENT
from crmbridge_salesforce.sandbox.pipeline import Services, json_body
from crmbridge_salesforce.sandbox.state import LoggedRequest
from crmbridge_salesforce.sandbox.wire import ApiError, SalesforceJSON


class Admin:
    """Seed and mutate the org as reps and admins would, bypassing the API."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.state = services.state

    def create(
        self,
        sobject: str,
        fields: dict[str, Any],
        *,
        modstamp: datetime | None = None,
        staged: bool = False,
        by: str | None = None,
    ) -> str:
        """A record created by a rep (or ``by``); ``staged`` hides it until
        :meth:`commit`, keeping ``modstamp`` (a transaction committing late)."""
        return self.state.insert(sobject, fields, by=by, modstamp=modstamp, staged=staged)

    def edit(
        self,
        sobject: str,
        record_id: str,
        fields: dict[str, Any],
        *,
        modstamp: datetime | None = None,
    ) -> None:
        """A rep edits a record (LastModifiedById is the rep)."""
        self.state.update(sobject, record_id, fields, modstamp=modstamp)

    def touch(self, sobject: str, record_id: str, *, modstamp: datetime | None = None) -> None:
        """A system update: SystemModstamp moves, LastModifiedDate and the author do not."""
        self.state.touch(sobject, record_id, modstamp)

    def commit(self, record_id: str) -> None:
        """A staged record becomes visible with its old SystemModstamp."""
        self.state.commit(record_id)

    def convert(self, lead_id: str) -> str:
        """Convert a lead; the new contact's id."""
        return self.state.convert_lead(lead_id)

    def delete(self, sobject: str, record_id: str, *, merged_into: str | None = None) -> None:
        """Delete (or merge away) a record."""
        self.state.delete(sobject, record_id, merged_into=merged_into)

    def empty_recycle_bin(self, sobject: str, record_id: str) -> None:
        """Remove a deleted record for good (only ``getDeleted`` still names it)."""
        self.state.empty_recycle_bin(sobject, record_id)

    def hide_field(self, sobject: str, field_name: str) -> None:
        """Field-level security: the integration user no longer sees the field."""
        self.state.hidden.add(f"{sobject}.{field_name}")

    def show_field(self, sobject: str, field_name: str) -> None:
        """Undo :meth:`hide_field`."""
        self.state.hidden.discard(f"{sobject}.{field_name}")

    def disable_sales_engagement(self) -> None:
        """The org without Sales Engagement: no cadence objects, no cadence actions."""
        with self.state.lock:
            self.state.absent.update(SALES_ENGAGEMENT)

    def expire_sessions(self) -> None:
        """End every session (the next API call answers 401 INVALID_SESSION_ID)."""
        self.services.sessions.expire_all()

    def set_usage(self, used: int) -> None:
        """Set today's API call count (e.g. to the daily limit)."""
        with self.state.lock:
            self.state.api_used = used

    def record(self, sobject: str, record_id: str) -> dict[str, Any]:
        """A copy of a stored record (staged and deleted ones too)."""
        with self.state.lock:
            return dict(self.state.records[sobject][record_id])

    def request_log(self) -> list[LoggedRequest]:
        """Every logged API request, oldest first."""
        with self.state.lock:
            return list(self.state.log)

    def clear_log(self) -> None:
        """Forget logged requests."""
        with self.state.lock:
            self.state.log.clear()


def _logged(entry: LoggedRequest) -> dict[str, Any]:
    return {
        "method": entry.method, "path": entry.path, "query": entry.query,
        "status": entry.status, "ms": round(entry.ms, 2), "headers": dict(entry.headers),
    }  # fmt: skip


def _modstamp(body: dict[str, Any]) -> datetime | None:
    text = body.get("modstamp")
    return clock.parse_instant(text) if isinstance(text, str) else None


def routes(services: Services) -> list[Route]:
    """The ``/_sandbox`` routes."""
    admin = Admin(services)
    state = services.state

    def sobject_of(request: Request) -> str:
        name = state.schema.object_name(request.path_params.get("sobject", ""))
        if name is None:
            raise ApiError(404, "NOT_FOUND", "no such object")
        return name

    def fields_of(sobject: str, body: dict[str, Any]) -> dict[str, Any]:
        """The body's ``fields``, typed; unknown names and bad values are 400."""
        raw = body.get("fields") or {}
        if not isinstance(raw, dict):
            raise ApiError(400, "INVALID_INPUT", "fields must be a JSON object")
        typed: dict[str, Any] = {}
        for name, value in raw.items():
            fdef = state.schema.field(sobject, str(name))
            if fdef is None:
                raise ApiError(
                    400, "INVALID_FIELD", f"No such field {str(name)[:80]!r} on {sobject}"
                )
            try:
                typed[fdef.name] = writes.convert(fdef, value)
            except writes.RecordRefusedError as refused:
                raise ApiError(400, refused.error["statusCode"], refused.error["message"]) from None
        return typed

    async def body_of(request: Request) -> dict[str, Any]:
        body = await json_body(request, limit=1024 * 1024)
        if not isinstance(body, dict):
            raise ApiError(400, "JSON_PARSER_ERROR", "a JSON object is expected")
        return body

    def handler(action: str) -> Any:
        async def handle(request: Request) -> Response:
            try:
                return await _dispatch(request, action)
            except ApiError as error:
                return error.response()
            except (KeyError, ValueError) as exc:
                return ApiError(400, "INVALID_INPUT", str(exc)).response()

        return handle

    async def _dispatch(request: Request, action: str) -> Response:
        if action == "records" and request.method == "POST":
            body = await body_of(request)
            sobject = sobject_of(request)
            new_id = admin.create(
                sobject, fields_of(sobject, body),
                modstamp=_modstamp(body), staged=bool(body.get("staged")),
            )  # fmt: skip
            return SalesforceJSON({"id": new_id}, status_code=201)
        if action == "records" and request.method == "PATCH":
            body = await body_of(request)
            sobject = sobject_of(request)
            admin.edit(sobject, request.path_params["record_id"], fields_of(sobject, body),
                       modstamp=_modstamp(body))  # fmt: skip
            return Response(status_code=204)
        if action == "touch":
            admin.touch(sobject_of(request), request.path_params["record_id"])
            return Response(status_code=204)
        if action == "commit":
            admin.commit(request.path_params["record_id"])
            return Response(status_code=204)
        if action == "convert":
            return SalesforceJSON({"contactId": admin.convert(request.path_params["record_id"])})
        if action == "hide":
            admin.hide_field(sobject_of(request), request.path_params["field"])
            return Response(status_code=204)
        if action == "faults":
            body = await body_of(request)
            services.faults.add(str(body["kind"]), int(body.get("count", 1)),
                                str(body.get("path_prefix", "")),
                                str(body.get("method", "")),
                                int(body.get("after", 0)))  # fmt: skip
            return Response(status_code=204)
        if action == "expire-sessions":
            admin.expire_sessions()
            return Response(status_code=204)
        if action == "log":
            return SalesforceJSON([_logged(e) for e in admin.request_log()])
        if action == "usage":
            return SalesforceJSON({"used": state.api_used, "limit": services.config.daily_limit})
        raise ApiError(404, "NOT_FOUND", "no such admin action")

    table = [
        ("/records/{sobject}", "records", "POST"),
        ("/records/{sobject}/{record_id}", "records", "PATCH"),
        ("/commit/{record_id}", "commit", "POST"),
        ("/touch/{sobject}/{record_id}", "touch", "POST"),
        ("/convert/{record_id}", "convert", "POST"),
        ("/hide/{sobject}/{field}", "hide", "POST"),
        ("/faults", "faults", "POST"),
        ("/expire-sessions", "expire-sessions", "POST"),
        ("/log", "log", "GET"),
        ("/usage", "usage", "GET"),
    ]
    return [Route("/_sandbox" + path, handler(a), methods=[m]) for path, a, m in table]
