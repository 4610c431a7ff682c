"""Event-to-CRM latency of the running daemon, and its memory over a long load.

A ``crmbridge run`` subprocess (SQLite store by default) syncs a sandbox HubSpot, then
receives ``--rate`` events per second for ``--seconds`` seconds on ``/v1/events``, one
event per request: pricing-page views for a rotating set of contacts, each view raising
its contact's score (the bundled model counts three per contact, so there are enough
contacts for no one to get a fourth). Meanwhile ``--webhook-rate`` times per second a
"user" edits another contact's job title in the CRM, which the sandbox announces with
a signed webhook; the new title moves the contact's fit, hence its score.

Latency of one event = when the sandbox applied the contact's new ``crmbridge_score``
(observed from inside the sandbox as the write lands) - when the event was posted.
For a webhook, from the user's edit instead. Reported: p50/p95/p99/max per source and
together, the events never written, the daemon's RSS (VmRSS) at the start of the load
and at its end, its CPU time, and what the CRM saw (calls, 429s).

    python -m benchmarks.latency                      # 50 events/s for 5 minutes
    python -m benchmarks.latency --seconds 20         # a quick run

Targets: p95 <= 2 s, p99 <= 5 s, RSS growth <= 10 %.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from crmbridge_hubspot.sandbox.config import DEFAULT_APP_SECRET, DEFAULT_TOKEN
from crmbridge_hubspot.sandbox.records import ChangeSource, ContactChange
from crmbridge_hubspot.sandbox.server import SandboxServer, build

RESULTS = Path(__file__).resolve().parent / "results" / "latency.json"
INGEST_TOKEN = "latency-benchmark-ingest-token"
SCORE = "crmbridge_score"
VIEWS_COUNTED = 3  # the bundled model's pricing rule: 15 points, at most 45
WEBHOOK_CONTACTS = 60
SEED = ChangeSource("IMPORT", "latency-benchmark")
USER = ChangeSource("CRM_UI", "latency-benchmark")
TARGETS = {"p95_s": 2.0, "p99_s": 5.0, "rss_growth_pct": 10.0}


# -- the CRM side ---------------------------------------------------------------------------


class ScoreWatch:
    """Every ``crmbridge_score`` change the sandbox applies: contact id → [(epoch s, value)]."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.changes: dict[str, list[tuple[float, str]]] = defaultdict(list)

    def __call__(self, changes: Sequence[ContactChange]) -> None:
        with self._lock:
            for change in changes:
                if change.kind == "propertyChange" and change.property_name == SCORE:
                    at = change.occurred_at.timestamp()
                    self.changes[str(change.object_id)].append((at, change.property_value or ""))

    def after(self, contact_id: str, moment: float) -> tuple[float, str] | None:
        """The first change of the contact's score at or after ``moment``."""
        with self._lock:
            entries = list(self.changes.get(contact_id, ()))
        # Sandbox instants are truncated to the millisecond.
        index = bisect_left([at for at, _ in entries], moment - 0.001)
        return entries[index] if index < len(entries) else None

    def count(self) -> int:
        with self._lock:
            return len(self.changes)


def _sandbox(
    event_contacts: int, daemon_port: int, latency_ms: int
) -> tuple[SandboxServer, list[str], list[str]]:
    state, config = build(
        "empty",
        DEFAULT_TOKEN,
        app_secret=DEFAULT_APP_SECRET,
        latency_ms=latency_ms,
        webhook_url=f"http://127.0.0.1:{daemon_port}/webhooks/hubspot",
        webhook_properties=["jobtitle"],
    )
    event_ids = []
    for i in range(event_contacts):
        contact = state.create_contact(
            {
                "email": f"visitor{i}@latency.example",
                "firstname": f"Visitor{i}",
                "jobtitle": ("CIO", "Analyst", "Head of IT")[i % 3],
                "numemployees": ("600", "40")[i % 2],
            },
            source=SEED,
            notify=False,
        )
        event_ids.append(contact.id)
    hook_ids = []
    for i in range(WEBHOOK_CONTACTS):
        contact = state.create_contact(
            {
                "email": f"edited{i}@latency.example",
                "firstname": f"Edited{i}",
                "jobtitle": "Analyst",
                "numemployees": "1500",
            },
            source=SEED,
            notify=False,
        )
        hook_ids.append(contact.id)
    return SandboxServer(state, config).start(), event_ids, hook_ids


