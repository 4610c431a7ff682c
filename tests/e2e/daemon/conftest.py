"""The daemon tests' environment isolation and sandbox fixture (shared with integration/daemon)."""

from tests.integration.daemon.conftest import _isolated, sandbox  # noqa: F401
