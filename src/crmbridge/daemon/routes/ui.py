"""``/ui``: the read-only dashboard, behind ``[daemon] ui_token``.

``GET /ui/login`` shows a one-field form; ``POST /ui/login`` compares the token in
constant time and, when it matches, sets an HttpOnly, SameSite=Strict cookie holding a
signed expiry (:mod:`crmbridge.daemon.ui_session`) and sends the browser to ``/ui``.
``GET /ui`` (``?week=2026-W47`` for another week; the current week by default) renders
the page of :mod:`crmbridge.daemon.dashboard`. ``POST /ui/logout`` clears the cookie.

Sign-in and sign-out are the only requests that change anything, and a cross-site one
is refused: its ``Origin`` (or, without one, its ``Referer``) must be ``daemon.public_url``
when that is set, this request's own host otherwise. Behind a proxy that ends TLS
(``public_url`` starting with ``https://``) the cookie is ``Secure`` although the daemon
itself is reached over plain HTTP. Failed sign-ins are throttled per client
(:mod:`crmbridge.daemon.login_throttle`): past the limit a client gets 429 with
``Retry-After``, whatever token it sends.

Without ``ui_token`` every ``/ui`` path answers 404 saying how to switch it on. The token
is never logged nor echoed; a failed login is logged without what was typed.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from crmbridge.daemon import ui_session
from crmbridge.daemon.dashboard import PAGES, Live, render, texts_for
from crmbridge.daemon.routes.context import AppContext, Context, log, wall_clock
from crmbridge.i18n import N_
from crmbridge.report.periods import current_week, iso_week

router = APIRouter(include_in_schema=False)

#: Longest login form body read.
MAX_FORM_BYTES = 4096
OFF = (
    "The dashboard is off: set [daemon] ui_token (or CRMBRIDGE__DAEMON__UI_TOKEN) "
    "and restart the daemon."
)
_HTML = "text/html; charset=utf-8"
#: Pages with the session in them are never stored by a browser or a proxy, nor framed.
#: "same-origin", not "no-referrer": with the latter a browser posts the form with
#: ``Origin: null``, which the login refuses.
_PRIVATE = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    # The pages run no script and load nothing from elsewhere: say so to the browser.
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "img-src data:; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
}


def _token(context: AppContext) -> str | None:
    secret = context.config.daemon.ui_token
    return secret.get_secret_value() if secret is not None else None


def _off() -> Response:
    return Response(OFF + "\n", 404, media_type="text/plain; charset=utf-8")


def _login_page(context: AppContext, problem: str | None, status: int = 200) -> Response:
    t = texts_for(context.config)
    page = PAGES.get_template("login.html").render(
        language=t.language,
        title=t(N_("crmbridge dashboard")),
        token_label=t(N_("Dashboard token")),
        submit=t(N_("Sign in")),
        problem=t(problem) if problem else None,
    )
    return HTMLResponse(page, status, headers=_PRIVATE)


@router.get("/ui/login")
def login_form(context: Context) -> Response:
    """The sign-in form."""
    if _token(context) is None:
        return _off()
    return _login_page(context, None)


@router.post("/ui/login")
async def login(request: Request, context: Context) -> Response:
    """Check the token; on success set the session cookie and go to the dashboard."""
    token = _configured_for_post(request, context, N_("Sign in from the dashboard's own page."))
    if isinstance(token, Response):
        return token
    client = request.client.host if request.client else None
    # Counted as a failure before the token is read (forgotten on success): sign-ins
    # sent at once get no more tries than sent one after another.
    wait = context.logins.attempt(client)
    if wait is not None:
        # Refused before the token is read: the answer says nothing about it.
        log.warning("ui.login_throttled", client=client, retry_after_s=wait)
        return _throttled(context, wait)
    given, status = await _given_token(request)
    if status != 200 or given is None or not ui_session.token_matches(given, token):
        log.warning("ui.login_refused", client=client)
        return _login_page(context, N_("Wrong token."), status if status != 200 else 401)
    context.logins.succeeded(client)
    value = ui_session.issue(ui_session.session_key(token), context.clock())
    response = RedirectResponse("/ui", 303, headers=_PRIVATE)
    max_age = int(ui_session.LIFETIME.total_seconds())
    response.set_cookie(ui_session.COOKIE, value, max_age, **_cookie_flags(request, context))
    return response


@router.post("/ui/logout")
async def logout(request: Request, context: Context) -> Response:
    """Forget the session here, clear the cookie and go back to the sign-in form."""
    token = _configured_for_post(request, context, N_("Sign out from the dashboard's own page."))
    if isinstance(token, Response):
        return token
    cookie = request.cookies.get(ui_session.COOKIE)
    now = context.clock()
    if ui_session.valid(ui_session.session_key(token), cookie, now):
        # Only a value this key signed is remembered: forged ones cannot fill the set.
        context.signed_out.add(cookie, now)
    response = RedirectResponse("/ui/login", 303, headers=_PRIVATE)
    response.delete_cookie(ui_session.COOKIE, **_cookie_flags(request, context))
    return response


def _configured_for_post(request: Request, context: AppContext, cross_site: str) -> str | Response:
    """The configured token, or the answer to a post when the dashboard is off (404) or
    the post comes from another site (403 saying ``cross_site``)."""
    token = _token(context)
    if token is None:
        return _off()
    if not _same_origin(request, context.config.daemon.public_url):
        return _login_page(context, cross_site, 403)
    return token


async def _given_token(request: Request) -> tuple[str | None, int]:
    """The form's token and 200, or None and the status of a body that is no login form."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return None, 413
    try:
        form = parse_qs(body.decode("utf-8", "replace"), max_num_fields=5)
    except ValueError:  # more fields than a login form has
        return None, 400
    return form.get("token", [""])[0], 200


