"""``/ui`` through the ASGI app: the login, the signed cookie, and a page whose numbers
are those of ``crmbridge report --json`` on the same store."""

from __future__ import annotations

from datetime import timedelta
from html import unescape
from pathlib import Path

import pytest
import structlog
from fastapi.testclient import TestClient
from httpx import Response
from pydantic import SecretStr

from crmbridge.daemon.http import create_app
from crmbridge.daemon.sync_health import SyncHealth
from crmbridge.store.repository import Store

from .dashboard_pages import NOW, UI_TOKEN, WEEK, config_for, json_report, read_page, seed_live

LOGIN = {"Content-Type": "application/x-www-form-urlencoded"}


def _client(store: Store, language: str = "en", clock: list | None = None) -> TestClient:
    moment = clock or [NOW]
    config = config_for(str(store.engine.url), language)
    health = SyncHealth(
        ["hubspot"],
        poll_interval=config.daemon.poll_interval,
        unhealthy_after_cycles=3,
        started_at=NOW,
    )
    app = create_app(store, config, clock=lambda: moment[0], health=health)
    return TestClient(app, base_url="http://testserver", follow_redirects=False)


def _login(client: TestClient, token: str = UI_TOKEN) -> str:
    answer = client.post("/ui/login", content=f"token={token}", headers=LOGIN)
    assert answer.status_code == 303, answer.text
    return answer.cookies["crmbridge_ui"]


def _get(client: TestClient, path: str, cookie: str) -> Response:
    client.cookies.clear()
    client.cookies.set("crmbridge_ui", cookie)
    return client.get(path)


def test_without_a_ui_token_the_dashboard_is_off_and_says_how_to_switch_it_on(
    sqlite_store: Store,
) -> None:
    config = config_for(str(sqlite_store.engine.url))
    config = config.model_copy(
        update={"daemon": config.daemon.model_copy(update={"ui_token": None})}
    )
    client = TestClient(create_app(sqlite_store, config, clock=lambda: NOW))
    for answer in (client.get("/ui"), client.get("/ui/login"), client.post("/ui/login")):
        assert answer.status_code == 404
        assert "set [daemon] ui_token" in answer.text


def test_a_wrong_token_is_refused_and_never_logged(sqlite_store: Store) -> None:
    client = _client(sqlite_store)
    with structlog.testing.capture_logs() as logs:
        answer = client.post("/ui/login", content="token=not-the-token", headers=LOGIN)
    assert answer.status_code == 401
    assert "crmbridge_ui" not in answer.cookies
    assert "Wrong token." in answer.text and "not-the-token" not in answer.text
    assert [entry["event"] for entry in logs] == ["ui.login_refused"]
    assert "not-the-token" not in repr(logs) and UI_TOKEN not in repr(logs)
    # Nothing but the form's own page may post it.
    foreign = client.post(
        "/ui/login",
        content=f"token={UI_TOKEN}",
        headers={**LOGIN, "Origin": "https://evil.example"},
    )
    assert foreign.status_code == 403 and "crmbridge_ui" not in foreign.cookies
    own = client.post(
        "/ui/login",
        content=f"token={UI_TOKEN}",
        headers={**LOGIN, "Origin": "http://testserver"},
    )
    assert own.status_code == 303 and own.headers["location"] == "/ui"
    assert client.post("/ui/login", content="x" * 5000, headers=LOGIN).status_code == 413
    # More fields than a login form has: refused, not an internal error.
    assert client.post("/ui/login", content="a&" * 6, headers=LOGIN).status_code == 400
    page = client.get("/ui/login")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"


