"""``[connectors.hubspot]``: how crmbridge signs in to HubSpot and where its API is."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from types import MappingProxyType
from typing import Annotated, ClassVar

from pydantic import Field, SecretStr

from crmbridge.connector import ConnectorSettings, Duration, at_least, at_most

#: Every HubSpot call gives up after this long without an answer (``timeout``).
DEFAULT_TIMEOUT = timedelta(seconds=20)
#: The longest accepted. Above the daemon's 30-second graceful stop, a stop during a
#: stalled call ends the process (safely: the outbox sends the writes again).
MAX_TIMEOUT = timedelta(minutes=5)

#: HubSpot indexes a change for search "within a few moments": five minutes is ample.
DEFAULT_LOOKBACK = timedelta(minutes=5)
#: A longer window re-reads more than it can catch: the page bound caps it anyway.
MAX_LOOKBACK = timedelta(days=1)
#: The look-back re-reads at most this many pages of records already read, per read.
DEFAULT_LOOKBACK_PAGES = 2


class HubSpotSettings(ConnectorSettings):
    """``[connectors.hubspot]``: a private-app token (or OAuth) and the API base URL."""

    access_token: SecretStr | None = None
    base_url: str = "https://api.hubapi.com"
    app_secret: SecretStr | None = Field(default=None, description="Verifies webhook signatures.")
    client_id: str | None = None
    client_secret: SecretStr | None = None
    refresh_token: SecretStr | None = None
    lookback: Annotated[Duration, at_most(MAX_LOOKBACK)] = Field(
        default=DEFAULT_LOOKBACK,
        description="Each read starts this long before the newest change it read, for "
        "changes HubSpot's search indexes late (docs/hubspot.md).",
    )
    lookback_pages: int = Field(
        default=DEFAULT_LOOKBACK_PAGES,
        ge=0,
        le=50,
        description="The most search pages (200 contacts each) a read spends re-reading "
        "the look-back window.",
    )
    timeout: Annotated[Duration, at_least(timedelta(milliseconds=100)), at_most(MAX_TIMEOUT)] = (
        Field(
            default=DEFAULT_TIMEOUT,
            description="Give up on a HubSpot call that has not connected or answered after "
            "this long; the call fails (not retried: its writes wait in the outbox).",
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