def _throttled(context: AppContext, wait: int) -> Response:
    response = _login_page(
        context, N_("Too many failed sign-ins from this address. Try again later."), 429
    )
    response.headers["Retry-After"] = str(wait)
    return response


def _cookie_flags(request: Request, context: AppContext) -> dict[str, Any]:
    """The session cookie's scope and flags, the same to set it and to clear it.

    ``Secure`` over HTTPS, seen here or at the public URL (a proxy that ends TLS).
    """
    public = context.config.daemon.public_url
    secure = request.url.scheme == "https" or urlsplit(public or "").scheme == "https"
    return {"path": "/ui", "secure": secure, "httponly": True, "samesite": "strict"}


def _origin(url: str) -> str:
    """``scheme://host[:port]`` of ``url``; ``"null"`` (no page) for an unreadable one."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:  # "http://[::1": a header no browser sends, refused as cross-site
        return "null"
    return f"{parts.scheme}://{parts.netloc}".lower()


def _same_origin(request: Request, public_url: str | None) -> bool:
    """A form posted from the dashboard's own page (or by a client that names no page).

    The page is ``public_url`` when set (the host a proxy passes on may be another, and
    a DNS-rebinding page would carry its own name in ``Host``); this host otherwise.
    """
    origin = request.headers.get("origin")
    if origin is None:
        origin = request.headers.get("referer")
        if origin is None:
            return True
    page = _origin(origin)
    if page == "null":
        return False
    if public_url:
        return page == _origin(public_url)
    host = page.partition("://")[2]
    return bool(host) and host == request.headers.get("host", "").lower()


@router.get("/ui")
async def dashboard(
    request: Request,
    context: Context,
    week: Annotated[str | None, Query(max_length=16)] = None,
) -> Response:
    """The dashboard (signed-in browsers only; others are sent to the form)."""
    token = _token(context)
    if token is None:
        return _off()
    now = context.clock()
    cookie = request.cookies.get(ui_session.COOKIE)
    key = ui_session.session_key(token)
    if not ui_session.valid(key, cookie, now) or cookie in context.signed_out:
        return RedirectResponse("/ui/login", 303, headers=_PRIVATE)
    t = texts_for(context.config)
    try:
        period = iso_week(week, t.zone) if week else current_week(now, t.zone)
    except ValueError as exc:
        return Response(f"{exc}\n", 400, media_type="text/plain; charset=utf-8")
    state = context.probe.check()
    health = context.health.report(wall_clock()) if context.health is not None else None
    live = Live(health=health, store_writable=state.ok, store_error=state.error)
    page = await run_in_threadpool(render, context.store, context.config, period, now, live)
    return HTMLResponse(page, headers=_PRIVATE)
