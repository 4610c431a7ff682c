"""Sequences (``/automation/v4/sequences``), list memberships (``/crm/v3/lists``),
private-app token introspection and the account's details (``/account-info/v3/details``,
whose ``portalId`` is the account a connector syncs).

Mirroring HubSpot, there is no endpoint to unenroll a contact or pause a sequence:
HubSpot ends an enrollment itself when the contact replies (the state does the same
when ``hs_sales_email_last_replied`` is set). The enrollment-status endpoint then
answers 404, as it does for a contact that was never enrolled.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from crmbridge_hubspot.sandbox.config import ALL_SCOPES
from crmbridge_hubspot.sandbox.pipeline import Services, endpoint
from crmbridge_hubspot.sandbox.records import (
    AlreadyExistsError,
    Enrollment,
    NotFoundError,
    RefusedError,
)
from crmbridge_hubspot.sandbox.timeutil import iso_ms
from crmbridge_hubspot.sandbox.wire import (
    Call,
    HubSpotError,
    HubSpotJSON,
    Reply,
    bad_request,
    not_found,
    unauthorized,
)

SEQUENCES_READ = ("automation.sequences.read",)
ENROLL = ("automation.sequences.read", "automation.sequences.enrollments.write")
LISTS_READ = ("crm.lists.read",)
LISTS_WRITE = ("crm.lists.read", "crm.lists.write")
MAX_MEMBERSHIP_PAGE = 250


def _user_id(call: Call) -> int:
    value = call.query.get("userId", "")
    if not value.isdigit():
        raise bad_request("The userId query parameter is required and must be numeric.")
    return int(value)


def enrollment_status(enrollment: Enrollment, enrolled_by_email: str) -> dict[str, Any]:
    """The enrollment-status body (HubSpot's has no state field)."""
    return {
        "id": enrollment.id,
        "sequenceId": enrollment.sequence_id,
        "sequenceName": enrollment.sequence_name,
        "enrolledBy": str(enrollment.user_id),
        "enrolledByEmail": enrolled_by_email,
        "toEmail": enrollment.to_email,
        "enrolledAt": iso_ms(enrollment.enrolled_at),
        "updatedAt": iso_ms(enrollment.updated_at),
    }


def routes(services: Services) -> list[Route]:
    """Sequence, list and token-info routes."""
    state, config = services.state, services.config

    def list_sequences(call: Call) -> Reply:
        user_id = _user_id(call)
        limit = call.number("limit", 100, maximum=100)
        offset = call.number("after", 0)
        name = (call.query.get("name") or "").casefold()
        found = [s for s in state.sequences(user_id) if name in s.name.casefold()]
        body: dict[str, Any] = {
            "total": len(found),
            "results": [s.to_json() for s in found[offset : offset + limit]],
        }
        if offset + limit < len(found):
            body["paging"] = {"next": {"after": str(offset + limit)}}
        return Reply(200, body)

    def get_sequence(call: Call) -> Reply:
        _user_id(call)
        sequence_id = call.path("sequence_id")
        found = next((s for s in state.sequences() if s.id == sequence_id), None)
        if found is None:
            raise not_found(f"Sequence {sequence_id} does not exist.", [sequence_id])
        body = found.to_json()
        body["settings"] = {
            "eligibleFollowUpDays": "BUSINESS_DAYS",
            "sellingStrategy": "LEAD_BASED",
        }
        body["steps"] = [
            {"id": f"{found.id}-1", "stepOrder": 0, "actionType": "EMAIL", "delayMillis": 0},
            {
                "id": f"{found.id}-2",
                "stepOrder": 1,
                "actionType": "TASK",
                "delayMillis": 172_800_000,
            },
            {
                "id": f"{found.id}-3",
                "stepOrder": 2,
                "actionType": "EMAIL",
                "delayMillis": 259_200_000,
            },
            {
                "id": f"{found.id}-4",
                "stepOrder": 3,
                "actionType": "FINISH_ENROLLMENT",
                "delayMillis": 0,
            },
        ]
        body["dependencies"] = []
        return Reply(200, body)

    def enroll(call: Call) -> Reply:
        user_id = _user_id(call)
        body = call.json_object()
        missing = [k for k in ("contactId", "sequenceId", "senderEmail") if not body.get(k)]
        if missing:
            raise bad_request(f"Missing required fields: {', '.join(missing)}.")
        if user_id not in {o.user_id for o in state.owners()}:
            raise bad_request(f"User {user_id} does not exist or has no Sales seat.")
        try:
            enrollment = state.enroll(
                str(body["contactId"]), str(body["sequenceId"]), str(body["senderEmail"]), user_id
            )
        except NotFoundError as exc:
            raise not_found(exc.message, exc.ids) from exc
        except AlreadyExistsError as exc:
            raise HubSpotError(409, "CONFLICT", exc.message) from exc
        return Reply(
            200,
            {
                "id": enrollment.id,
                "toEmail": enrollment.to_email,
                "enrolledAt": iso_ms(enrollment.enrolled_at),
                "updatedAt": iso_ms(enrollment.updated_at),
            },
        )

    def contact_enrollment(call: Call) -> Reply:
        contact_id = call.path("contact_id")
        enrollment = state.active_enrollment(contact_id)
        if enrollment is None:
            raise not_found(f"Contact {contact_id} is not enrolled in a sequence.", [contact_id])
        by = next((o.email for o in state.owners() if o.user_id == enrollment.user_id), "")
        return Reply(200, enrollment_status(enrollment, by))

    def add_members(call: Call) -> Reply:
        body = call.json()
        if not isinstance(body, list) or not all(isinstance(v, str | int) for v in body):
            raise bad_request("The request body must be a JSON array of record ids.")
        try:
            added, missing = state.add_to_list(call.path("list_id"), [str(v) for v in body])
        except NotFoundError as exc:
            raise not_found(exc.message, exc.ids) from exc
        except RefusedError as exc:
            raise bad_request(exc.message) from exc
        return Reply(
            200,
            {
                "recordIdsAdded": added,
                "recordsIdsAdded": added,
                "recordIdsMissing": missing,
                "recordIdsRemoved": [],
            },
        )

    def list_members(call: Call) -> Reply:
        list_id = call.path("list_id")
        found = state.get_list(list_id)
        if found is None:
            raise not_found(f"List {list_id} does not exist.", [list_id])
        limit = call.number("limit", 100, maximum=MAX_MEMBERSHIP_PAGE)
        after = call.number("after", 0)
        members = sorted(found.members.items(), key=lambda item: int(item[0]))
        later = [(r, t) for r, t in members if int(r) > after]
        page = later[:limit]
        body: dict[str, Any] = {
            "total": len(members),
            "results": [{"recordId": r, "membershipTimestamp": iso_ms(t)} for r, t in page],
        }
        if len(later) > limit:
            body["paging"] = {"next": {"after": page[-1][0]}}
        return Reply(200, body)

    async def token_info(request: Request) -> HubSpotJSON:
        try:
            body = await request.json()
        except ValueError:
            body = None
        token = body.get("tokenKey") if isinstance(body, dict) else None
        if not isinstance(token, str) or not config.knows(token):
            error = unauthorized()
            return HubSpotJSON(error.body(), status_code=error.status)
        scopes = config.scopes_of(token)
        owners = state.owners()
        return HubSpotJSON(
            {
                "userId": owners[0].user_id if owners else 0,
                "hubId": config.portal_id,
                "appId": config.app_id,
                "scopes": sorted(scopes) if scopes is not None else list(ALL_SCOPES),
            }
        )

    def account_details(call: Call) -> Reply:
        # Any valid token may read it (HubSpot asks for no scope).
        return Reply(
            200,
            {
                "portalId": config.portal_id,
                "accountType": "STANDARD",
                "timeZone": "Europe/Madrid",
                "companyCurrency": "EUR",
                "additionalCurrencies": [],
                "utcOffset": "+01:00",
                "utcOffsetMilliseconds": 3_600_000,
                "uiDomain": "app.hubspot.com",
                "dataHostingLocation": "na1",
            },
        )

    seq = "/automation/v4/sequences"
    lists = "/crm/v3/lists/{list_id}/memberships"
    return [
        Route(f"{seq}/enrollments", endpoint(services, enroll, scopes=ENROLL), methods=["POST"]),
        Route(
            f"{seq}/enrollments/contact/{{contact_id}}",
            endpoint(services, contact_enrollment, scopes=SEQUENCES_READ),
            methods=["GET"],
        ),
        Route(seq, endpoint(services, list_sequences, scopes=SEQUENCES_READ), methods=["GET"]),
        Route(
            f"{seq}/{{sequence_id}}",
            endpoint(services, get_sequence, scopes=SEQUENCES_READ),
            methods=["GET"],
        ),
        Route(f"{lists}/add", endpoint(services, add_members, scopes=LISTS_WRITE), methods=["PUT"]),
        Route(lists, endpoint(services, list_members, scopes=LISTS_READ), methods=["GET"]),
        Route("/oauth/v2/private-apps/get/access-token-info", token_info, methods=["POST"]),
        Route(
            "/account-info/v3/details",
            endpoint(services, account_details, scopes=()),
            methods=["GET"],
        ),
    ]
