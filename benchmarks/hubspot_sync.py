"""crmbridge against HubSpot (the local sandbox): how close a first sync comes to the
API's own floor, and side by side with a per-record peer.

The sandbox runs in a process of its own (as HubSpot is remote: its work takes
nothing from crmbridge's CPU), adds 20 ms of latency per request and enforces a
HubSpot Professional private app's limits: 190 requests per 10 s, 5 searches a second.
A first sync of N contacts cannot take less than its **API floor**, computed from the
calls the sandbox logged during it: the larger of searches ÷ 5 per second and the
other calls ÷ 190 × 10 s. HubSpot's 10-second window excludes the search API (searches
have their own limit and count toward the day only), so a search takes no slot in it.
Each run reports the measured cycle, the floor, their ratio, and crmbridge's own
CPU time per contact (process CPU over the cycle ÷ contacts; the figure a busy
machine does not distort). The load averages (1, 5 and 15 minutes) before and after
each run are recorded alongside: the machine may be shared.

    python -m benchmarks.hubspot_sync                          # 25,000 contacts, median of 3
    python -m benchmarks.hubspot_sync --contacts 25000 --repeat 3 --large 100000
    python -m benchmarks.hubspot_sync --side-by-side           # + 2,500 against the peer
    python -m benchmarks.hubspot_sync --small                  # a quick run (2,500, once)

The peer is what a user would otherwise write: for each contact, read it with the
SDK, compute the same score in plain Python (the same scoring model), and update it
with one call, pacing itself under the limit. Both start from the same CRM and events
and must end with identical score properties.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from hubspot import HubSpot
from pydantic import SecretStr

from benchmarks.peer import peer_scoring
from benchmarks.report import publish
from crmbridge.config import CrmbridgeConfig, example_config_text, parse_config
from crmbridge.ingest import Ingestor
from crmbridge.scoring import Contact
from crmbridge.store.repository import Store
from crmbridge.sync.pipeline import Pipeline
from crmbridge.sync.writeback import desired_values, own_fields, score_property_names
from crmbridge_hubspot.client import is_search
from crmbridge_hubspot.connector import HubSpotConnector
from crmbridge_hubspot.sandbox.config import DEFAULT_TOKEN
from crmbridge_hubspot.sandbox.records import ChangeSource
from crmbridge_hubspot.sandbox.records import Contact as CrmContact
from crmbridge_hubspot.sandbox.seed import form_properties
from crmbridge_hubspot.sandbox.server import SandboxServer, build
from crmbridge_hubspot.sandbox.state import SandboxState
from crmbridge_hubspot.settings import HubSpotSettings

LATENCY_MS = 20
BURST = 190
BURST_WINDOW_S = 10.0
SEARCHES_PER_S = 5
#: The issue's target: a first sync within 1.5 times its API floor.
TARGET_RATIO = 1.5
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


class RemoteSandbox:
    """A sandbox seeded with ``contacts``, served by a child process (see module doc)."""

    def __init__(self, contacts: list[dict[str, str]], now: datetime) -> None:
        context = multiprocessing.get_context("spawn")
        self._pipe, child = context.Pipe()
        self._process = context.Process(
            target=_serve_sandbox, args=(child, contacts, now), name="sandbox", daemon=True
        )
        self._process.start()
        self.url: str = self._ask("url")

    def _ask(self, command: str) -> Any:
        self._pipe.send(command)
        return self._pipe.recv()

    def reset_observations(self) -> None:
        """Forget the request log (the CRM data stays)."""
        self._ask("reset")

    def requests(self) -> list[tuple[str, str, int]]:
        """``(method, path, status)`` of every request since the last reset."""
        found: list[tuple[str, str, int]] = self._ask("requests")
        return found

    def own_state(self) -> dict[str, dict[str, str]]:
        """See :func:`_own_state`."""
        found: dict[str, dict[str, str]] = self._ask("state")
        return found

    def close(self) -> None:
        """Stop the child process."""
        if self._process.is_alive():
            self._ask("stop")
        self._process.join(10)


def _serve_sandbox(pipe: Connection, contacts: list[dict[str, str]], now: datetime) -> None:
    """The child process: seed, serve, and answer the parent's commands until "stop"."""
    state, settings = build("empty", latency_ms=LATENCY_MS, rate_limit_max=BURST)
    _seed(state, contacts, now)
    with SandboxServer(state, settings) as server:
        answers: dict[str, Callable[[], Any]] = {
            "url": lambda: server.url,
            "reset": state.reset_observations,
            "requests": lambda: [(r.method, r.path, r.status) for r in state.requests()],
            "state": lambda: _own_state(state.contacts()),
            "stop": lambda: None,
        }
        while True:
            command = pipe.recv()
            pipe.send(answers[command]())
            if command == "stop":
                return


