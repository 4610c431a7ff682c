"""Signed v3 webhook delivery, checked with the SDK's own signature validator."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
from hubspot import HubSpot
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInput,
    SimplePublicObjectBatchInput,
    SimplePublicObjectInputForCreate,
)
from hubspot.utils.signature import Signature

from crmbridge_hubspot.sandbox import SandboxServer, SandboxState

from .conftest import TOKEN, add_contacts, relaxed_config

SECRET = "sandbox-secret"


@dataclass
class Receiver:
    """A tiny local webhook endpoint that records what it gets."""

    url: str
    received: list[dict[str, Any]] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)
    delay_s: float = 0.0

    def events(self) -> list[dict[str, Any]]:
        return [e for r in self.received if r["status"] < 300 for e in json.loads(r["body"])]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    holder: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            target = holder["r"]
            time.sleep(target.delay_s)
            status = target.answers.pop(0) if target.answers else 204
            target.received.append(
                {
                    "path": self.path,
                    "headers": dict(self.headers),
                    "body": body.decode(),
                    "status": status,
                }
            )
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    holder["r"] = Receiver(f"http://127.0.0.1:{server.server_port}/hooks/hubspot?tenant=acme")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield holder["r"]
    server.shutdown()
    server.server_close()


def _valid(receiver: Receiver, record: dict[str, Any]) -> bool:
    headers = record["headers"]
    return bool(
        Signature.is_valid(
            signature=headers["X-HubSpot-Signature-v3"],
            client_secret=SECRET,
            request_body=record["body"],
            http_uri=receiver.url,
            http_method="POST",
            signature_version="v3",
            timestamp=headers["X-HubSpot-Request-Timestamp"],
        )
    )


def test_batch_update_is_delivered_signed_in_hubspots_shape(receiver: Receiver) -> None:
    state = SandboxState()
    ids = add_contacts(state, 2)
    config = relaxed_config(webhook_url=receiver.url, webhook_retry_delay_s=0.05)
    with SandboxServer(state, config) as server:
        client = HubSpot(access_token=TOKEN, host=server.url)
        batch = BatchInputSimplePublicObjectBatchInput(
            inputs=[
                SimplePublicObjectBatchInput(id=ids[0], properties={"jobtitle": "CIO"}),
                SimplePublicObjectBatchInput(id=ids[1], properties={"lifecyclestage": "lead"}),
            ]
        )
        client.crm.contacts.batch_api.update(batch_input_simple_public_object_batch_input=batch)
        created = client.crm.contacts.basic_api.create(
            simple_public_object_input_for_create=SimplePublicObjectInputForCreate(
                properties={"email": "new@acme.es"}
            )
        )
        assert server.services.webhooks.wait_idle()
    assert receiver.received, "nothing was delivered"
    for record in receiver.received:
        assert record["path"] == "/hooks/hubspot?tenant=acme"
        assert _valid(receiver, record)
        assert not Signature.is_valid(
            signature=record["headers"]["X-HubSpot-Signature-v3"],
            client_secret="wrong-secret",
            request_body=record["body"],
            http_uri=receiver.url,
            signature_version="v3",
            timestamp=record["headers"]["X-HubSpot-Request-Timestamp"],
        )
    events = receiver.events()
    changes = {(e["objectId"], e.get("propertyName"), e.get("propertyValue")) for e in events}
    assert (int(ids[0]), "jobtitle", "CIO") in changes
    assert (int(ids[1]), "lifecyclestage", "lead") in changes
    creation = [e for e in events if e["subscriptionType"] == "contact.creation"]
    assert [e["objectId"] for e in creation] == [int(created.id)]
    sample = next(e for e in events if e["subscriptionType"] == "contact.propertyChange")
    assert set(sample) >= {
        "eventId",
        "subscriptionId",
        "portalId",
        "appId",
        "occurredAt",
        "subscriptionType",
        "attemptNumber",
        "objectId",
        "propertyName",
        "propertyValue",
        "changeSource",
    }
    assert sample["portalId"] == config.portal_id and sample["attemptNumber"] == 0
    assert sample["changeSource"] == "INTEGRATION"
    assert isinstance(sample["occurredAt"], int) and sample["occurredAt"] > 1_700_000_000_000


def test_at_most_100_events_per_request_and_property_filter(receiver: Receiver) -> None:
    state = SandboxState()
    ids = add_contacts(state, 100)
    config = relaxed_config(webhook_url=receiver.url, webhook_properties=["jobtitle"])
    with SandboxServer(state, config) as server:
        client = HubSpot(access_token=TOKEN, host=server.url)
        for title in ("CIO", "CTO"):
            batch = BatchInputSimplePublicObjectBatchInput(
                inputs=[
                    SimplePublicObjectBatchInput(
                        id=i, properties={"jobtitle": title, "city": "Madrid"}
                    )
                    for i in ids
                ]
            )
            client.crm.contacts.batch_api.update(batch_input_simple_public_object_batch_input=batch)
        assert server.services.webhooks.wait_idle()
    sizes = [len(json.loads(r["body"])) for r in receiver.received]
    assert sum(sizes) == 200
    assert max(sizes) <= 100 and len(sizes) >= 2
    assert {e["propertyName"] for e in receiver.events()} == {"jobtitle"}


def test_failed_delivery_is_retried_with_a_new_attempt_number(receiver: Receiver) -> None:
    receiver.answers.extend([500, 503])
    state = SandboxState()
    (contact_id,) = add_contacts(state, 1)
    config = relaxed_config(webhook_url=receiver.url, webhook_retry_delay_s=0.05)
    with SandboxServer(state, config) as server:
        admin = f"{server.url}/_sandbox/contacts/{contact_id}"
        edited = requests.patch(
            admin, json={"properties": {"jobtitle": "Jefa de Operaciones"}}, timeout=5
        )
        assert edited.status_code == 200
        assert server.services.webhooks.wait_idle()
        log = requests.get(f"{server.url}/_sandbox/webhooks", timeout=5).json()
    assert [r["status"] for r in receiver.received] == [500, 503, 204]
    attempts = [json.loads(r["body"])[0]["attemptNumber"] for r in receiver.received]
    assert attempts == [0, 1, 2]
    assert all(_valid(receiver, r) for r in receiver.received)
    (event,) = receiver.events()
    assert event["changeSource"] == "CRM_UI"
    assert event["propertyValue"] == "Jefa de Operaciones"
    assert [d["attempt"] for d in log["deliveries"]] == [0, 1, 2]


def test_slow_receiver_never_blocks_api_requests(receiver: Receiver) -> None:
    receiver.delay_s = 0.5
    state = SandboxState()
    (contact_id,) = add_contacts(state, 1)
    config = relaxed_config(webhook_url=receiver.url, webhook_batch_window_s=0)
    with SandboxServer(state, config) as server:
        client = HubSpot(access_token=TOKEN, host=server.url)
        started = time.perf_counter()
        for title in ("A", "B", "C"):
            batch = BatchInputSimplePublicObjectBatchInput(
                inputs=[SimplePublicObjectBatchInput(id=contact_id, properties={"jobtitle": title})]
            )
            client.crm.contacts.batch_api.update(batch_input_simple_public_object_batch_input=batch)
        elapsed = time.perf_counter() - started
        assert server.services.webhooks.wait_idle()
    assert elapsed < 0.4
    assert [e["propertyValue"] for e in receiver.events()] == ["A", "B", "C"]
