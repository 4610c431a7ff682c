"""The crmbridge exception tree.

Exceptions are grouped by what the caller should do about them::

    CrmbridgeError                 base of everything crmbridge raises on purpose
    ├── ConfigError                bad configuration: fix the file/env, nothing will work until then
    ├── AuthError                  credentials rejected: fix the named setting
    ├── MissingScope               credentials valid but lacking a permission: grant it
    ├── RateLimited                the CRM asked us to slow down; retry after ``retry_after`` s
    ├── TransientError             network blip, 5xx, timeout: retry with backoff
    │   └── RetryLater             the CRM said how long to wait (``retry_after`` s)
    ├── PermanentRecordError       this one record cannot be written: skip it, keep the rest
    └── SchemaError                a property/field the model needs is missing or mistyped

Each error carries an admin-facing message (``str(err)``: what to do) and, where useful,
``detail`` for the logs (what happened). Neither ever contains a secret.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class CrmbridgeError(Exception):
    """Base class for every error crmbridge raises deliberately."""

    def __init__(self, message: str, *, detail: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One problem in a configuration: where it is, what is wrong, how to fix it."""

    path: str
    message: str
    hint: str | None = None

    def __str__(self) -> str:
        text = f"{self.path}: {self.message}" if self.path else self.message
        return f"{text} ({self.hint})" if self.hint else text


class ConfigError(CrmbridgeError):
    """The configuration is invalid; ``problems`` lists every problem at once."""

    def __init__(self, problems: Sequence[ConfigProblem], *, source: str | None = None) -> None:
        self.problems = list(problems)
        self.source = source
        where = f" in {source}" if source else ""
        lines = "\n".join(f"  {p}" for p in self.problems)
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        super().__init__(f"{count} configuration {noun}{where}:\n{lines}")


class AuthError(CrmbridgeError):
    """Credentials were rejected (or are missing): nothing will work until they are fixed."""


class MissingScope(CrmbridgeError):  # noqa: N818 - named for what the CRM says
    """Credentials are valid but lack a permission (scope) this call needs.

    Not an :class:`AuthError`: only the calls that need the permission fail, so a
    hand-off action needing it is given up while every other write goes on.
    """


class RateLimited(CrmbridgeError):  # noqa: N818 - the name is part of the documented contract
    """The CRM refused a call for rate reasons; try again after ``retry_after`` seconds."""

    def __init__(self, message: str, *, retry_after: float, policy: str | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.policy = policy


class TransientError(CrmbridgeError):
    """A failure that is expected to go away: retry with backoff."""


class RetryLater(TransientError):  # noqa: N818 - what the caller does about it
    """Transient, and the CRM said for how long: ``retry_after`` seconds.

    A record locked for a moment, an account being moved between data centres: a short
    wait is waited out inside the call; a long one ends the call, and the writes it
    carried wait in the outbox until then without counting a failed attempt.
    """

    def __init__(self, message: str, *, retry_after: float, detail: str | None = None) -> None:
        super().__init__(message, detail=detail)
        self.retry_after = retry_after


class PermanentRecordError(CrmbridgeError):
    """One record cannot be processed; skip it and carry on with the rest."""


class SchemaError(CrmbridgeError):
    """The CRM lacks a property/field crmbridge needs, or it has the wrong type."""


#: Top-level modules whose exceptions come from the database layer. Their text quotes
#: SQL, bound values (emails) and connection details (host, user), so it is never shown.
_DATABASE_MODULES = frozenset({"sqlalchemy", "sqlmodel", "psycopg", "psycopg2", "sqlite3"})


def is_database_error(exc: BaseException) -> bool:
    """Does ``exc`` come from the database layer (SQLAlchemy, a driver)?"""
    return type(exc).__module__.split(".", 1)[0] in _DATABASE_MODULES


def safe_description(exc: BaseException) -> str:
    """What an exception may say where anyone can read it: ``/healthz``, warning logs,
    the cycle history.

    crmbridge's own errors are written for people and never carry a secret: their
    message. Anything else is named by its type and a fixed phrase ("database error:
    OperationalError", "unexpected error: ValueError"); the full text stays in the
    traceback of the error log line, for whoever debugs.
    """
    if isinstance(exc, CrmbridgeError):
        return str(exc) or type(exc).__name__
    name = type(exc).__name__
    if is_database_error(exc):
        return f"database error: {name}"
    return f"unexpected error: {name}"
