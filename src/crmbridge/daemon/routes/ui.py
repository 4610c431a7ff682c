"""``/ui``: the read-only dashboard, behind ``[daemon] ui_token``.

``GET /ui/login`` shows a one-field form; ``POST /ui/login`` compares the token in
constant time and, when it matches, sets an HttpOnly, SameSite=Strict cookie holding a
signed expiry (:mod:`crmbridge.daemon.ui_session`) and sends the browser to ``/ui``.
``GET /ui`` (``?week=2026-W47`` for another week; the current week by default) renders
the page of :mod:`crmbridge.daemon.dashboard`. The login is the only request that
changes anything, and a cross-site one (another ``Origin``) is refused.

Without ``ui_token`` every ``/ui`` path answers 404 saying how to switch it on. The token
is never logged nor echoed; a failed login is logged without what was typed.
"""

from __future__ import annotations

from typing import Annotated
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
    token = _token(context)
    if token is None:
        return _off()
    if not _same_origin(request):
        return _login_page(context, N_("Sign in from the dashboard's own page."), 403)
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return _login_page(context, N_("Wrong token."), 413)
    try:
        form = parse_qs(body.decode("utf-8", "replace"), max_num_fields=5)
    except ValueError:  # more fields than a login form has
        return _login_page(context, N_("Wrong token."), 400)
    given = form.get("token", [""])[0]
    if not ui_session.token_matches(given, token):
        log.warning("ui.login_refused", client=request.client.host if request.client else None)
        return _login_page(context, N_("Wrong token."), 401)
    value = ui_session.issue(ui_session.session_key(token), context.clock())
    response = RedirectResponse("/ui", 303, headers=_PRIVATE)
    response.set_cookie(
        ui_session.COOKIE,
        value,
        max_age=int(ui_session.LIFETIME.total_seconds()),
        path="/ui",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )
    return response


def _same_origin(request: Request) -> bool:
    """A form posted from this host (or by a client that sends no ``Origin``)."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc == request.headers.get("host", "")


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
    if not ui_session.valid(ui_session.session_key(token), cookie, now):
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
