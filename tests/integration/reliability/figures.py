"""The counts the reliability fuzz tests gather: printed in the run's summary, and saved to
``benchmarks/results/reliability.json`` after a ``--long`` run.

A pytest plugin (listed in the root conftest.py) rather than conftest hooks: with
pytest-xdist the tests run in worker processes, and only the controlling process, which
loads no folder's conftest, sees the whole run. Each worker hands its counts over in its
``workeroutput``; the controller (or a run without workers) merges, prints and saves them
once, so two workers never write the results file at the same time.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

RESULTS = Path(__file__).resolve().parents[3] / "benchmarks" / "results" / "reliability.json"
#: The key of a worker's counts in its ``workeroutput``.
_OUTPUT_KEY = "reliability_figures"


class Figures:
    """Counts gathered by the fuzz tests, by test; printed, and saved with ``--long``."""

    def __init__(self) -> None:
        self.sections: dict[str, dict[str, Any]] = {}

    def record(self, section: str, **counts: Any) -> None:
        """Set counts of one test (a later call adds to or replaces earlier ones)."""
        self.sections.setdefault(section, {}).update(counts)

    def merge(self, sections: dict[str, dict[str, Any]]) -> None:
        """Add the counts another process gathered."""
        for section, counts in sections.items():
            self.record(section, **counts)


_FIGURES = pytest.StashKey[Figures]()


def figures_of(config: pytest.Config) -> Figures:
    """This run's counts (one object per process)."""
    return config.stash.setdefault(_FIGURES, Figures())


def _worker_output(config: pytest.Config) -> dict[str, Any] | None:
    output: dict[str, Any] | None = getattr(config, "workeroutput", None)
    return output


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """(pytest-xdist, in the controller) a worker finished: take over its counts."""
    sections = getattr(node, "workeroutput", {}).get(_OUTPUT_KEY)
    if sections:
        figures_of(node.config).merge(json.loads(sections))


def pytest_sessionfinish(session: pytest.Session) -> None:
    """A worker hands its counts over; the controller or a lone process saves them."""
    config = session.config
    collected = config.stash.get(_FIGURES, None)
    output = _worker_output(config)
    if output is not None:
        if collected is not None and collected.sections:
            output[_OUTPUT_KEY] = json.dumps(collected.sections)
        return
    if collected is None or not collected.sections or not config.getoption("--long"):
        return
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