def test_the_page_needs_the_cookie_and_refuses_a_tampered_or_expired_one(
    sqlite_store: Store,
) -> None:
    clock = [NOW]
    client = _client(sqlite_store, clock=clock)
    answer = client.get("/ui")
    assert answer.status_code == 303 and answer.headers["location"] == "/ui/login"
    assert client.get("/ui/login").status_code == 200

    login = client.post("/ui/login", content=f"token={UI_TOKEN}", headers=LOGIN)
    header = login.headers["set-cookie"]
    assert "HttpOnly" in header and "SameSite=strict" in header and "Path=/ui" in header
    assert UI_TOKEN not in header
    cookie = login.cookies["crmbridge_ui"]
    expires, _, signature = cookie.partition(".")

    client.cookies.clear()
    for forged in (
        f"{int(expires) + 3600}.{signature}",  # a later expiry under the old signature
        f"{expires}.{signature[:-1]}{'0' if signature[-1] != '0' else '1'}",
        "garbage",
        "9" * 300,
    ):
        answer = _get(client, "/ui", forged)
        assert answer.status_code == 303, forged

    ok = _get(client, "/ui", cookie)
    assert ok.status_code == 200 and ok.headers["cache-control"] == "no-store"
    clock[0] = NOW + timedelta(hours=12, seconds=1)
    assert _get(client, "/ui", cookie).status_code == 303
    # Another token signs other cookies: a token change ends every session.
    other = config_for(str(sqlite_store.engine.url))
    other = other.model_copy(
        update={"daemon": other.daemon.model_copy(update={"ui_token": SecretStr("rotated-token")})}
    )
    rotated = TestClient(create_app(sqlite_store, other, clock=lambda: NOW), follow_redirects=False)
    assert _get(rotated, "/ui", cookie).status_code == 303


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_page_shows_the_json_reports_numbers_and_the_live_state(
    store: Store, store_url: str, tmp_path: Path, language: str
) -> None:
    seed_live(store)
    document = json_report(store_url, tmp_path, language)
    client = _client(store, language)
    cookie = _login(client)

    answer = _get(client, f"/ui?week={WEEK}", cookie)

    assert answer.status_code == 200, answer.text
    html = answer.text
    page = read_page(html)
    assert page.charts == 4
    for name, records in document["tables"].items():
        assert page.tables[name] == records, name
    # The hot-lead queue: longest waiting first, owners by name, hours since hot.
    assert page.tables["hot_leads"] == [
        {
            "lead": "l5@example.com",
            "score": 91,
            "owner": "Bruno <b>Díaz</b>",
            "hot_since": "2026-11-24T09:00:00+00:00",
            "hours_since_hot": 27.0,
        },
        {
            "lead": "l1@example.com",
            "score": 88,
            "owner": "Ana García",
            "hot_since": "2026-11-25T08:30:00+00:00",
            "hours_since_hot": 3.5,
        },
    ]
    assert "Bruno <b>" not in html and "Bruno &lt;b&gt;Díaz&lt;/b&gt;" in html
    clocks = {row["lead"]: row for row in page.tables["sla_clocks"]}
    assert clocks["l4@example.com"]["state"] == "breached"
    assert clocks["l6@example.com"]["owner"] == "Ana García"
    assert page.tables["sync_cycles"] == [
        {
            "started": "2026-11-25T11:55:00+00:00",
            "status": "ok",
            "read": 12,
            "scored": 7,
            "written": 3,
            "failed": 0,
            "duration_s": 4.25,
        }
    ]
    assert page.tables["outbox"] == [
        {"status": "dead", "rows": 1},
        {"status": "done", "rows": 1},
        {"status": "pending", "rows": 2},
    ]
    assert [row["name"] for row in page.tables["sync_health"]] == ["store", "hubspot"]
    (model,) = page.tables["model"]
    assert model["since"] is None  # the seeded scores are of another model
    titles = {"en": "This week's review", "es": "Revisión de la semana"}
    assert titles[language] in unescape(html)
    # Nothing is fetched from elsewhere and nothing runs.
    for outside in ("<script", "<link", "<img", "src="):
        assert outside not in html


def test_a_bad_week_is_a_400_naming_it(sqlite_store: Store) -> None:
    client = _client(sqlite_store)
    cookie = _login(client)
    answer = _get(client, "/ui?week=2026-W99", cookie)
    assert answer.status_code == 400 and "no ISO week 99" in answer.text
    # The default is the week ``now`` is in, however empty.
    assert "2026-W48" in _get(client, "/ui", cookie).text