def _seed(state: SandboxState, contacts: list[dict[str, str]], now: datetime) -> None:
    """The BANT form fields the admin created, and ``contacts`` imported a day ago."""
    source = ChangeSource("IMPORT", "benchmark")
    start = now - timedelta(days=1)
    group, fields = form_properties(start)
    state.add_group(group)
    for definition in fields:
        state.add_contact_property(definition)
    for i, props in enumerate(contacts):
        moment = start + timedelta(milliseconds=i * 7)
        state.create_contact(
            props, source=source, as_user=True, created_at=moment, updated_at=moment, notify=False
        )


@contextmanager
def _sandbox(contacts: list[dict[str, str]], now: datetime) -> Iterator[SandboxServer]:
    """A seeded sandbox in this process (for benchmarks that read its state directly)."""
    state, settings = build("empty", latency_ms=LATENCY_MS, rate_limit_max=BURST)
    _seed(state, contacts, now)
    with SandboxServer(state, settings) as server:
        yield server


@contextmanager
def _remote_sandbox(contacts: list[dict[str, str]], now: datetime) -> Iterator[RemoteSandbox]:
    sandbox = RemoteSandbox(contacts, now)
    try:
        yield sandbox
    finally:
        sandbox.close()


def _config(server: SandboxServer | RemoteSandbox, database: str) -> CrmbridgeConfig:
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


def _own_state(contacts: list[CrmContact]) -> dict[str, dict[str, str]]:
    """What HubSpot holds of the score properties, by email (scored_at left out).

    The peer computes the score; crmbridge also writes the hand-off's properties (the
    next profiling question), which the comparison leaves aside.
    """
    wanted = [n for n in score_property_names("crmbridge") if n != "crmbridge_scored_at"]
    return {
        c.properties.get("email", ""): {k: c.properties.get(k, "") for k in wanted}
        for c in contacts
    }


def _429s(server: SandboxServer) -> int:
    return sum(1 for r in server.state.requests() if r.status == 429)


def api_floor(requests: list[tuple[str, str, int]]) -> dict[str, Any]:
    """The least time HubSpot's limits allow for these requests (see module doc)."""
    searches = sum(1 for method, path, _ in requests if is_search(method, path))
    calls = len(requests)
    floor = max(searches / SEARCHES_PER_S, (calls - searches) / BURST * BURST_WINDOW_S)
    return {"searches": searches, "calls": calls, "floor_s": round(floor, 1)}


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
        engine, by_email = peer_scoring(events)
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
            "state": _own_state(server.state.contacts()),
        }


def run_crmbridge(
    contacts: list[dict[str, str]],
    events: list[dict[str, Any]],
    now: datetime,
    folder: Path,
    *,
    keep_state: bool = False,
) -> dict[str, Any]:
    """crmbridge's pipeline against a fresh sandbox: first cycle, then an unchanged re-run.

    The first cycle is timed against its API floor; ingesting the events and creating
    the properties come before it and are reported apart.
    """
    with _remote_sandbox(contacts, now) as server:
        database = f"sqlite:///{folder / f'crmbridge-{len(contacts)}-{time.time_ns()}.db'}"
        config = _config(server, database)
        store = Store.open(database, bulk=True)
        started = time.perf_counter()
        lines = ((i, json.dumps(e).encode()) for i, e in enumerate(events, 1))
        Ingestor(store, timedelta(minutes=5)).ingest_lines(lines, now)
        connector = HubSpotConnector.from_settings(_hubspot(config))
        pipeline = Pipeline(store, config, {"hubspot": connector})
        pipeline.prepare()
        setup_s = time.perf_counter() - started
        setup_calls = connector.client.total_calls
        server.reset_observations()
        cpu, wall = time.process_time(), time.perf_counter()
        first = pipeline.run_once(now)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        requests = server.requests()
        floor = api_floor(requests)
        calls = dict(connector.client.calls)
        before = dict(connector.client.calls)
        rerun = pipeline.run_once(now)
        rerun_calls = {k: v - before.get(k, 0) for k, v in connector.client.calls.items()}
        found = {
            "contacts": len(contacts),
            "events": len(events),
            "first_sync_s": round(wall, 1),
            **floor,
            "ratio_to_floor": round(wall / max(floor["floor_s"], 0.1), 2),
            "cpu_s": round(cpu, 1),
            "cpu_ms_per_contact": round(cpu * 1000 / max(len(contacts), 1), 3),
            "ingest_and_schema_s": round(setup_s, 1),
            "changed": first.changed,
            "written": first.written,
            "failed": first.failed,
            "setup_calls": setup_calls,
            "read_calls": calls.get("search contacts", 0),
            "write_calls": calls.get("batch update contacts", 0),
            "rerun": {
                "written": rerun.written,
                "changed": rerun.changed,
                "write_calls": rerun_calls.get("batch update contacts", 0),
                "read_calls": rerun_calls.get("search contacts", 0),
            },
            "http_429": sum(1 for _method, _path, status in requests if status == 429),
            "governor_waited_s": round(connector.client.governor.stats.waited_s, 1),
        }
        if keep_state:
            found["state"] = server.own_state()
        store.engine.dispose()
        return found


