"""The dashboard's sign-in over real HTTP (uvicorn, httpx): failed sign-ins throttled per
client without ever answering on the token, sign-out, and ``daemon.public_url``
honoured for the origin check and the cookie's ``Secure`` flag."""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
import structlog

from crmbridge.daemon.http import create_app
from crmbridge.daemon.login_throttle import LIMIT, WINDOW_S, LoginThrottle, client_key
from crmbridge.store.repository import Store

from .dashboard_pages import NOW, UI_TOKEN, config_for
from .live_server import serving

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
PUBLIC = "https://crmbridge.acme.es"


@contextmanager
def _daemon(
    store: Store, public_url: str | None = None, language: str = "en"
) -> Iterator[tuple[httpx.Client, list[float]]]:
    """A client of the app on uvicorn, and the throttle's clock (seconds) to move on."""
    config = config_for(str(store.engine.url), language)
    if public_url is not None:
        daemon = config.daemon.model_copy(update={"public_url": public_url})
        config = config.model_copy(update={"daemon": daemon})
    moment = [1000.0]
    logins = LoginThrottle(clock=lambda: moment[0])
    app = create_app(store, config, clock=lambda: NOW, logins=logins)
    with serving(app) as url, httpx.Client(base_url=url, follow_redirects=False) as client:
        yield client, moment


def _sign_in(client: httpx.Client, token: str, **headers: str) -> httpx.Response:
    client.cookies.clear()
    return client.post("/ui/login", content=f"token={token}", headers={**FORM, **headers})


def test_failed_sign_ins_are_throttled_per_client_and_never_answer_on_the_token(
    sqlite_store: Store,
) -> None:
    with _daemon(sqlite_store) as (client, moment):
        for _ in range(LIMIT):
            assert _sign_in(client, "wrong-token-0000000").status_code == 401
        with structlog.testing.capture_logs() as logs:
            wrong = _sign_in(client, "wrong-token-0000000")
            right = _sign_in(client, UI_TOKEN)
        # Past the limit the right token gets exactly the wrong one's answer: no oracle.
        for answer in (wrong, right):
            assert answer.status_code == 429
            assert answer.headers["retry-after"] == str(int(WINDOW_S))
            assert "set-cookie" not in answer.headers
            assert "Too many failed sign-ins" in answer.text
        assert wrong.text == right.text
        assert [entry["event"] for entry in logs] == ["ui.login_throttled"] * 2
        assert UI_TOKEN not in repr(logs)

        moment[0] += 20  # Retry-After counts down with the window
        assert _sign_in(client, UI_TOKEN).headers["retry-after"] == str(int(WINDOW_S) - 20)
        moment[0] += WINDOW_S - 20  # the window has passed: the token works again
        assert _sign_in(client, UI_TOKEN).status_code == 303
        # A success forgets the failures: a typo afterwards is a plain 401.
        assert _sign_in(client, "wrong-token-0000000").status_code == 401


def test_bodies_that_are_no_login_form_count_as_failures(sqlite_store: Store) -> None:
    with _daemon(sqlite_store) as (client, _):
        statuses = []
        for body in ("x" * 5000, "a&" * 6, "x" * 5000, "a&" * 6, "token="):
            client.cookies.clear()
            statuses.append(client.post("/ui/login", content=body, headers=FORM).status_code)
        assert statuses == [413, 400, 413, 400, 401]
        assert _sign_in(client, UI_TOKEN).status_code == 429


def test_the_throttle_counts_each_client_apart_and_stays_bounded() -> None:
    moment = [0.0]
    throttle = LoginThrottle(limit=2, window_s=10, max_clients=3, clock=lambda: moment[0])
    for _ in range(2):
        throttle.failed("10.0.0.1")
    assert throttle.retry_after("10.0.0.1") == 10
    assert throttle.retry_after("10.0.0.2") is None
    # One IPv6 host usually holds a /64: its addresses share one count.
    throttle.failed("2001:db8::1")
    throttle.failed("2001:db8::ffff")
    assert throttle.retry_after("2001:db8::42") == 10
    assert client_key("2001:db8::1") == "2001:db8::/64"
    # More clients than remembered: the least recently failing is forgotten first.
    for host in ("10.0.0.3", "10.0.0.4"):
        throttle.failed(host)
    assert throttle.retry_after("10.0.0.1") is None
    moment[0] = 10.5
    assert throttle.retry_after("2001:db8::1") is None


