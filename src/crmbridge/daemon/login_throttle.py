"""Failed dashboard sign-ins, counted per client, so the token cannot be guessed by trying.

A client that failed :data:`LIMIT` times within :data:`WINDOW_S` seconds is refused
(429 with ``Retry-After``) until its oldest failure of the window is that old. While it
is refused the token it sends is not even compared: a refused attempt answers the same
whether the token was right or wrong, so the refusal is never an oracle on the token.

A client is its address as uvicorn reports it (the proxy's ``X-Forwarded-For`` when the
proxy is one uvicorn trusts, ``FORWARDED_ALLOW_IPS``); an IPv6 client counts by its /64,
the block one host is usually given. The state lives in memory, per process, bounded to
:data:`MAX_CLIENTS` clients (the least recently failing ones are forgotten first).
"""

from __future__ import annotations

import ipaddress
import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

#: Failures allowed per client within the window.
LIMIT = 5
#: The window, in seconds.
WINDOW_S = 60.0
#: Clients remembered at most.
MAX_CLIENTS = 10_000


def client_key(host: str | None) -> str:
    """The unit failures are counted by: the IPv4 address, or the IPv6 /64."""
    if not host:
        return "?"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host[:64]
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


class LoginThrottle:
    """Sliding-window count of failed sign-ins per client (thread-safe)."""

    def __init__(
        self,
        *,
        limit: int = LIMIT,
        window_s: float = WINDOW_S,
        max_clients: int = MAX_CLIENTS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self.max_clients = max_clients
        self._clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def retry_after(self, host: str | None) -> int | None:
        """Whole seconds until ``host`` may try again, or None when it may try now."""
        key = client_key(host)
        with self._lock:
            recent = self._recent(key, self._clock())
            if recent is None or len(recent) < self.limit:
                return None
            wait = recent[0] + self.window_s - self._clock()
            return max(1, math.ceil(wait))

    def attempt(self, host: str | None) -> int | None:
        """Admit one sign-in of ``host``, counted as failed until :meth:`succeeded` says
        otherwise; or the whole seconds until it may try again (nothing counted).

        Checking and counting are one step: sign-ins sent at once cannot all pass the
        check before any is counted, which would let a client try any number of tokens.
        """
        key = client_key(host)
        with self._lock:
            now = self._clock()
            recent = self._recent(key, now)
            if recent is not None and len(recent) >= self.limit:
                return max(1, math.ceil(recent[0] + self.window_s - now))
            self._count(key, recent, now)
            return None

    def failed(self, host: str | None) -> None:
        """Count one failed sign-in of ``host``."""
        key = client_key(host)
        with self._lock:
            now = self._clock()
            self._count(key, self._recent(key, now), now)

    def _count(self, key: str, recent: deque[float] | None, now: float) -> None:
        if recent is None:
            recent = self._failures[key] = deque(maxlen=self.limit)
        recent.append(now)
        self._failures.move_to_end(key)
        while len(self._failures) > self.max_clients:
            self._failures.popitem(last=False)

    def succeeded(self, host: str | None) -> None:
        """Forget ``host``'s failures: it knows the token."""
        with self._lock:
            self._failures.pop(client_key(host), None)

    def _recent(self, key: str, now: float) -> deque[float] | None:
        recent = self._failures.get(key)
        if recent is None:
            return None
        while recent and recent[0] <= now - self.window_s:
            recent.popleft()
        if not recent:
            del self._failures[key]
            return None
        return recent
