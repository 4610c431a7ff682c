"""Clients of the sandbox for the tests: simple-salesforce in each sign-in mode."""

from __future__ import annotations

from simple_salesforce import Salesforce

from connectors.salesforce.tests.conftest import SandboxHandle

VERSION = "59.0"


def session_client(sandbox: SandboxHandle) -> Salesforce:
    """Session-id mode: the instance URL and a session, no login call."""
    return Salesforce(
        instance_url=sandbox.instance_url,
        session_id=sandbox.session_id(),
        session=sandbox.http_session(),
        version=VERSION,
    )


def password_client(sandbox: SandboxHandle) -> Salesforce:
    """Username, password and security token (SOAP login at login.salesforce.com)."""
    return Salesforce(
        username=sandbox.username,
        password=sandbox.password,
        security_token=sandbox.security_token,
        session=sandbox.http_session(),
        version=VERSION,
    )


def lead(n: int, **extra: object) -> dict[str, object]:
    """Fields of a lead numbered ``n``."""
    return {
        "LastName": f"Lead {n}",
        "Company": f"Company {n}",
        "Email": f"lead{n}@example.com",
    } | extra
