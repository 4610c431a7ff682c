"""Profiling, enrichment and objections against the HubSpot sandbox, through the pipeline.

A :class:`Bridge` is the daemon's pipeline (the real HubSpot connector, a fresh SQLite
store) over an empty sandbox that holds the properties a HubSpot portal has: the
standard ones (``industry`` included), and the BANT form fields. People's edits go through the
sandbox's state as a CRM user's would; web events go into the store as
``POST /v1/events`` would put them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlmodel import select

from crmbridge.config import CrmbridgeConfig, example_config_text, parse_config
from crmbridge.records import CanonicalEvent
from crmbridge.store.repository import Store
from crmbridge.store.tables import ContactRow
from crmbridge.sync.pipeline import CycleSummary, Pipeline
from crmbridge_hubspot import HubSpotConnector
from crmbridge_hubspot.sandbox.records import ChangeSource
from crmbridge_hubspot.sandbox.seed import form_properties
from crmbridge_hubspot.sandbox.server import SandboxServer, build
from crmbridge_hubspot.settings import HubSpotSettings

TOKEN = "pat-na1-3c9e1f4a-7b2d-4e6f-8a1c-5d0b9e7f2a64"
INGEST_TOKEN = "ingest-token-profile-8c2e"
USER = ChangeSource("CRM_UI", "userId:11")
IMPORT = ChangeSource("IMPORT", "handoff-profile-tests")


def config_with(**tables: dict[str, Any]) -> CrmbridgeConfig:
    """The bundled example model, with an ingest token and these tables replaced.

    ``config_with(enrichment={"enabled": True, "path": ...})`` is ``[enrichment]``
    written so in crmbridge.toml.
    """
    config = parse_config(example_config_text(), source="test").config
    daemon = config.daemon.model_copy(update={"ingest_token": SecretStr(INGEST_TOKEN)})
    updates: dict[str, Any] = {"daemon": daemon}
    for name, values in tables.items():
        updates[name] = type(getattr(config, name)).model_validate(values)
    return config.model_copy(update=updates)


@dataclass
class Bridge:
    """The pipeline over the sandbox, and ways to act as the people around it."""

    server: SandboxServer
    store: Store
    pipeline: Pipeline
    now: datetime

    @property
    def state(self) -> Any:
        return self.server.state

    def add_contact(self, **values: str) -> str:
        """A contact as an import made it a week ago; its record id."""
        at = (self.state.now() - timedelta(days=7)).replace(microsecond=0)
        contact = self.state.create_contact(
            values, source=IMPORT, created_at=at, updated_at=at, notify=False
        )
        return str(contact.id)

    def edit(self, crm_id: str, **values: str) -> None:
        """A person edits the contact in HubSpot."""
        self.state.update_contacts([(crm_id, values)], source=USER, as_user=True)

    def event(self, email: str, kind: str, minutes_ago: float = 5, **properties: Any) -> None:
        """A web event about ``email``, as ``POST /v1/events`` stores it."""
        at = self.now - timedelta(minutes=minutes_ago)
        self.store.insert_events(
            [
                CanonicalEvent.model_validate(
                    {
                        "type": kind,
                        "occurred_at": at.isoformat(),
                        "contact": {"email": email},
                        "properties": properties,
                    }
                )
            ]
        )

    def cycle(self, minutes: float = 1) -> CycleSummary:
        """One daemon cycle ``minutes`` after the previous one; it must succeed."""
        self.now += timedelta(minutes=minutes)
        summary = self.pipeline.run_once(self.now)
        assert summary.ok, summary.errors
        return summary

    def crm(self, crm_id: str, *names: str) -> dict[str, str | None]:
        """What HubSpot holds now."""
        contact = self.state.get_contact(crm_id)
        assert contact is not None
        return {name: contact.properties.get(name) for name in names}

    def handoff_state(self, crm_id: str) -> dict[str, Any]:
        """The lead's stored hand-off state."""
        with self.store.session() as session:
            query = select(ContactRow).where(ContactRow.crm == "hubspot")
            row = session.exec(query.where(ContactRow.crm_id == crm_id)).one()
            return dict(row.handoff or {})


@pytest.fixture
def bridge_factory(tmp_path: Path) -> Iterator[Any]:
    """``bridge_factory(**tables)`` → a started :class:`Bridge` (stopped at the end)."""
    opened: list[Bridge] = []

    def make(**tables: dict[str, Any]) -> Bridge:
        state, sandbox_config = build("empty", TOKEN)
        now = state.now()
        group, fields = form_properties(now)
        state.add_group(group)
        for definition in fields:
            state.add_contact_property(definition)
        server = SandboxServer(state, sandbox_config).start()
        settings = HubSpotSettings(enabled=True, access_token=SecretStr(TOKEN), base_url=server.url)
        connector = HubSpotConnector.from_settings(settings)
        store = Store.open(f"sqlite:///{tmp_path / f'crmbridge{len(opened)}.db'}")
        pipeline = Pipeline(store, config_with(**tables), {connector.name: connector})
        pipeline.prepare()
        bridge = Bridge(server, store, pipeline, datetime.now(UTC))
        opened.append(bridge)
        return bridge

    yield make
    for bridge in opened:
        bridge.store.engine.dispose()
        bridge.server.stop()
