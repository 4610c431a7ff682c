"""Full-rescore benchmark of the scoring engine.

Generates synthetic contacts and events with the example model's vocabulary and scores
every contact, streaming (data for one contact exists only while it is scored), in one
process per core. Writes events/s, seconds and peak RSS as JSON.

    python -m benchmarks.scoring --contacts 1000000 --events 10000000
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import resource
import time
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.report import publish
from crmbridge.config import example_config_text, parse_config
from crmbridge.scoring import Contact, Event, ScoringEngine

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
TITLES = [
    "Directora de IT",
    "IT Director",
    "CIO",
    "Director de Tecnología",
    "Jefe de Operaciones",
    "Marketing Manager",
    "Responsable de Compras",
    "Head of IT",
    "Analista",
    "CTO",
]
SIZES = ["45", "120", "600", "1.000", "1,200", "500+", "500-1000", "n/a", "2500", ""]
BUDGET = ["approved", "in_estimation", "depends_on_business_case", None]
ROLE = ["DECISION_MAKER", "BUDGET_HOLDER", "END_USER", "INFLUENCER", None]
TIMELINE = ["this_quarter", "next_year", None]
EVENT_TEMPLATES: list[tuple[str, Mapping[str, Any]]] = [
    ("page_view", {"url": "https://acme.es/pricing"}),
    ("page_view", {"url": "https://acme.es/blog/rutas"}),
    ("page_view", {"url": "https://acme.es/precios?utm=x"}),
    ("content_download", {"asset_type": "case_study"}),
    ("content_download", {"asset_type": "guide"}),
    ("content_download", {"asset_type": "whitepaper"}),
    ("webinar_attended", {"watched_percent": 100}),
    ("webinar_attended", {"watched_percent": 30}),
    ("email_open", {"campaign": "nurture-logistics"}),
    ("email_click", {"campaign": "nurture-logistics", "url": "https://acme.es/case-study/x"}),
    ("email_click", {"campaign": "newsletter", "url": "https://acme.es/blog"}),
    ("meeting_booked", {}),
    ("form_submit", {"form": "contact"}),
]


def _engine() -> ScoringEngine:
    cfg = parse_config(example_config_text()).config
    return ScoringEngine(cfg.scoring, cfg.bant, cfg.lifecycle)


def _profiles(rng: random.Random, count: int) -> list[dict[str, Any]]:
    profiles = []
    for _ in range(count):
        props: dict[str, Any] = {"jobtitle": rng.choice(TITLES), "numemployees": rng.choice(SIZES)}
        for key, choices in (
            ("crmbridge_budget", BUDGET),
            ("hs_buying_role", ROLE),
            ("crmbridge_timeline", TIMELINE),
        ):
            value = rng.choice(choices)
            if value is not None:
                props[key] = value
        if rng.random() < 0.5:
            props["crmbridge_need"] = "visibility"
        profiles.append(props)
    return profiles


def _score_chunk(args: tuple[int, int, int, int]) -> dict[str, float]:
    """Score contacts [start, stop) with ``events_total`` events spread over them."""
    seed, start, stop, events_per_contact = args
    rng = random.Random(seed)
    engine = _engine()
    profiles = _profiles(rng, 512)
    horizon = 120 * 86400
    scored = events = hot = 0
    started = time.perf_counter()
    for number in range(start, stop):
        contact = Contact(str(number), profiles[number % 512], f"c{number}@example.com")
        batch = [
            Event(kind, NOW - timedelta(seconds=rng.randrange(horizon)), props)
            for kind, props in rng.choices(EVENT_TEMPLATES, k=events_per_contact)
        ]
        score = engine.score(contact, batch, NOW)
        scored += 1
        events += len(batch)
        hot += score.hot
    return {
        "contacts": scored,
        "events": events,
        "hot": hot,
        "seconds": time.perf_counter() - started,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def run(contacts: int, events: int, workers: int) -> dict[str, Any]:
    """Score ``contacts`` contacts with ``events`` events in all, on ``workers`` processes."""
    per_contact = max(1, events // contacts)
    chunk = 50_000
    jobs = [
        (i, start, min(start + chunk, contacts), per_contact)
        for i, start in enumerate(range(0, contacts, chunk))
    ]
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=workers) as pool:
        parts = list(pool.map(_score_chunk, jobs))
    wall = time.perf_counter() - started
    total_events = sum(int(p["events"]) for p in parts)
    children_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    parent_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "benchmark": "scoring.full_rescore",
        "contacts": sum(int(p["contacts"]) for p in parts),
        "events": total_events,
        "hot_leads": sum(int(p["hot"]) for p in parts),
        "workers": workers,
        "wall_seconds": round(wall, 2),
        "events_per_second": round(total_events / wall),
        "contacts_per_second": round(contacts / wall),
        "peak_rss_mib_per_worker": round(children_peak, 1),
        "peak_rss_mib_total": round(parent_peak + workers * children_peak, 1),
        "note": "includes generating the synthetic events inside the timed loop",
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: run and write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results/scoring.json"))
    args = parser.parse_args(argv)
    result = run(args.contacts, args.events, args.workers)
    publish(result, args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
