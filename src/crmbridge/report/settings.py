"""``[report]``: the weekly report the daemon writes to a folder, and may e-mail."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, model_validator

from crmbridge.durations import Duration, at_least
from crmbridge.strict import Strict

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
#: An e-mail address as far as the report needs one: something@host, no spaces or commas.
Address = Annotated[str, Field(pattern=r"^[^@\s,<>]+@[^@\s,<>]+$", max_length=254)]


class SmtpSettings(Strict):
    """``[report.smtp]``: the mail server the report is sent through."""

    host: str = Field(min_length=1, max_length=253)
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = Field(
        default="starttls",
        description='"starttls" (port 587), "tls" (implicit TLS, port 465), or "none" '
        "(a local relay only).",
    )
    username: str | None = None
    password: SecretStr | None = Field(default=None, description='Written as "${SMTP_PASSWORD}".')
    sender: Address = Field(description="The From address.")
    timeout: Annotated[Duration, at_least(timedelta(seconds=1))] = Field(
        default=timedelta(seconds=30)
    )


class ReportSettings(Strict):
    """``[report]``: the daemon writes last week's report once a week (one replica)."""

    enabled: bool = False
    folder: Path | None = Field(
        default=None,
        description="Where the weekly files go (a relative path is relative to the config "
        "file); required when enabled.",
    )
    weekday: Weekday = Field(default="mon", description="Day the previous week's report is made.")
    hour: int = Field(default=7, ge=0, le=23, description="Hour of that day, [bridge] timezone.")
    email_to: list[Address] = Field(default_factory=list, max_length=100)
    smtp: SmtpSettings | None = None

    @model_validator(mode="after")
    def _complete(self) -> ReportSettings:
        if self.enabled and self.folder is None:
            raise ValueError("folder is required when the weekly report is enabled")
        if self.email_to and self.smtp is None:
            raise ValueError("email_to needs [report.smtp] to send through")
        return self
