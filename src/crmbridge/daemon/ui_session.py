"""The dashboard's login session: a cookie that says until when it is valid, signed
with HMAC-SHA256 under a key derived from ``[daemon] ui_token``.

No server-side state: every replica that has the same token accepts the same cookie,
and changing the token ends every session at once. The cookie carries no secret — only
its expiry and a signature — and its value is checked in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
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
    """A cookie value valid for :data:`LIFETIME` from ``now``."""
    expires = str(int((now + LIFETIME).timestamp()))
    return f"{expires}.{_sign(key, expires)}"


def valid(key: bytes, value: str | None, now: datetime) -> bool:
    """Is ``value`` a cookie this key signed, not yet expired at ``now``?"""
    if not value or len(value) > MAX_COOKIE_CHARS:
        return False
    expires, _, signature = value.partition(".")
    if not expires.isascii() or not expires.isdigit() or len(expires) > 12:
        return False
    if not hmac.compare_digest(signature.encode(), _sign(key, expires).encode()):
        return False
    return int(expires) > now.timestamp()


def _sign(key: bytes, expires: str) -> str:
    return hmac.new(key, expires.encode(), hashlib.sha256).hexdigest()
