"""Bearer tokens of the daemon's endpoints, compared in constant time."""

from __future__ import annotations

import hmac

#: What a client is told with a 401 (RFC 6750).
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="crmbridge"'}


def bearer_problem(authorization: str, expected: str) -> str | None:
    """Why an ``Authorization`` header does not carry ``expected``; None when it does."""
    scheme, _, given = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        return "missing bearer token (Authorization: Bearer <token>)"
    if not hmac.compare_digest(given.strip().encode(), expected.encode()):
        return "wrong bearer token"
    return None
