"""The daemon's weekly report: due from the configured day and hour, written to the
folder and e-mailed through a local SMTP server by one replica only, retried after a
refused send (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from crmbridge.config import CrmbridgeConfig, parse_config
from crmbridge.daemon.service import Daemon
from crmbridge.errors import ConfigError
from crmbridge.report.mail import ReportMailError
from crmbridge.report.weekly import due_week, make_weekly_report
from crmbridge.store.repository import Store

from .smtp_server import SmtpServer
from .week47 import CONFIG, NOW, seed

#: Monday 23 November 2026, 06:59 and 07:00 in Madrid (UTC+1).
BEFORE = datetime(2026, 11, 23, 5, 59, tzinfo=UTC)
DUE = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)


def _config(
    url: str, folder: Path, port: int, *, language: str = "es", login: str = ""
) -> CrmbridgeConfig:
    text = (
        CONFIG.format(url=url, language=language)
        + f"""
[report]
enabled = true
folder = "{folder}"
weekday = "mon"
hour = 7
email_to = ["ventas@example.com", "marketing@example.com"]

[report.smtp]
host = "127.0.0.1"
port = {port}
security = "none"
sender = "crmbridge@example.com"
timeout = "5s"
{login}"""
    )
    return parse_config(text).config


def test_the_week_is_due_from_its_day_and_hour_in_the_business_zone() -> None:
    settings = _config("sqlite:///x.db", Path("/tmp/r"), 25).report
    assert due_week(BEFORE, settings, "Europe/Madrid") is None
    week = due_week(DUE, settings, "Europe/Madrid")
    assert week is not None and week.label == "2026-W47"
    assert due_week(NOW, settings, "Europe/Madrid") == week  # later that week: still W47


def test_one_replica_writes_and_mails_the_week_once(
    store: Store, store_url: str, tmp_path: Path
) -> None:
    seed(store)
    folder = tmp_path / "reports"
    with SmtpServer() as smtp:
        config = _config(store_url, folder, smtp.port)
        replicas = [
            Daemon(config, Store.open(store_url), {}, serve_http=False, clock=lambda: DUE)
            for _ in range(2)
        ]
        replicas[0].schedule()
        assert replicas[0].scheduler.get_job("report") is not None

        for replica in replicas:
            replica.weekly_report()
        assert make_weekly_report(store, config, NOW) is None  # recorded: nothing more
        for replica in replicas:
            replica.store.engine.dispose()

    assert [p.name for p in folder.iterdir()] == ["crmbridge-report-2026-W47.html"]
    assert len(smtp.received) == 1
    mail = smtp.received[0]
    assert mail.sender == "crmbridge@example.com"
    assert mail.recipients == ["ventas@example.com", "marketing@example.com"]
    assert mail.message["Subject"] == "Revisión semanal de marketing y ventas 2026-W47"
    parts = list(mail.message.walk())
    body = next(p for p in parts if p.get_content_type() == "text/plain")
    assert "Nuevos leads" in body.get_payload(decode=True).decode()
    page = next(p for p in parts if p.get_filename() == "crmbridge-report-2026-W47.html")
    assert page.get_payload(decode=True) == (folder / page.get_filename()).read_bytes()


def test_a_refused_send_is_not_recorded_and_the_next_run_sends(
    sqlite_store: Store, tmp_path: Path
) -> None:
    seed(sqlite_store)
    url = str(sqlite_store.engine.url)
    with SmtpServer(refuse_data=True) as smtp:
        config = _config(url, tmp_path / "reports", smtp.port, language="en")
        with pytest.raises(ReportMailError, match="refused the report"):
            make_weekly_report(sqlite_store, config, DUE)
        smtp.refuse_data = False
        path = make_weekly_report(sqlite_store, config, DUE)

    assert path is not None and path.name == "crmbridge-report-2026-W47.html"
    assert len(smtp.received) == 1
    assert smtp.received[0].message["Subject"] == "Weekly marketing–sales review 2026-W47"


def test_an_unreachable_mail_server_is_named_without_the_password(
    sqlite_store: Store, tmp_path: Path
) -> None:
    seed(sqlite_store)
    with SmtpServer() as smtp:
        port = smtp.port  # closed when the block ends: nothing listens there any more
    login = 'username = "bot"\npassword = "hunter2-secret"\n'
    config = _config(str(sqlite_store.engine.url), tmp_path, port, login=login)
    with pytest.raises(ReportMailError) as caught:
        make_weekly_report(sqlite_store, config, DUE)
    assert f"cannot reach the mail server 127.0.0.1:{port}" in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_report_settings_are_checked_with_their_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config('[report]\nenabled = true\nemail_to = ["not an address"]\n')
    text = str(caught.value)
    assert "report" in text and "email_to" in text
    with pytest.raises(ConfigError, match="folder is required"):
        parse_config("[report]\nenabled = true\n")
    relative = parse_config('[report]\nfolder = "weekly"\n', base_dir=tmp_path).config
    assert relative.report.folder == tmp_path / "weekly"


def test_the_report_signs_in_to_the_mail_server_and_a_refused_login_is_explained(
    sqlite_store: Store, tmp_path: Path
) -> None:
    seed(sqlite_store)
    url = str(sqlite_store.engine.url)
    with SmtpServer(login=("bot", "right-password")) as smtp:
        wrong = _config(url, tmp_path, smtp.port, login='username = "bot"\npassword = "wrong"\n')
        with pytest.raises(ReportMailError, match="refused the login") as caught:
            make_weekly_report(sqlite_store, wrong, DUE)
        assert "wrong" not in str(caught.value)
        right = 'username = "bot"\npassword = "right-password"\n'
        path = make_weekly_report(sqlite_store, _config(url, tmp_path, smtp.port, login=right), DUE)

    assert path is not None
    assert smtp.authenticated == ["bot"]
    assert len(smtp.received) == 1
