"""Every controls test leaves logging as it found it (some capture JSON log lines)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from crmbridge.logging import configure_logging


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    yield
    configure_logging(level="INFO")
