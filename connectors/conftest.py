"""Fixtures the plugin tests share with the core's daemon tests.

A plugin's webhook tests post to the daemon's ``/webhooks/<name>`` route, so they use
the daemon tests' app harness (an app on the test's SQLite store, configs with every
secret set, a fixed clock), defined in ``tests/integration/daemon/conftest.py``.
"""

from __future__ import annotations

from tests.integration.daemon.conftest import build, harness

__all__ = ["build", "harness"]
