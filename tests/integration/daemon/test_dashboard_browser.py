"""The dashboard in a real headless browser: Debian's chromium signs in through the form
on a page served by uvicorn, then reads the dashboard. Every chart is drawn and every
table holds the numbers of ``crmbridge report --json``.

The screenshot is kept in ``test-artefacts/`` at the repository's root (not committed).
Without ``/usr/bin/chromium`` the test is skipped, except in CI (``.ci/run`` installs it).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crmbridge.daemon.http import create_app
from crmbridge.store.repository import Store

from .dashboard_pages import NOW, UI_TOKEN, WEEK, config_for, json_report, seed_live
from .headless_chromium import CHROMIUM, Browser
from .live_server import serving

ARTEFACTS = Path(__file__).resolve().parents[3] / "test-artefacts"

#: Every table of the page, as records of the cells' raw values, and each chart's size.
READ_PAGE = """(() => {
  const tables = {};
  for (const table of document.querySelectorAll("table[data-table]")) {
    tables[table.dataset.table] = Array.from(table.querySelectorAll("tbody tr"))
      .filter((row) => row.querySelector("td[data-column]"))
      .map((row) => Object.fromEntries(Array.from(row.querySelectorAll("td[data-column]"))
        .map((cell) => [cell.dataset.column, JSON.parse(cell.dataset.value)])));
  }
  const charts = Array.from(document.querySelectorAll("figure svg")).map((svg) => {
    const box = svg.getBoundingClientRect();
    return [Math.round(box.width), Math.round(box.height), svg.querySelectorAll("path").length];
  });
  return {tables, charts, title: document.title, cookie: document.cookie};
})()"""


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Browser]:
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    opened = Browser(tmp_path / "profile")
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def daemon_url(sqlite_store: Store) -> Iterator[str]:
    """The daemon's app on a real uvicorn, on a free port of the loopback."""
    config = config_for(str(sqlite_store.engine.url))
    with serving(create_app(sqlite_store, config, clock=lambda: NOW)) as url:
        yield url


def test_chromium_signs_in_and_sees_every_chart_and_the_json_reports_numbers(
    sqlite_store: Store, daemon_url: str, browser: Browser, tmp_path: Path
) -> None:
    seed_live(sqlite_store)
    document = json_report(str(sqlite_store.engine.url), tmp_path)

    browser.load(f"{daemon_url}/ui?week={WEEK}")  # not signed in: sent to the form
    assert browser.evaluate("location.pathname") == "/ui/login"
    browser.evaluate(
        f"document.getElementById('token').value = {UI_TOKEN!r};"
        "document.querySelector('form').submit()"
    )
    browser.wait_for("Page.loadEventFired")
    assert browser.evaluate("location.pathname") == "/ui", browser.evaluate(
        "document.body.innerText"
    )
    browser.load(f"{daemon_url}/ui?week={WEEK}")
    page: dict[str, Any] = browser.evaluate(READ_PAGE)

    shot = tmp_path / "dashboard.png"
    browser.screenshot(shot)
    ARTEFACTS.mkdir(exist_ok=True)
    shutil.copyfile(shot, ARTEFACTS / "dashboard.png")
    assert shot.read_bytes().startswith(b"\x89PNG")

    assert page["cookie"] == ""  # HttpOnly: no script reads the session
    assert len(page["charts"]) == 4
    for width, height, paths in page["charts"]:
        assert width > 200 and height > 100 and paths > 0
    for name, records in document["tables"].items():
        assert page["tables"][name] == records, name
    assert [row["lead"] for row in page["tables"]["hot_leads"]] == [
        "l5@example.com",
        "l1@example.com",
    ]
    assert {"sla_clocks", "sync_health", "sync_cycles", "outbox", "model"} <= set(page["tables"])

    # Signing out through the page's own button clears the cookie: /ui asks to sign in.
    browser.evaluate("document.querySelector('form.sign-out').submit()")
    browser.wait_for("Page.loadEventFired")
    assert browser.evaluate("location.pathname") == "/ui/login"
    browser.load(f"{daemon_url}/ui?week={WEEK}")
    assert browser.evaluate("location.pathname") == "/ui/login"
