"""The daemon's app under test: configs with secrets, a client on create_app, helpers.

The ``build`` and ``harness`` fixtures of the repository's conftest.py make these apps
on the test's ``sqlite_store``; the daemon tests here and the plugins' webhook tests
(connectors/*/tests) use them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import func, select, update

from crmbridge.config import CrmbridgeConfig, example_config_text, parse_config
from crmbridge.daemon.http import create_app
from crmbridge.daemon.metrics import Metrics
from crmbridge.daemon.sync_health import SyncHealth
from crmbridge.records import ContactRecord
from crmbridge.store.repository import Store
from crmbridge.store.tables import ContactRow, EventRow, WebhookReceiptRow

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)
INGEST_TOKEN = "ingest-token-5f1c2a"
APP_SECRET = "hubspot-app-secret-9d3e"
SF_SECRET = "salesforce-shared-secret-77b1"
SF_ORG = "00D5e000000KQ2eEAG"
HUBSPOT_URL = "http://testserver/webhooks/hubspot"


def make_config(
    *,
    ingest_token: str | None = INGEST_TOKEN,
    app_secret: str | None = APP_SECRET,
    sf_secret: str | None = SF_SECRET,
    sf_org: str | None = SF_ORG,
    public_url: str | None = None,
) -> CrmbridgeConfig:
    """The bundled example configuration with the daemon's secrets set (or not)."""
    base = parse_config(example_config_text()).config

    def secret(value: str | None) -> SecretStr | None:
        return SecretStr(value) if value is not None else None

    daemon = base.daemon.model_copy(
        update={"ingest_token": secret(ingest_token), "public_url": public_url}
    )
    hubspot = base.connectors.hubspot.model_copy(update={"app_secret": secret(app_secret)})
    salesforce = base.connectors.salesforce.model_copy(
        update={"webhook_secret": secret(sf_secret), "org_id": sf_org}
    )
    connectors = base.connectors.model_copy(update={"hubspot": hubspot, "salesforce": salesforce})
    return base.model_copy(update={"daemon": daemon, "connectors": connectors})


@dataclass
class Harness:
    """A client on an app, with what the app was built from."""

    client: TestClient
    store: Store
    config: CrmbridgeConfig
    metrics: Metrics
    nudges: list[int] = field(default_factory=list)
    clock: list[datetime] = field(default_factory=lambda: [NOW])


def build_app(
    default_store: Store,
    config: CrmbridgeConfig | None = None,
    *,
    store: Store | None = None,
    health: SyncHealth | None = None,
    stopping: Callable[[], bool] | None = None,
) -> Harness:
    """An app on ``store`` (else ``default_store``) with ``config`` (else every secret set)."""
    target = store or default_store
    chosen = config or make_config()
    metrics = Metrics()
    clock = [NOW]
    nudges: list[int] = []
    app = create_app(
        target,
        chosen,
        health=health,
        stopping=stopping,
        clock=lambda: clock[0],
        on_change=lambda: nudges.append(1),
        metrics=metrics,
    )
    client = TestClient(app, raise_server_exceptions=True)
    return Harness(client, target, chosen, metrics, nudges, clock)


# -- helpers -------------------------------------------------------------------------------


def sign(secret: str, method: str, uri: str, body: bytes, timestamp: str) -> str:
    """HubSpot's v3 signature, written out independently of the code under test."""
    message = f"{method}{uri}".encode() + body + timestamp.encode()
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


def hubspot_headers(
    body: bytes,
    *,
    uri: str = HUBSPOT_URL,
    timestamp_ms: int = NOW_MS,
    secret: str = APP_SECRET,
) -> dict[str, str]:
    stamp = str(timestamp_ms)
    return {
        "Content-Type": "application/json",
        "X-HubSpot-Request-Timestamp": stamp,
        "X-HubSpot-Signature-v3": sign(secret, "POST", uri, body, stamp),
    }


def notification(
    event_id: int,
    object_id: int,
    *,
    kind: str = "contact.propertyChange",
    prop: str | None = "jobtitle",
    value: str | None = "CIO",
) -> dict[str, Any]:
    """One HubSpot webhook notification in the documented shape."""
    item: dict[str, Any] = {
        "eventId": event_id,
        "subscriptionId": 501000,
        "portalId": 4200017,
        "appId": 3100042,
        "occurredAt": NOW_MS - 1000,
        "subscriptionType": kind,
        "attemptNumber": 0,
        "objectId": object_id,
        "changeSource": "CRM_UI",
    }
    if kind == "contact.propertyChange":
        item["propertyName"] = prop
        item["propertyValue"] = value
    else:
        item["changeFlag"] = "CREATED"
    return item


def dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def seed_contacts(store: Store, crm: str, ids: Sequence[str]) -> None:
    """Known contacts, scored already (dirty flag cleared)."""
    records = [
        ContactRecord(crm=crm, id=i, email=f"c{i}@example.com".lower(), properties={}) for i in ids
    ]
    store.store_page(crm, "contacts", records, "seed", own_properties=[])
    with store.engine.begin() as connection:
        connection.execute(update(ContactRow.__table__).values(dirty=False))  # type: ignore[attr-defined]


def dirty_ids(store: Store, crm: str) -> set[str]:
    table = ContactRow.__table__  # type: ignore[attr-defined]
    with store.engine.connect() as connection:
        query = select(table.c.crm_id).where(table.c.crm == crm, table.c.dirty.is_(True))
        return set(connection.execute(query).scalars())


def count(store: Store, row: type[Any]) -> int:
    with store.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(row.__table__)).scalar_one())


def receipts(store: Store) -> int:
    return count(store, WebhookReceiptRow)


def events(store: Store) -> int:
    return count(store, EventRow)