# -- the daemon -------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start_daemon(
    folder: Path, database_url: str, sandbox_url: str, port: int, args: argparse.Namespace
) -> subprocess.Popen[bytes]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.upper().startswith(("CRMBRIDGE", "HUBSPOT_", "SALESFORCE_"))
    }
    env.update(
        {
            "CRMBRIDGE__BRIDGE__DATABASE_URL": database_url,
            "CRMBRIDGE__CONNECTORS__HUBSPOT__BASE_URL": sandbox_url,
            "HUBSPOT_ACCESS_TOKEN": DEFAULT_TOKEN,
            "HUBSPOT_APP_SECRET": DEFAULT_APP_SECRET,
            "CRMBRIDGE_INGEST_TOKEN": INGEST_TOKEN,
            "CRMBRIDGE__DAEMON__HOST": "127.0.0.1",
            "CRMBRIDGE__DAEMON__PORT": str(port),
            "CRMBRIDGE__DAEMON__POLL_INTERVAL": args.poll_interval,
            "CRMBRIDGE__DAEMON__DRAIN_INTERVAL": args.drain_interval,
            "CRMBRIDGE_LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
    )
    with (folder / "daemon.log").open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "crmbridge", "run"],
            cwd=folder,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )


def _proc_status(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1])
    raise RuntimeError(f"no {key} for pid {pid}")


def rss_kb(pid: int) -> int:
    """Resident memory of ``pid`` in kB (psutil is not needed for one number)."""
    return _proc_status(pid, "VmRSS")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return ticks / os.sysconf("SC_CLK_TCK")


def _wait(condition: Any, timeout: float, what: str, process: subprocess.Popen[bytes]) -> float:
    started = time.monotonic()
    while not condition():
        if process.poll() is not None:
            raise SystemExit(f"the daemon exited ({process.returncode}) while waiting for {what}")
        if time.monotonic() - started > timeout:
            raise SystemExit(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.2)
    return time.monotonic() - started


# -- the load ---------------------------------------------------------------------------------


@dataclass
class Sent:
    """One event posted (or one user edit made) and when."""

    source: str  # "event" or "webhook"
    contact_id: str
    at: float  # epoch seconds, just before the request (or the edit)
    status: int = 0
    answer_s: float = 0.0


@dataclass
class Load:
    sent: list[Sent] = field(default_factory=list)
    behind_s: float = 0.0  # how late the pacer ever was
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, item: Sent) -> None:
        with self.lock:
            self.sent.append(item)


_local = threading.local()


def _session() -> requests.Session:
    session = getattr(_local, "session", None)
    if session is None:
        session = requests.Session()
        _local.session = session
    return session


def _post_event(url: str, record: Sent, event: dict[str, Any], load: Load) -> None:
    record.at = time.time()
    started = time.perf_counter()
    try:
        answer = _session().post(
            url,
            json=[event],
            headers={"Authorization": f"Bearer {INGEST_TOKEN}"},
            timeout=30,
        )
        record.status = answer.status_code
    except requests.RequestException:
        record.status = -1
    record.answer_s = time.perf_counter() - started
    load.add(record)


