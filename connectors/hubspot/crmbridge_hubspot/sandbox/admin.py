"""The sandbox's own control panel under ``/_sandbox/`` (no authentication).

======  ==========================================  ==============================================
GET     /_sandbox                                   this list (JSON); a browser gets the page below
GET     /_sandbox/requests?limit=N                  the request log (method, path, status, ms)
GET     /_sandbox/counters                          counters, rate-limit usage, webhook totals
POST    /_sandbox/reset                             clear log, counters and rate-limit windows
GET     /_sandbox/config                            current settings (secrets masked)
PATCH   /_sandbox/config                            change settings, e.g. {"fault_rate": 0.2}
POST    /_sandbox/oauth/expire                      every OAuth access token issued expires now
POST    /_sandbox/contacts                          create a contact as a CRM user would
GET     /_sandbox/contacts/{id}                     every property and its history
PATCH   /_sandbox/contacts/{id}                     edit as a user: {"properties": {...}}
POST    /_sandbox/contacts/{id}/reply               the lead replied to a sales email
POST    /_sandbox/contacts/{id}/meeting             the lead booked a meeting
GET     /_sandbox/tasks                             tasks with their contact associations
GET     /_sandbox/enrollments                       every sequence enrollment, finished or not
GET     /_sandbox/lists  ·  POST /_sandbox/lists    lists; create {"name", "processingType"}
GET     /_sandbox/webhooks                          webhook delivery attempts
GET     /_sandbox/seed-events[?format=jsonl]        the demo's canonical events
======  ==========================================  ==============================================

``GET /_sandbox`` asked for HTML (a browser's ``Accept: text/html``, or ``?format=html``)
answers a page a person can read (:mod:`crmbridge_hubspot.sandbox.panel`): the contacts as a
rep sees them, tasks, enrollments, the latest requests and webhook deliveries.

User edits may set HubSpot-calculated values (``hs_sales_email_last_replied``...),
bypass the forward-only rule of ``lifecyclestage`` and are announced to webhooks with
``changeSource`` ``CRM_UI`` (or the ``source`` given in the body).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from crmbridge_hubspot.sandbox import panel
from crmbridge_hubspot.sandbox.pipeline import Services, error_response
from crmbridge_hubspot.sandbox.records import (
    AlreadyExistsError,
    ChangeSource,
    Contact,
    InvalidValuesError,
)
from crmbridge_hubspot.sandbox.state import REPLY_PROPERTY
from crmbridge_hubspot.sandbox.timeutil import iso_ms, parse_instant
from crmbridge_hubspot.sandbox.wire import (
    HubSpotError,
    HubSpotJSON,
    Reply,
    bad_request,
    not_found,
    property_errors,
)

AdminHandler = Callable[[Request, Any], Reply]

ENDPOINTS = [
    "GET /_sandbox?format=json|html",
    "GET /_sandbox/requests?limit=N",
    "GET /_sandbox/counters",
    "POST /_sandbox/reset",
    "GET /_sandbox/config",
    "PATCH /_sandbox/config",
    "POST /_sandbox/oauth/expire",
    "POST /_sandbox/contacts",
    "GET /_sandbox/contacts/{id}",
    "PATCH /_sandbox/contacts/{id}",
    "POST /_sandbox/contacts/{id}/reply",
    "POST /_sandbox/contacts/{id}/meeting",
    "GET /_sandbox/tasks",
    "GET /_sandbox/enrollments",
    "GET /_sandbox/lists",
    "POST /_sandbox/lists",
    "GET /_sandbox/webhooks",
    "GET /_sandbox/seed-events?format=json|jsonl",
]


def _admin(handler: AdminHandler) -> Callable[[Request], Awaitable[Response]]:
    async def run(request: Request) -> Response:
        raw = await request.body()
        try:
            body = json.loads(raw) if raw.strip() else None
        except json.JSONDecodeError as exc:
            return error_response(bad_request(f"Invalid JSON: {exc}"))
        try:
            reply = handler(request, body)
        except HubSpotError as exc:
            return error_response(exc)
        if isinstance(reply.body, str):
            return Response(reply.body, reply.status, media_type="application/x-ndjson")
        return HubSpotJSON(reply.body, status_code=reply.status)

    return run


def full_contact(contact: Contact) -> dict[str, Any]:
    """Every property of a contact with its history."""
    return {
        "id": contact.id,
        "properties": dict(sorted(contact.properties.items())),
        "createdAt": iso_ms(contact.created_at),
        "updatedAt": iso_ms(contact.updated_at),
        "propertiesWithHistory": {
            name: [entry.to_json() for entry in entries]
            for name, entries in sorted(contact.history.items())
        },
    }


def _source(body: Any, default: str = "CRM_UI") -> ChangeSource:
    if isinstance(body, dict) and isinstance(body.get("source"), str):
        source_id = body.get("sourceId")
        return ChangeSource(body["source"], str(source_id) if source_id is not None else None)
    return ChangeSource(default, "userId:sandbox-admin")


def _properties(body: Any) -> dict[str, Any]:
    values = body.get("properties") if isinstance(body, dict) else None
    if not isinstance(values, dict):
        raise bad_request('The body needs {"properties": {...}}.')
    return values


def routes(services: Services) -> list[Route]:
    """The admin routes."""
    state, config = services.state, services.config

    def index(request: Request, body: Any) -> Reply:
        return Reply(200, {"endpoints": ENDPOINTS, "docs": "crmbridge_hubspot.sandbox.admin"})

    index_json = _admin(index)

    async def index_page(request: Request) -> Response:
        query = request.query_params
        if not panel.wants_html(request.headers.get("accept", ""), query.get("format")):
            return await index_json(request)
        limit = query.get("limit", "")
        page = panel.render(
            services,
            prefix=query.get("prefix"),
            limit=int(limit) if limit.isdigit() and len(limit) < 6 else None,
        )
        return HTMLResponse(page)

    def requests_log(request: Request, body: Any) -> Reply:
        limit = request.query_params.get("limit", "")
        records = state.requests(int(limit) if limit.isdigit() else None)
        return Reply(200, {"results": [r.to_json() for r in records]})

    def counters(request: Request, body: Any) -> Reply:
        hooks = services.webhooks
        return Reply(
            200,
            {
                "counters": state.counters(),
                "rate_limits": services.limiter.usage(),
                "webhooks": {
                    "pending": hooks.pending(),
                    "delivered_events": hooks.delivered_events,
                    "failed_events": hooks.failed_events,
                },
                "contacts": state.contact_count(),
            },
        )

    def reset(request: Request, body: Any) -> Reply:
        state.reset_observations()
        services.limiter.reset()
        services.faults.reseed()
        return Reply(200, {"reset": True})

    def get_config(request: Request, body: Any) -> Reply:
        return Reply(200, config.to_json())

    def patch_config(request: Request, body: Any) -> Reply:
        if not isinstance(body, dict):
            raise bad_request("The body must be an object of settings.")
        try:
            config.update(body)
        except ValueError as exc:
            raise bad_request(str(exc)) from exc
        return Reply(200, config.to_json())

    def expire_tokens(request: Request, body: Any) -> Reply:
        return Reply(200, {"expired": services.oauth.expire_all()})

    def create_contact(request: Request, body: Any) -> Reply:
        try:
            created = state.create_contact(_properties(body), source=_source(body), as_user=True)
        except InvalidValuesError as exc:
            raise property_errors(exc.issues, config.portal_id) from exc
        except AlreadyExistsError as exc:
            raise HubSpotError(409, "CONFLICT", exc.message) from exc
        return Reply(201, full_contact(created))

    def _contact(request: Request) -> Contact:
        contact_id = str(request.path_params["contact_id"])
        found = state.get_contact(contact_id)
        if found is None:
            raise not_found(f"Contact {contact_id} does not exist.", [contact_id])
        return found

    def get_contact(request: Request, body: Any) -> Reply:
        return Reply(200, full_contact(_contact(request)))

    def _edit(request: Request, values: dict[str, Any], source: ChangeSource) -> Reply:
        contact = _contact(request)
        try:
            updated, _ = state.update_contacts([(contact.id, values)], source=source, as_user=True)
        except InvalidValuesError as exc:
            raise property_errors(exc.issues, config.portal_id) from exc
        except AlreadyExistsError as exc:
            raise HubSpotError(409, "CONFLICT", exc.message) from exc
        return Reply(200, full_contact(updated[0]))

    def patch_contact(request: Request, body: Any) -> Reply:
        return _edit(request, _properties(body), _source(body))

    def reply(request: Request, body: Any) -> Reply:
        at = body.get("at") if isinstance(body, dict) else None
        moment = parse_instant(str(at)) if at is not None else state.now()
        if moment is None:
            raise bad_request(f"at={at!r} is not a date.")
        return _edit(request, {REPLY_PROPERTY: iso_ms(moment)}, _source(body, "SALES"))

    def meeting(request: Request, body: Any) -> Reply:
        contact = _contact(request)
        finished = state.finish_enrollment(contact.id, "MEETING_BOOKED")
        return Reply(200, {"enrollment": finished.to_json() if finished else None})

    def tasks(request: Request, body: Any) -> Reply:
        return Reply(
            200,
            {
                "results": [
                    {
                        "id": t.id,
                        "properties": dict(t.properties),
                        "contactIds": list(t.contact_ids),
                        "createdAt": iso_ms(t.created_at),
                    }
                    for t in state.tasks()
                ]
            },
        )

    def enrollments(request: Request, body: Any) -> Reply:
        return Reply(200, {"results": [e.to_json() for e in state.enrollments()]})

    def lists(request: Request, body: Any) -> Reply:
        if request.method == "POST":
            name = body.get("name") if isinstance(body, dict) else None
            kind = body.get("processingType", "MANUAL") if isinstance(body, dict) else "MANUAL"
            if not isinstance(name, str) or kind not in ("MANUAL", "SNAPSHOT", "DYNAMIC"):
                raise bad_request('Give {"name": ..., "processingType": "MANUAL"}.')
            return Reply(201, state.create_list(name, kind).to_json())
        return Reply(200, {"results": [item.to_json() for item in state.lists()]})

    def webhooks(request: Request, body: Any) -> Reply:
        hooks = services.webhooks
        return Reply(
            200,
            {
                "url": config.webhook_url,
                "pending": hooks.pending(),
                "deliveries": [d.to_json() for d in hooks.deliveries()],
            },
        )

    def seed_events(request: Request, body: Any) -> Reply:
        if request.query_params.get("format") == "jsonl":
            text = "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in state.demo_events)
            return Reply(200, text)
        return Reply(200, state.demo_events)

    c = "/_sandbox/contacts/{contact_id}"
    return [
        Route("/_sandbox", index_page, methods=["GET"]),
        Route("/_sandbox/requests", _admin(requests_log), methods=["GET"]),
        Route("/_sandbox/counters", _admin(counters), methods=["GET"]),
        Route("/_sandbox/reset", _admin(reset), methods=["POST"]),
        Route("/_sandbox/config", _admin(get_config), methods=["GET"]),
        Route("/_sandbox/config", _admin(patch_config), methods=["PATCH"]),
        Route("/_sandbox/oauth/expire", _admin(expire_tokens), methods=["POST"]),
        Route("/_sandbox/contacts", _admin(create_contact), methods=["POST"]),
        Route(c, _admin(get_contact), methods=["GET"]),
        Route(c, _admin(patch_contact), methods=["PATCH"]),
        Route(f"{c}/reply", _admin(reply), methods=["POST"]),
        Route(f"{c}/meeting", _admin(meeting), methods=["POST"]),
        Route("/_sandbox/tasks", _admin(tasks), methods=["GET"]),
        Route("/_sandbox/enrollments", _admin(enrollments), methods=["GET"]),
        Route("/_sandbox/lists", _admin(lists), methods=["GET", "POST"]),
        Route("/_sandbox/webhooks", _admin(webhooks), methods=["GET"]),
        Route("/_sandbox/seed-events", _admin(seed_events), methods=["GET"]),
    ]
