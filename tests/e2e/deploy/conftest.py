"""Fixtures: the routes the daemon serves (what the image and compose files call)."""

from __future__ import annotations

from pathlib import Path

import pytest

from crmbridge.config import example_config_text, parse_config
from crmbridge.daemon.http import create_app
from crmbridge.store.repository import Store

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def daemon_paths(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """Every path of the daemon's HTTP app, built on a throw-away SQLite store."""
    store = Store.open(f"sqlite:///{tmp_path_factory.mktemp('store') / 'store.db'}")
    try:
        app = create_app(store, parse_config(example_config_text()).config)
        # FastAPI keeps an included router as one entry of app.routes, without a path of
        # its own; the OpenAPI document lists every path the routers serve.
        served = {str(getattr(route, "path", "")) for route in app.routes}
        return served | set(app.openapi()["paths"])
    finally:
        store.engine.dispose()
