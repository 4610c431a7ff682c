"""Signing in: the SOAP ``login`` call and the OAuth 2.0 token endpoint.

What simple-salesforce sends, answered as Salesforce answers it:

- ``POST /services/Soap/u/<version>`` with a partner-API ``login`` envelope (username,
  password followed by the security token): a ``loginResponse`` with ``sessionId`` and
  ``serverUrl``, or a SOAP fault ``INVALID_LOGIN`` (HTTP 500).
- ``POST /services/oauth2/token`` with ``grant_type``
  ``urn:ietf:params:oauth:grant-type:jwt-bearer`` (an RS256 assertion signed with the
  connected app's key: ``iss`` the consumer key, ``sub`` the username, ``aud`` the login
  host, ``exp`` in the future) or ``client_credentials`` (HTTP Basic client id and
  secret): ``{"access_token", "instance_url", "id", "token_type", "issued_at",
  "signature"}``, or 400 ``{"error": "invalid_grant" | "invalid_client", ...}``.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import xml.etree.ElementTree as ET
from html import escape
from urllib.parse import parse_qs

import jwt
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from crmbridge import clock
from crmbridge_salesforce.sandbox.config import SandboxConfig
from crmbridge_salesforce.sandbox.sessions import Sessions
from crmbridge_salesforce.sandbox.state import OrgState
from crmbridge_salesforce.sandbox.wire import SalesforceJSON

#: Login bodies beyond this size are refused unread.
MAX_LOGIN_BODY = 64 * 1024
_PARTNER = "{urn:partner.soap.sforce.com}"
#: Audiences a JWT assertion may name (the login hosts).
AUDIENCES = ("https://login.salesforce.com", "https://test.salesforce.com")


def _soap_fault(code: str, message: str) -> Response:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"'
        ' xmlns:sf="urn:fault.partner.soap.sforce.com"'
        ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>'
        f"<soapenv:Fault><faultcode>sf:{code}</faultcode>"
        f"<faultstring>{code}: {escape(message)}</faultstring><detail>"
        '<sf:LoginFault xsi:type="sf:LoginFault">'
        f"<sf:exceptionCode>{code}</sf:exceptionCode>"
        f"<sf:exceptionMessage>{escape(message)}</sf:exceptionMessage>"
        "</sf:LoginFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    )
    return Response(body, status_code=500, media_type="text/xml;charset=UTF-8")


def _soap_credentials(body: bytes) -> tuple[str, str] | None:
    """Username and password+token of a partner ``login`` envelope, or None."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return None
    login = next(root.iter(f"{_PARTNER}login"), None)
    if login is None:
        return None
    username = login.find(f"{_PARTNER}username")
    password = login.find(f"{_PARTNER}password")
    if username is None or password is None:
        return None
    return username.text or "", password.text or ""


def _same(given: str, expected: str) -> bool:
    return secrets.compare_digest(given.encode(), expected.encode())


