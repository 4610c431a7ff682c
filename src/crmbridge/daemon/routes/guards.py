"""Checks a handler makes before doing work: a bearer token and the body size."""

from __future__ import annotations

from fastapi import Request
from pydantic import SecretStr

from crmbridge.config import CrmbridgeConfig
from crmbridge.daemon.bearer import CHALLENGE, bearer_problem
from crmbridge.daemon.routes.problems import HttpError


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it is known to exceed ``limit``."""
    too_large = HttpError(
        413,
        f"request body is larger than {limit / 2**20:g} MB; send the events in smaller batches",
    )
    declared = request.headers.get("content-length")
    if declared is not None:
        declared = declared.strip()
        if not declared.isascii() or not declared.isdigit():
            raise HttpError(400, "invalid Content-Length header")
        if int(declared) > limit:
            raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large
    return bytes(body)


def check_ingest_bearer(request: Request, config: CrmbridgeConfig) -> None:
    """503 when no ingest token is configured, 401 when the request does not carry it."""
    check_bearer(
        request,
        config.daemon.ingest_token,
        "event ingestion is disabled: no ingest token is configured "
        "(set daemon.ingest_token, e.g. CRMBRIDGE__DAEMON__INGEST_TOKEN)",
    )


def check_bearer(request: Request, token: SecretStr | None, disabled: str) -> None:
    """503 saying ``disabled`` when ``token`` is unset or empty, 401 when not carried."""
    if token is None or not token.get_secret_value():
        raise HttpError(503, disabled)
    problem = bearer_problem(request.headers.get("authorization", ""), token.get_secret_value())
    if problem is not None:
        raise HttpError(401, problem, dict(CHALLENGE))
