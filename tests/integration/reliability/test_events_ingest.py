"""Generated events in JSON-lines files through ``crmbridge ingest``, then one cycle.

Each file is ingested by the CLI (in-process) with ``--json``: every refused line is
named with its number and a reason, every valid one is stored, on SQLite and on
PostgreSQL (which refuses NUL characters). Then ``crmbridge run --once`` against the
local HubSpot sandbox must score every contact and name the absurd numbers in the
notes. Nothing may print a traceback.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from crmbridge.store.repository import Store
from crmbridge_hubspot.sandbox.config import DEFAULT_APP_SECRET, DEFAULT_TOKEN
from tests.integration.daemon.daemon_helpers import contact_email, start_sandbox
from tests.integration.helpers import cli

from .conftest import Figures, Sizes
from .events import EventSource, GeneratedEvent
from .oracles import (
    Tally,
    assert_no_traceback,
    check_report,
    event_count,
    not_kept_as_text,
    runs_left_running,
    score_state,
    stored_event_ids,
    unnamed_poison,
    within,
)

PER_FILE = 50
INGEST_BOUND_S = 120.0
CYCLE_BOUND_S = 600.0
NO_SHRINKING = (Phase.explicit, Phase.generate)


def test_generated_events_through_crmbridge_ingest(
    tmp_path: Path, store_url: str, sizes: Sizes, figures: Figures, monkeypatch: pytest.MonkeyPatch
) -> None:
    contacts = 40 if sizes.long else 8
    sandbox = start_sandbox(contacts)
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", DEFAULT_TOKEN)
    monkeypatch.setenv("HUBSPOT_APP_SECRET", DEFAULT_APP_SECRET)
    monkeypatch.setenv("CRMBRIDGE__CONNECTORS__HUBSPOT__BASE_URL", sandbox.url)
    database = store_url  # SQLite, and PostgreSQL (which refuses NUL characters)
    source = EventSource([contact_email(i) for i in range(contacts)], datetime.now(UTC))
    tally = Tally()
    section = "events_ingest" if store_url.startswith("sqlite") else "events_ingest_postgres"
    files: list[Path] = []

    @settings(
        max_examples=max(1, sizes.ingest_events // PER_FILE),
        deadline=None,
        database=None,
        derandomize=not sizes.long,
        phases=NO_SHRINKING,
        report_multiple_bugs=False,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.lists(source.events(), min_size=PER_FILE, max_size=PER_FILE))
    def ingest(batch: list[GeneratedEvent]) -> None:
        path = tmp_path / f"events-{len(files)}.jsonl"
        files.append(path)
        text = "".join(event.line() + "\n" for event in batch)
        path.write_bytes(text.encode("utf-8", "surrogatepass"))
        result = within(
            INGEST_BOUND_S,
            f"crmbridge ingest {path.name}",
            lambda: cli(database, "ingest", "--json", str(path)),
        )
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            f"crmbridge ingest raised {result.exception!r}"
        )
        assert_no_traceback(result.output, f"crmbridge ingest {path.name}")
        report = json.loads(result.stdout)
        assert result.exit_code == (1 if report["failed"] else 0), result.output[-2000:]
        check_report(report, batch, tally)

    try:
        ingest()
        figures.record(section, **tally.figures())
        store = Store.open(database, migrate=False)
        assert event_count(store.engine) == tally.stored
        missing = set(tally.accepted_ids) - stored_event_ids(store.engine, tally.accepted_ids)
        assert not missing, f"{len(missing)} accepted events not stored: {sorted(missing)[:5]}"
        assert not not_kept_as_text(store.engine, tally.poison_ids, "watched_percent")

        cycle = within(
            CYCLE_BOUND_S, "crmbridge run --once", lambda: cli(database, "run", "--once", "--json")
        )
        assert cycle.exception is None or isinstance(cycle.exception, SystemExit), (
            f"crmbridge run --once raised {cycle.exception!r}"
        )
        assert_no_traceback(cycle.output, "crmbridge run --once")
        assert cycle.exit_code == 0, cycle.output[-3000:]
        summary = json.loads(cycle.stdout)
        assert runs_left_running(store.engine) == 0, "the cycle never ended"
        state = score_state(store.engine)
        assert not state.unscored(), f"contacts without a score: {state.unscored()[:5]}"
        assert not state.pending, f"{len(state.pending)} contacts still due after the cycle"
        unnamed = unnamed_poison(state, tally.poisoned, "watched_percent")
        assert not unnamed, "absurd watched_percent not named in the notes:\n" + "\n".join(
            unnamed[:3]
        )
        figures.record(
            section,
            files=len(files),
            contacts_scored=len(state.current),
            cycle_scored=summary["scored"],
            tracebacks=0,
            hung=0,
        )
        store.engine.dispose()
    finally:
        sandbox.stop()
