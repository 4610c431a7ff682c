"""``GET /v1/profile/{email}``: the next question a form should ask a lead, bearer token."""

from __future__ import annotations

from fastapi import APIRouter, Request

from crmbridge.daemon.profile import ProfileAnswer, profile_answer
from crmbridge.daemon.routes.context import Context
from crmbridge.daemon.routes.guards import check_ingest_bearer
from crmbridge.daemon.routes.problems import HttpError, Problem

router = APIRouter(tags=["profiling"])


@router.get(
    "/v1/profile/{email}",
    summary="The next question to ask a lead",
    response_model=ProfileAnswer,
    openapi_extra={"security": [{"ingestToken": []}]},
    responses={
        401: {"model": Problem, "description": "Missing or wrong bearer token."},
        404: {"model": Problem, "description": "No contact has this email."},
        503: {"model": Problem, "description": "No ingest token is configured."},
    },
)
def profile(email: str, request: Request, context: Context) -> ProfileAnswer:
    """The lead's stage, score and the field a form should ask next (email: any case)."""
    check_ingest_bearer(request, context.config)
    answer = profile_answer(context.store, context.config, email)
    if answer is None:
        raise HttpError(404, "no contact has this email")
    return answer
