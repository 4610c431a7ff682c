"""Every Salesforce call crmbridge makes, through simple-salesforce, in one place.

The client signs in once (lazily, on the first call) and keeps a simple-salesforce
``Salesforce`` bound to that session. simple-salesforce would sign in again up to
three times inside one call when a session expires; crmbridge does it itself, once: a
session Salesforce ended is renewed and the call sent again, and a second refusal is
an :class:`~crmbridge.errors.AuthError` naming the setting to fix.

Each call is paced by the connector's :class:`~crmbridge.connector.rate_governor.
RateGovernor`, retried under the shared policy when it failed transiently, and its
``Sforce-Limit-Info`` header is handed to the :class:`~crmbridge_salesforce.limits.
ApiBudget`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceExpiredSession

from crmbridge.connector.rate_governor import RateGovernor
from crmbridge.connector.retry import call_with_retries
from crmbridge.errors import AuthError, CrmbridgeError
from crmbridge_salesforce.auth import Credentials
from crmbridge_salesforce.errors import NoAnswer, translate
from crmbridge_salesforce.limits import ApiBudget
from crmbridge_salesforce.session import SalesforceSession

T = TypeVar("T")
#: Sent on every write: without it a score update can re-run lead assignment rules.
NO_AUTO_ASSIGN = {"Sforce-Auto-Assign": "FALSE"}


class SalesforceClient:
    """A signed-in simple-salesforce client with crmbridge's policies around each call."""

    def __init__(
        self,
        credentials: Credentials,
        session: SalesforceSession,
        *,
        governor: RateGovernor,
        budget: ApiBudget,
        attempts: int = 5,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.credentials = credentials
        self.session = session
        self.governor = governor
        self.budget = budget
        self.attempts = attempts
        self._sleep = sleep
        self._sf: Salesforce | None = None
        self._lock = threading.Lock()
        #: How many times this client signed in (tests and ``check`` read it).
        self.logins = 0
        session.observer = lambda response: budget.observe(
            response.headers.get("Sforce-Limit-Info")
        )

    def __repr__(self) -> str:
        return f"SalesforceClient({self.credentials!r})"

    @property
    def version(self) -> str:
        """The API version every call names."""
        return self.credentials.settings.api_version

    def sf(self) -> Salesforce:
        """The simple-salesforce client, signed in on first use."""
        with self._lock:
            if self._sf is None:
                self._sf = self._login()
            return self._sf

    def _login(self) -> Salesforce:
        try:
            session_id, instance = self.credentials.login(self.session)
        except CrmbridgeError:
            raise
        except Exception as exc:
            raise translate(exc, "sign-in", credential=self.credentials.setting) from None
        self.logins += 1
        return Salesforce(
            session_id=session_id,
            instance_url=f"https://{instance}",
            version=self.version,
            session=self.session,
        )

    def renew(self, stale: Salesforce) -> Salesforce:
        """Sign in again unless another thread already replaced ``stale``."""
        return self._renew(stale)

    def _renew(self, stale: Salesforce) -> Salesforce:
        with self._lock:
            if self._sf is stale or self._sf is None:
                self._sf = self._login()
            return self._sf

    def call(
        self, what: str, fn: Callable[[Salesforce], T], *, write: bool = False, retry: bool = True
    ) -> T:
        """Run ``fn`` with the signed-in client: paced, budgeted, retried, translated.

        ``retry=False`` sends once: for a create whose unanswered attempt may have
        succeeded (the caller asks the org before sending it again).
        """

        def once() -> T:
            if write:
                self.budget.admit_write()
            self.governor.acquire()
            return self._attempt(what, fn)

        return call_with_retries(
            once,
            attempts=self.attempts if retry else 1,
            sleep=self._sleep,
            # A call that timed out would wait the whole timeout again on each attempt.
            give_up=lambda exc: isinstance(exc, NoAnswer) and "in time" in str(exc),
        )

    def _attempt(self, what: str, fn: Callable[[Salesforce], T]) -> T:
        sf = self.sf()
        credential = self.credentials.setting
        try:
            try:
                result = fn(sf)
            except SalesforceExpiredSession:
                if not self.credentials.renewable:
                    raise AuthError(
                        f"Salesforce ended the session: set a new {credential} "
                        "(a session given as session_id cannot be renewed)"
                    ) from None
                sf = self._renew(sf)
                result = fn(sf)
        except SalesforceExpiredSession as exc:
            raise translate(exc, what, credential=credential) from None
        except CrmbridgeError as exc:
            self.budget.refused(exc)
            raise
        except Exception as exc:
            error = translate(exc, what, credential=credential)
            self.budget.refused(error)
            raise error from None
        return result

    def rest(
        self,
        what: str,
        path: str,
        *,
        method: str = "GET",
        write: bool = False,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> Any:
        """A REST call relative to ``/services/data/vXX.X/``."""
        sent = {**(NO_AUTO_ASSIGN if write else {}), **(headers or {})}
        return self.call(
            what,
            lambda sf: sf.restful(path, method=method, headers=sent, **kwargs),
            write=write,
        )
