"""Sales cadence actions: ``POST actions/standard/<name>`` with ``{"inputs": [...]}``.

Each input gets ``{"actionName", "errors", "isSuccess", "outputValues"}``, in order; the
answer is 200 when every input succeeded, else 400 with the same list. What each
action does to ``ActionCadenceTracker`` rows (State Running, Paused or Complete):

- ``assignTargetToSalesCadence`` (``salesCadenceNameOrId``, ``targetId``, ``userId``):
  a Running tracker; refused when the target already has an active one, is a converted
  lead, or is not a lead or contact, and when ``userId`` is not an active user;
- ``pauseSalesCadenceTracker`` (``targetId``, ``resumeTime``; API 50.0+): Running → Paused;
- ``resumeSalesCadenceTracker`` (``targetId``; API 50.0+): Paused → Running;
- ``removeTargetFromSalesCadence`` (``targetId`` or ``actionCadenceTrackerId``,
  ``completionReasonCode``): the active tracker becomes Complete with that reason.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from crmbridge_salesforce.sandbox.pipeline import Services, guarded, json_body
from crmbridge_salesforce.sandbox.state import OrgState
from crmbridge_salesforce.sandbox.wire import ApiError, SalesforceJSON, record_error

#: Oldest API version of each action.
ACTIONS = {
    "assignTargetToSalesCadence": 45,
    "removeTargetFromSalesCadence": 45,
    "pauseSalesCadenceTracker": 50,
    "resumeSalesCadenceTracker": 50,
}
#: The objects of Sales Engagement (absent from an org without it).
SALES_ENGAGEMENT = ("ActionCadenceTracker", "ActionCadence")
COMPLETION_REASONS = ("ManuallyRemoved", "AutomaticallyExited", "ResponseReceived")
_ACTIVE = ("Running", "Paused")


class _ActionRefusedError(Exception):
    def __init__(self, message: str, code: str = "INVALID_INPUT") -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _active_tracker(state: OrgState, target: str) -> dict[str, Any] | None:
    return next(
        (
            t
            for t in state.records["ActionCadenceTracker"].values()
            if t["TargetId"] in (target, target[:15]) and t["State"] in _ACTIVE
        ),
        None,
    )


def _required(values: dict[str, Any], name: str) -> str:
    value = values.get(name)
    if not isinstance(value, str) or not value:
        raise _ActionRefusedError(
            f"Missing required input parameter: {name}", "REQUIRED_FIELD_MISSING"
        )
    return value


def _assign(state: OrgState, values: dict[str, Any]) -> dict[str, Any]:
    cadence_key = _required(values, "salesCadenceNameOrId")
    target = _required(values, "targetId")
    cadence = next(
        (c for c in state.records["ActionCadence"].values()
         if cadence_key in (c["Id"], c["Id"][:15], c["Name"]) and not c["IsDeleted"]),
        None,
    )  # fmt: skip
    if cadence is None or cadence["State"] != "Active":
        raise _ActionRefusedError(f"No active sales cadence {cadence_key[:80]!r}")
    found = state.find(target)
    if found is None or found[0] not in ("Lead", "Contact") or found[1]["IsDeleted"]:
        raise _ActionRefusedError("The target must be an existing lead, contact or person account")
    if found[0] == "Lead" and found[1]["IsConverted"]:
        raise _ActionRefusedError("A converted lead cannot be added to a sales cadence")
    if _active_tracker(state, found[1]["Id"]) is not None:
        raise _ActionRefusedError("The target is already assigned to a sales cadence")
    user = values.get("userId")
    if user is not None:
        sender = state.find(user) if isinstance(user, str) and user else None
        if sender is None or sender[0] != "User" or not sender[1]["IsActive"]:
            raise _ActionRefusedError(
                f"The user {str(user)[:40]!r} isn't an active user who can run sales cadences"
            )
        values = {**values, "userId": sender[1]["Id"]}
    tracker = state.insert(
        "ActionCadenceTracker",
        {"ActionCadenceId": cadence["Id"], "TargetId": found[1]["Id"], "State": "Running",
         "OwnerId": values.get("userId") or state.users.integration},
        by=state.users.integration,
    )  # fmt: skip
    return {"actionCadenceTrackerId": tracker}


def _change(state: OrgState, action: str, values: dict[str, Any]) -> dict[str, Any] | None:
    if action == "removeTargetFromSalesCadence":
        reason = _required(values, "completionReasonCode")
        if reason not in COMPLETION_REASONS:
            raise _ActionRefusedError(f"Unknown completionReasonCode {reason[:40]!r}")
        tracker_id = values.get("actionCadenceTrackerId")
        if isinstance(tracker_id, str) and tracker_id:
            found = state.find(tracker_id)
            tracker = found[1] if found and found[0] == "ActionCadenceTracker" else None
            if tracker is not None and tracker["State"] not in _ACTIVE:
                tracker = None
        else:
            tracker = _active_tracker(state, _required(values, "targetId"))
        if tracker is None:
            raise _ActionRefusedError("The target isn't assigned to an active sales cadence")
        state.update("ActionCadenceTracker", tracker["Id"],
                     {"State": "Complete", "CompletionReason": reason},
                     by=state.users.integration)  # fmt: skip
        return None
    tracker = _active_tracker(state, _required(values, "targetId"))
    wanted, current = (
        ("Paused", "Running") if action == "pauseSalesCadenceTracker" else ("Running", "Paused")
    )
    if tracker is None or tracker["State"] != current:
        raise _ActionRefusedError(f"The target has no {current.lower()} sales cadence tracker")
    state.update("ActionCadenceTracker", tracker["Id"], {"State": wanted},
                 by=state.users.integration)  # fmt: skip
    return None


def run_action(state: OrgState, action: str, values: Any) -> dict[str, Any]:
    """One input of ``action``: its result entry."""
    try:
        if not isinstance(values, dict):
            raise _ActionRefusedError("Each input must be a JSON object")
        with state.lock:
            if action == "assignTargetToSalesCadence":
                output: dict[str, Any] | None = _assign(state, values)
            else:
                output = _change(state, action, values)
    except _ActionRefusedError as refused:
        return {"actionName": action, "errors": [record_error(refused.code, refused.message)],
                "isSuccess": False, "outputValues": None}  # fmt: skip
    return {"actionName": action, "errors": None, "isSuccess": True, "outputValues": output}


def routes(services: Services) -> list[Route]:
    """The standard action route."""

    async def invoke(request: Request) -> Response:
        action = request.path_params["action"]
        version = int(request.path_params["version"][1:3])
        off = SALES_ENGAGEMENT[0] in services.state.absent
        if action not in ACTIONS or version < ACTIONS[action] or off:
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        body = await json_body(request, limit=1024 * 1024)
        inputs = body.get("inputs") if isinstance(body, dict) else None
        if not isinstance(inputs, list) or not inputs:
            raise ApiError(400, "INVALID_INPUT", "inputs is required and must be a list")
        if len(inputs) > 200:
            raise ApiError(400, "INVALID_INPUT", "at most 200 inputs per request")
        results = [run_action(services.state, action, values) for values in inputs]
        status = 200 if all(r["isSuccess"] for r in results) else 400
        return SalesforceJSON(results, status_code=status)

    return [
        Route(
            "/services/data/{version}/actions/standard/{action}",
            guarded(services, invoke),
            methods=["POST"],
        )
    ]
