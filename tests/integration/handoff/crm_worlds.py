"""One CRM sandbox, a SQLite store and the daemon's pipeline, the same for HubSpot and
Salesforce: the per-CRM fixture of the hand-off tests that both CRMs share.

A test says what happens in CRM terms common to both ("a lead", "a reply", "the owner
logs a call") and reads back what a rep would see ("the lead's tasks", "its owner",
"is it flagged paused"); each :class:`CrmWorld` does it the way its CRM does:

- owner: HubSpot's owner (``hubspot_owner_id``); a Salesforce User (``OwnerId``; a
  new lead belongs to the assignment rule's user, listed as ``unowned``);
- task: a HubSpot task associated with the contact; a Salesforce ``Task`` (``WhoId``)
  that crmbridge created;
- reply: HubSpot sets ``hs_sales_email_last_replied``; Salesforce holds an incoming
  ``EmailMessage`` from the lead;
- the owner's contact: a rep sets ``notes_last_contacted``; the owner logs a call
  ``Task``;
- list: a HubSpot static list; a Salesforce ``Campaign`` and its members;
- sequence: a HubSpot sequence enrollment; a Sales Engagement cadence tracker.

Owners are named by role in the tests' TOML (``{ana}``, ``{bruno}``, ``{carla}``,
``{marta}``, the manager); each world fills in its CRM's ids.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from pydantic import SecretStr
from sqlalchemy import select

from crmbridge.clock import parse_instant
from crmbridge.config import CrmbridgeConfig, parse_config
from crmbridge.records import CanonicalEvent
from crmbridge.store.repository import Store
from crmbridge.store.tables import AssignmentRow, SlaClockRow
from crmbridge.sync.pipeline import CycleSummary, Pipeline
from crmbridge_hubspot import HubSpotConnector
from crmbridge_hubspot.sandbox.records import ChangeSource
from crmbridge_hubspot.sandbox.server import SandboxServer as HubSpotSandbox
from crmbridge_hubspot.sandbox.server import build
from crmbridge_hubspot.sandbox.timeutil import iso_ms
from crmbridge_hubspot.settings import HubSpotSettings
from crmbridge_salesforce.connector import SalesforceConnector
from crmbridge_salesforce.fields import custom_field
from crmbridge_salesforce.sandbox import SandboxServer as SalesforceSandbox
from crmbridge_salesforce.sandbox.tls import Certificates
from crmbridge_salesforce.settings import SalesforceSettings

ROLES = ("ana", "bruno", "carla", "marta")
PAUSED = "crmbridge_sequence_paused"
#: The model, with the job title as each CRM names it: a CIO is hot (50 ≥ 40); a
#: pricing visit is engagement (the quiet clock of reactivation counts from it).
MODEL = """
[bridge]
timezone = "Europe/Madrid"

[scoring]
mql_threshold = 20
hot_threshold = 40

[[scoring.fit]]
name = "CIO of the company"
points = 50
when = { TITLE = { contains_word = "cio" } }

[[scoring.engagement]]
name = "Pricing page visit"
event = "page_view"
where = { url = { contains = "/pricing" } }
points = 15
"""
_PRIORITY = {"High": "HIGH", "Normal": "MEDIUM", "Low": "LOW"}
#: Assignment over Ana (managed by Marta), Bruno (away) and Carla, and the hot-lead task.
ASSIGN = """
[assignment]
enabled = true
owners = [
  { id = "{ana}", manager = "{marta}" },
  { id = "{bruno}", available = false },
  { id = "{carla}" },
]

[notifications]
enabled = true

