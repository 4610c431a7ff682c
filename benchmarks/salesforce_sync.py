"""crmbridge against Salesforce (the local sandbox) side by side with a per-record peer.

The sandbox adds 20 ms of latency per request and counts every API request against a
Developer Edition's daily limit (15,000). The peer is what a user would otherwise
write with simple-salesforce: query every lead, compute the same score in plain Python
(the same scoring model) and ``sf.Lead.update`` each one. Both start from the same org
and events and must end with identical crmbridge field values.

A second run backfills many leads with crmbridge alone, through Bulk API 2.0.

    python -m benchmarks.salesforce_sync            # 2,000 side by side + 50,000 backfill
    python -m benchmarks.salesforce_sync --small    # a quick run (400 / 5,000)
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from simple_salesforce.api import Salesforce, SFType

from benchmarks.peer import peer_scoring
from benchmarks.report import publish
from crmbridge.config import example_config_text, parse_config
from crmbridge.ingest import Ingestor
from crmbridge.scoring import Contact
from crmbridge.store.repository import Store
from crmbridge.sync.pipeline import Pipeline
from crmbridge.sync.writeback import desired_values, own_fields, score_property_names
from crmbridge_salesforce.connector import SalesforceConnector
from crmbridge_salesforce.fields import custom_field
from crmbridge_salesforce.sandbox import SandboxServer
from crmbridge_salesforce.session import SalesforceSession
from crmbridge_salesforce.settings import DEFAULT_API_SHARE, SalesforceSettings
from crmbridge_salesforce.writes import typed

LATENCY_S = 0.02
TITLES = ["Directora de IT", "IT Director", "CIO", "Marketing Manager", "Analyst", "Head of IT"]
EVENTS = [
    ("page_view", {"url": "https://acme.example/pricing"}),
    ("page_view", {"url": "https://acme.example/blog/x"}),
    ("content_download", {"asset_type": "guide"}),
    ("webinar_attended", {"watched_percent": 100}),
    ("email_click", {"campaign": "nurture", "url": "https://acme.example/case-study/a"}),
]
#: Compared between the two orgs: every score field but the moment of scoring.
COMPARED = [n for n in score_property_names("crmbridge") if n != "crmbridge_scored_at"]


def _dataset(
    count: int, events_each: int, now: datetime
) -> tuple[list[dict[str, str]], list[dict[str, Any]]]:
    rng = random.Random(2026)
    leads, events = [], []
    for i in range(count):
        email = f"lead{i}@company{i % 211}.example"
        leads.append(
            {
                "Email": email,
                "LastName": f"Lead{i}",
                "Company": f"Company {i % 211}",
                "Title": rng.choice(TITLES),
            }
        )
        for j in range(events_each):
            kind, extra = rng.choice(EVENTS)
            events.append(
                {
                    "event_id": f"bench-{i}-{j}",
                    "type": kind,
                    "occurred_at": (now - timedelta(minutes=rng.randrange(144_000))).isoformat(),
                    "contact": {"email": email},
                    "properties": extra,
                }
            )
    return leads, events


def _settings(server: SandboxServer, **overrides: Any) -> SalesforceSettings:
    """A deployment's settings: JWT bearer, leads only, no activity objects."""
    values: dict[str, Any] = {
        "enabled": True,
        "username": server.config.username,
        "consumer_key": server.config.consumer_key,
        "private_key_file": str(server.certificates.jwt_private_key),
        "login_host": server.login_host,
        "ca_bundle": str(server.ca_bundle),
        "objects": ["Lead"],
        "activity": False,
    }
    return SalesforceSettings(**(values | overrides))


@contextmanager
def _org(leads: list[dict[str, str]], now: datetime) -> Iterator[SandboxServer]:
    """A fresh org holding ``leads`` and crmbridge's fields (created as an admin would)."""
    with SandboxServer() as server:
        start = now - timedelta(days=1)
        for i, values in enumerate(leads):
            server.admin.create("Lead", values, modstamp=start + timedelta(milliseconds=i * 7))
        SalesforceConnector.from_settings(_settings(server)).ensure_schema(own_fields("crmbridge"))
        server.admin.clear_log()
        server.admin.set_usage(0)
        server.faults.latency = LATENCY_S
        yield server


def _held(server: SandboxServer) -> dict[str, dict[str, str]]:
    """crmbridge's score fields of every lead, by email, as text."""
    out = {}
    for record in server.state.records["Lead"].values():
        values = {}
        for name in COMPARED:
            value = record.get(custom_field(name))
            if isinstance(value, bool):
                value = "true" if value else "false"
            elif isinstance(value, float) and value.is_integer():
                value = int(value)
            values[name] = "" if value is None else str(value)
        out[str(record.get("Email"))] = values
    return out


def _requests(server: SandboxServer) -> dict[str, int]:
    """The API requests the org answered, by kind."""
    counts = {"read": 0, "collections": 0, "record_update": 0, "bulk_job": 0, "bulk_poll": 0}
    other = 0
    for entry in server.admin.request_log():
        path, method = entry.path, entry.method
        if "/query" in path:
            counts["read"] += 1
        elif path.endswith("/composite/sobjects"):
            counts["collections"] += 1
        elif "/jobs/ingest" in path:
            polled = method == "GET" and not path.endswith("Results")
            counts["bulk_poll" if polled else "bulk_job"] += 1
        elif method == "PATCH" and "/sobjects/Lead/" in path:
            counts["record_update"] += 1
        else:
            other += 1
    counts["other"] = other
    counts["total"] = sum(counts.values())
    return counts


