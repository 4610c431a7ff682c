"""``GET /_sandbox`` in a browser: a page a person can read; JSON for clients."""

from __future__ import annotations

import json
from datetime import timedelta
from html.parser import HTMLParser

import requests

from crmbridge import clock
from crmbridge.demo import running_demo
from crmbridge.ingest import Ingestor
from crmbridge_hubspot.demo_sandbox import HubSpotSandbox
from crmbridge_hubspot.sandbox import SandboxServer, SandboxState
from crmbridge_hubspot.sandbox.panel import wants_html
from crmbridge_hubspot.sandbox.records import ChangeSource

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"


class Tables(HTMLParser):
    """Every table of a page as rows of cell texts; also notes tags that load things."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self.loading: list[str] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "br" and self._cell is not None:
            self._cell.append("\n")
        if tag in ("script", "link", "img", "iframe") or any(k == "src" for k, _ in attrs):
            self.loading.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def page(url: str, **params: str) -> tuple[requests.Response, Tables]:
    response = requests.get(
        f"{url}/_sandbox", headers={"Accept": BROWSER}, params=params, timeout=10
    )
    parsed = Tables()
    parsed.feed(response.text)
    return response, parsed


def test_browsers_get_html_and_clients_keep_json() -> None:
    assert wants_html(BROWSER, None)
    assert not wants_html("*/*", None)  # curl, requests, the HubSpot SDK
    assert not wants_html("", None)
    assert not wants_html("application/json", None)
    assert not wants_html("text/html;q=0.5, application/json", None)
    assert not wants_html("text/html;q=0", None)
    assert wants_html("application/json", "html")
    assert not wants_html(BROWSER, "json")


def test_the_endpoint_answers_by_accept_header(server: SandboxServer) -> None:
    as_json = requests.get(f"{server.url}/_sandbox", timeout=5)
    assert as_json.headers["content-type"].startswith("application/json")
    assert "GET /_sandbox/tasks" in as_json.json()["endpoints"]
    as_html, tables = page(server.url)
    assert as_html.status_code == 200
    assert as_html.headers["content-type"].startswith("text/html")
    assert len(tables.tables) == 5  # contacts, tasks, enrollments, requests, deliveries
    assert not tables.loading, "the page must not load scripts or remote resources"


def test_values_written_by_anyone_are_escaped(server: SandboxServer, state: SandboxState) -> None:
    hostile = '<script>alert("x")</script>'
    state.create_contact(
        {"email": "eve@example.com", "firstname": hostile, "company": "<b>ACME</b> & co"},
        source=ChangeSource("CRM_UI"),
    )
    response, tables = page(server.url)
    assert "<script" not in response.text and "<b>ACME" not in response.text
    contacts = tables.tables[0]
    assert contacts[1][0] == f"{hostile}\neve@example.com"
    assert contacts[1][1] == "<b>ACME</b> & co"


def test_a_synced_demo_reads_as_a_rep_sees_it() -> None:
    now = clock.now()
    with running_demo() as (sandbox, pipeline, _connector):
        assert isinstance(sandbox, HubSpotSandbox)
        server = sandbox.server
        state = server.state
        lines = ((i, json.dumps(e).encode()) for i, e in enumerate(state.demo_events, 1))
        Ingestor(pipeline.store, timedelta(minutes=5)).ingest_lines(lines, now)
        pipeline.prepare()
        summary = pipeline.run_once(now)
        assert summary.ok and summary.written > 0
        replier = state.contacts()[0]
        requests.post(f"{server.url}/_sandbox/contacts/{replier.id}/reply", timeout=10)
        assert pipeline.run_once(now + timedelta(seconds=1)).ok

        response, tables = page(server.url, limit="500")

        owners = {o.id: f"{o.first_name} {o.last_name}" for o in state.owners()}
        contacts = state.contacts()
        hot = [c for c in contacts if c.properties.get("crmbridge_hot") == "true"]
        scored = [c for c in contacts if c.properties.get("crmbridge_score")]
        assert hot and scored
        assert f"{len(contacts)} contacts ({len(scored)} scored by crmbridge, {len(hot)} hot)" in (
            response.text
        )
        header, *rows = tables.tables[0]
        assert header[:5] == ["Contact", "Company", "Lifecycle stage", "Owner", "Score"]
        assert len(rows) == len(contacts)
        # Hot leads first, best score first: what a rep should call first.
        shown_hot = [row for row in rows if row[8]]
        assert rows[: len(hot)] == shown_hot
        scores = [float(row[4]) for row in shown_hot]
        assert scores == sorted(scores, reverse=True)
        best = max(hot, key=lambda c: float(c.properties["crmbridge_score"]))
        first = rows[0]
        values = best.properties
        assert first[0].endswith(values["email"])
        assert first[4] == values["crmbridge_score"]
        assert first[5:8] == [
            values["crmbridge_grade"],
            values["crmbridge_bant"],
            values["crmbridge_stage"],
        ]
        assert first[9] == values["crmbridge_reasons"].split("; ")[0][:140]
        if values.get("hubspot_owner_id"):
            assert first[3] == owners[values["hubspot_owner_id"]]
        # The request log shows crmbridge's batch writes, newest first.
        log = tables.tables[3][1:]
        assert any(r[1] == "POST" and r[2].endswith("/batch/update") for r in log)
        # Every enrollment the hand-off made, active ones marked so.
        enrollments = tables.tables[2][1:]
        made = state.enrollments()
        assert made and len(enrollments) == len(made)
        active = sum(1 for e in made if e.active)
        assert sum(1 for row in enrollments if row[4] == "active") == active
        # The reply became a "take over" task for the lead's owner.
        tasks = tables.tables[1][1:]
        name = " ".join(
            filter(None, (replier.properties.get("firstname"), replier.properties.get("lastname")))
        )
        assert any("replied" in task[1] and task[2] == name for task in tasks), tasks
