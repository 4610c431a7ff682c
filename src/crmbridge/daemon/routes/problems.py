"""Error answers of the daemon's HTTP API: ``{"detail": ...}`` with a status."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError

from crmbridge.connector import WebhookError
from crmbridge.logging import get_logger

#: How long a sender is asked to wait before retrying when the store cannot take writes.
RETRY_AFTER_S = "30"

log = get_logger(component="http")


class Problem(BaseModel):
    """An error answer."""

    detail: str


class HttpError(Exception):
    """Answer ``status`` with ``{"detail": ...}`` and stop handling the request."""

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers


async def _refused(_request: Request, exc: HttpError) -> Response:
    return JSONResponse({"detail": exc.detail}, exc.status, headers=exc.headers)


async def _bad_webhook(_request: Request, exc: WebhookError) -> Response:
    return JSONResponse({"detail": exc.reason}, exc.status)


async def _database_down(request: Request, exc: SQLAlchemyError) -> Response:
    log.error("http.database_error", path=request.url.path, error=type(exc).__name__)
    return JSONResponse(
        {"detail": "the database is unavailable; retry later"},
        503,
        headers={"Retry-After": "30"},
    )


def install_error_handlers(app: FastAPI) -> None:
    """Answer refusals, bad webhooks and an unreachable database (503) as problems."""
    # The decorator form: it accepts handlers typed for their own exception class.
    app.exception_handler(HttpError)(_refused)
    app.exception_handler(WebhookError)(_bad_webhook)
    app.exception_handler(SQLAlchemyError)(_database_down)
