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


@pytest.mark.parametrize(
    ("granted", "call", "required"),
    [
        # Adding list members needs both list scopes; write alone is refused.
        (["crm.lists.write"], "list_add", ["crm.lists.read", "crm.lists.write"]),
        (["crm.lists.read"], "list_add", ["crm.lists.read", "crm.lists.write"]),
        # Every sequences endpoint needs the read scope, enrolling the write one too.
        (
            ["automation.sequences.enrollments.write"],
            "enroll",
            ["automation.sequences.read", "automation.sequences.enrollments.write"],
        ),
        # A write scope does not grant reading.
        (["crm.objects.contacts.write"], "contact_search", ["crm.objects.contacts.read"]),
        (["crm.schemas.contacts.write"], "properties", ["crm.schemas.contacts.read"]),
    ],
)
def test_each_endpoint_needs_its_whole_scope_set(
    granted: list[str], call: str, required: list[str]
) -> None:
    state = SandboxState()
    (contact_id,) = add_contacts(state, 1)
    static = state.create_list("Reactivation", "MANUAL")
    config = relaxed_config(tokens={"narrow": granted})
    with SandboxServer(state, config) as server:
        client = HubSpot(access_token="narrow", host=server.url, base_url=server.url)
        requests_by_call = {
            "list_add": {
                "method": "PUT",
                "path": f"/crm/v3/lists/{static.list_id}/memberships/add",
                "body": [contact_id],
            },
            "enroll": {
                "method": "POST",
                "path": "/automation/v4/sequences/enrollments",
                "qs": {"userId": "501"},
                "body": {"contactId": contact_id, "sequenceId": "1", "senderEmail": "a@b.es"},
            },
            "contact_search": {
                "method": "POST",
                "path": "/crm/v3/objects/contacts/search",
                "body": {"limit": 1},
            },
            "properties": {"method": "GET", "path": "/crm/v3/properties/contacts"},
        }
        response = client.api_request(requests_by_call[call])
    assert response.status_code == 403
    body = response.json()
    assert body["category"] == "MISSING_SCOPES"
    assert body["errors"][0]["context"]["requiredGranularScopes"] == required
    held = state.get_list(static.list_id)
    assert held is not None and not held.members


def test_list_add_with_both_list_scopes_is_accepted() -> None:
    state = SandboxState()
    (contact_id,) = add_contacts(state, 1)
    static = state.create_list("Reactivation", "MANUAL")
    config = relaxed_config(tokens={"lists": ["crm.lists.read", "crm.lists.write"]})
    with SandboxServer(state, config) as server:
        client = HubSpot(access_token="lists", host=server.url, base_url=server.url)
        response = client.api_request(
            {
                "method": "PUT",
                "path": f"/crm/v3/lists/{static.list_id}/memberships/add",
                "body": [contact_id],
            }
        )
    assert response.status_code == 200
    assert response.json()["recordIdsAdded"] == [contact_id]
