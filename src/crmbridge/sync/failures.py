"""What went wrong in a cycle, typed: which connector, at which stage, of which kind.

Cycle and drain outcomes carry :class:`CycleFailure` records, never text to search:
readiness, ``/healthz``, the metrics and the alerts read ``kind``; the lines people read
(``run --once``, the log, the ``sync_runs`` history) are rendered from the records by
:func:`render`.

The kinds, a closed set (``/healthz`` and ``crmbridge_cycle_failures_total`` use them):

=================  ===================================================================
``auth``           the CRM refused the credentials (or the start-up check failed)
``missing_scope``  the credentials lack a permission (scope) a call needs
``rate_limited``   the CRM asked crmbridge to slow down; retried after its wait
``unavailable``    no answer, a timeout, a 5xx: expected to pass, retried
``bad_record``     the CRM refused the data sent (a record, an action, a request)
``schema``         a field crmbridge needs is missing in the CRM or mistyped
``config``         the configuration (or the store's CRM account) refuses the work
``store``          the database failed
``internal``       anything else: a bug, whose traceback is in the error log
=================  ===================================================================
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, get_args

from crmbridge.errors import (
    AuthError,
    ConfigError,
    MissingScope,
    PermanentRecordError,
    RateLimited,
    SchemaError,
    TransientError,
    is_database_error,
    safe_description,
)

FailureKind = Literal[
    "auth",
    "missing_scope",
    "rate_limited",
    "unavailable",
    "bad_record",
    "schema",
    "config",
    "store",
    "internal",
]
#: Every kind, in the order reports list them.
FAILURE_KINDS: tuple[FailureKind, ...] = get_args(FailureKind)
#: Where in a cycle a failure happened: the start-up (or late) check of a connector,
#: reading, recovering what a dead process left in flight, rescoring, writing (the
#: outbox drain), or the cycle as a whole (it crashed).
Stage = Literal["check", "read", "recover", "rescore", "write", "cycle"]
#: The connector named when a failure is not one connector's (a crash of the cycle).
ALL_CONNECTORS = "*"

#: Exception types and their kind, most specific first.
_KINDS: tuple[tuple[type[BaseException], FailureKind], ...] = (
    (MissingScope, "missing_scope"),
    (AuthError, "auth"),
    (RateLimited, "rate_limited"),
    (TransientError, "unavailable"),
    (PermanentRecordError, "bad_record"),
    (SchemaError, "schema"),
    (ConfigError, "config"),
)


def failure_kind(exc: BaseException) -> FailureKind:
    """The kind of a failure from its exception (its type, never its text)."""
    for error_type, kind in _KINDS:
        if isinstance(exc, error_type):
            return kind
    return "store" if is_database_error(exc) else "internal"


@dataclass(frozen=True, slots=True)
class CycleFailure:
    """One failure in a cycle: of a connector's stage, or of one record (``crm_id``).

    ``message`` is safe to show anywhere (``/healthz`` needs no token): crmbridge's own
    errors say what to do and carry no secret; any other error is named by its type.
    ``subject`` says what a record failure is about (``record``, ``task``, ``enroll``...).
    """

    connector: str
    stage: Stage
    kind: FailureKind
    message: str
    crm_id: str | None = None
    subject: str | None = None

    @classmethod
    def of(cls, connector: str, stage: Stage, exc: BaseException) -> CycleFailure:
        """The connector-wide failure ``exc`` stands for."""
        return cls(connector, stage, failure_kind(exc), safe_description(exc))

    @property
    def of_record(self) -> bool:
        """True when one record (or action) failed, not the connector: the others went
        on, so the connector's health does not count it."""
        return self.crm_id is not None

    def as_dict(self) -> dict[str, str | None]:
        """JSON-ready form."""
        return {
            "connector": self.connector,
            "stage": self.stage,
            "kind": self.kind,
            "message": self.message,
            "crm_id": self.crm_id,
        }


#: How a connector-wide failure of the write stage reads, by kind (else "batch failed").
_WRITE_STOPS: dict[FailureKind, str] = {
    "auth": "authentication failed",
    "missing_scope": "permission missing",
    "rate_limited": "rate limited",
}
#: What a connector-wide failure of the read or recover stage adds after "failed".
_STAGE_NOTES: dict[FailureKind, str] = {
    "auth": " (authentication)",
    "missing_scope": " (missing scope)",
}


def render(failures: Iterable[CycleFailure]) -> list[str]:
    """The lines people read, one per failure; rescoring failures make one line (there
    may be thousands), where the first of them is."""
    failures = list(failures)
    unscored = [failure for failure in failures if failure.stage == "rescore"]
    lines: list[str] = []
    for failure in failures:
        if failure.stage != "rescore":
            lines.append(describe(failure))
        elif failure is unscored[0]:
            lines.append(
                f"{len(unscored)} lead(s) could not be scored and keep their last score "
                f"(first: {failure.connector}:{failure.crm_id}: {failure.message})"
            )
    return lines


def describe(failure: CycleFailure) -> str:
    """One failure as a line for people (the connector first)."""
    if failure.stage == "cycle":
        return f"cycle aborted: {failure.message}"
    if failure.of_record:
        return f"{failure.connector} {failure.subject or 'record'} {failure.crm_id}: " + (
            failure.message
        )
    if failure.stage == "write":
        what = _WRITE_STOPS.get(failure.kind, "batch failed")
        return f"{failure.connector}: {what}: {failure.message}"
    note = _STAGE_NOTES.get(failure.kind, "")
    return f"{failure.connector}: {failure.stage} failed{note}: {failure.message}"
