"""A HubSpot sandbox, a SQLite store and the daemon's pipeline, for end-to-end hand-off tests.

The pipeline runs with the real :class:`~connectors.hubspot.HubSpotConnector` over HTTP
against the in-process sandbox; the tests read what HubSpot ends up holding (owners,
tasks and their associations) from the sandbox's state, and what crmbridge recorded
(assignments, SLA clocks) from the store.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlalchemy import select

from crmbridge.config import CrmbridgeConfig
from crmbridge.store.repository import Store
from crmbridge.store.tables import AssignmentRow, SlaClockRow
from crmbridge.sync.pipeline import CycleSummary, Pipeline
from crmbridge_hubspot import HubSpotConnector
from crmbridge_hubspot.sandbox.records import ChangeSource, Task
from crmbridge_hubspot.sandbox.server import SandboxServer, build
from crmbridge_hubspot.settings import HubSpotSettings
from tests.unit.handoff.helpers import config

TOKEN = "pat-na1-7a1c2e7a-0b3d-4c8e-9a21-7d6e4f3b2a10"
IMPORT = ChangeSource("IMPORT", "handoff-tests")
USER = ChangeSource("CRM_UI", "userId:7")
#: Owners of the sandbox: id, first name. Manager 90 leads the team.
OWNERS = {"11": "Ana", "12": "Bruno", "13": "Carla", "90": "Marta"}

#: A model in which a CIO is hot (50 ≥ 40) and anyone else cold.
MODEL = """
[bridge]
timezone = "Europe/Madrid"

[scoring]
mql_threshold = 20
hot_threshold = 40

[[scoring.fit]]
name = "CIO of the company"
points = 50
when = { jobtitle = { contains_word = "cio" } }
"""


class World:
    """The sandbox, the store and one pipeline over them."""

    def __init__(self, server: SandboxServer, folder: Path, handoff: str) -> None:
        self.server = server
        self.state = server.state
        self.config: CrmbridgeConfig = config(MODEL + handoff)
        self.store = Store.open(f"sqlite:///{folder / 'crmbridge.db'}")
        self.pipeline = self.new_pipeline()
        self.pipeline.prepare()
        self._seeded = 0

    def new_pipeline(self) -> Pipeline:
        """A pipeline as a (re)started daemon builds it: nothing kept in memory."""
        settings = HubSpotSettings(
            enabled=True, access_token=SecretStr(TOKEN), base_url=self.server.url
        )
        connector = HubSpotConnector.from_settings(settings)
        return Pipeline(self.store, self.config, {connector.name: connector})

    def lead(self, name: str, *, cio: bool = True, **values: str) -> str:
        """Create a contact (a CIO is hot); its HubSpot id."""
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

    def cycle(self, now: datetime, pipeline: Pipeline | None = None) -> CycleSummary:
        """One daemon cycle; fails the test on any error."""
        summary = (pipeline or self.pipeline).run_once(now)
        assert summary.ok, summary.errors
        return summary

    def owner_of(self, crm_id: str) -> str | None:
        contact = self.state.get_contact(crm_id)
        assert contact is not None
        return contact.properties.get("hubspot_owner_id") or None

    def tasks_of(self, crm_id: str) -> list[Task]:
        return [task for task in self.state.tasks() if crm_id in task.contact_ids]

    def assignments(self) -> list[Any]:
        with self.store.session() as session:
            return list(session.execute(select(AssignmentRow)).scalars())

    def clocks(self) -> list[Any]:
        with self.store.session() as session:
            return list(session.execute(select(SlaClockRow)).scalars())


@contextmanager
def world(folder: Path, handoff: str) -> Iterator[World]:
    """A started sandbox with :data:`OWNERS`, and the pipeline configured by ``handoff``."""
    state, settings = build("empty", TOKEN)
    for index, (owner_id, first) in enumerate(OWNERS.items()):
        state.add_owner(owner_id, f"{first.lower()}@acme.example", first, "Sales", 700 + index)
    with SandboxServer(state, settings) as server:
        made = World(server, folder, handoff)
        try:
            yield made
        finally:
            made.store.engine.dispose()


class Receiver:
    """A local HTTP endpoint standing in for Slack: records every JSON post."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict[str, Any], Mapping[str, str]]] = []
        received = self.posts

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                received.append((self.path, body, dict(self.headers)))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/services/T0/B0/x"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def real_now() -> datetime:
    """The sandbox stamps changes with the real clock; cycles start from it."""
    return datetime.now(UTC).replace(microsecond=0)
