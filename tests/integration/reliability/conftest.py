"""Fuzz sizes (``--long``, declared in the root conftest.py) and the figures the suite reports."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

RESULTS = Path(__file__).resolve().parents[3] / "benchmarks" / "results" / "reliability.json"


@dataclass(frozen=True)
class Sizes:
    """How much each fuzz test generates."""

    long: bool
    http_events: int
    ingest_events: int
    property_values: int
    configs: int
    config_runs: int


SHORT = Sizes(False, 300, 300, 300, 200, 3)
LONG = Sizes(True, 10_000, 10_000, 10_000, 1_000, 20)


@pytest.fixture(scope="session")
def sizes(request: pytest.FixtureRequest) -> Sizes:
    """The sizes of this run: short by default, full with ``--long``."""
    return LONG if request.config.getoption("--long") else SHORT


class Figures:
    """Counts gathered by the fuzz tests, by test; printed, and saved with ``--long``."""

    def __init__(self) -> None:
        self.sections: dict[str, dict[str, Any]] = {}

    def record(self, section: str, **counts: Any) -> None:
        """Set counts of one test (a later call adds to or replaces earlier ones)."""
        self.sections.setdefault(section, {}).update(counts)


_FIGURES = pytest.StashKey[Figures]()


@pytest.fixture(scope="session")
def figures(sizes: Sizes, pytestconfig: pytest.Config) -> Iterator[Figures]:
    """Where tests put their counts; written to the results file after a ``--long`` run."""
    collected = pytestconfig.stash.setdefault(_FIGURES, Figures())
    yield collected
    if sizes.long and collected.sections:
        # A --long run of some of the tests replaces their sections only.
        saved = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
        stamp = datetime.now(UTC).replace(microsecond=0).isoformat()
        saved.update({k: {**v, "recorded_at": stamp} for k, v in collected.sections.items()})
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(saved, indent=2, sort_keys=True) + "\n")


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """The counts in the run's summary (output captured during tests would hide them)."""
    collected = config.stash.get(_FIGURES, None)
    if collected is None or not collected.sections:
        return
    terminalreporter.section("reliability figures")
    for section, counts in sorted(collected.sections.items()):
        shown = ", ".join(f"{name} {value:,}" for name, value in counts.items())
        terminalreporter.write_line(f"{section}: {shown}")
