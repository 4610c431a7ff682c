"""POST /webhooks/{connector} serves any plugin with the webhook capability.

The plugins here exist only in the registry (no entry point, no ``[connectors.*]``
table, no line of the core naming them): the route finds them, builds their receiver,
and records what it parses like HubSpot's or Salesforce's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from crmbridge.connector import (
    ConnectorPlugin,
    ConnectorSettings,
    WebhookAnswer,
    WebhookChange,
    WebhookDelivery,
    WebhookError,
    WebhookRequest,
    WebhookSupport,
    crm_ids,
    receipt_key,
    registry,
)
from crmbridge.external import loads

from .app_harness import NOW, Harness, dirty_ids, dumps, receipts, seed_contacts

TOKEN = "memcrm-token-41"


class MemSettings(ConnectorSettings):
    """``[connectors.memcrm]``: nothing to set (the test's CRM has no account)."""


@dataclass
class MemReceiver:
    """A CRM that authenticates with a token header and sends ``[{"id", "record"}]``."""

    token: str | None
    seen: list[WebhookRequest] = field(default_factory=list)

    def unavailable(self) -> str | None:
        return None if self.token else "memcrm webhooks are not configured: set its token"

    def verify(self, request: WebhookRequest) -> None:
        self.seen.append(request)
        if request.header("X-Mem-Token") != self.token:
            raise WebhookError(401, "wrong memcrm token")

    def parse(self, request: WebhookRequest) -> WebhookDelivery:
        items = loads(request.body)
        if not isinstance(items, list):
            raise WebhookError(400, "a JSON array, please")
        changes = tuple(
            WebhookChange(receipt_key(item.get("id"), (), item), crm_ids([item.get("record")]))
            for item in items
        )
        ack = request.query.get("ack")
        return WebhookDelivery(changes, WebhookAnswer("<ok/>", "application/xml") if ack else None)


def _noop_build(settings: Any) -> Any:
    raise AssertionError("the webhook route never builds a connector")


@dataclass
class Installed:
    """The receivers the fake plugins hand out, to look at what they were given."""

    receivers: list[MemReceiver] = field(default_factory=list)


@pytest.fixture
def installed(monkeypatch: pytest.MonkeyPatch) -> Iterator[Installed]:
    """The real plugins plus ``memcrm`` (webhooks), ``mute`` (webhooks without a token)
    and ``pollonly`` (no webhooks), added through the registry alone."""
    found = Installed()

    def plugin(name: str, token: str | None, hooks: bool = True) -> ConnectorPlugin:
        def receiver(settings: MemSettings) -> MemReceiver:
            assert isinstance(settings, MemSettings)  # its defaults: it has no table
            made = MemReceiver(token)
            found.receivers.append(made)
            return made

        support = WebhookSupport(receiver, summary=f"{name}'s JSON notifications.", max_body=256)
        return ConnectorPlugin(
            name, name.title(), MemSettings, _noop_build, webhooks=support if hooks else None
        )

    real = dict(registry.plugins())
    fakes = {
        "memcrm": plugin("memcrm", TOKEN),
        "mute": plugin("mute", None),
        "pollonly": plugin("pollonly", TOKEN, hooks=False),
    }
    monkeypatch.setattr(registry, "plugins", lambda: {**real, **fakes})
    yield found


@pytest.fixture
def mem(installed: Installed, build: Callable[..., Harness]) -> Harness:
    return build()


def post(harness: Harness, name: str, items: Any, token: str = TOKEN, **params: str) -> Any:
    headers = {"X-Mem-Token": token, "Content-Type": "application/json"}
    return harness.client.post(
        f"/webhooks/{name}", content=dumps(items), headers=headers, params=params
    )


def test_a_plugin_known_only_to_the_registry_gets_its_webhooks_recorded(
    mem: Harness, installed: Installed
) -> None:
    seed_contacts(mem.store, "memcrm", ["m1"])
    seed_contacts(mem.store, "hubspot", ["m1"])  # the same id in another CRM

    response = post(mem, "memcrm", [{"id": "n1", "record": "m1"}, {"id": "n2", "record": "m9"}])

    assert response.status_code == 200, response.text
    assert response.json() | {"accepted": 2, "replayed": 0, "records": 2} == response.json()
    assert dirty_ids(mem.store, "memcrm") == {"m1"}
    assert dirty_ids(mem.store, "hubspot") == set()
    assert receipts(mem.store) == 2
    assert mem.nudges
    again = post(mem, "memcrm", [{"id": "n1", "record": "m1"}])
    assert again.json()["replayed"] == 1
    scraped = mem.client.get("/metrics").text
    assert 'crmbridge_webhook_events_total{connector="memcrm",outcome="accepted"} 2.0' in scraped


def test_the_receiver_sees_the_request_and_may_choose_the_answer(
    mem: Harness, installed: Installed
) -> None:
    response = post(mem, "memcrm", [{"id": "n1", "record": "m1"}], ack="1")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    assert response.text == "<ok/>"
    (seen,) = installed.receivers[-1].seen
    assert seen.method == "POST"
    assert "http://testserver/webhooks/memcrm?ack=1" in seen.urls
    assert seen.query == {"ack": "1"}
    assert seen.headers["x-mem-token"] == TOKEN  # names in lower case
    assert seen.now == NOW  # the daemon's clock
    assert loads(seen.body) == [{"id": "n1", "record": "m1"}]


def test_refusals_come_from_the_plugin_and_store_nothing(mem: Harness) -> None:
    wrong = post(mem, "memcrm", [{"id": "n1", "record": "m1"}], token="guess")
    malformed = post(mem, "memcrm", {"id": "n1"})

    assert (wrong.status_code, wrong.json()) == (401, {"detail": "wrong memcrm token"})
    assert malformed.status_code == 400
    assert receipts(mem.store) == 0
    assert not mem.nudges
    scraped = mem.client.get("/metrics").text
    assert 'crmbridge_webhook_events_total{connector="memcrm",outcome="rejected"} 2.0' in scraped


def test_a_body_over_the_plugins_limit_is_413(mem: Harness) -> None:
    items = [{"id": f"n{i}", "record": f"m{i}"} for i in range(20)]
    assert post(mem, "memcrm", items).status_code == 413
    assert receipts(mem.store) == 0


def test_a_plugin_without_its_secret_answers_503_in_its_own_words(mem: Harness) -> None:
    response = post(mem, "mute", [{"id": "n1", "record": "m1"}])
    assert response.status_code == 503
    assert response.json()["detail"] == "memcrm webhooks are not configured: set its token"


@pytest.mark.parametrize("name", ["pollonly", "nosuchcrm"])
def test_a_connector_without_webhooks_or_unknown_is_404(mem: Harness, name: str) -> None:
    response = post(mem, name, [{"id": "n1", "record": "m1"}])
    assert response.status_code == 404
    assert "hubspot, memcrm, mute, salesforce" in response.json()["detail"]
    assert receipts(mem.store) == 0


def test_the_openapi_document_lists_each_installed_crm_that_takes_webhooks(
    harness: Harness,
) -> None:
    """Plugins are found once per process (entry points), when the routes are made."""
    document = harness.client.get("/openapi.json").json()
    operation = document["paths"]["/webhooks/{connector}"]["post"]

    (parameter,) = operation["parameters"]
    assert parameter["schema"]["enum"] == ["hubspot", "salesforce"]
    assert "- `hubspot`: HubSpot notifications signed" in operation["description"]
    assert "- `salesforce`: Salesforce Outbound Messages" in operation["description"]
    assert {"200", "400", "401", "403", "404", "413", "503"} <= set(operation["responses"])
    assert "WebhookCounts" in document["components"]["schemas"]
