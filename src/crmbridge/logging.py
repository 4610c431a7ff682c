"""Structured logs (structlog): JSON in production, readable on a terminal, never a secret.

Every log line passes through :class:`Redactor`, which masks the values of keys that
name secrets (token, password, secret, authorization, ...) and any configured secret
value wherever it appears, so a token pasted into an error message is masked too.

Libraries that log through the standard library (the scheduler, the HTTP server) are
routed through the same processors, so with JSON output every line on stderr is one
JSON object, their tracebacks included (in an ``exception`` field).
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any, Literal

import structlog

MASK = "***"
#: ``auto``: JSON unless stderr is a terminal.
LogFormat = Literal["auto", "json", "console"]
_SECRET_KEYS = re.compile(r"token|password|passwd|secret|authorization|api[_-]?key|cookie", re.I)


class Redactor:
    """A structlog processor that masks secrets in every field of an event."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first, so a secret containing another is masked whole.
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def __call__(
        self, _logger: Any, _method: str, event: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        for key in list(event):
            event[key] = MASK if _SECRET_KEYS.search(key) else self._scrub(event[key])
        return event

    def _scrub(self, value: Any) -> Any:
        if isinstance(value, str):
            for secret in self.secrets:
                value = value.replace(secret, MASK)
            return value
        if isinstance(value, dict):
            return {
                k: MASK if _SECRET_KEYS.search(str(k)) else self._scrub(v) for k, v in value.items()
            }
        if isinstance(value, list | tuple):
            return [self._scrub(v) for v in value]
        return value


class _Stderr:
    """Writes to whatever ``sys.stderr`` is at the time (tests and CLIs swap it)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def wants_json(log_format: LogFormat = "auto") -> bool:
    """Whether ``log_format`` means JSON lines here (``auto``: unless stderr is a terminal)."""
    if log_format == "auto":
        return not sys.stderr.isatty()
    return log_format == "json"


#: Libraries that may have installed handlers of their own.
_OWN_HANDLERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "apscheduler")


class _StdlibHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The root handler crmbridge installs (found again and replaced on reconfiguring)."""


def configure_logging(
    *,
    json_output: bool | None = None,
    level: str = "INFO",
    secrets: Iterable[str] = (),
    log_format: LogFormat = "auto",
) -> None:
    """Set up structlog, and the standard library's logging through it, for the process.

    ``json_output`` (when given) overrides ``log_format``.
    """
    as_json = wants_json(log_format) if json_output is None else json_output
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if as_json
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    redactor = Redactor(secrets)
    stamp = structlog.processors.TimeStamper(fmt="iso", utc=True)
    numeric_level = logging.getLevelName(level.upper())
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            stamp,
            structlog.processors.format_exc_info,
            redactor,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        logger_factory=structlog.PrintLoggerFactory(file=_Stderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )
    handler = _StdlibHandler(_Stderr())
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[
                structlog.stdlib.add_log_level,
                structlog.stdlib.add_logger_name,
                stamp,
            ],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                redactor,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _StdlibHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    for name in _OWN_HANDLERS:
        # Their own handlers and levels (uvicorn's default logging config, as an
        # in-process server such as the sandbox sets up) would bypass this one.
        library = logging.getLogger(name)
        library.handlers.clear()
        library.setLevel(logging.NOTSET)
        library.propagate = True
    # Libraries' INFO lines are routine (a line per scheduler job, per migration step):
    # their warnings and errors show, everything only at DEBUG.
    chatty = isinstance(numeric_level, int) and numeric_level <= logging.DEBUG
    root.setLevel(logging.DEBUG if chatty else logging.WARNING)
    for name in _QUOTES_CREDENTIALS:
        # Their debug lines quote request URLs and response bodies, which carry tokens
        # obtained at run time (an OAuth access token in a token-info URL, a refresh
        # answer) that the redactor cannot know in advance: never below INFO.
        logging.getLogger(name).setLevel(logging.INFO)


#: Libraries whose DEBUG output quotes URLs or bodies holding credentials.
_QUOTES_CREDENTIALS = ("urllib3", "hubspot", "requests", "simple_salesforce", "zeep")


def get_logger(**bound: Any) -> Any:
    """A logger with context bound (connector, contact id, cycle id, ...).

    It reads the configuration at each call, so a logger made at import time follows a
    later :func:`configure_logging` (format, level, the secrets to mask).
    """
    return structlog.get_logger(**bound)
