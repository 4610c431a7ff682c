"""The retry policy every connector shares: transient failures and short rate limits.

Transient errors (5xx, timeouts, dropped connections) are retried with exponential
backoff and full jitter; a rate limit or a :class:`~crmbridge.errors.RetryLater` with a
short ``retry_after`` waits exactly that long; everything else — a daily limit, a long
``retry_after`` — goes straight back to the caller.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)

from crmbridge.errors import RateLimited, RetryLater, TransientError

T = TypeVar("T")

#: A rate limit longer than this is not waited out inside a call (e.g. a daily limit).
MAX_INLINE_WAIT_S = 60.0


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, RateLimited | RetryLater):
        return exc.retry_after <= MAX_INLINE_WAIT_S
    return isinstance(exc, TransientError)


class _Wait:
    """Waits what a rate limit asked for, else exponential backoff with jitter."""

    def __init__(self, initial: float, maximum: float) -> None:
        self._backoff = wait_random_exponential(multiplier=initial, max=maximum)

    def __call__(self, state: RetryCallState) -> float:
        outcome = state.outcome
        exc = outcome.exception() if outcome is not None else None
        if isinstance(exc, RateLimited | RetryLater):
            return exc.retry_after
        return float(self._backoff(state))


def call_with_retries(
    fn: Callable[[], T],
    *,
    attempts: int = 6,
    initial_wait: float = 0.5,
    max_wait: float = 30.0,
    sleep: Callable[[float], None] | None = None,
    give_up: Callable[[BaseException], bool] | None = None,
) -> T:
    """Run ``fn`` under the shared policy; the last error is re-raised unchanged.

    ``give_up`` names errors the caller does not want retried although transient (a
    call that timed out: each attempt would wait the whole timeout again).
    """

    def retryable(exc: BaseException) -> bool:
        return _retryable(exc) and not (give_up is not None and give_up(exc))

    retrying = Retrying(
        retry=retry_if_exception(retryable),
        wait=_Wait(initial_wait, max_wait),
        stop=stop_after_attempt(attempts),
        reraise=True,
    )
    if sleep is not None:
        retrying.sleep = sleep
    return retrying(fn)
