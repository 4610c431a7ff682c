"""OAuth apps through the official SDK: refreshing, token info, expiry, revocation."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from hubspot import HubSpot
from hubspot.crm.contacts.exceptions import ApiException, UnauthorizedException
from hubspot.oauth.exceptions import ApiException as OAuthApiException

from crmbridge_hubspot.sandbox import SandboxServer, SandboxState
from crmbridge_hubspot.sandbox.config import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REFRESH_TOKEN,
)
from crmbridge_hubspot.sandbox.oauth import token_age

from .conftest import body_of, relaxed_config

NARROW = "narrow-refresh-token"


@pytest.fixture
def oauth_server() -> Iterator[SandboxServer]:
    """A sandbox whose access tokens live 1 s; a second install grants one scope."""
    config = relaxed_config(
        access_token_ttl_s=1,
        refresh_tokens={DEFAULT_REFRESH_TOKEN: None, NARROW: ["crm.objects.contacts.read"]},
    )
    with SandboxServer(SandboxState(), config) as running:
        yield running


def _refresh(server: SandboxServer, refresh_token: str = DEFAULT_REFRESH_TOKEN, **form: str) -> Any:
    api = HubSpot(host=server.url).oauth.tokens_api
    values = {
        "grant_type": "refresh_token",
        "client_id": DEFAULT_CLIENT_ID,
        "client_secret": DEFAULT_CLIENT_SECRET,
        "refresh_token": refresh_token,
        **form,
    }
    return api.create(**values)


def test_a_refresh_gives_an_access_token_its_info_and_an_expiry(
    oauth_server: SandboxServer,
) -> None:
    tokens = _refresh(oauth_server)
    assert tokens.token_type == "bearer"
    assert tokens.refresh_token == DEFAULT_REFRESH_TOKEN, "HubSpot keeps the refresh token"
    assert tokens.expires_in == 1

    client = HubSpot(access_token=tokens.access_token, host=oauth_server.url)
    assert client.crm.contacts.basic_api.get_page(limit=1).results == []
    info = HubSpot(host=oauth_server.url).oauth.access_tokens_api.get(tokens.access_token)
    assert info.hub_id == oauth_server.config.portal_id
    assert info.app_id == oauth_server.config.app_id
    assert "crm.objects.contacts.write" in info.scopes and info.user
    assert info.token_type == "access" and 0 <= info.expires_in <= 1
    logged = oauth_server.state.requests()[-1].path
    assert tokens.access_token not in logged, "the request log masks the token"
    # The log keeps the bodies of CRM writes only: never a token request's secrets.
    assert all(r.body == "" for r in oauth_server.state.requests())

    time.sleep(1.1)
    with pytest.raises(UnauthorizedException) as caught:
        client.crm.contacts.basic_api.get_page(limit=1)
    body = body_of(caught.value)
    assert body["category"] == "EXPIRED_AUTHENTICATION"
    assert body["message"].startswith("The OAuth token used to make this call expired ")
    assert body["context"]["expire time"][0].endswith("Z")


def test_an_install_grants_its_own_scopes(oauth_server: SandboxServer) -> None:
    tokens = _refresh(oauth_server, NARROW)
    info = HubSpot(host=oauth_server.url).oauth.access_tokens_api.get(tokens.access_token)
    assert info.scopes == ["crm.objects.contacts.read"]


@pytest.mark.parametrize(
    ("refresh_token", "form", "code"),
    [
        ("unknown-refresh-token", {}, "BAD_REFRESH_TOKEN"),
        (DEFAULT_REFRESH_TOKEN, {"client_id": "someone-else"}, "BAD_CLIENT_ID"),
        (DEFAULT_REFRESH_TOKEN, {"client_secret": "wrong"}, "BAD_CLIENT_ID"),
    ],
)
def test_a_bad_refresh_is_a_400_with_hubspots_code(
    oauth_server: SandboxServer, refresh_token: str, form: dict[str, str], code: str
) -> None:
    with pytest.raises(OAuthApiException) as caught:
        _refresh(oauth_server, refresh_token, **form)
    assert caught.value.status == 400
    body = body_of(caught.value)
    assert body["status"] == code and body["message"]


def test_a_revoked_refresh_token_refreshes_no_more(oauth_server: SandboxServer) -> None:
    tokens = _refresh(oauth_server)
    HubSpot(host=oauth_server.url).oauth.refresh_tokens_api.archive(DEFAULT_REFRESH_TOKEN)

    # The access tokens already issued live on until they expire, as on HubSpot.
    client = HubSpot(access_token=tokens.access_token, host=oauth_server.url)
    assert client.crm.contacts.basic_api.get_page(limit=1).results == []
    with pytest.raises(OAuthApiException) as caught:
        _refresh(oauth_server)
    assert body_of(caught.value)["status"] == "BAD_REFRESH_TOKEN"


def test_the_admin_api_can_expire_every_token_early(oauth_server: SandboxServer) -> None:
    oauth_server.config.update({"access_token_ttl_s": 1800})
    tokens = _refresh(oauth_server)
    client = HubSpot(access_token=tokens.access_token, host=oauth_server.url)
    expired = requests.post(f"{oauth_server.url}/_sandbox/oauth/expire", timeout=5).json()
    assert expired == {"expired": 1}
    with pytest.raises(UnauthorizedException) as caught:
        client.crm.contacts.basic_api.get_page(limit=1)
    assert body_of(caught.value)["category"] == "EXPIRED_AUTHENTICATION"


def test_an_oauth_app_has_hubspots_own_ten_second_limit(oauth_server: SandboxServer) -> None:
    oauth_server.config.update({"access_token_ttl_s": 1800, "oauth_rate_limit_max": 2})
    api = HubSpot(access_token=_refresh(oauth_server).access_token, host=oauth_server.url)
    contacts = api.crm.contacts.basic_api
    _, _, headers = contacts.get_page_with_http_info(limit=1)
    assert headers["X-HubSpot-RateLimit-Max"] == "2"
    contacts.get_page(limit=1)
    with pytest.raises(ApiException) as caught:
        contacts.get_page(limit=1)
    assert caught.value.status == 429


@pytest.mark.parametrize(
    ("seconds", "said"),
    [
        (0.4, "0 second(s)"),
        (75, "75 second(s)"),
        (200, "3 minute(s)"),
        (6 * 3600 + 5, "6 hour(s)"),
        (20_336 * 86_400, "20336 day(s)"),
    ],
)
def test_an_expired_token_is_dated_in_hubspots_units(seconds: float, said: str) -> None:
    assert token_age(seconds) == said


def test_a_bad_refresh_answers_hubspots_recorded_body(oauth_server: SandboxServer) -> None:
    with pytest.raises(OAuthApiException) as caught:
        _refresh(oauth_server, "unknown-refresh-token")
    body = body_of(caught.value)
    assert body["message"] == "missing or invalid refresh token"
    assert set(body) == {"status", "message", "correlationId"}
