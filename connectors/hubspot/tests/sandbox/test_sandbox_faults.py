"""Injected error answers (seeded or scripted, on chosen paths), stalled requests and
added latency, changeable at runtime, as the official SDK sees them."""

from __future__ import annotations

import json
import time

import pytest
import requests
import urllib3
from hubspot import HubSpot
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInput,
    SimplePublicObjectBatchInput,
)
from hubspot.crm.owners.exceptions import ServiceException

from crmbridge_hubspot.sandbox import SandboxServer, SandboxState

from .conftest import TOKEN, add_contacts, relaxed_config


def _statuses(seed: int, count: int) -> list[int]:
    config = relaxed_config(fault_rate=0.5, fault_seed=seed)
    with SandboxServer(config=config) as server:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        return [
            requests.get(f"{server.url}/crm/v3/owners", headers=headers, timeout=5).status_code
            for _ in range(count)
        ]


def test_fault_sequence_is_seeded() -> None:
    first, again, other = _statuses(11, 30), _statuses(11, 30), _statuses(12, 30)
    assert first == again
    assert first != other
    assert set(first) <= {200, 500, 502, 503}
    assert 5 < sum(s != 200 for s in first) < 25


def test_sdk_sees_service_exception_and_admin_turns_faults_off(
    client: HubSpot, server: SandboxServer
) -> None:
    admin = f"{server.url}/_sandbox/config"
    patched = requests.patch(admin, json={"fault_rate": 1.0, "fault_statuses": [503]}, timeout=5)
    assert patched.status_code == 200 and patched.json()["fault_rate"] == 1.0
    with pytest.raises(ServiceException) as caught:
        client.crm.owners.owners_api.get_page()
    assert caught.value.status == 503
    assert requests.patch(admin, json={"fault_rate": 0}, timeout=5).status_code == 200
    assert client.crm.owners.owners_api.get_page().results == []
    assert server.state.counters()["faults_injected"] == 1
    bad = requests.patch(admin, json={"fault_rate": 2, "nonsense": 1}, timeout=5)
    assert bad.status_code == 400
    assert "fault_rate" in bad.json()["message"] and "nonsense" in bad.json()["message"]


def test_fault_after_handler_applies_the_write() -> None:
    state = SandboxState()
    (contact_id,) = add_contacts(state, 1)
    config = relaxed_config(fault_rate=1.0, fault_statuses=[502], fault_after_handler=True)
    with SandboxServer(state, config) as server:
        client = HubSpot(access_token=TOKEN, host=server.url)
        batch = BatchInputSimplePublicObjectBatchInput(
            inputs=[SimplePublicObjectBatchInput(id=contact_id, properties={"jobtitle": "CIO"})]
        )
        with pytest.raises(Exception) as caught:
            client.crm.contacts.batch_api.update(batch_input_simple_public_object_batch_input=batch)
    assert getattr(caught.value, "status", None) == 502
    contact = state.get_contact(contact_id)
    assert contact is not None and contact.properties["jobtitle"] == "CIO"


def test_added_latency(server: SandboxServer, client: HubSpot) -> None:
    requests.patch(f"{server.url}/_sandbox/config", json={"latency_ms": 200}, timeout=5)
    started = time.perf_counter()
    client.crm.owners.owners_api.get_page()
    assert time.perf_counter() - started >= 0.2


# -- HubSpot's other statuses and stalled connections ------------------------------------

OWNERS = "/crm/v3/owners"


