"""crmbridge against HubSpot (the local sandbox) side by side with a per-record peer.

The sandbox adds 20 ms of latency per request and enforces a HubSpot Professional
private app's limit (190 requests per 10 s). The peer is what a user would otherwise
write: for each contact, read it with the SDK, compute the same score in plain Python
(the same scoring model), and update it with one call, pacing itself under the limit.
Both start from the same CRM and events and must end with identical score properties.

    python -m benchmarks.hubspot_sync                 # 2,500 side by side + 25,000 alone
    python -m benchmarks.hubspot_sync --small         # a quick run (250 / 2,500)
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hubspot import HubSpot
from pydantic import SecretStr

from benchmarks.report import publish
from crmbridge.config import CrmbridgeConfig, example_config_text, parse_config
from crmbridge.ingest import Ingestor
from crmbridge.records import CanonicalEvent
from crmbridge.scoring import Contact, Event, ScoringEngine
from crmbridge.store.repository import Store
from crmbridge.sync.pipeline import Pipeline
from crmbridge.sync.writeback import desired_values, own_fields, score_property_names
from crmbridge_hubspot.connector import HubSpotConnector
from crmbridge_hubspot.sandbox.config import DEFAULT_TOKEN
from crmbridge_hubspot.sandbox.records import ChangeSource
from crmbridge_hubspot.sandbox.seed import form_properties
from crmbridge_hubspot.sandbox.server import SandboxServer, build
from crmbridge_hubspot.settings import HubSpotSettings

LATENCY_MS = 20
BURST = 190
TITLES = [
    "Directora de IT",
    "IT Director",
    "CIO",
    "Jefe de Operaciones",
    "Marketing Manager",
    "Director de Tecnología",
    "Analyst",
    "Head of IT",
]
SIZES = ["45", "600", "1.000", "500-1000", "n/a", "2500"]
EVENTS = [
    ("page_view", {"url": "https://acme.example/pricing"}),
    ("page_view", {"url": "https://acme.example/blog/x"}),
    ("content_download", {"asset_type": "guide"}),
    ("webinar_attended", {"watched_percent": 100}),
    ("email_open", {"campaign": "nurture-logistics"}),
    ("email_click", {"campaign": "nurture-logistics", "url": "https://acme.example/case-study/a"}),
]


def _dataset(
    count: int, events_each: int, now: datetime
) -> tuple[list[dict[str, str]], list[dict[str, Any]]]:
    rng = random.Random(2026)
    contacts = []
    events = []
    for i in range(count):
        email = f"lead{i}@company{i % 211}.example"
        props = {
            "email": email,
            "firstname": f"Lead{i}",
            "jobtitle": rng.choice(TITLES),
            "numemployees": rng.choice(SIZES),
        }
        if rng.random() < 0.4:
            props["crmbridge_budget"] = rng.choice(["approved", "in_estimation"])
        contacts.append(props)
        for j in range(events_each):
            kind, extra = rng.choice(EVENTS)
            moment = now - timedelta(minutes=rng.randrange(60 * 24 * 100))
            # An id per event: two identical random events are two events for both sides.
            events.append(
                {
                    "event_id": f"bench-{i}-{j}",
                    "type": kind,
                    "occurred_at": moment.isoformat(),
                    "contact": {"email": email},
                    "properties": extra,
                }
            )
    return contacts, events


@contextmanager
def _sandbox(contacts: list[dict[str, str]], now: datetime) -> Iterator[SandboxServer]:
    state, settings = build("empty", latency_ms=LATENCY_MS, rate_limit_max=BURST)
    source = ChangeSource("IMPORT", "benchmark")
    start = now - timedelta(days=1)
    group, fields = form_properties(start)  # the BANT form fields the admin created
    state.add_group(group)
    for definition in fields:
        state.add_contact_property(definition)
    for i, props in enumerate(contacts):
        moment = start + timedelta(milliseconds=i * 7)
        state.create_contact(
            props, source=source, as_user=True, created_at=moment, updated_at=moment, notify=False
        )
    with SandboxServer(state, settings) as server:
        yield server


def _config(server: SandboxServer, database: str) -> CrmbridgeConfig:
    config = parse_config(example_config_text()).config
    hubspot = HubSpotSettings(
        enabled=True, base_url=server.url, access_token=SecretStr(DEFAULT_TOKEN)
    )
    return config.model_copy(
        update={
            "connectors": config.connectors.model_copy(update={"hubspot": hubspot}),
            "bridge": config.bridge.model_copy(update={"database_url": database}),
        }
    )


def _own_state(server: SandboxServer) -> dict[str, dict[str, str]]:
    """What HubSpot holds of the score properties, by email (scored_at left out).

    The peer computes the score; crmbridge also writes the hand-off's properties (the
    next profiling question), which the comparison leaves aside.
    """
    wanted = [n for n in score_property_names("crmbridge") if n != "crmbridge_scored_at"]
    return {
        c.properties.get("email", ""): {k: c.properties.get(k, "") for k in wanted}
        for c in server.state.contacts()
    }


def _429s(server: SandboxServer) -> int:
    return sum(1 for r in server.state.requests() if r.status == 429)


class _Pacer:
    """The peer's own politeness: at most ``budget`` calls in any 10 s."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.sent: deque[float] = deque()

    def wait(self) -> None:
        now = time.monotonic()
        while self.sent and now - self.sent[0] >= 10.0:
            self.sent.popleft()
        if len(self.sent) >= self.budget:
            time.sleep(10.0 - (now - self.sent[0]) + 0.01)
        self.sent.append(time.monotonic())