def run_load(
    daemon_url: str,
    server: SandboxServer,
    event_ids: list[str],
    emails: dict[str, str],
    hook_ids: list[str],
    args: argparse.Namespace,
) -> Load:
    """Post events at ``args.rate`` per second and make user edits at ``args.webhook_rate``."""
    load = Load()
    url = f"{daemon_url}/v1/events"
    total = int(args.rate * args.seconds)
    edits = int(args.webhook_rate * args.seconds)
    workers = ThreadPoolExecutor(max_workers=max(4, int(args.rate // 5)))
    start = time.monotonic() + 0.5
    plan: list[tuple[float, str, int]] = [(i / args.rate, "event", i) for i in range(total)]
    if edits:
        plan += [((j + 0.5) / args.webhook_rate, "webhook", j) for j in range(edits)]
    plan.sort()
    titles = ("CIO", "Analyst")
    for offset, kind, number in plan:
        delay = start + offset - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        else:
            load.behind_s = max(load.behind_s, -delay)
        if kind == "event":
            contact_id = event_ids[number % len(event_ids)]
            record = Sent("event", contact_id, 0.0)
            moment = datetime.now(UTC).isoformat().replace("+00:00", "Z")
            event = {
                "event_id": f"latency-{number}",
                "type": "page_view",
                "occurred_at": moment,
                "contact": {"email": emails[contact_id]},
                "properties": {"url": "https://acme.example/pricing"},
            }
            workers.submit(_post_event, url, record, event, load)
        else:
            contact_id = hook_ids[number % len(hook_ids)]
            # Analyst → CIO → Analyst ...: the fit rule (IT title, > 500 employees) flips.
            title = titles[(number // len(hook_ids)) % 2]
            record = Sent("webhook", contact_id, time.time())
            server.state.update_contacts(
                [(contact_id, {"jobtitle": title})], source=USER, as_user=True
            )
            record.status = 200
            load.add(record)
    workers.shutdown(wait=True)
    return load


# -- figures ----------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (nearest rank) of ``values``."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def _figures(latencies: Sequence[float]) -> dict[str, Any]:
    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, 3)

    return {
        "count": len(latencies),
        "p50_s": rounded(percentile(latencies, 50)),
        "p95_s": rounded(percentile(latencies, 95)),
        "p99_s": rounded(percentile(latencies, 99)),
        "max_s": rounded(max(latencies) if latencies else None),
        "mean_s": rounded(sum(latencies) / len(latencies) if latencies else None),
    }


def lost(load: Load, watch: ScoreWatch) -> list[Sent]:
    """What was accepted but whose score change never reached the CRM."""
    return [
        item
        for item in load.sent
        if item.status in (200, 202) and watch.after(item.contact_id, item.at) is None
    ]


def measure(load: Load, watch: ScoreWatch) -> dict[str, Any]:
    """Latency per source, and what never reached the CRM."""
    by_source: dict[str, list[float]] = defaultdict(list)
    missing: Counter[str] = Counter()
    refused: Counter[str] = Counter()
    for item in load.sent:
        if item.status not in (200, 202):
            refused[f"{item.source}:{item.status}"] += 1
            continue
        landed = watch.after(item.contact_id, item.at)
        if landed is None:
            missing[item.source] += 1
        else:
            by_source[item.source].append(max(0.0, landed[0] - item.at))
    everything = [v for values in by_source.values() for v in values]
    answers = [i.answer_s for i in load.sent if i.source == "event" and i.status == 202]
    return {
        "all": _figures(everything),
        "events": _figures(by_source.get("event", [])),
        "webhooks": _figures(by_source.get("webhook", [])),
        "never_written": dict(missing),
        "refused": dict(refused),
        "post_answer": {
            "p50_s": percentile(answers, 50),
            "p99_s": percentile(answers, 99),
        },
        "pacer_max_behind_s": round(load.behind_s, 3),
    }


def _explain(items: Sequence[Sent], server: SandboxServer, database_url: str) -> list[Any]:
    """For each lost change: what the CRM holds, and what the daemon's store knows."""
    if not items:
        return []
    rows: dict[str, Any] = {}
    if database_url.startswith("sqlite:///"):
        import sqlite3

        with sqlite3.connect(database_url.removeprefix("sqlite:///")) as connection:
            for item in items:
                found = connection.execute(
                    "SELECT properties, crm_values, dirty, crm_updated_at FROM contacts"
                    " WHERE crm_id = ?",
                    (item.contact_id,),
                ).fetchone()
                rows[item.contact_id] = found
    explained = []
    for item in items:
        contact = server.state.get_contact(item.contact_id)
        held = dict(contact.properties) if contact else {}
        stored = rows.get(item.contact_id)
        explained.append(
            {
                "source": item.source,
                "contact": item.contact_id,
                "at": datetime.fromtimestamp(item.at, UTC).isoformat(),
                "crm": {k: held.get(k) for k in ("jobtitle", SCORE, "lastmodifieddate")},
                "crm_score_history": [
                    (e.timestamp.isoformat(), e.value)
                    for e in (contact.history.get(SCORE, ()) if contact else ())
                ][:4],
                "crm_jobtitle_history": [
                    (e.timestamp.isoformat(), e.value)
                    for e in (contact.history.get("jobtitle", ()) if contact else ())
                ][:4],
                "store": None
                if stored is None
                else {
                    "jobtitle": json.loads(stored[0] or "{}").get("jobtitle"),
                    "score": json.loads(stored[1] or "{}").get(SCORE),
                    "dirty": stored[2],
                    "crm_updated_at": stored[3],
                },
            }
        )
    return explained


# -- main -------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=50.0, help="events per second")
    parser.add_argument("--seconds", type=float, default=300.0, help="length of the load")
    parser.add_argument(
        "--webhook-rate", type=float, default=1.0, help="CRM edits (webhooks) per second"
    )
    parser.add_argument("--database-url", help="default: a SQLite file in a temp folder")
    parser.add_argument("--poll-interval", default="2s")
    parser.add_argument("--drain-interval", default="1s")
    parser.add_argument("--crm-latency-ms", type=int, default=20, help="added per CRM request")
    parser.add_argument("--tail", type=float, default=30.0, help="max wait for late writes (s)")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (logs)")
    args = parser.parse_args(argv)

    total_events = int(args.rate * args.seconds)
    event_contacts = max(100, math.ceil(total_events / VIEWS_COUNTED))
    folder = Path(tempfile.mkdtemp(prefix="crmbridge-latency-"))
    database_url = args.database_url or f"sqlite:///{folder / 'crmbridge.db'}"
    port = _free_port()
    server, event_ids, hook_ids = _sandbox(event_contacts, port, args.crm_latency_ms)
    watch = ScoreWatch()
    server.state.subscribe(watch)
    emails = {
        c.id: c.properties["email"] for c in server.state.contacts() if c.id in set(event_ids)
    }
    daemon = _start_daemon(folder, database_url, server.url, port, args)
    daemon_url = f"http://127.0.0.1:{port}"
    result: dict[str, Any] = {}
    try:

        def ready() -> bool:
            try:
                return requests.get(f"{daemon_url}/readyz", timeout=2).status_code == 200
            except requests.RequestException:
                return False

        startup_s = _wait(ready, 120, "readiness", daemon)
        everyone = len(event_ids) + len(hook_ids)
        sync_s = _wait(lambda: watch.count() >= everyone, 600, "the first sync", daemon)
        time.sleep(2)  # let the echoes of the first sync be polled
        server.state.reset_observations()
        rss_start = rss_kb(daemon.pid)
        cpu_start = cpu_seconds(daemon.pid)
        samples: list[tuple[float, int]] = []
        sampling = threading.Event()

        def sample() -> None:
            began = time.monotonic()
            while not sampling.wait(10):
                samples.append((round(time.monotonic() - began, 1), rss_kb(daemon.pid)))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        print(
            f"{everyone:,} contacts synced in {sync_s:.1f} s; loading {args.rate:g} events/s "
            f"and {args.webhook_rate:g} webhooks/s for {args.seconds:g} s ...",
            file=sys.stderr,
        )
        began = time.monotonic()
        load = run_load(daemon_url, server, event_ids, emails, hook_ids, args)
        load_s = time.monotonic() - began
        rss_end = rss_kb(daemon.pid)
        cpu_end = cpu_seconds(daemon.pid)
        sampling.set()

        def settled() -> bool:
            figures = measure(load, watch)
            return not figures["never_written"]

        try:
            _wait(settled, args.tail, "the last writes", daemon)
        except SystemExit as exc:
            print(f"warning: {exc}", file=sys.stderr)
        rss_after_tail = rss_kb(daemon.pid)
        figures = measure(load, watch)
        figures["never_written_detail"] = _explain(lost(load, watch)[:10], server, database_url)
        counters = server.state.counters()
        writes = sum(
            1
            for r in server.state.requests()
            if r.path.endswith("/batch/update") and r.status == 200
        )
        growth = (rss_end - rss_start) / rss_start * 100
        result = {
            "benchmark": "latency",
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
            "settings": {
                "rate_per_s": args.rate,
                "seconds": args.seconds,
                "webhooks_per_s": args.webhook_rate,
                "events": total_events,
                "event_contacts": len(event_ids),
                "webhook_contacts": len(hook_ids),
                "database": "sqlite" if database_url.startswith("sqlite") else "postgres",
                "poll_interval": args.poll_interval,
                "drain_interval": args.drain_interval,
                "crm_latency_ms": args.crm_latency_ms,
                "crm_limit": "190 per 10 s",
            },
            "startup_s": round(startup_s, 2),
            "first_sync_s": round(sync_s, 2),
            "load_s": round(load_s, 2),
            "latency": figures,
            "rss_kb": {
                "start": rss_start,
                "end": rss_end,
                "after_tail": rss_after_tail,
                "growth_pct": round(growth, 2),
                "samples": samples,
            },
            "daemon_cpu_s": round(cpu_end - cpu_start, 2),
            "daemon_cpu_share": round((cpu_end - cpu_start) / load_s, 3),
            "crm": {
                "requests": counters.get("requests", 0),
                "searches": counters.get("searches", 0),
                "write_calls": writes,
                "contact_updates": counters.get("contact_updates", 0),
                "http_429": counters.get("status_429", 0),
                "rate_limited_10s": counters.get("rate_limited", 0),
                "rate_limited_search": counters.get("rate_limited_search", 0),
                "webhooks_delivered": server.services.webhooks.delivered_events,
                "webhooks_failed": server.services.webhooks.failed_events,
            },
            "targets": TARGETS,
            "met": {
                "p95": (figures["all"]["p95_s"] or math.inf) <= TARGETS["p95_s"],
                "p99": (figures["all"]["p99_s"] or math.inf) <= TARGETS["p99_s"],
                "rss_growth": growth <= TARGETS["rss_growth_pct"],
                "nothing_lost": not figures["never_written"] and not figures["refused"],
            },
        }
    finally:
        if daemon.poll() is None:
            daemon.send_signal(signal.SIGTERM)
            try:
                daemon.wait(35)
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.wait(10)
        server.stop()
        if not args.keep:
            for path in sorted(folder.rglob("*"), reverse=True):
                path.unlink() if path.is_file() else path.rmdir()
            folder.rmdir()
        else:
            print(f"kept {folder}", file=sys.stderr)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0 if all(result["met"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
