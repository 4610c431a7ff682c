"""Generated property values in the local HubSpot sandbox, synced and scored by a cycle.

Contacts carrying the values are imported into the sandbox; the daemon's pipeline
(what ``crmbridge run --once`` runs) reads them through the HubSpot API, stores and
scores every one, and names every out-of-range number in the lead's notes. A watchdog
bounds the cycle; no log entry may carry a traceback.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr
from structlog.testing import capture_logs

from crmbridge.config import example_config_text, parse_config
from crmbridge.store.repository import Store
from crmbridge.sync.pipeline import Pipeline
from crmbridge_hubspot import HubSpotConnector
from crmbridge_hubspot.sandbox.config import DEFAULT_TOKEN
from crmbridge_hubspot.sandbox.records import ChangeSource
from crmbridge_hubspot.settings import HubSpotSettings
from tests.integration.daemon.daemon_helpers import start_sandbox

from .absurd import SPACED_60K
from .conftest import Figures, Sizes
from .oracles import (
    assert_no_traceback,
    runs_left_running,
    score_state,
    unnamed_poison,
    within,
)
from .properties import FREE_TEXT, NOT_A_NUMBER, contacts

PER_EXAMPLE = 20
#: A cycle that has not finished after this long is hung (a quadratic parse of one
#: padded value took 47.8 s): minutes more than a healthy cycle needs.
CYCLE_BOUND_S = 60.0
CYCLE_BOUND_PER_CONTACT_S = 0.1
IMPORT = ChangeSource("IMPORT", "reliability-fuzz")
NO_SHRINKING = (Phase.explicit, Phase.generate)
#: Values over 100 kB kept per run (each is a megabyte): enough to find a quadratic
#: parser, few enough for the store to stay small. Later ones become 60 kB values.
HUGE = 100_000


def test_generated_property_values_are_synced_and_scored(
    store_url: str, sizes: Sizes, figures: Figures, capfd: pytest.CaptureFixture[str]
) -> None:
    sandbox = start_sandbox(0)
    existing = {d.name for d in sandbox.state.contact_properties()}
    names = tuple(name for name in FREE_TEXT if name in existing)
    per_contact = len(names)
    huge_left = 10 if sizes.long else 3
    numbered = itertools.count()
    seeded: dict[str, dict[str, str]] = {}

    @settings(
        max_examples=max(1, sizes.property_values // (PER_EXAMPLE * per_contact)),
        deadline=None,
        database=None,
        derandomize=not sizes.long,
        phases=NO_SHRINKING,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.lists(contacts(names), min_size=PER_EXAMPLE, max_size=PER_EXAMPLE))
    def seed(batch: list[dict[str, str]]) -> None:
        nonlocal huge_left
        for values in batch:
            for name, value in values.items():
                if len(value) > HUGE:
                    huge_left -= 1
                    values[name] = value if huge_left >= 0 else SPACED_60K
            email = f"prop{next(numbered)}@fuzz.example"
            sandbox.state.create_contact(values | {"email": email}, source=IMPORT, notify=False)
            seeded[email] = values

    config = parse_config(example_config_text(), source="bundled example").config
    store = Store.open(store_url)  # SQLite, and PostgreSQL (which refuses NUL characters)
    section = "crm_properties" if store.is_sqlite else "crm_properties_postgres"
    try:
        seed()
        settings_ = HubSpotSettings(
            enabled=True, access_token=SecretStr(DEFAULT_TOKEN), base_url=sandbox.url
        )
        pipeline = Pipeline(store, config, {"hubspot": HubSpotConnector.from_settings(settings_)})
        started = datetime.now(UTC)
        with capture_logs() as logs:
            pipeline.prepare()
            bound = CYCLE_BOUND_S + CYCLE_BOUND_PER_CONTACT_S * len(seeded)
            summary = within(bound, "a pipeline cycle", lambda: pipeline.run_once(started))
        values = len(seeded) * per_contact
        figures.record(
            section,
            contacts=len(seeded),
            values=values,
            cycle_read=summary.read,
            cycle_scored=summary.scored,
            cycle_failed=summary.failed,
            cycle_seconds=round(summary.duration_s, 1),
            hung=0,
        )
        broken = [e for e in logs if "exc_info" in e or "exception" in e]
        assert not broken, f"log entries with a traceback: {broken[:3]}"
        assert_no_traceback(capfd.readouterr().err, "stderr")
        errors = [e for e in logs if e.get("log_level") in ("error", "critical")]
        assert not errors, f"error log entries: {errors[:3]}"
        assert summary.ok, summary.errors[:5]
        assert runs_left_running(store.engine) == 0, "the cycle never ended"

        state = score_state(store.engine, started)
        stored = set(state.contacts)
        assert stored == set(seeded), f"not stored: {sorted(set(seeded) - stored)[:5]}"
        assert not state.unscored(), f"contacts without a score: {state.unscored()[:5]}"
        poisoned = {
            email: {values["numemployees"]}
            for email, values in seeded.items()
            if values.get("numemployees") in NOT_A_NUMBER
        }
        unnamed = unnamed_poison(state, poisoned, "numemployees")
        assert not unnamed, "numemployees not named as not a number:\n" + "\n".join(unnamed[:3])
        figures.record(
            section,
            contacts_stored=len(stored),
            contacts_scored=len(state.current),
            not_a_number_named=len(poisoned),
            tracebacks=0,
        )
    finally:
        store.engine.dispose()
        sandbox.stop()
