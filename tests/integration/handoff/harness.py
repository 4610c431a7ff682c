"""The hand-off end to end: a HubSpot sandbox with owners, sequences and lists, and a
crmbridge on SQLite that reaches it through the real HubSpot connector.

Replies and activity arrive the three ways they do in production: HubSpot's own
properties read by the poll, signed HubSpot webhooks and ``POST /v1/events`` — the
last two through the daemon's real HTTP app. What a rep would see is read back from
the sandbox's state: tasks, enrollments, list members and contact properties.
"""

from __future__ import annotations

import json
import tomllib
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from pydantic import SecretStr

from crmbridge.config import CrmbridgeConfig, example_config_text, parse_config
from crmbridge.daemon.http import create_app
from crmbridge.handoff.settings import ReactivationSettings, ReplySettings, Trigger
from crmbridge.store import outbox
from crmbridge.store.repository import Store
from crmbridge.sync.pipeline import CycleSummary, Pipeline
from crmbridge_hubspot import HubSpotConnector
from crmbridge_hubspot.sandbox.records import ChangeSource
from crmbridge_hubspot.sandbox.schema import PropertyDef
from crmbridge_hubspot.sandbox.server import SandboxServer, build
from crmbridge_hubspot.sandbox.state import SandboxState
from crmbridge_hubspot.sandbox.timeutil import iso_ms
from crmbridge_hubspot.sandbox.webhooks import sign_v3
from crmbridge_hubspot.settings import HubSpotSettings

TOKEN = "pat-na1-3c9e1f20-7a4b-4d6e-8f1a-2b3c4d5e6f70"
APP_SECRET = "handoff-e2e-app-secret-41f7"
INGEST_TOKEN = "handoff-e2e-ingest-token-9a2c"
WEBHOOK_URL = "http://testserver/webhooks/hubspot"
IMPORT = ChangeSource("IMPORT", "handoff-e2e")
#: How HubSpot records a reply: its own sales-email tracking, not a user or an app.
REPLY_SOURCE = ChangeSource("SALES", "email-tracking")
#: A rep editing a contact in HubSpot's UI.
REP = ChangeSource("CRM_UI", "userId:9002")
REPLY_PROPERTY = "hs_sales_email_last_replied"
PAUSED = "crmbridge_sequence_paused"
STAGE = "crmbridge_stage"
PERSONA = "persona_segment"

#: (owner id, email, first name, last name, user id).
OWNERS = (
    ("501", "ana.garcia@acme.example", "Ana", "García", 9001),
    ("502", "ben.smith@acme.example", "Ben", "Smith", 9002),
    ("503", "chloe.martin@acme.example", "Chloé", "Martin", 9003),
)
DEMO_SEQUENCE, LOGISTICS_SEQUENCE, REACTIVATION_SEQUENCE, REP_SEQUENCE = (
    "2001",
    "2002",
    "3001",
    "4001",
)
#: Lists get ids in creation order: the quarterly-contact list first.
QUARTERLY_LIST, NURTURE_LIST = "1", "2"

HANDOFF_TOML = """
[replies]
enabled = true
task_subject = "{name} replied — take over"
due_in = "1h"

[reactivation]
sequence_id = "3001"
archive_list_id = "1"

[[triggers]]
name = "Pricing visit with score >= 70 → demo sequence"
then = { enroll_sequence = "2001" }
[triggers.when]
score = { gte = 70 }
event = { type = "page_view", where = { url = { contains = "/pricing" } }, within_days = 30 }

[[triggers]]
name = "Logistics efficiency guide → logistics nurture track"
then = { enroll_sequence = "2002" }
[triggers.when]
event = { type = "content_download", where = { title = { contains = "logistics efficiency" } } }

[[triggers]]
name = "Webinar attended → nurture list"
then = { add_to_list = "2" }
[triggers.when]
event = { type = "webinar_attended" }

[[triggers]]
name = "Demo meeting booked → prepare it"
then = { notify = "Prepare the demo with {name}" }
[triggers.when]
event = { type = "meeting_booked" }

[[triggers]]
name = "Hot lead → call today"
then = { notify = "Call {name} today (score {score})" }
[triggers.when]
hot = true

[[triggers]]
name = "IT leader persona"
then = { set_property = { persona_segment = "it_leader" } }
[triggers.when]
properties = { jobtitle = { contains_any_word = ["cio", "head of it"] } }
"""


