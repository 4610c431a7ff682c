"""``[connectors.hubspot]``: how crmbridge signs in to HubSpot and where its API is."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from types import MappingProxyType
from typing import Annotated, ClassVar

from pydantic import Field, SecretStr

from crmbridge.connector import ConnectorSettings, Duration, at_least, at_most

#: Every HubSpot call gives up after this long without an answer (``timeout``).
DEFAULT_TIMEOUT = timedelta(seconds=30)
#: Longer waits would outlast the daemon's 30-second stop; shorter ones fail slow answers.
MAX_TIMEOUT = timedelta(minutes=5)


class HubSpotSettings(ConnectorSettings):
    """``[connectors.hubspot]``: a private-app token (or OAuth) and the API base URL."""

    access_token: SecretStr | None = None
    base_url: str = "https://api.hubapi.com"
    app_secret: SecretStr | None = Field(default=None, description="Verifies webhook signatures.")
    client_id: str | None = None
    client_secret: SecretStr | None = None
    refresh_token: SecretStr | None = None
    timeout: Annotated[Duration, at_least(timedelta(milliseconds=100)), at_most(MAX_TIMEOUT)] = (
        Field(
            default=DEFAULT_TIMEOUT,
            description="Give up on a HubSpot call that has not answered (or connected) after "
            "this long; the call is then retried with backoff like any other unanswered call.",
        )
    )

    #: Without an app secret HubSpot webhooks are answered 503 and polling alone keeps
    #: the bridge in sync.
    optional_secrets: ClassVar[frozenset[str]] = frozenset({"app_secret"})
    #: An app installed with OAuth keeps the example's access_token line unset.
    secret_alternatives: ClassVar[Mapping[str, tuple[str, ...]]] = MappingProxyType(
        {"access_token": ("client_id", "client_secret", "refresh_token")}
    )

    def endpoint(self) -> str | None:
        """HubSpot's API base URL (a local sandbox's in tests and the demo)."""
        return self.base_url
