"""Notifications outside the CRM: a Slack-compatible incoming webhook or a generic one.

They travel through the outbox like every other effect (kind ``webhook``), so they are
retried with backoff and never lost. A webhook cannot be asked afterwards whether it
received a post, so a post interrupted by a crash may arrive twice; each carries an
``Idempotency-Key`` header so a receiver can drop the repeat.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests
from pydantic import SecretStr

from crmbridge.connector import WriteResult

WEBHOOK = "webhook"
TIMEOUT = (5.0, 15.0)


class Notifier:
    """Posts notification payloads to the configured webhook URLs (secrets)."""

    def __init__(self, slack_url: SecretStr | None, webhook_url: SecretStr | None) -> None:
        self._urls = {"slack": slack_url, "webhook": webhook_url}
        self._session = requests.Session()

    def __repr__(self) -> str:
        configured = sorted(name for name, url in self._urls.items() if url is not None)
        return f"Notifier(channels={configured})"

    @property
    def channels(self) -> list[str]:
        """The channels with a URL configured."""
        return [name for name, url in self._urls.items() if url is not None]

    def send(self, crm_id: str, key: str, payload: Mapping[str, Any]) -> WriteResult:
        """Post one notification; the outcome says whether to retry."""
        channel = str(payload.get("channel", "webhook"))
        url = self._urls.get(channel)
        if url is None:
            return WriteResult(crm_id, False, f"no {channel} webhook URL is configured")
        body = {"text": payload.get("text", "")} if channel == "slack" else payload.get("body", {})
        try:
            response = self._session.post(
                url.get_secret_value(),
                json=body,
                headers={"Idempotency-Key": key},
                timeout=TIMEOUT,
            )
        except requests.RequestException as exc:
            # The exception's text can hold the URL, which is a secret.
            return WriteResult(
                crm_id,
                False,
                f"{channel} webhook unreachable ({type(exc).__name__})",
                retriable=True,
            )
        if response.status_code < 300:
            return WriteResult(crm_id, True)
        retriable = response.status_code == 429 or response.status_code >= 500
        return WriteResult(
            crm_id, False, f"{channel} webhook answered HTTP {response.status_code}", retriable
        )
