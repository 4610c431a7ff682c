"""Company data for every contact of a HubSpot (the local sandbox) in batched read calls.

Contacts are spread over companies (five contacts a company, each associated with its
company as primary); the scoring model is the bundled example plus a fit rule on
``company.numberofemployees``. One first sync links every contact and reads every
company; the figure is its company read calls (associations batch reads, company batch
reads and company searches) against ``1.01 × (ceil(contacts / 100) + ceil(companies /
100))``. Then 1% of the companies (all of 12 employees) grow past 500: the next cycle
must find them with the companies search, rescore only their contacts and write them;
the cycle between (the echoes of the first writes) reads no company but one search.

The account score is on (``max``): the first sync writes every company's, in
companies batch updates of 100 (bound ``1.01 × ceil(companies / 100)``); the echo
cycle writes none; after the change, only the changed companies' (their best contact's
score rose) are written again, in ``1.01 × ceil(changed companies / 100)`` calls.

    python -m benchmarks.company_reads            # 2,500 contacts, 500 companies
    python -m benchmarks.company_reads --full     # 25,000 contacts, 5,000 companies
"""

from __future__ import annotations

import argparse
import math
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.hubspot_sync import BURST, LATENCY_MS, _429s, _config, _dataset, _hubspot
from benchmarks.report import publish
from crmbridge.config import CrmbridgeConfig
from crmbridge.scoring.model import Condition, FitRule
from crmbridge.settings import AccountScoreSettings
from crmbridge.store.repository import Store
from crmbridge.sync.pipeline import Pipeline
from crmbridge_hubspot.connector import HubSpotConnector
from crmbridge_hubspot.sandbox.records import ChangeSource
from crmbridge_hubspot.sandbox.seed import form_properties
from crmbridge_hubspot.sandbox.server import SandboxServer, build

CONTACTS_PER_COMPANY = 5
SIZES = ["12", "80", "450", "900", "5000"]
#: The calls that read company data, by the connector's names for them.
COMPANY_READS = ("batch read contact companies", "batch read companies", "search companies")
#: The call that writes companies (the account score).
COMPANY_WRITE = "batch update companies"


def with_company_rule(config: CrmbridgeConfig) -> CrmbridgeConfig:
    """``config`` with a fit rule on the contact's company size."""
    rule = FitRule(
        name="Company of 500 or more",
        when={"company.numberofemployees": Condition(gte=500)},
        points=20,
    )
    scoring = config.scoring.model_copy(update={"fit": [*config.scoring.fit, rule]})
    account = AccountScoreSettings(enabled=True, method="max")
    return config.model_copy(update={"scoring": scoring, "account_score": account})


@contextmanager
def sandbox(contacts: int, now: datetime) -> Iterator[SandboxServer]:
    """A sandbox with ``contacts`` contacts, five to a company."""
    people, _ = _dataset(contacts, 0, now)
    state, settings = build("empty", latency_ms=LATENCY_MS, rate_limit_max=BURST)
    source = ChangeSource("IMPORT", "benchmark")
    start = now - timedelta(days=1)
    group, fields = form_properties(start)  # the BANT form fields the admin created
    state.add_group(group)
    for definition in fields:
        state.add_contact_property(definition)
    companies = [
        state.companies.create({"name": f"Company {n}", "numberofemployees": SIZES[n % 5]}).id
        for n in range(math.ceil(contacts / CONTACTS_PER_COMPANY))
    ]
    for i, props in enumerate(people):
        moment = start + timedelta(milliseconds=i * 7)
        contact = state.create_contact(
            props, source=source, as_user=True, created_at=moment, updated_at=moment, notify=False
        )
        state.companies.associate(contact.id, companies[i % len(companies)], primary=True)
    with SandboxServer(state, settings) as server:
        yield server


def company_calls(connector: HubSpotConnector) -> dict[str, int]:
    """The connector's company read calls so far, by kind."""
    return {name: connector.client.calls.get(name, 0) for name in COMPANY_READS}


