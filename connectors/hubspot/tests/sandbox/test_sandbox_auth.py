"""Bearer-token authentication, scopes and the private-app token-info endpoint."""

from __future__ import annotations

import pytest
import requests
from hubspot import HubSpot
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInput,
    SimplePublicObjectBatchInput,
)
from hubspot.crm.contacts.exceptions import ForbiddenException, UnauthorizedException

from crmbridge_hubspot.sandbox import SandboxServer, SandboxState
from crmbridge_hubspot.sandbox.config import ALL_SCOPES

from .conftest import TOKEN, add_contacts, body_of, relaxed_config


def test_wrong_token_is_401_with_hubspots_body(server: SandboxServer) -> None:
    client = HubSpot(access_token="pat-na1-wrong", host=server.url)
    with pytest.raises(UnauthorizedException) as caught:
        client.crm.contacts.basic_api.get_page(limit=1)
    body = body_of(caught.value)
    assert body["status"] == "error"
    assert body["category"] == "INVALID_AUTHENTICATION"
    assert body["message"].startswith("Authentication credentials not found.")
    assert body["correlationId"]
    assert caught.value.headers["Content-Type"] == "application/json;charset=utf-8"


def test_missing_token_is_401(server: SandboxServer) -> None:
    bare = requests.get(f"{server.url}/crm/v3/owners", timeout=5)
    assert bare.status_code == 401
    assert bare.json()["category"] == "INVALID_AUTHENTICATION"
    assert "X-HubSpot-RateLimit-Max" not in bare.headers


def test_missing_scope_is_403_listing_the_required_scopes() -> None:
    state = SandboxState()
    ids = add_contacts(state, 1)
    config = relaxed_config(tokens={"read-only": ["crm.objects.contacts.read"]})
    with SandboxServer(state, config) as server:
        client = HubSpot(access_token="read-only", host=server.url)
        assert client.crm.contacts.basic_api.get_by_id(ids[0]).id == ids[0]
        batch = BatchInputSimplePublicObjectBatchInput(
            inputs=[SimplePublicObjectBatchInput(id=ids[0], properties={"jobtitle": "CIO"})]
        )
        with pytest.raises(ForbiddenException) as caught:
            client.crm.contacts.batch_api.update(batch_input_simple_public_object_batch_input=batch)
    body = body_of(caught.value)
    assert body["category"] == "MISSING_SCOPES"
    required = body["errors"][0]["context"]["requiredGranularScopes"]
    assert required == ["crm.objects.contacts.write"]
    assert state.get_contact(ids[0]) is not None
    assert "jobtitle" not in state.get_contact(ids[0]).properties  # type: ignore[union-attr]


def test_access_token_info_reports_scopes() -> None:
    config = relaxed_config(tokens={TOKEN: None, "narrow": ["crm.objects.contacts.read"]})
    with SandboxServer(config=config) as server:
        client = HubSpot(access_token=TOKEN, host=server.url, base_url=server.url)
        path = "/oauth/v2/private-apps/get/access-token-info"
        full = client.api_request({"method": "POST", "path": path, "body": {"tokenKey": TOKEN}})
        narrow = client.api_request(
            {"method": "POST", "path": path, "body": {"tokenKey": "narrow"}}
        )
        unknown = client.api_request({"method": "POST", "path": path, "body": {"tokenKey": "nope"}})
    assert full.status_code == 200
    assert full.json()["scopes"] == list(ALL_SCOPES)
    assert full.json()["hubId"] == config.portal_id
    assert narrow.json()["scopes"] == ["crm.objects.contacts.read"]
    assert unknown.status_code == 401
