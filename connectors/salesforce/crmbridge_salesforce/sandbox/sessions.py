"""Sessions (access tokens) the sandbox has issued, and their expiry.

A session lives :attr:`SandboxConfig.session_seconds` after its last use, as a
Salesforce session times out after inactivity; :meth:`Sessions.expire_all` ends every
session at once (a password reset, an admin revoking the app). An unknown or expired
session is answered 401 ``INVALID_SESSION_ID``.
"""

from __future__ import annotations

import secrets
import threading
import time

from crmbridge_salesforce.sandbox.config import SandboxConfig


class Sessions:
    """Issued session ids and when each was last used (monotonic seconds)."""

    def __init__(self, config: SandboxConfig, org_id: str) -> None:
        self.config = config
        self.org_id = org_id
        self._last_used: dict[str, float] = {}
        self._lock = threading.Lock()
        #: How many sessions were issued (a re-login shows up here).
        self.issued = 0

    def issue(self) -> str:
        """A new session id, in Salesforce's ``<org id>!<secret>`` shape."""
        session = f"{self.org_id[:15]}!AQ{secrets.token_urlsafe(60)}"
        with self._lock:
            self._last_used[session] = time.monotonic()
            self.issued += 1
        return session

    def valid(self, session: str) -> bool:
        """Whether ``session`` is live; using it extends its life."""
        if self.config.static_session is not None and secrets.compare_digest(
            session.encode(), self.config.static_session.encode()
        ):
            return True
        now = time.monotonic()
        with self._lock:
            last = self._last_used.get(session)
            if last is None or now - last > self.config.session_seconds:
                self._last_used.pop(session, None)
                return False
            self._last_used[session] = now
            return True

    def expire_all(self) -> None:
        """End every issued session (the static one stays valid)."""
        with self._lock:
            self._last_used.clear()
