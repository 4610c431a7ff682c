"""Fixtures the plugin tests share with the core's daemon tests.

A plugin's webhook tests post to the daemon's ``/webhooks/<name>`` route, so they use
the daemon tests' app harness (a migrated SQLite store per test, configs with every
secret set, a fixed clock). Until the shared fixtures live in one place, they are
imported from ``tests/daemon/conftest.py`` (importable as ``daemon.conftest`` once the
core's ``tests`` folder is on the path, as pytest puts it there for the core's tests).
"""

from __future__ import annotations

import sys
from pathlib import Path

_CORE_TESTS = str(Path(__file__).resolve().parents[1] / "tests")
if _CORE_TESTS not in sys.path:
    sys.path.insert(0, _CORE_TESTS)

from daemon.conftest import (  # noqa: E402  (needs the path above)
    _isolated,
    _template_db,
    build,
    harness,
    sqlite_store,
)

__all__ = ["_isolated", "_template_db", "build", "harness", "sqlite_store"]