def load_config() -> CrmbridgeConfig:
    """The bundled example with this suite's hand-off tables and the daemon's secrets.

    The tables replace the example's own (validated by the same models), so the suite
    does not depend on what the example happens to enable.
    """
    base = parse_config(example_config_text(), source="bundled example").config
    handoff = tomllib.loads(HANDOFF_TOML)
    daemon = base.daemon.model_copy(update={"ingest_token": SecretStr(INGEST_TOKEN)})
    hubspot = base.connectors.hubspot.model_copy(update={"app_secret": SecretStr(APP_SECRET)})
    return base.model_copy(
        update={
            "daemon": daemon,
            "connectors": base.connectors.model_copy(update={"hubspot": hubspot}),
            "replies": ReplySettings.model_validate(handoff["replies"]),
            "reactivation": ReactivationSettings.model_validate(handoff["reactivation"]),
            "triggers": [Trigger.model_validate(t) for t in handoff["triggers"]],
        }
    )


# -- the CRM ------------------------------------------------------------------------------


def make_sandbox() -> SandboxServer:
    """An empty sandbox with owners, sequences, two lists and a persona property."""
    state, config = build("empty", TOKEN, rate_limit_max=100_000, search_per_second=50)
    for owner_id, email, first, last, user_id in OWNERS:
        state.add_owner(owner_id, email, first, last, user_id)
    state.add_sequence(DEMO_SEQUENCE, "Demo request follow-up", OWNERS[0][4])
    state.add_sequence(LOGISTICS_SEQUENCE, "Logistics nurture track", OWNERS[1][4])
    state.add_sequence(REACTIVATION_SEQUENCE, "Reactivación 90 días", OWNERS[0][4])
    state.add_sequence(REP_SEQUENCE, "Rep's own outreach", OWNERS[2][4])
    assert state.create_list("Quarterly contact").list_id == QUARTERLY_LIST
    assert state.create_list("Nurture").list_id == NURTURE_LIST
    state.add_contact_property(
        PropertyDef(PERSONA, "Persona segment", "string", "text", "contactinformation")
    )
    return SandboxServer(state, config)


def connector_for(server: SandboxServer) -> HubSpotConnector:
    """The connector as the daemon builds it from ``[connectors.hubspot]``."""
    settings = HubSpotSettings(enabled=True, access_token=SecretStr(TOKEN), base_url=server.url)
    return HubSpotConnector.from_settings(settings)


@dataclass(frozen=True)
class LeadSpec:
    """One synthetic lead: who they are and who owns them."""

    index: int
    owner: str | None = OWNERS[0][0]
    jobtitle: str = "CIO"
    employees: str = "1500"

    @property
    def email(self) -> str:
        return f"lead{self.index}@handoff-e2e.example"


def add_leads(state: SandboxState, specs: Sequence[LeadSpec], created: datetime) -> list[str]:
    """Create the leads as an import at ``created`` would; their record ids."""
    ids = []
    for spec in specs:
        values = {
            "email": spec.email,
            "firstname": f"Lead{spec.index}",
            "lastname": "Example",
            "jobtitle": spec.jobtitle,
            "numemployees": spec.employees,
        }
        if spec.owner:
            values["hubspot_owner_id"] = spec.owner
        contact = state.create_contact(
            values, source=IMPORT, created_at=created, updated_at=created, notify=False
        )
        ids.append(contact.id)
    return ids


def reply(state: SandboxState, crm_id: str, at: datetime) -> None:
    """The contact replies to a sales email: HubSpot sets the property (and unenrolls)."""
    state.update_contacts(
        [(crm_id, {REPLY_PROPERTY: iso_ms(at)})], source=REPLY_SOURCE, as_user=True
    )


def rep_edit(state: SandboxState, crm_id: str, values: Mapping[str, str]) -> None:
    """A rep changes the contact in HubSpot."""
    state.update_contacts([(crm_id, dict(values))], source=REP, as_user=True)


def reply_notification(event_id: int, crm_id: str, at: datetime) -> dict[str, Any]:
    """HubSpot's webhook notification of that property change."""
    return {
        "eventId": event_id,
        "subscriptionId": 880001,
        "portalId": 4200017,
        "appId": 3100042,
        "occurredAt": int(at.timestamp() * 1000),
        "subscriptionType": "contact.propertyChange",
        "attemptNumber": 0,
        "objectId": int(crm_id),
        "propertyName": REPLY_PROPERTY,
        "propertyValue": str(int(at.timestamp() * 1000)),
        "changeSource": "SALES",
    }


# -- what HubSpot shows ------------------------------------------------------------------


def tasks_by_contact(state: SandboxState) -> dict[str, list[str]]:
    """Contact id → the subjects of the tasks associated with it."""
    found: dict[str, list[str]] = {}
    for task in state.tasks():
        for contact_id in task.contact_ids:
            found.setdefault(contact_id, []).append(task.properties.get("hs_task_subject", ""))
    return found


