"""The ``/_sandbox`` admin endpoints: request log, counters, reset, user edits."""

from __future__ import annotations

import requests
from hubspot import HubSpot

from crmbridge_hubspot.sandbox import SandboxServer, SandboxState
from crmbridge_hubspot.sandbox.server import build

from .conftest import add_contacts


def test_request_log_counters_and_reset(client: HubSpot, server: SandboxServer) -> None:
    client.crm.owners.owners_api.get_page()
    client.api_request({"method": "GET", "path": "/crm/v3/objects/contacts/999"})
    log = requests.get(f"{server.url}/_sandbox/requests", timeout=5).json()["results"]
    assert [(r["method"], r["path"], r["status"]) for r in log] == [
        ("GET", "/crm/v3/owners", 200),
        ("GET", "/crm/v3/objects/contacts/999", 404),
    ]
    assert all(r["duration_ms"] >= 0 and r["timestamp"].endswith("Z") for r in log)
    counters = requests.get(f"{server.url}/_sandbox/counters", timeout=5).json()
    assert counters["counters"]["requests"] == 2
    assert counters["counters"]["status_404"] == 1
    assert requests.post(f"{server.url}/_sandbox/reset", timeout=5).json() == {"reset": True}
    assert requests.get(f"{server.url}/_sandbox/requests", timeout=5).json()["results"] == []
    index = requests.get(f"{server.url}/_sandbox/", timeout=5).json()
    assert "PATCH /_sandbox/config" in index["endpoints"]


def test_user_edit_can_set_hubspot_calculated_values(
    server: SandboxServer, state: SandboxState
) -> None:
    (contact_id,) = add_contacts(state, 1, lifecyclestage="salesqualifiedlead")
    url = f"{server.url}/_sandbox/contacts/{contact_id}"
    edit = {"properties": {"hs_email_last_open_date": "1763632800000", "lifecyclestage": "lead"}}
    response = requests.patch(url, json=edit, timeout=5)
    assert response.status_code == 200
    properties = response.json()["properties"]
    assert properties["hs_email_last_open_date"] == "2025-11-20T10:00:00.000Z"
    assert properties["lifecyclestage"] == "lead", "a person may move the stage back"
    refused = requests.patch(url, json={"properties": {"createdate": "0"}}, timeout=5)
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["code"] == "READ_ONLY_VALUE"
    created = requests.post(
        f"{server.url}/_sandbox/contacts",
        json={"properties": {"email": "form@lead.es", "recent_conversion_event_name": "Demo"}},
        timeout=5,
    )
    assert created.status_code == 201
    assert requests.get(f"{server.url}/_sandbox/contacts/99999", timeout=5).status_code == 404


def test_unknown_paths_and_methods_are_json(server: SandboxServer) -> None:
    missing = requests.get(f"{server.url}/crm/v3/objects/tickets", timeout=5)
    assert missing.status_code == 404
    assert missing.headers["Content-Type"] == "application/json;charset=utf-8"
    wrong = requests.put(f"{server.url}/crm/v3/objects/contacts/search", timeout=5)
    assert wrong.status_code == 405 and wrong.json()["status"] == "error"


def test_build_for_the_cli() -> None:
    state, config = build("demo", "my-token", fault_rate=0.1, rng_seed=3)
    assert state.contact_count() == 200
    assert state.counters() == {}
    assert config.knows("my-token") and not config.knows("sandbox-token")
    assert config.fault_rate == 0.1
    empty, _ = build("empty")
    assert empty.contact_count() == 0
