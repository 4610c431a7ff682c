"""The four ways crmbridge signs in to Salesforce, chosen from ``[connectors.salesforce]``.

- ``password``: username + password + security token, at ``domain`` (login, test or a
  My Domain), through the SOAP login;
- ``jwt``: JWT bearer with a connected app's consumer key and the private key file
  whose certificate the app holds (RS256, a three-minute assertion);
- ``client_credentials``: OAuth client credentials of a connected app (client id and
  secret), only at a My Domain;
- ``session``: an existing session id and its instance URL (it cannot be renewed).

The sign-in is simple-salesforce's ``SalesforceLogin``, sent through crmbridge's
session (timeouts). Each mode names the setting an admin fixes when it is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import requests
from simple_salesforce.login import SalesforceLogin

from crmbridge.errors import AuthError, ConfigError, ConfigProblem
from crmbridge_salesforce.settings import SalesforceSettings

TABLE = "connectors.salesforce"


@dataclass(frozen=True)
class Credentials:
    """One way of signing in, with the secrets it needs (never shown by ``repr``)."""

    mode: str
    settings: SalesforceSettings

    def __repr__(self) -> str:
        return f"Credentials(mode={self.mode!r}, domain={self.settings.domain!r})"

    @property
    def setting(self) -> str:
        """The setting an admin fixes when Salesforce refuses these credentials."""
        return {
            "password": f"{TABLE}.password and {TABLE}.security_token",
            "jwt": f"{TABLE}.consumer_key and {TABLE}.private_key_file",
            "client_credentials": f"{TABLE}.client_id and {TABLE}.client_secret",
            "session": f"{TABLE}.session_id",
        }[self.mode]

    @property
    def renewable(self) -> bool:
        """Can a session Salesforce ended be replaced by signing in again?"""
        return self.mode != "session"

    def login(self, session: requests.Session) -> tuple[str, str]:
        """Sign in: the session id and the instance host (``host[:port]``)."""
        s = self.settings
        if self.mode == "session":
            assert s.session_id is not None and s.instance_url is not None
            parts = urlsplit(s.instance_url)
            port = f":{parts.port}" if parts.port not in (None, 443) else ""
            return s.session_id.get_secret_value(), f"{parts.hostname}{port}"
        if self.mode == "password":
            assert s.password is not None and s.security_token is not None
            return SalesforceLogin(
                username=s.username,
                password=s.password.get_secret_value(),
                security_token=s.security_token.get_secret_value(),
                session=session,
                domain=s.domain,
                sf_version=s.api_version,
            )
        if self.mode == "jwt":
            try:
                key = Path(s.private_key_file or "").read_text()
            except OSError as exc:
                raise AuthError(
                    f"cannot read {TABLE}.private_key_file: {exc.strerror or type(exc).__name__}"
                ) from None
            return SalesforceLogin(
                username=s.username,
                consumer_key=s.consumer_key,
                privatekey=key,
                session=session,
                domain=s.domain,
                sf_version=s.api_version,
            )
        assert s.client_secret is not None
        return SalesforceLogin(
            consumer_key=s.client_id,
            consumer_secret=s.client_secret.get_secret_value(),
            session=session,
            domain=s.domain,
            sf_version=s.api_version,
        )


def credentials(settings: SalesforceSettings) -> Credentials:
    """The way of signing in ``settings`` describe; a config error when none is complete."""
    s = settings
    if s.username and s.password and s.security_token:
        return Credentials("password", s)
    if s.username and s.consumer_key and s.private_key_file:
        return Credentials("jwt", s)
    if s.client_id and s.client_secret:
        if s.domain in ("login", "test"):
            raise ConfigError(
                [
                    ConfigProblem(
                        f"{TABLE}.domain",
                        "the client-credentials flow needs the org's My Domain",
                        'set domain = "yourcompany.my"',
                    )
                ]
            )
        return Credentials("client_credentials", s)
    if s.session_id and s.instance_url:
        return Credentials("session", s)
    raise ConfigError(
        [
            ConfigProblem(
                f"{TABLE}.username",
                "no complete way of signing in",
                "set username, password and security_token; or username, consumer_key and "
                "private_key_file (JWT); or client_id and client_secret with a My Domain; "
                "or session_id and instance_url",
            )
        ]
    )