def reply_tasks(state: SandboxState, crm_id: str) -> list[Any]:
    """The "replied — take over" tasks of one contact."""
    return [
        t
        for t in state.tasks()
        if crm_id in t.contact_ids
        and t.properties.get("hs_task_subject", "").endswith("replied — take over")
    ]


def enrollments(state: SandboxState) -> Counter[tuple[str, str]]:
    """(contact id, sequence id) → how many enrollments were ever made."""
    return Counter((e.contact_id, e.sequence_id) for e in state.enrollments())


def members(state: SandboxState, list_id: str) -> set[str]:
    """Record ids in a list."""
    found = state.get_list(list_id)
    return set(found.members) if found else set()


def prop(state: SandboxState, crm_id: str, name: str) -> str | None:
    """A contact property as HubSpot holds it."""
    contact = state.get_contact(crm_id)
    assert contact is not None, f"no contact {crm_id}"
    return contact.properties.get(name)


# -- crmbridge ----------------------------------------------------------------------------


class Bridge:
    """crmbridge over SQLite: the pipeline and the daemon's HTTP intake."""

    def __init__(self, store: Store, config: CrmbridgeConfig, server: SandboxServer) -> None:
        self.store = store
        self.config = config
        self.pipeline = Pipeline(store, config, {"hubspot": connector_for(server)})
        self.pipeline.prepare()
        app = create_app(store, config, clock=lambda: datetime.now(UTC))
        self.http = TestClient(app, raise_server_exceptions=True)
        self._event_ids = 0

    def cycle(self, now: datetime) -> CycleSummary:
        """One cycle (read, rescore, drain); every failure fails the test."""
        summary = self.pipeline.run_once(now)
        assert summary.ok, summary.errors
        return summary

    def plan_only(self, now: datetime) -> None:
        """Rescore without touching the CRM (no connector chosen): the outbox fills."""
        self.pipeline.run_once(now, only="(none)")

    def post_events(self, events: Sequence[Mapping[str, Any]]) -> None:
        """``POST /v1/events`` with the ingest token; every event must be accepted."""
        response = self.http.post(
            "/v1/events",
            content=json.dumps(list(events)).encode(),
            headers={
                "Authorization": f"Bearer {INGEST_TOKEN}",
                "Content-Type": "application/json",
            },
        )
        assert response.status_code == 202, response.text
        assert response.json()["failed"] == 0, response.text

    def post_webhook(self, notifications: Sequence[Mapping[str, Any]]) -> None:
        """``POST /webhooks/hubspot``, signed with the app secret (v3)."""
        body = json.dumps(list(notifications)).encode()
        stamp = str(int(datetime.now(UTC).timestamp() * 1000))
        response = self.http.post(
            WEBHOOK_URL,
            content=body,
            headers={
                "Content-Type": "application/json",
                "X-HubSpot-Request-Timestamp": stamp,
                "X-HubSpot-Signature-v3": sign_v3(APP_SECRET, "POST", WEBHOOK_URL, body, stamp),
            },
        )
        assert response.status_code == 200, response.text

    def outbox_depth(self) -> dict[str, int]:
        """Outbox rows by status."""
        with self.store.session() as session:
            return dict(outbox.depth(session))


def event(
    kind: str,
    crm_id: str,
    at: datetime,
    properties: Mapping[str, Any] | None = None,
    *,
    event_id: str | None = None,
) -> dict[str, Any]:
    """A canonical event for ``POST /v1/events`` (a stable id from its content)."""
    return {
        "event_id": event_id or f"web:{crm_id}:{kind}:{int(at.timestamp() * 1000)}",
        "type": kind,
        "occurred_at": at.isoformat(),
        "contact": {"crm": "hubspot", "id": crm_id},
        "properties": dict(properties or {}),
    }


def pricing_visits(crm_id: str, at: datetime, count: int = 2) -> list[dict[str, Any]]:
    """``count`` pricing-page views a minute apart ending at ``at``."""
    return [
        event(
            "page_view", crm_id, at - timedelta(minutes=i), {"url": "https://acme.example/pricing"}
        )
        for i in range(count)
    ]


@contextmanager
def bridge_over(server: SandboxServer, folder: Path) -> Iterator[Bridge]:
    """A :class:`Bridge` on a fresh SQLite file in ``folder``."""
    store = Store.open(f"sqlite:///{folder / 'crmbridge.db'}")
    try:
        yield Bridge(store, load_config(), server)
    finally:
        store.engine.dispose()


def moment(text: str) -> datetime:
    """A UTC instant from ``YYYY-MM-DD HH:MM``."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