class LoginService:
    """The login endpoints of one sandbox."""

    def __init__(
        self, config: SandboxConfig, state: OrgState, sessions: Sessions, jwt_public_key: bytes
    ) -> None:
        self.config = config
        self.state = state
        self.sessions = sessions
        self.jwt_public_key = jwt_public_key

    async def soap_login(self, request: Request) -> Response:
        """The partner API ``login`` call."""
        version = request.path_params["version"]
        body = await request.body()
        if len(body) > MAX_LOGIN_BODY:
            return _soap_fault("INVALID_LOGIN", "Invalid request.")
        credentials = _soap_credentials(body)
        if credentials is None:
            return _soap_fault("INVALID_LOGIN", "Invalid request.")
        username, secret = credentials
        expected = self.config.password + self.config.security_token
        if not (_same(username, self.config.username) and _same(secret, expected)):
            return _soap_fault(
                "INVALID_LOGIN", "Invalid username, password, security token; or user locked out."
            )
        session = self.sessions.issue()
        base = str(request.base_url).rstrip("/")
        org = self.state.org_id
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"'
            ' xmlns="urn:partner.soap.sforce.com"'
            ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            "<soapenv:Body><loginResponse><result>"
            f"<metadataServerUrl>{base}/services/Soap/m/{escape(version)}/{org}</metadataServerUrl>"
            "<passwordExpired>false</passwordExpired><sandbox>true</sandbox>"
            f"<serverUrl>{base}/services/Soap/u/{escape(version)}/{org}</serverUrl>"
            f"<sessionId>{session}</sessionId>"
            f"<userId>{self.state.users.integration}</userId>"
            f"<userInfo><organizationId>{org}</organizationId>"
            f"<userName>{escape(self.config.username)}</userName></userInfo>"
            "</result></loginResponse></soapenv:Body></soapenv:Envelope>"
        )
        return Response(xml, media_type="text/xml;charset=UTF-8")

    async def token(self, request: Request) -> Response:
        """The OAuth 2.0 token endpoint (JWT bearer and client credentials)."""
        body = await request.body()
        if len(body) > MAX_LOGIN_BODY:
            return _oauth_error("invalid_request", "request too large")
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        grant = form.get("grant_type", "")
        if grant == "urn:ietf:params:oauth:grant-type:jwt-bearer":
            problem = self._check_assertion(form.get("assertion", ""))
        elif grant == "client_credentials":
            problem = self._check_client(request.headers.get("authorization", ""), form)
        elif grant == "password":
            problem = self._check_password(form)
        else:
            return _oauth_error("unsupported_grant_type", "grant type not supported")
        if problem is not None:
            return _oauth_error(*problem)
        base = str(request.base_url).rstrip("/")
        issued = str(int(clock.now().timestamp() * 1000))
        return SalesforceJSON(
            {
                "access_token": self.sessions.issue(),
                "instance_url": base,
                "id": f"{base}/id/{self.state.org_id}/{self.state.users.integration}",
                "token_type": "Bearer",
                "issued_at": issued,
                "signature": base64.b64encode(secrets.token_bytes(32)).decode(),
                "scope": "api",
            }
        )

    def _check_assertion(self, assertion: str) -> tuple[str, str] | None:
        try:
            claims = jwt.decode(
                assertion,
                self.jwt_public_key,
                algorithms=["RS256"],
                audience=list(AUDIENCES),
                options={"require": ["iss", "sub", "aud", "exp"]},
            )
        except jwt.ExpiredSignatureError:
            return "invalid_grant", "expired authorization code"
        except jwt.InvalidAudienceError:
            return "invalid_grant", "audience is invalid"
        except jwt.PyJWTError:
            return "invalid_grant", "invalid assertion"
        if not _same(str(claims["iss"]), self.config.consumer_key):
            return "invalid_client_id", "client identifier invalid"
        if not _same(str(claims["sub"]), self.config.username):
            return "invalid_grant", "user hasn't approved this consumer"
        return None

    def _check_client(self, authorization: str, form: dict[str, str]) -> tuple[str, str] | None:
        client_id, client_secret = form.get("client_id", ""), form.get("client_secret", "")
        if authorization.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(authorization[6:], validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                return "invalid_client", "invalid client credentials"
            client_id, _, client_secret = decoded.partition(":")
        if not (
            _same(client_id, self.config.client_id)
            and _same(client_secret, self.config.client_secret)
        ):
            return "invalid_client", "invalid client credentials"
        return None

    def _check_password(self, form: dict[str, str]) -> tuple[str, str] | None:
        problem = self._check_client("", form)
        if problem is not None:
            return problem
        password = form.get("password", "")
        if not (
            _same(form.get("username", ""), self.config.username)
            and _same(password, self.config.password + self.config.security_token)
        ):
            return "invalid_grant", "authentication failure"
        return None

    def routes(self) -> list[Route]:
        """The login routes."""
        return [
            Route("/services/Soap/u/{version}", self.soap_login, methods=["POST"]),
            Route("/services/oauth2/token", self.token, methods=["POST"]),
        ]


def _oauth_error(error: str, description: str) -> Response:
    return SalesforceJSON({"error": error, "error_description": description}, status_code=400)