def run_peer(
    contacts: list[dict[str, str]], events: list[dict[str, Any]], now: datetime
) -> dict[str, Any]:
    """The per-record loop a user would write, against a fresh sandbox."""
    with _sandbox(contacts, now) as server:
        config = parse_config(example_config_text()).config
        engine = ScoringEngine(config.scoring, config.bant, config.lifecycle)
        by_email: dict[str, list[Event]] = {}
        for raw in events:
            event = CanonicalEvent.model_validate(raw)
            by_email.setdefault(event.contact.email or "", []).append(event.to_event())
        HubSpotConnector.from_settings(_hubspot(_config(server, "sqlite://"))).ensure_schema(
            own_fields("crmbridge")
        )
        server.state.reset_observations()
        client = HubSpot(access_token=DEFAULT_TOKEN, host=server.url)
        api = client.crm.contacts.basic_api
        pacer = _Pacer(BURST - 1)
        names = [
            "email",
            "jobtitle",
            "numemployees",
            "hs_buying_role",
            "crmbridge_budget",
            "crmbridge_need",
            "crmbridge_timeline",
            "lifecyclestage",
        ]
        calls = 0
        started = time.perf_counter()
        ids: list[str] = []
        after = None
        while True:
            pacer.wait()
            page = api.get_page(limit=100, after=after, properties=["email"])
            calls += 1
            ids.extend(r.id for r in page.results)
            if not page.paging or not page.paging.next:
                break
            after = page.paging.next.after
        for contact_id in ids:
            pacer.wait()
            record = api.get_by_id(contact_id, properties=names)
            calls += 1
            props = {k: v for k, v in (record.properties or {}).items() if v is not None}
            email = props.get("email", "")
            score = engine.score(Contact(contact_id, props, email), by_email.get(email, []), now)
            pacer.wait()
            api.update(
                contact_id,
                simple_public_object_input={"properties": desired_values(score, "crmbridge")},
            )
            calls += 1
        seconds = time.perf_counter() - started
        return {
            "api_calls": calls,
            "seconds": round(seconds, 1),
            "http_429": _429s(server),
            "state": _own_state(server),
        }


