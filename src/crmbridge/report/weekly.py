"""The daemon's weekly report: last week's page written to ``[report] folder`` and,
when ``email_to`` is set, e-mailed — by one replica, once per week.

The job runs every hour; the report of a week is due from ``[report] weekday`` and
``hour`` after it (in ``[bridge] timezone``), so a daemon that was down at that hour
makes it when it is back. The store records each week made: a replica that finds it
there does nothing, and the daemon runs the job under a lock shared by the replicas, so
two never make it at once. A failed send is retried at the next hourly run; a crash
between sending and recording can send a week twice (never zero times).
"""

from __future__ import annotations

import os
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

from crmbridge.config import CrmbridgeConfig
from crmbridge.handoff.business_hours import zone_or_utc
from crmbridge.handoff.settings import WEEKDAYS
from crmbridge.i18n import Texts
from crmbridge.report import mail
from crmbridge.report.collect import build_report
from crmbridge.report.periods import Period, last_full_week
from crmbridge.report.terminal import plain_summary
from crmbridge.report.view import TITLES
from crmbridge.settings import ReportSettings
from crmbridge.store.controls import mark_report_done, report_done


def due_week(now: datetime, settings: ReportSettings, zone_name: str) -> Period | None:
    """The week whose report is due at ``now``; None before its day and hour."""
    zone = zone_or_utc(zone_name)
    week = last_full_week(now, zone)
    day = week.last + timedelta(days=1 + WEEKDAYS.index(settings.weekday))
    due = datetime.combine(day, time(settings.hour), tzinfo=zone)
    return week if now >= due else None


def file_name(period: Period) -> str:
    """``crmbridge-report-2026-W47.html``."""
    return f"crmbridge-report-{period.label}.html"


def make_weekly_report(store: Any, config: CrmbridgeConfig, now: datetime) -> Path | None:
    """Write (and send) the report due at ``now`` unless it was made; the file, or None.

    ``store`` is the daemon's :class:`~crmbridge.store.repository.Store`.
    Raises :class:`~crmbridge.report.mail.ReportMailError` when sending fails (the week
    is then not recorded, and the next run tries again).
    """
    settings = config.report
    period = due_week(now, settings, config.bridge.timezone)
    if period is None or settings.folder is None:
        return None
    with store.session() as session:
        if report_done(session, period.label):
            return None
        result = build_report(session, config, period, now)
    from crmbridge.report.html import render_html  # matplotlib: only when a report is due

    texts = Texts(config.bridge.language, zone_or_utc(config.bridge.timezone))
    page = render_html(result, texts)
    path = settings.folder / file_name(period)
    _write(path, page)
    if settings.email_to and settings.smtp is not None:
        subject = f"{texts(TITLES['report'])} {period.label}"
        message = mail.build_message(
            settings.smtp.sender,
            settings.email_to,
            subject,
            plain_summary(result, texts),
            page,
            path.name,
        )
        mail.send(settings.smtp, message)
    with store.session() as session:
        mark_report_done(session, period.label, now)
        session.commit()
    return path


def _write(path: Path, text: str) -> None:
    """Write whole or not at all: a reader never sees half a page."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    partial.write_text(text, "utf-8")
    partial.replace(path)
