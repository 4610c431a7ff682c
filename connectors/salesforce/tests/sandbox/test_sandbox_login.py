"""Signing in to the sandbox the ways simple-salesforce does, and losing the session."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceAuthenticationFailed, SalesforceExpiredSession

from connectors.salesforce.tests.conftest import SandboxHandle
from connectors.salesforce.tests.sandbox.helpers import VERSION, password_client, session_client


def test_password_login_goes_to_the_login_host_and_answers_the_instance(
    salesforce_sandbox: SandboxHandle,
) -> None:
    sf = password_client(salesforce_sandbox)
    assert sf.sf_instance == salesforce_sandbox.login_host
    assert sf.query("SELECT Id FROM Lead")["totalSize"] == 0
    paths = [entry.path for entry in salesforce_sandbox.request_log()]
    assert paths[0] == f"/services/Soap/u/{VERSION}"


def test_a_wrong_password_is_invalid_login(salesforce_sandbox: SandboxHandle) -> None:
    with pytest.raises(SalesforceAuthenticationFailed) as failure:
        Salesforce(
            username=salesforce_sandbox.username,
            password="wrong",
            security_token=salesforce_sandbox.security_token,
            session=salesforce_sandbox.http_session(),
            version=VERSION,
        )
    assert failure.value.code == "INVALID_LOGIN"
    assert "wrong" not in str(failure.value)


def test_jwt_bearer_login_verifies_the_signature(
    salesforce_sandbox: SandboxHandle, tmp_path: Path
) -> None:
    sf = Salesforce(
        username=salesforce_sandbox.username,
        consumer_key=salesforce_sandbox.consumer_key,
        privatekey_file=salesforce_sandbox.private_key_path,
        session=salesforce_sandbox.http_session(),
        version=VERSION,
    )
    assert sf.query("SELECT Id FROM Contact")["done"] is True
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = tmp_path / "other.key"
    forged.write_bytes(
        other.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with pytest.raises(SalesforceAuthenticationFailed) as failure:
        Salesforce(
            username=salesforce_sandbox.username,
            consumer_key=salesforce_sandbox.consumer_key,
            privatekey_file=str(forged),
            session=salesforce_sandbox.http_session(),
            version=VERSION,
        )
    assert failure.value.code == "invalid_grant"


def test_client_credentials_need_the_right_secret(salesforce_sandbox: SandboxHandle) -> None:
    sf = Salesforce(
        consumer_key=salesforce_sandbox.client_id,
        consumer_secret=salesforce_sandbox.client_secret,
        domain="acme.my",
        session=salesforce_sandbox.http_session(),
        version=VERSION,
    )
    assert sf.query("SELECT Id FROM Lead")["totalSize"] == 0
    with pytest.raises(SalesforceAuthenticationFailed) as failure:
        Salesforce(
            consumer_key=salesforce_sandbox.client_id,
            consumer_secret="nope",
            domain="acme.my",
            session=salesforce_sandbox.http_session(),
            version=VERSION,
        )
    assert failure.value.code == "invalid_client"


def test_an_expired_session_logs_in_again_once(salesforce_sandbox: SandboxHandle) -> None:
    sf = password_client(salesforce_sandbox)
    first = sf.session_id
    salesforce_sandbox.admin.expire_sessions()
    assert sf.query("SELECT Id FROM Lead")["totalSize"] == 0
    assert sf.session_id != first
    statuses = [(e.path.split("/")[2], e.status) for e in salesforce_sandbox.request_log()]
    assert statuses[-3:] == [("data", 401), ("Soap", 200), ("data", 200)]


def test_session_mode_cannot_refresh_and_sees_invalid_session_id(
    salesforce_sandbox: SandboxHandle,
) -> None:
    sf = session_client(salesforce_sandbox)
    salesforce_sandbox.faults.add("expired")
    with pytest.raises(SalesforceExpiredSession) as failure:
        sf.query("SELECT Id FROM Lead")
    assert failure.value.status == 401
    assert failure.value.content[0]["errorCode"] == "INVALID_SESSION_ID"


def test_sessions_time_out_after_inactivity(salesforce_sandbox: SandboxHandle) -> None:
    sf = session_client(salesforce_sandbox)
    salesforce_sandbox.server.config.session_seconds = 0.0
    with pytest.raises(SalesforceExpiredSession):
        sf.query("SELECT Id FROM Lead")


def test_the_log_never_keeps_credentials(salesforce_sandbox: SandboxHandle) -> None:
    password_client(salesforce_sandbox).query("SELECT Id FROM Lead")
    logged = repr(salesforce_sandbox.request_log())
    for secret in (salesforce_sandbox.password, salesforce_sandbox.security_token):
        assert secret not in logged


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=400) | st.text(max_size=400).map(str.encode))
def test_any_login_body_is_refused_cleanly(salesforce_sandbox: SandboxHandle, body: bytes) -> None:
    base = salesforce_sandbox.instance_url
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    http = salesforce_sandbox.http
    soap = http.post(
        f"{base}/services/Soap/u/{VERSION}",
        data=body,
        headers={"Content-Type": "text/xml", "SOAPAction": "login"},
    )
    token = http.post(f"{base}/services/oauth2/token", data=body, headers=form)
    assert soap.status_code == 500 and b"<sf:exceptionCode>INVALID_LOGIN" in soap.content
    assert token.status_code == 400 and token.json()["error"]
