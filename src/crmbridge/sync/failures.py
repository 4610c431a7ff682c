"""What went wrong in a cycle, typed: which connector, at which stage, of which kind.

The daemon's health report and metrics count failures by kind; the cycle's text errors
(``CycleSummary.errors``) stay what people read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from crmbridge.errors import AuthError, RateLimited, TransientError, safe_description

FailureKind = Literal["auth", "rate_limit", "transient", "other"]
#: Every kind, in the order reports list them.
FAILURE_KINDS: tuple[FailureKind, ...] = ("auth", "rate_limit", "transient", "other")
#: The connector named when a failure is not one connector's (rescoring, a crash).
ALL_CONNECTORS = "*"


def failure_kind(exc: BaseException) -> FailureKind:
    """The kind of a failure from its exception."""
    if isinstance(exc, AuthError):
        return "auth"
    if isinstance(exc, RateLimited):
        return "rate_limit"
    if isinstance(exc, TransientError):
        return "transient"
    return "other"


@dataclass(frozen=True, slots=True)
class CycleFailure:
    """One failure of a cycle stage (read, recover, write, rescore, cycle)."""

    connector: str
    stage: str
    kind: FailureKind
    message: str

    @classmethod
    def of(cls, connector: str, stage: str, exc: BaseException) -> CycleFailure:
        """The failure ``exc`` stands for; its message is safe to show (``/healthz``)."""
        return cls(connector, stage, failure_kind(exc), safe_description(exc))
