"""The dashboard's login session: a cookie that says until when it is valid, signed
with HMAC-SHA256 under a key derived from ``[daemon] ui_token``.

The value is ``<expiry>.<nonce>.<signature>``. No server-side state: every replica that
has the same token accepts the same cookie, and changing the token ends every session at
once. The cookie carries no secret — only its expiry, a random nonce and a signature —
and its value is checked in constant time.

Signing out clears the cookie in the browser, and the process that served the sign-out
remembers the value as :class:`SignedOut` until it expires, so a copy of it is refused
there too (other replicas accept a copy until its expiry; changing the token ends all).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from datetime import datetime, timedelta

#: The cookie's name.
COOKIE = "crmbridge_ui"
#: How long a login lasts.
LIFETIME = timedelta(hours=12)
#: Longest cookie value read (a longer one is refused unread).
MAX_COOKIE_CHARS = 200
_PURPOSE = b"crmbridge dashboard session v1"


def session_key(token: str) -> bytes:
    """The signing key: the token's HMAC of a fixed purpose (the token itself never signs)."""
    return hmac.new(token.encode(), _PURPOSE, hashlib.sha256).digest()


def token_matches(given: str, token: str) -> bool:
    """Is ``given`` the configured token? Constant time in the token's content."""
    return hmac.compare_digest(given.encode(), token.encode())


def issue(key: bytes, now: datetime) -> str:
    """A cookie value valid for :data:`LIFETIME` from ``now``.

    A random nonce makes each sign-in's value its own, so signing one session out never
    ends another issued in the same second.
    """
    signed = f"{int((now + LIFETIME).timestamp())}.{secrets.token_hex(8)}"
    return f"{signed}.{_sign(key, signed)}"


def valid(key: bytes, value: str | None, now: datetime) -> bool:
    """Is ``value`` a cookie this key signed, not yet expired at ``now``?"""
    expires = _expiry(value)
    if expires is None or value is None:
        return False
    signed, _, signature = value.rpartition(".")
    if not hmac.compare_digest(signature.encode(), _sign(key, signed).encode()):
        return False
    return expires > now.timestamp()


def _expiry(value: str | None) -> int | None:
    """The expiry a well-formed value states (signed or not), or None."""
    if not value or len(value) > MAX_COOKIE_CHARS:
        return None
    expires, _, rest = value.partition(".")
    if not expires.isascii() or not expires.isdigit() or len(expires) > 12 or "." not in rest:
        return None
    return int(expires)


class SignedOut:
    """Cookie values signed out in this process, kept until they expire (bounded)."""

    #: Values remembered at most (the soonest to expire are forgotten first).
    MAX_VALUES = 10_000

    def __init__(self) -> None:
        self._values: dict[str, int] = {}
        self._lock = threading.Lock()

    def add(self, value: str | None, now: datetime) -> None:
        """Remember ``value`` (a cookie :func:`valid` accepted) as signed out."""
        expires = _expiry(value)
        if expires is None or value is None:
            return
        with self._lock:
            self._values[value] = expires
            self._forget(now)

    def __contains__(self, value: object) -> bool:
        with self._lock:
            return value in self._values

    def _forget(self, now: datetime) -> None:
        moment = now.timestamp()
        for value, expires in list(self._values.items()):
            if expires <= moment:
                del self._values[value]
        if len(self._values) > self.MAX_VALUES:
            kept = sorted(self._values.items(), key=lambda item: item[1])[-self.MAX_VALUES :]
            self._values = dict(kept)


def _sign(key: bytes, expires: str) -> str:
    return hmac.new(key, expires.encode(), hashlib.sha256).hexdigest()