def run_crmbridge(
    contacts: list[dict[str, str]], events: list[dict[str, Any]], now: datetime, folder: Path
) -> dict[str, Any]:
    """crmbridge's pipeline against a fresh sandbox: first cycle, then an unchanged re-run."""
    with _sandbox(contacts, now) as server:
        database = f"sqlite:///{folder / f'crmbridge-{len(contacts)}.db'}"
        config = _config(server, database)
        store = Store.open(database, bulk=True)
        started = time.perf_counter()
        lines = ((i, json.dumps(e).encode()) for i, e in enumerate(events, 1))
        Ingestor(store, timedelta(minutes=5)).ingest_lines(lines, now)
        connector = HubSpotConnector.from_settings(_hubspot(config))
        pipeline = Pipeline(store, config, {"hubspot": connector})
        pipeline.prepare()
        setup_calls = connector.client.total_calls
        first = pipeline.run_once(now)
        seconds = time.perf_counter() - started
        calls = dict(connector.client.calls)
        before = dict(connector.client.calls)
        rerun = pipeline.run_once(now)
        rerun_calls = {k: v - before.get(k, 0) for k, v in connector.client.calls.items()}
        return {
            "contacts": len(contacts),
            "events": len(events),
            "seconds_incl_ingest_and_schema": round(seconds, 1),
            "cycle_seconds": first.duration_s,
            "changed": first.changed,
            "written": first.written,
            "failed": first.failed,
            "api_calls_total": sum(calls.values()),
            "setup_calls": setup_calls,
            "read_calls": calls.get("search contacts", 0),
            "write_calls": calls.get("batch update contacts", 0),
            "rerun": {
                "written": rerun.written,
                "changed": rerun.changed,
                "write_calls": rerun_calls.get("batch update contacts", 0),
                "read_calls": rerun_calls.get("search contacts", 0),
            },
            "http_429": _429s(server),
            "governor_waited_s": round(connector.client.governor.stats.waited_s, 1),
            "state": _own_state(server),
        }


def main(argv: list[str] | None = None) -> int:
    """Run both comparisons and write JSON."""
    parser = argparse.ArgumentParser(description="crmbridge vs a per-record peer on HubSpot")
    parser.add_argument("--small", action="store_true", help="250 side by side, 2,500 alone")
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results/hubspot_sync.json"))
    args = parser.parse_args(argv)
    side, alone = (250, 2_500) if args.small else (2_500, 25_000)
    now = datetime.now(UTC).replace(microsecond=0)
    with tempfile.TemporaryDirectory(prefix="crmbridge-hs-bench-") as tmp:
        contacts, events = _dataset(side, 10, now)
        ours = run_crmbridge(contacts, events, now, Path(tmp))
        peer = run_peer(contacts, events, now)
        big_contacts, big_events = _dataset(alone, 10, now)
        big = run_crmbridge(big_contacts, big_events, now, Path(tmp))
    identical = ours.pop("state") == peer.pop("state")
    big.pop("state")
    changed = big["changed"]
    result = {
        "benchmark": "hubspot_sync",
        "sandbox": {"latency_ms": LATENCY_MS, "limit": f"{BURST} per 10 s"},
        "side_by_side": {
            "contacts": side,
            "crmbridge": ours,
            "peer": peer,
            "api_call_ratio": round(peer["api_calls"] / max(ours["api_calls_total"], 1), 1),
            "wall_time_ratio": round(
                peer["seconds"] / max(ours["seconds_incl_ingest_and_schema"], 0.1), 1
            ),
            "identical_final_crm_state": identical,
        },
        "crmbridge_alone": big,
        "targets_at_scale": {
            "write_calls_limit": round(1.01 * -(-changed // 100), 2),
            "read_calls_limit": round(1.01 * -(-alone // 200), 2),
        },
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    publish(result, args.output)
    return 0


def _hubspot(config: CrmbridgeConfig) -> HubSpotSettings:
    """The ``[connectors.hubspot]`` table of ``config``, typed."""
    settings = config.connectors.tables()["hubspot"]
    assert isinstance(settings, HubSpotSettings)
    return settings


if __name__ == "__main__":
    raise SystemExit(main())
