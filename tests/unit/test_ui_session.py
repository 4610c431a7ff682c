"""The dashboard's session cookie: what it signs, when it expires, and that no cookie a
browser could send makes the check fail other than by saying no."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from crmbridge.daemon import ui_session

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
KEY = ui_session.session_key("ui-token")


def test_a_cookie_is_valid_until_its_expiry_and_only_under_its_key() -> None:
    cookie = ui_session.issue(KEY, NOW)
    assert ui_session.valid(KEY, cookie, NOW)
    assert ui_session.valid(KEY, cookie, NOW + ui_session.LIFETIME - timedelta(seconds=1))
    assert not ui_session.valid(KEY, cookie, NOW + ui_session.LIFETIME)
    assert not ui_session.valid(ui_session.session_key("other-token"), cookie, NOW)
    assert "ui-token" not in cookie and KEY.hex() not in cookie


def test_the_token_is_compared_whole() -> None:
    assert ui_session.token_matches("ui-token", "ui-token")
    for wrong in ("", "ui-toke", "ui-token ", "UI-TOKEN", "ui-tokén"):
        assert not ui_session.token_matches(wrong, "ui-token")


@given(st.text(max_size=400))
def test_any_other_cookie_is_refused_without_an_error(value: str) -> None:
    assert ui_session.valid(KEY, value, NOW) is (value == ui_session.issue(KEY, NOW))


@given(st.integers(min_value=0, max_value=10**13), st.text(max_size=80))
def test_a_made_up_expiry_needs_the_signature(expires: int, signature: str) -> None:
    forged = f"{expires}.{signature}"
    assert not ui_session.valid(KEY, forged, NOW) or forged == ui_session.issue(
        KEY, datetime.fromtimestamp(expires, UTC) - ui_session.LIFETIME
    )


def test_the_daemons_app_loads_no_chart_library_until_a_page_is_asked_for() -> None:
    import subprocess
    import sys

    probe = "import sys, crmbridge.daemon.http; print('matplotlib' in sys.modules)"
    found = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert found.stdout.strip() == "False"


@given(st.text(max_size=200))
def test_any_client_address_is_counted_without_an_error(host: str) -> None:
    from crmbridge.daemon.login_throttle import LoginThrottle, client_key

    throttle = LoginThrottle(limit=1, clock=lambda: 0.0)
    throttle.failed(host)
    assert throttle.retry_after(host) == 60
    assert len(client_key(host)) <= 64


def test_a_signed_out_cookie_is_remembered_until_it_expires_and_no_longer() -> None:
    signed_out = ui_session.SignedOut()
    first, second = ui_session.issue(KEY, NOW), ui_session.issue(KEY, NOW)
    assert first != second  # two sign-ins in one second are two sessions
    signed_out.add(first, NOW)
    assert first in signed_out and second not in signed_out
    for junk in ("", "garbage", "12.34", "9" * 300):
        signed_out.add(junk, NOW)
        assert junk not in signed_out
    signed_out.add(second, NOW + ui_session.LIFETIME)  # forgets what has expired by then
    assert first not in signed_out