def run(contacts: int, folder: Path) -> dict[str, Any]:
    """Sync ``contacts`` contacts with company data, change 1% of the companies: figures."""
    now = datetime.now(UTC).replace(microsecond=0)
    with sandbox(contacts, now) as server:
        database = f"sqlite:///{folder / 'crmbridge-companies.db'}"
        config = with_company_rule(_config(server, database))
        store = Store.open(database, bulk=True)
        connector = HubSpotConnector.from_settings(_hubspot(config))
        pipeline = Pipeline(store, config, {"hubspot": connector})
        pipeline.prepare()
        companies = len(server.state.companies.companies())
        first = pipeline.run_once(now)
        reads = company_calls(connector)
        writes_first = connector.client.calls.get(COMPANY_WRITE, 0)
        scores_first = {
            c.id: c.properties.get("crmbridge_account_score")
            for c in server.state.companies.companies()
        }
        bound = 1.01 * (math.ceil(contacts / 100) + math.ceil(companies / 100))
        echoes = pipeline.run_once(now)
        after_echoes = company_calls(connector)
        writes_echo = connector.client.calls.get(COMPANY_WRITE, 0) - writes_first
        changed = [c.id for c in server.state.companies.companies()[::100]]
        members = {
            contact
            for contact in (c.id for c in server.state.contacts())
            for company, _ in server.state.companies.associations(contact)
            if company in changed
        }
        for company in changed:
            server.state.companies.update(company, {"numberofemployees": "9000"})
        throttled = _429s(server)
        cycle = pipeline.run_once(now)
        final = company_calls(connector)
        writes_change = connector.client.calls.get(COMPANY_WRITE, 0) - writes_first - writes_echo
        rescored = [
            c.id
            for c in server.state.companies.companies()
            if c.properties.get("crmbridge_account_score") != scores_first[c.id]
        ]
        return {
            "contacts": contacts,
            "companies": companies,
            "first_sync": {
                "read_calls": sum(reads.values()),
                "read_calls_bound": round(bound, 2),
                "within_bound": sum(reads.values()) <= bound,
                "by_kind": reads,
                "scored": first.scored,
                "cycle_seconds": first.duration_s,
                "ok": first.ok,
            },
            "account_score": {
                "first_sync_write_calls": writes_first,
                "first_sync_write_calls_bound": round(1.01 * math.ceil(companies / 100), 2),
                "companies_written_first": sum(1 for v in scores_first.values() if v),
                "echo_cycle_write_calls": writes_echo,
                "changed_companies": len(rescored),
                "change_write_calls": writes_change,
                "change_write_calls_bound": round(1.01 * math.ceil(len(rescored) / 100), 2),
                "within_bounds": writes_first <= 1.01 * math.ceil(companies / 100)
                and writes_echo == 0
                and writes_change <= 1.01 * math.ceil(len(rescored) / 100),
            },
            "echo_cycle_company_calls": sum(after_echoes.values()) - sum(reads.values()),
            "echo_cycle_scored": echoes.scored,
            "companies_changed": {
                "companies": len(changed),
                "their_contacts": len(members),
                "scored": cycle.scored,
                "written": cycle.written,
                "company_calls": {k: final[k] - after_echoes[k] for k in COMPANY_READS},
                "http_429": _429s(server) - throttled,
                "cycle_seconds": cycle.duration_s,
                "ok": cycle.ok,
            },
        }


def main(argv: list[str] | None = None) -> int:
    """Run it and write JSON."""
    parser = argparse.ArgumentParser(description="company data in batched HubSpot reads")
    parser.add_argument("--full", action="store_true", help="25,000 contacts, 5,000 companies")
    parser.add_argument(
        "--output", type=Path, default=Path("benchmarks/results/company_reads.json")
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="crmbridge-company-bench-") as tmp:
        figures = run(25_000 if args.full else 2_500, Path(tmp))
    result = {
        "benchmark": "company_reads",
        "sandbox": {"latency_ms": LATENCY_MS, "limit": f"{BURST} per 10 s"},
        "figures": figures,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    publish(result, args.output)
    first, change = figures["first_sync"], figures["companies_changed"]
    good = first["ok"] and first["within_bound"] and change["ok"]
    good = good and figures["account_score"]["within_bounds"]
    moved = change["scored"] == change["written"] == change["their_contacts"]
    return 0 if good and moved else 1


if __name__ == "__main__":
    raise SystemExit(main())
