"""Send the weekly report by e-mail: a short text summary, the HTML page attached."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from email.message import EmailMessage

from crmbridge.errors import CrmbridgeError
from crmbridge.settings import SmtpSettings


class ReportMailError(CrmbridgeError):
    """The report could not be handed to the mail server (the reason, never a secret)."""


def build_message(
    sender: str, to: Sequence[str], subject: str, text: str, html: str, filename: str
) -> EmailMessage:
    """The e-mail: ``text`` as its body and the page as an attachment."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Subject"] = subject
    message.set_content(text)
    message.add_attachment(html.encode("utf-8"), "text", "html", filename=filename)
    return message


def send(settings: SmtpSettings, message: EmailMessage) -> None:
    """Hand ``message`` to the server of ``[report.smtp]``; ReportMailError on failure."""
    timeout = settings.timeout.total_seconds()
    context = ssl.create_default_context()
    try:
        if settings.security == "tls":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                settings.host, settings.port, timeout=timeout, context=context
            )
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=timeout)
        with client:
            if settings.security == "starttls":
                client.starttls(context=context)
            if settings.username:
                password = settings.password.get_secret_value() if settings.password else ""
                client.login(settings.username, password)
            client.send_message(message)
    except smtplib.SMTPAuthenticationError as exc:
        raise ReportMailError(
            f"the mail server {settings.host}:{settings.port} refused the login "
            f"({exc.smtp_code}): check [report.smtp] username and password"
        ) from None
    except smtplib.SMTPException as exc:
        raise ReportMailError(
            f"the mail server {settings.host}:{settings.port} refused the report: "
            f"{type(exc).__name__}"
        ) from None
    except OSError as exc:
        raise ReportMailError(
            f"cannot reach the mail server {settings.host}:{settings.port}: "
            f"{exc.strerror or type(exc).__name__}"
        ) from None
