"""The config tests' environment fixture (shared with the unit tests)."""

from tests.unit.conftest import config_env  # noqa: F401
