"""An app installed with OAuth: access tokens renewed ahead of expiry and after a 401,
from several threads at once; ``check`` through the OAuth token-info endpoint."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from crmbridge.errors import AuthError
from crmbridge_hubspot import HubSpotConnector
from crmbridge_hubspot.sandbox.config import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REFRESH_TOKEN,
)
from crmbridge_hubspot.sandbox.server import SandboxServer
from crmbridge_hubspot.settings import HubSpotSettings

from .hubspot_harness import sandbox

TOKEN_PATH = "/oauth/v1/token"


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    """An empty sandbox with HubSpot's 30-minute access tokens."""
    with sandbox() as running:
        yield running


def oauth_connector(
    server: SandboxServer, *, secret: str = DEFAULT_CLIENT_SECRET
) -> HubSpotConnector:
    """The connector as the daemon builds it for an OAuth app (no access token set)."""
    settings = HubSpotSettings(
        enabled=True,
        base_url=server.url,
        client_id=DEFAULT_CLIENT_ID,
        client_secret=SecretStr(secret),
        refresh_token=SecretStr(DEFAULT_REFRESH_TOKEN),
    )
    return HubSpotConnector.from_settings(settings)


def read(connector: HubSpotConnector) -> None:
    """One cheap API call (a batch read)."""
    assert connector.read_values(["1"], ["email"]) == {}


def log(server: SandboxServer) -> list[tuple[str, str, int]]:
    return [(r.method, r.path, r.status) for r in server.state.requests()]


def refreshes(server: SandboxServer) -> int:
    return sum(1 for _, path, status in log(server) if path == TOKEN_PATH and status == 200)


def test_the_token_is_renewed_ahead_of_its_expiry(server: SandboxServer) -> None:
    server.config.update({"access_token_ttl_s": 2})
    connector = oauth_connector(server)
    read(connector)
    time.sleep(1.7)  # past the renewal point (a fifth of the life before expiry)
    read(connector)
    assert refreshes(server) == 2
    assert all(status != 401 for _, _, status in log(server))


def test_a_token_ended_early_is_renewed_once_and_the_call_sent_again(
    server: SandboxServer,
) -> None:
    connector = oauth_connector(server)
    read(connector)
    server.services.oauth.expire_all()

    read(connector)

    statuses = [status for _, _, status in log(server)]
    assert statuses.count(401) == 1
    assert refreshes(server) == 2


def test_threads_refused_together_share_one_refresh(server: SandboxServer) -> None:
    connector = oauth_connector(server)
    read(connector)
    server.services.oauth.expire_all()
    errors: list[BaseException] = []

    def work() -> None:
        try:
            read(connector)
        except BaseException as exc:  # collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert errors == []
    assert refreshes(server) == 2, "one refresh served every thread"


def test_a_revoked_refresh_token_is_an_auth_error_naming_the_settings(
    server: SandboxServer,
) -> None:
    connector = oauth_connector(server)
    read(connector)
    server.config.revoke_refresh_token(DEFAULT_REFRESH_TOKEN)
    server.services.oauth.expire_all()

    with pytest.raises(AuthError) as caught:
        read(connector)

    message = str(caught.value)
    assert "connectors.hubspot.refresh_token" in message
    assert "connectors.hubspot.client_id" in message and "BAD_REFRESH_TOKEN" in message
    assert DEFAULT_REFRESH_TOKEN not in message and DEFAULT_CLIENT_SECRET not in message


def test_check_reads_the_oauth_token_info_and_reports_the_account(
    server: SandboxServer,
) -> None:
    connector = oauth_connector(server)
    report = connector.check()

    assert connector.rate_governor.configured == 100, "an OAuth app's 10-second limit"
    assert report.ok, report.problems
    assert report.account_id == str(server.config.portal_id)
    assert "OAuth" in report.account
    paths = [path for _, path, _ in log(server)]
    assert any(p.startswith("/oauth/v1/access-tokens/") for p in paths)
    assert "/oauth/v2/private-apps/get/access-token-info" not in paths


def test_check_names_the_scopes_an_oauth_install_lacks(server: SandboxServer) -> None:
    server.config.update({"refresh_tokens": {DEFAULT_REFRESH_TOKEN: ["crm.objects.contacts.read"]}})

    report = oauth_connector(server).check()

    assert not report.ok
    assert any(
        "crm.objects.contacts.write is missing" in p and "OAuth app" in p for p in report.problems
    )
    assert any("crm.lists.write" in note for note in report.limitations)


def test_check_with_a_wrong_client_secret_names_the_settings(server: SandboxServer) -> None:
    report = oauth_connector(server, secret="not-the-secret").check()

    assert not report.ok and report.reachable
    assert "connectors.hubspot.client_secret" in report.problems[0]
    assert "not-the-secret" not in repr(report)
