"""The base of a connector's ``[connectors.<name>]`` table."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from crmbridge.durations import Duration, at_least, at_most
from crmbridge.strict import Strict

#: What a plugin's settings use for durations (``timeout = "30s"``), read like the core's.
__all__ = ["ConnectorSettings", "Duration", "at_least", "at_most"]


class ConnectorSettings(Strict):
    """``[connectors.<name>]``: what every connector's settings model starts from.

    A plugin subclasses it with its own keys; crmbridge validates the table against it,
    so an unknown or mistyped key is refused with its path and a did-you-mean. Secrets
    are :class:`pydantic.SecretStr`, written in TOML as ``"${ENV_NAME}"``.
    """

    enabled: bool = False

    #: Secrets the table works without: an unset ``${VAR}`` only warns.
    optional_secrets: ClassVar[frozenset[str]] = frozenset()
    #: A secret that another way of signing in replaces: it may stay unset when every
    #: key listed for it is set.
    secret_alternatives: ClassVar[Mapping[str, tuple[str, ...]]] = {}

    def endpoint(self) -> str | None:
        """The base URL of the API the connector calls, where it is configurable.

        crmbridge refuses to write the bundled example model into any endpoint other
        than a local sandbox; ``None`` means the connector always reaches the vendor.
        """
        return None