def _usage(server: SandboxServer) -> dict[str, Any]:
    used, limit = server.state.api_used, server.config.daily_limit
    return {"used": used, "daily_limit": limit, "share": round(used / limit, 4)}


def run_crmbridge(
    leads: list[dict[str, str]],
    events: list[dict[str, Any]],
    now: datetime,
    folder: Path,
    **settings: Any,
) -> dict[str, Any]:
    """crmbridge's pipeline against a fresh org: one cycle, then an unchanged re-run."""
    with _org(leads, now) as server:
        database = f"sqlite:///{folder / f'crmbridge-{len(leads)}.db'}"
        config = parse_config(example_config_text()).config
        store = Store.open(database, bulk=True)
        started = time.perf_counter()
        lines = ((i, json.dumps(e).encode()) for i, e in enumerate(events, 1))
        Ingestor(store, timedelta(minutes=5)).ingest_lines(lines, now)
        connector = SalesforceConnector.from_settings(_settings(server, **settings))
        pipeline = Pipeline(store, config, {"salesforce": connector})
        first = pipeline.run_once(now)
        seconds = time.perf_counter() - started
        calls = _requests(server)
        usage = _usage(server)
        server.admin.clear_log()
        rerun = pipeline.run_once(now)
        rerun_calls = _requests(server)
        store.engine.dispose()
        return {
            "leads": len(leads),
            "events": len(events),
            "seconds_incl_ingest": round(seconds, 1),
            "cycle_seconds": first.duration_s,
            "changed": first.changed,
            "written": first.written,
            "failed": first.failed,
            "requests": calls,
            "api_usage": usage,
            "rerun": {"written": rerun.written, "requests": rerun_calls},
            "state": _held(server),
        }


def run_peer(
    leads: list[dict[str, str]], events: list[dict[str, Any]], now: datetime
) -> dict[str, Any]:
    """The per-record loop a user would write with simple-salesforce."""
    with _org(leads, now) as server:
        engine, by_email = peer_scoring(events)
        described = SalesforceConnector.from_settings(_settings(server)).fields("Lead")
        assert described is not None
        server.admin.clear_log()
        started = time.perf_counter()
        session = SalesforceSession(
            30.0, login_host=server.login_host, ca_bundle=str(server.ca_bundle)
        )
        sf = Salesforce(
            username=server.config.username,
            password=server.config.password,
            security_token=server.config.security_token,
            session=session,
            version="62.0",
        )
        leads_api = cast(SFType, sf.Lead)
        soql = "SELECT Id, Email, Title, Company FROM Lead"
        for row in sf.query_all_iter(soql):
            props = {k: v for k, v in row.items() if k != "attributes" and v is not None}
            email = str(props.get("Email") or "")
            score = engine.score(Contact(row["Id"], props, email), by_email.get(email, []), now)
            values = {}
            for name, value in desired_values(score, "crmbridge").items():
                field = custom_field(name)
                kind = str(described.by_lower[field.lower()].get("type") or "string")
                values[field] = typed(value, kind)
            leads_api.update(row["Id"], values)
        seconds = time.perf_counter() - started
        return {
            "seconds": round(seconds, 1),
            "requests": _requests(server),
            "api_usage": _usage(server),
            "state": _held(server),
        }


def main(argv: list[str] | None = None) -> int:
    """Run the comparison and the backfill; write JSON."""
    parser = argparse.ArgumentParser(description="crmbridge vs a per-record peer on Salesforce")
    parser.add_argument("--small", action="store_true", help="400 side by side, 5,000 backfill")
    parser.add_argument(
        "--output", type=Path, default=Path("benchmarks/results/salesforce_sync.json")
    )
    args = parser.parse_args(argv)
    side, backfill = (400, 5_000) if args.small else (2_000, 50_000)
    now = datetime.now(UTC).replace(microsecond=0)
    with tempfile.TemporaryDirectory(prefix="crmbridge-sf-bench-") as tmp:
        leads, events = _dataset(side, 5, now)
        ours = run_crmbridge(leads, events, now, Path(tmp))
        peer = run_peer(leads, events, now)
        big_leads, big_events = _dataset(backfill, 1, now)
        big = run_crmbridge(big_leads, big_events, now, Path(tmp), bulk_batch_size=25_000)
    identical = ours.pop("state") == peer.pop("state")
    big.pop("state")
    ours_calls = ours["requests"]["total"]
    bulk_job_calls = big["requests"]["bulk_job"]
    changed = ours["changed"]
    result = {
        "benchmark": "salesforce_sync",
        "sandbox": {"latency_ms": LATENCY_S * 1000, "daily_limit": 15_000},
        "side_by_side": {
            "leads": side,
            "crmbridge": ours,
            "peer": peer,
            "api_call_ratio": round(peer["requests"]["total"] / max(ours_calls, 1), 1),
            "wall_time_ratio": round(peer["seconds"] / max(ours["seconds_incl_ingest"], 0.1), 1),
            "identical_final_field_values": identical,
        },
        "backfill_through_bulk": big,
        "targets": {
            "collections_calls": ours["requests"]["collections"],
            "collections_calls_limit": round(1.01 * -(-changed // 200), 2),
            "bulk_job_calls_besides_polls": bulk_job_calls,
            "bulk_job_calls_limit": 10,
            "api_share_used_by_crmbridge": max(
                ours["api_usage"]["share"], big["api_usage"]["share"]
            ),
            "api_share_allowed": DEFAULT_API_SHARE,
        },
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    publish(result, args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