@pytest.mark.parametrize("status", [423, 429, 477, 502, 504, 521, 522, 523, 524, 525, 526])
def test_each_status_reaches_the_sdk_once_as_hubspot_answers_it(status: int) -> None:
    config = relaxed_config(fault_next=[status], fault_retry_after_s=3600)
    with SandboxServer(config=config) as server:
        client = HubSpot(access_token=TOKEN, host=server.url)
        with pytest.raises(Exception) as caught:
            client.crm.owners.owners_api.get_page()
        # Scripted faults are used up in order: the next call is answered.
        assert client.crm.owners.owners_api.get_page().results == []
    error = caught.value
    assert getattr(error, "status", None) == status
    headers = getattr(error, "headers", None) or {}
    body = getattr(error, "body", b"")
    text = body.decode() if isinstance(body, bytes) else str(body)
    if status == 429:
        # An injected 429 is the daily limit's (the 10-second one is the limiter's).
        assert json.loads(text)["policyName"] == "DAILY"
    elif status in (423, 477):
        parsed = json.loads(text)
        assert parsed["status"] == "error" and parsed["correlationId"]
        assert parsed["category"] == {423: "LOCKED", 477: "MIGRATION_IN_PROGRESS"}[status]
    else:
        # Gateways and the CDN edge answer an HTML page, not HubSpot's JSON.
        assert text.lstrip().startswith("<html>") and str(status) in text
    assert (headers.get("Retry-After") == "3600") == (status == 477)


def test_faults_stay_on_the_paths_named() -> None:
    config = relaxed_config(fault_rate=1.0, fault_statuses=[504], fault_paths=["/crm/v3/objects"])
    with SandboxServer(config=config) as server:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        owners = requests.get(f"{server.url}{OWNERS}", headers=headers, timeout=5)
        contacts = requests.get(f"{server.url}/crm/v3/objects/contacts", headers=headers, timeout=5)
    assert (owners.status_code, contacts.status_code) == (200, 504)


def test_a_stalled_request_gets_no_answer_until_stalls_are_switched_off() -> None:
    config = relaxed_config(stall_rate=1.0, stall_s=60, fault_paths=[OWNERS])
    with SandboxServer(config=config) as server:
        # The SDK's urllib3 retries a read timeout three times unless told not to.
        client = HubSpot(access_token=TOKEN, host=server.url, retry=urllib3.Retry(0, read=0))
        started = time.monotonic()
        with pytest.raises((urllib3.exceptions.ReadTimeoutError, urllib3.exceptions.MaxRetryError)):
            client.crm.owners.owners_api.get_page(_request_timeout=(2, 0.5))
        assert 0.5 <= time.monotonic() - started < 5
        assert server.state.counters()["stalls_injected"] == 1
        # Switched off, a held request is answered late and new ones at once.
        requests.patch(f"{server.url}/_sandbox/config", json={"stall_rate": 0}, timeout=5)
        started = time.monotonic()
        assert client.crm.owners.owners_api.get_page(_request_timeout=(2, 2)).results == []
        assert time.monotonic() - started < 1


def test_fault_settings_are_validated(server: SandboxServer) -> None:
    admin = f"{server.url}/_sandbox/config"
    for bad in ({"fault_next": [200]}, {"fault_paths": ["crm"]}, {"stall_rate": 2}):
        assert requests.patch(admin, json=bad, timeout=5).status_code == 400, bad


def test_a_batch_answer_can_lose_a_record_that_was_written(
    client: HubSpot, server: SandboxServer
) -> None:
    ids = add_contacts(server.state, 3)
    admin = f"{server.url}/_sandbox/config"
    assert requests.patch(admin, json={"batch_drop_next": 1}, timeout=5).status_code == 200
    inputs = [SimplePublicObjectBatchInput(id=i, properties={"jobtitle": "CIO"}) for i in ids]
    batch = BatchInputSimplePublicObjectBatchInput(inputs=inputs)

    lossy = client.crm.contacts.batch_api.update(batch)
    whole = client.crm.contacts.batch_api.update(batch)

    assert len(lossy.results) == 2 and {r.id for r in lossy.results} < set(ids)
    assert not getattr(lossy, "errors", None)
    assert {r.id for r in whole.results} == set(ids)
    # Lost from the answer only: every record was written.
    assert all(server.state.get_contact(i).properties["jobtitle"] == "CIO" for i in ids)
    assert requests.get(admin, timeout=5).json()["batch_drop_next"] == 0
