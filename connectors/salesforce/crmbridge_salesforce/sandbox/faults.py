"""Fault injection: answers Salesforce gives when things go wrong, on demand.

Faults are queued (:meth:`Faults.add`) and taken by the next matching API requests
(login and admin calls are never failed), or drawn at random for a share of requests
(:attr:`Faults.rate`, seeded so a run repeats). Kinds:

- ``500``, ``502``, ``503``: a server error (JSON ``UNKNOWN_EXCEPTION`` for 500, an
  HTML gateway page for 502/503 that a client must read without JSON);
- ``expired``: 401 ``INVALID_SESSION_ID`` and the session really ends (re-login works);
- ``limit``: 403 ``REQUEST_LIMIT_EXCEEDED``, as when the org's daily calls are spent;
- ``lock``: 400 ``UNABLE_TO_LOCK_ROW`` (another transaction holds the record);
- ``stall``: the request is held ``stall_seconds`` before it is answered normally;
- ``late``: the request is carried out (its writes committed) at once and its answer
  held ``stall_seconds``: a client that timed out cannot know it succeeded;
- ``hold``: carried out at once, then its answer held until :meth:`Faults.release`
  (at most ``stall_seconds``); :attr:`Faults.holding` is set meanwhile, so a test can
  kill the client at that exact moment.

A fault added with ``after = N`` lets the first N matching requests through and takes
the next one: a fault aimed at a request count, not at the first request.
"""

from __future__ import annotations

import random
import threading
from collections import deque
from dataclasses import dataclass

from starlette.responses import HTMLResponse, Response

from crmbridge_salesforce.sandbox.wire import ApiError

KINDS = frozenset({"500", "502", "503", "expired", "hold", "late", "limit", "lock", "stall"})
#: The message of Salesforce's daily-limit refusal.
LIMIT_MESSAGE = "TotalRequests Limit exceeded."


@dataclass(frozen=True, slots=True)
class Fault:
    """One queued fault: its kind, and the path prefix it waits for ("" any)."""

    kind: str
    path_prefix: str = ""
    #: The HTTP method it waits for ("" any).
    method: str = ""
    #: Matching requests it lets through before it takes one.
    after: int = 0


class Faults:
    """The fault queue and the random fault rate of one sandbox (thread-safe)."""

    def __init__(self, seed: int = 7) -> None:
        self._queue: deque[Fault] = deque()
        self._lock = threading.Lock()
        self._random = random.Random(seed)
        #: Share of API requests answered with a random 5xx (0 = none).
        self.rate = 0.0
        #: Added latency on every API request, in seconds.
        self.latency = 0.0
        #: How long a ``stall`` holds its request.
        self.stall_seconds = 5.0
        #: Set while a ``hold`` fault holds its answer.
        self.holding = threading.Event()
        self._released = threading.Event()

    def add(
        self, kind: str, count: int = 1, path_prefix: str = "", method: str = "", after: int = 0
    ) -> None:
        """Queue ``count`` faults of ``kind`` for requests whose path starts with
        ``path_prefix`` (relative to ``/services/data/vXX.X/`` when it has no slash),
        sent with ``method`` when one is named, after ``after`` such requests."""
        if kind not in KINDS:
            raise ValueError(f"unknown fault {kind!r}; use one of {', '.join(sorted(KINDS))}")
        if after < 0:
            raise ValueError("after counts requests: 0 or more")
        with self._lock:
            self._queue.extend(
                Fault(kind, path_prefix, method.upper(), after) for _ in range(count)
            )

    def release(self) -> None:
        """Answer the request a ``hold`` fault holds (and any later one at once)."""
        self._released.set()

    def wait_released(self, seconds: float) -> bool:
        """Block until :meth:`release` or ``seconds``; whether it was released."""
        return self._released.wait(seconds)

    def clear(self) -> None:
        """Drop queued faults and stop random ones (a held answer is let go)."""
        with self._lock:
            self._queue.clear()
        self.rate = 0.0
        self.latency = 0.0
        self.release()

    def pending(self) -> int:
        """How many queued faults wait for a request."""
        with self._lock:
            return len(self._queue)

    def take(self, path: str, resource: str, method: str = "") -> str | None:
        """The fault for a ``method`` request to ``path`` (``resource``: its part after
        the version), or None."""
        with self._lock:
            for index, fault in enumerate(self._queue):
                prefix = fault.path_prefix
                target = path if prefix.startswith("/") else resource
                if target.startswith(prefix) and fault.method in ("", method.upper()):
                    if fault.after:
                        # Counted off: this request goes through untouched.
                        self._queue[index] = Fault(
                            fault.kind, prefix, fault.method, fault.after - 1
                        )
                        return None
                    del self._queue[index]
                    return fault.kind
            if self.rate and self._random.random() < self.rate:
                return self._random.choice(("500", "503"))
        return None


def fault_response(kind: str) -> Response:
    """The answer of a failing ``kind`` (not ``stall``, ``late``, ``expired`` or ``limit``)."""
    if kind == "500":
        return ApiError(
            500, "UNKNOWN_EXCEPTION", "An unexpected error occurred. Please include this "
            "ErrorId if you contact support: 1234567890-12345 (-1234567890)",
        ).response()  # fmt: skip
    if kind == "lock":
        return ApiError(
            400, "UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record"
        ).response()
    title = {"502": "502 Bad Gateway", "503": "503 Service Unavailable"}[kind]
    return HTMLResponse(f"<html><body><h1>{title}</h1></body></html>", status_code=int(kind))
