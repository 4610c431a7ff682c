"""Fuzz sizes (``--long``, declared in the root conftest.py) and where tests put their counts."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from .figures import Figures, figures_of

__all__ = ["Figures", "Sizes"]


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


@pytest.fixture(scope="session")
def figures(pytestconfig: pytest.Config) -> Figures:
    """Where tests put their counts (the ``figures`` plugin prints and saves them)."""
    return figures_of(pytestconfig)
