"""A connector plugin: what a CRM package hands to crmbridge through its entry point."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from crmbridge.connector.protocols import Connector
from crmbridge.connector.sandbox import SandboxProvider
from crmbridge.connector.settings import ConnectorSettings
from crmbridge.connector.webhook import WebhookSupport


@dataclass(frozen=True, slots=True)
class ConnectorPlugin:
    """One CRM, as crmbridge sees it before any account is configured.

    ``name`` is the ``[connectors.<name>]`` table and the connector's name in the store;
    ``settings`` validates that table; ``build`` makes a connector from validated
    settings (it may raise :class:`crmbridge.errors.ConfigError` naming a setting).
    ``title`` is how messages name the CRM ("HubSpot").

    Optional: ``sandbox`` runs the CRM locally for ``crmbridge demo``, ``crmbridge
    sandbox`` and tests (:mod:`crmbridge.connector.sandbox`); ``webhooks``, when the CRM
    pushes changes, verifies and parses its deliveries at ``POST /webhooks/<name>``
    (:mod:`crmbridge.connector.webhook`). ``None`` where the plugin ships none.
    """

    name: str
    title: str
    settings: type[ConnectorSettings]
    build: Callable[[Any], Connector]
    sandbox: SandboxProvider | None = None
    webhooks: WebhookSupport | None = None