def _load() -> list[float]:
    """``os.getloadavg()``: the 1-, 5- and 15-minute load averages (the machine may be shared)."""
    return [round(value, 2) for value in os.getloadavg()]


def at_scale(count: int, repeat: int, now: datetime, folder: Path) -> dict[str, Any]:
    """``repeat`` first syncs of ``count`` contacts; the median run by ratio, and all."""
    contacts, events = _dataset(count, 10, now)
    runs = []
    for _ in range(repeat):
        load = _load()
        run = run_crmbridge(contacts, events, now, folder)
        run["loadavg"] = {"before": load, "after": _load()}
        runs.append(run)
        print(_line(run), file=sys.stderr, flush=True)
    median = sorted(runs, key=lambda run: run["ratio_to_floor"])[len(runs) // 2]
    return {
        "contacts": count,
        "runs": len(runs),
        "median": {
            key: median[key]
            for key in ("first_sync_s", "floor_s", "ratio_to_floor", "cpu_ms_per_contact")
        },
        "target_ratio": TARGET_RATIO,
        "met": median["ratio_to_floor"] <= TARGET_RATIO,
        "all": runs,
    }


def _line(run: dict[str, Any]) -> str:
    return (
        f"{run['contacts']:,} contacts: first sync {run['first_sync_s']} s, API floor"
        f" {run['floor_s']} s ({run['searches']} searches, {run['calls']} calls), ratio"
        f" {run['ratio_to_floor']}, CPU {run['cpu_ms_per_contact']} ms per contact,"
        f" load {run['loadavg']['before'][0]} → {run['loadavg']['after'][0]}"
    )


def side_by_side(count: int, now: datetime, folder: Path) -> dict[str, Any]:
    """crmbridge and the peer on the same ``count`` contacts."""
    contacts, events = _dataset(count, 10, now)
    ours = run_crmbridge(contacts, events, now, folder, keep_state=True)
    peer = run_peer(contacts, events, now)
    identical = ours.pop("state") == peer.pop("state")
    return {
        "contacts": count,
        "crmbridge": ours,
        "peer": peer,
        "api_call_ratio": round(peer["api_calls"] / max(ours["calls"], 1), 1),
        "wall_time_ratio": round(peer["seconds"] / max(ours["first_sync_s"], 0.1), 1),
        "identical_final_crm_state": identical,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the first syncs (and the comparison when asked) and write JSON."""
    parser = argparse.ArgumentParser(description="crmbridge's first sync against HubSpot's floor")
    parser.add_argument("--contacts", type=int, default=25_000, help="contacts (25,000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs; the median is kept (3)")
    parser.add_argument("--large", type=int, default=0, help="also one run at this many")
    parser.add_argument(
        "--side-by-side", action="store_true", help="also 2,500 against the per-record peer"
    )
    parser.add_argument("--small", action="store_true", help="2,500 contacts, once")
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results/hubspot_sync.json"))
    args = parser.parse_args(argv)
    count, repeat = (2_500, 1) if args.small else (args.contacts, args.repeat)
    now = datetime.now(UTC).replace(microsecond=0)
    previous = json.loads(args.output.read_text()) if args.output.exists() else {}
    result: dict[str, Any] = {
        "benchmark": "hubspot_sync",
        "command": "python -m benchmarks.hubspot_sync " + " ".join(argv or sys.argv[1:]),
        "sandbox": {
            "latency_ms": LATENCY_MS,
            "limits": f"{BURST} per {BURST_WINDOW_S:g} s, {SEARCHES_PER_S} searches per s",
            "process": "separate",
        },
        "floor": (
            "max(searches / 5 per s, other calls / 190 x 10 s), from the sandbox's log"
            " (the 10-second window excludes searches)"
        ),
        "cpus": os.cpu_count(),
    }
    with tempfile.TemporaryDirectory(prefix="crmbridge-hs-bench-") as tmp:
        result["first_sync"] = at_scale(count, repeat, now, Path(tmp))
        if args.large:
            result["first_sync_large"] = at_scale(args.large, 1, now, Path(tmp))
        if args.side_by_side:
            result["side_by_side"] = side_by_side(2_500, now, Path(tmp))
        elif "side_by_side" in previous:
            # The peer takes minutes: its last figures stay until it is run again.
            kept = previous["side_by_side"]
            result["side_by_side"] = {"measured_at": previous.get("measured_at"), **kept}
    result["measured_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    publish(result, args.output)
    return 0


def _hubspot(config: CrmbridgeConfig) -> HubSpotSettings:
    """The ``[connectors.hubspot]`` table of ``config``, typed."""
    settings = config.connectors.tables()["hubspot"]
    assert isinstance(settings, HubSpotSettings)
    return settings


if __name__ == "__main__":
    raise SystemExit(main())
