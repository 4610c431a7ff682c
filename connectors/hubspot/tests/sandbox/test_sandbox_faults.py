"""Injected 5xx answers (seeded) and added latency, changeable at runtime."""

from __future__ import annotations

import time

import pytest
import requests
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
