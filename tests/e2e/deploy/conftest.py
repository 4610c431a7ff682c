"""Fixtures: the routes the daemon serves (what the image and compose files call)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from starlette.routing import Match

from crmbridge.config import example_config_text, parse_config
from crmbridge.daemon.http import create_app
from crmbridge.store.repository import Store

ROOT = Path(__file__).resolve().parents[3]

#: ``serves(method, path)``: the daemon answers that request with one of its routes.
Serves = Callable[[str, str], bool]


@pytest.fixture(scope="module")
def daemon_serves(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serves]:
    """Whether the daemon's HTTP app routes ``method path``, on a throw-away SQLite store."""
    store = Store.open(f"sqlite:///{tmp_path_factory.mktemp('store') / 'store.db'}")
    app = create_app(store, parse_config(example_config_text()).config)

    def serves(method: str, path: str) -> bool:
        # Matched as a request would be: the routes are grouped in routers and some
        # paths are templates (/webhooks/{connector}), so a list of paths would not do.
        scope = {"type": "http", "method": method, "path": path, "root_path": "", "headers": []}
        return any(route.matches(scope)[0] is Match.FULL for route in app.routes)

    try:
        yield serves
    finally:
        store.engine.dispose()