def test_sign_out_clears_the_cookie_and_the_session_it_held(sqlite_store: Store) -> None:
    with _daemon(sqlite_store) as (client, _):
        cookie = _sign_in(client, UI_TOKEN).cookies["crmbridge_ui"]
        client.cookies.set("crmbridge_ui", cookie)
        page = client.get("/ui")
        assert page.status_code == 200 and 'action="/ui/logout"' in page.text
        out = client.post("/ui/logout")
        assert out.status_code == 303 and out.headers["location"] == "/ui/login"
        cleared = out.headers["set-cookie"]
        assert cleared.startswith('crmbridge_ui="";') or cleared.startswith("crmbridge_ui=;")
        assert "Max-Age=0" in cleared and "Path=/ui" in cleared
        # A copy of the old cookie (kept by another tab, or stolen) no longer opens the page.
        client.cookies.clear()
        client.cookies.set("crmbridge_ui", cookie)
        assert client.get("/ui").status_code == 303
        # Signing out from another site is refused and leaves the session alone.
        other = _sign_in(client, UI_TOKEN).cookies["crmbridge_ui"]
        client.cookies.set("crmbridge_ui", other)
        foreign = client.post("/ui/logout", headers={"Origin": "https://evil.example"})
        assert foreign.status_code == 403
        assert client.get("/ui").status_code == 200


@pytest.mark.parametrize(
    ("headers", "allowed"),
    [
        ({"Origin": PUBLIC}, True),
        ({"Origin": PUBLIC + ":443"}, False),  # another origin to a browser
        ({"Referer": PUBLIC + "/ui/login"}, True),
        ({"Origin": "http://crmbridge.acme.es"}, False),  # the plain-HTTP page
        ({"Origin": "https://evil.example"}, False),
        ({"Referer": "https://evil.example/ui/login"}, False),
        ({"Origin": "null"}, False),
        ({}, True),  # no browser behind it: nothing cross-site to stop
    ],
)
def test_behind_a_proxy_sign_in_is_accepted_only_from_the_public_url_with_a_secure_cookie(
    sqlite_store: Store, headers: dict[str, str], allowed: bool
) -> None:
    with _daemon(sqlite_store, public_url=PUBLIC + "/") as (client, _):
        # The daemon's own address is not the public page: a rebinding page carries it.
        own = _sign_in(client, UI_TOKEN, Origin=str(client.base_url).rstrip("/"))
        assert own.status_code == 403
        answer = _sign_in(client, UI_TOKEN, **headers)
        assert answer.status_code == (303 if allowed else 403)
        if allowed:
            header = answer.headers["set-cookie"]
            # The proxy ends TLS: the daemon sees plain HTTP, the browser https.
            assert "; Secure" in header and "HttpOnly" in header


def test_without_a_public_url_the_cookie_is_not_secure_over_plain_http(
    sqlite_store: Store,
) -> None:
    with _daemon(sqlite_store) as (client, _):
        answer = _sign_in(client, UI_TOKEN, Origin=str(client.base_url).rstrip("/"))
        assert answer.status_code == 303 and "Secure" not in answer.headers["set-cookie"]


@pytest.mark.parametrize("public_url", [None, PUBLIC])
@pytest.mark.parametrize("header", ["Origin", "Referer"])
def test_a_page_address_that_cannot_be_read_is_another_site(
    sqlite_store: Store, public_url: str | None, header: str
) -> None:
    with _daemon(sqlite_store, public_url=public_url) as (client, _):
        answer = _sign_in(client, UI_TOKEN, **{header: "http://[::1/ui/login"})
        assert answer.status_code == 403 and "set-cookie" not in answer.headers


def test_the_spanish_dashboard_says_it_in_spanish(sqlite_store: Store) -> None:
    with _daemon(sqlite_store, language="es") as (client, _):
        for _ in range(LIMIT):
            _sign_in(client, "wrong-token-0000000")
        assert "Demasiados intentos fallidos" in _sign_in(client, UI_TOKEN).text


def test_concurrent_failed_sign_ins_get_no_more_guesses_than_the_limit(
    sqlite_store: Store,
) -> None:
    """Sign-ins sent at once (their bodies held back until every request is in) are
    throttled as if sent one after another: at most LIMIT tokens are ever compared."""
    body = b"token=wrong-token-0000000"
    with _daemon(sqlite_store) as (client, _):
        host, port = str(client.base_url.host), int(client.base_url.port or 80)
        sockets = []
        for _ in range(2 * LIMIT):
            sock = socket.create_connection((host, port), timeout=10)
            sock.sendall(
                b"POST /ui/login HTTP/1.1\r\nHost: %s:%d\r\n"
                b"Content-Type: application/x-www-form-urlencoded\r\n"
                b"Content-Length: %d\r\nConnection: close\r\n\r\n"
                % (host.encode(), port, len(body))
            )
            sockets.append(sock)
        time.sleep(0.5)  # every request is now waiting for its body
        statuses = []
        for sock in sockets:
            with contextlib.suppress(OSError):  # a refused one may be closed already
                sock.sendall(body)
            answer = b""
            while b"\r\n" not in answer:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                answer += chunk
            sock.close()
            statuses.append(int(answer.split(b" ", 2)[1]))
        assert sorted(statuses) == [401] * LIMIT + [429] * LIMIT