[notifications.task]
subject = "Hot lead: {name} (score {score})"
due_in = "4h"
priority = "HIGH"
"""


@dataclass(frozen=True)
class TaskView:
    """A task as a rep sees it, whatever the CRM."""

    subject: str
    owner: str | None
    body: str
    priority: str
    due: date


class CrmWorld(Protocol):
    """What the shared hand-off tests do and read, in one CRM."""

    crm: str
    owners: dict[str, str]
    store: Store

    def lead(self, name: str, *, cio: bool = True) -> str: ...
    def cycle(self, now: datetime, *, restarted: bool = False) -> CycleSummary: ...
    def owner_of(self, crm_id: str) -> str | None: ...
    def tasks_of(self, crm_id: str) -> list[TaskView]: ...
    def reply(self, crm_id: str, at: datetime) -> None: ...
    def paused(self, crm_id: str) -> str | None: ...
    def owner_contacted(self, crm_id: str, at: datetime) -> None: ...
    def new_list(self, name: str) -> str: ...
    def members(self, list_id: str) -> set[str]: ...
    def new_sequence(self, name: str) -> str: ...
    def enrolled(self, crm_id: str) -> list[str]: ...


class _Common:
    """The store, the configuration and the pipeline, as both worlds hold them."""

    crm: str
    store: Store
    config: CrmbridgeConfig
    owners: dict[str, str]
    pipeline: Pipeline

    def configure(self, handoff: str, extra: str = "") -> None:
        """The configuration: the model, the hand-off (roles filled in), CRM extras."""
        title = "jobtitle" if self.crm == "hubspot" else "Title"
        for role, owner_id in self.owners.items():
            handoff = handoff.replace("{" + role + "}", owner_id)
        text = MODEL.replace("TITLE", title) + handoff + extra
        self.config = self.with_connector(parse_config(text, source="test").config)

    def with_connector(self, config: CrmbridgeConfig) -> CrmbridgeConfig:
        return config

    def make_connector(self) -> Any:
        raise NotImplementedError

    def start(self) -> None:
        self.pipeline = self.new_pipeline()
        self.pipeline.prepare()

    def new_pipeline(self) -> Pipeline:
        """A pipeline as a (re)started daemon builds it: nothing kept in memory."""
        connector = self.make_connector()
        return Pipeline(self.store, self.config, {connector.name: connector})

    def cycle(self, now: datetime, *, restarted: bool = False) -> CycleSummary:
        """One daemon cycle (by a restarted daemon: a new pipeline); fails on errors."""
        if restarted:
            self.pipeline = self.new_pipeline()
        summary = self.pipeline.run_once(now)
        assert summary.ok, summary.errors
        return summary

    def assignments(self) -> list[Any]:
        with self.store.session() as session:
            return list(session.execute(select(AssignmentRow)).scalars())

    def clocks(self) -> list[Any]:
        with self.store.session() as session:
            return list(session.execute(select(SlaClockRow)).scalars())

    def engage(self, crm_id: str, at: datetime) -> None:
        """A pricing page visit by the lead (through the event intake)."""
        self.store.insert_events(
            [
                CanonicalEvent.model_validate(
                    {
                        "event_id": f"visit-{crm_id}-{at.isoformat()}",
                        "type": "page_view",
                        "occurred_at": at.isoformat(),
                        "contact": {"crm": self.crm, "id": crm_id},
                        "properties": {"url": "https://acme.example/pricing"},
                    }
                )
            ]
        )


# -- HubSpot -------------------------------------------------------------------------

TOKEN = "pat-na1-7a1c2e7a-0b3d-4c8e-9a21-7d6e4f3b2a10"
IMPORT = ChangeSource("IMPORT", "handoff-tests")
REPLY_SOURCE = ChangeSource("SALES", "email-tracking")
USER = ChangeSource("CRM_UI", "userId:7")
HUBSPOT_OWNERS = {"ana": "11", "bruno": "12", "carla": "13", "marta": "90"}


class HubSpotWorld(_Common):
    """The hand-off on the HubSpot sandbox."""

    crm = "hubspot"

    def __init__(self, server: HubSpotSandbox, folder: Path) -> None:
        self.server = server
        self.state = server.state
        self.owners = dict(HUBSPOT_OWNERS)
        self.store = Store.open(f"sqlite:///{folder / 'crmbridge.db'}")
        self._seeded = 0

    def make_connector(self) -> HubSpotConnector:
        settings = HubSpotSettings(
            enabled=True, access_token=SecretStr(TOKEN), base_url=self.server.url
        )
        return HubSpotConnector.from_settings(settings)

    def lead(self, name: str, *, cio: bool = True, **values: str) -> str:
        """A contact (a CIO is hot), with other ``values`` (``country``, an owner...)."""
        at = (self.state.now() - timedelta(days=2)).replace(microsecond=0)
        self._seeded += 1
        contact = self.state.create_contact(
            {
                "email": f"{name.lower()}{self._seeded}@handoff.example",
                "firstname": name,
                "lastname": "Test",
                "jobtitle": "CIO" if cio else "Analyst",
                **values,
            },
            source=IMPORT,
            created_at=at,
            updated_at=at + timedelta(seconds=self._seeded),
            notify=False,
        )
        return contact.id

    def _prop(self, crm_id: str, name: str) -> str | None:
        contact = self.state.get_contact(crm_id)
        assert contact is not None
        return contact.properties.get(name) or None

    def owner_of(self, crm_id: str) -> str | None:
        return self._prop(crm_id, "hubspot_owner_id")

    def tasks_of(self, crm_id: str) -> list[TaskView]:
        return [
            TaskView(
                subject=t.properties["hs_task_subject"],
                owner=t.properties.get("hubspot_owner_id") or None,
                body=t.properties.get("hs_task_body") or "",
                priority=t.properties.get("hs_task_priority") or "",
                due=parse_instant(t.properties["hs_timestamp"]).date(),
            )
            for t in self.state.tasks()
            if crm_id in t.contact_ids
        ]

    def reply(self, crm_id: str, at: datetime) -> None:
        self.state.update_contacts(
            [(crm_id, {"hs_sales_email_last_replied": iso_ms(at)})],
            source=REPLY_SOURCE,
            as_user=True,
        )

    def paused(self, crm_id: str) -> str | None:
        return self._prop(crm_id, PAUSED)

    def owner_contacted(self, crm_id: str, at: datetime) -> None:
        self.state.update_contacts(
            [(crm_id, {"notes_last_contacted": iso_ms(at)})], source=USER, as_user=True
        )

    def new_list(self, name: str) -> str:
        return str(self.state.create_list(name).list_id)

    def members(self, list_id: str) -> set[str]:
        found = self.state.get_list(list_id)
        return set(found.members) if found else set()

    def new_sequence(self, name: str) -> str:
        sequence_id = str(4100 + len(self.state.enrollments()) + len(name))
        self.state.add_sequence(sequence_id, name, 700)
        return sequence_id

    def enrolled(self, crm_id: str) -> list[str]:
        return [e.sequence_id for e in self.state.enrollments() if e.contact_id == crm_id]


@contextmanager
def hubspot_world(folder: Path) -> Iterator[HubSpotWorld]:
    """A started HubSpot sandbox with four owners, and a crmbridge over it."""
    state, settings = build("empty", TOKEN)
    names = {"11": "Ana", "12": "Bruno", "13": "Carla", "90": "Marta"}
    for index, (owner_id, first) in enumerate(names.items()):
        state.add_owner(owner_id, f"{first.lower()}@acme.example", first, "Sales", 700 + index)
    with HubSpotSandbox(state, settings) as server:
        made = HubSpotWorld(server, folder)
        try:
            yield made
        finally:
            made.store.engine.dispose()


# -- Salesforce ----------------------------------------------------------------------


class SalesforceWorld(_Common):
    """The hand-off on the Salesforce sandbox (Sales Engagement on)."""

    crm = "salesforce"

    def __init__(self, server: SalesforceSandbox, folder: Path) -> None:
        self.server = server
        self.state = server.state
        admin = server.admin
        self.owners = {
            role: admin.create(
                "User",
                {
                    "Username": f"{role}@acme.example",
                    "FirstName": role.title(),
                    "LastName": "Sales",
                    "Email": f"{role}@acme.example",
                    "IsActive": True,
                },
            )
            for role in ROLES
        }
        self.store = Store.open(f"sqlite:///{folder / 'crmbridge.db'}")
        self._seeded = 0

    def settings(self) -> SalesforceSettings:
        config = self.server.config
        return SalesforceSettings(
            enabled=True,
            username=config.username,
            password=SecretStr(config.password),
            security_token=SecretStr(config.security_token),
            login_host=self.server.login_host,
            ca_bundle=str(self.server.ca_bundle),
            objects=("Lead",),
            timeout="10s",  # type: ignore[arg-type]
            sales_engagement=True,
        )

    def configure(self, handoff: str, extra: str = "") -> None:
        # A new lead belongs to the assignment rule's user: "nobody yet" to crmbridge.
        unowned = self.state.users.assignment_owner
        extra += f'\n[assignment]\nowner_property = "OwnerId"\nunowned = ["{unowned}"]\n'
        super().configure(_merge_assignment(handoff, extra))

    def with_connector(self, config: CrmbridgeConfig) -> CrmbridgeConfig:
        connectors = config.connectors.model_copy(update={"salesforce": self.settings()})
        return config.model_copy(update={"connectors": connectors})

    def make_connector(self) -> SalesforceConnector:
        return SalesforceConnector.from_settings(self.settings())

    def lead(self, name: str, *, cio: bool = True) -> str:
        self._seeded += 1
        at = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
        return self.server.admin.create(
            "Lead",
            {
                "FirstName": name,
                "LastName": "Test",
                "Company": f"{name} Co",
                "Email": f"{name.lower()}{self._seeded}@handoff.example",
                "Title": "CIO" if cio else "Analyst",
                "OwnerId": self.state.users.assignment_owner,
            },
            modstamp=at + timedelta(seconds=self._seeded),
        )

    def _field(self, crm_id: str, name: str) -> Any:
        return self.server.admin.record("Lead", crm_id).get(name)

    def owner_of(self, crm_id: str) -> str | None:
        owner = self._field(crm_id, "OwnerId")
        return None if owner == self.state.users.assignment_owner else owner

    def tasks_of(self, crm_id: str) -> list[TaskView]:
        state = self.state
        with state.lock:
            rows = [
                dict(t)
                for t in state.records["Task"].values()
                if t["WhoId"] == crm_id and t["CreatedById"] == state.users.integration
            ]
        return [
            TaskView(
                subject=t["Subject"],
                owner=t["OwnerId"],
                body=t["Description"] or "",
                priority=_PRIORITY.get(t["Priority"], t["Priority"]),
                due=t["ActivityDate"],
            )
            for t in rows
        ]

    def reply(self, crm_id: str, at: datetime) -> None:
        self.server.admin.create(
            "EmailMessage",
            {
                "FromAddress": self._field(crm_id, "Email"),
                "Incoming": True,
                "Subject": "Re: our call",
                "MessageDate": at,
            },
        )

    def paused(self, crm_id: str) -> str | None:
        value = self._field(crm_id, custom_field(PAUSED))
        return None if value in (None, "") else str(value)

    def owner_contacted(self, crm_id: str, at: datetime) -> None:
        owner = self._field(crm_id, "OwnerId")
        self.server.admin.create(
            "Task",
            {"WhoId": crm_id, "Subject": "Call", "Type": "Call", "CallType": "Outbound",
             "Status": "Completed", "OwnerId": owner},
            by=owner,
            modstamp=at,
        )  # fmt: skip

    def new_list(self, name: str) -> str:
        return self.server.admin.create("Campaign", {"Name": name, "IsActive": True})

    def members(self, list_id: str) -> set[str]:
        state = self.state
        with state.lock:
            return {
                str(m["LeadId"] or m["ContactId"])
                for m in state.records["CampaignMember"].values()
                if m["CampaignId"] == list_id and not m["IsDeleted"]
            }

    def new_sequence(self, name: str) -> str:
        return self.server.admin.create("ActionCadence", {"Name": name, "State": "Active"})

    def enrolled(self, crm_id: str) -> list[str]:
        state = self.state
        with state.lock:
            return [
                str(t["ActionCadenceId"])
                for t in state.records["ActionCadenceTracker"].values()
                if t["TargetId"] == crm_id
            ]


def _merge_assignment(handoff: str, extra: str) -> str:
    """``handoff`` with the keys of ``extra``'s ``[assignment]`` added to its own table
    (TOML allows a table once)."""
    head, _, keys = extra.partition("[assignment]\n")
    if "[assignment]\n" not in handoff:
        return handoff + extra
    before, _, after = handoff.partition("[assignment]\n")
    return before + "[assignment]\n" + keys + after + head


@contextmanager
def salesforce_world(folder: Path, certificates: Certificates) -> Iterator[SalesforceWorld]:
    """A started Salesforce sandbox with four reps, and a crmbridge over it."""
    with SalesforceSandbox(certificates=certificates) as server:
        made = SalesforceWorld(server, folder)
        try:
            yield made
        finally:
            made.store.engine.dispose()


def real_now() -> datetime:
    """The sandboxes stamp changes with the real clock; cycles start from it."""
    return datetime.now(UTC).replace(microsecond=0)
