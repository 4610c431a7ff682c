"""A connector plugin: what a CRM package hands to crmbridge through its entry point."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from crmbridge.connector.protocols import Connector
from crmbridge.connector.sandbox import SandboxProvider
from crmbridge.connector.settings import ConnectorSettings
from crmbridge.connector.webhook import WebhookSupport

#: What a connector may be called: it names rows of the store's ``cursors`` table (a
#: 32-character column) and an environment variable. Starting with a letter, it can
#: never be a namespace the core keeps in that table for itself (those start with
#: ``_``, such as the hand-off switches' ``_handoff``).
CONNECTOR_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")


def valid_name(name: str) -> bool:
    """Can a connector plugin be called ``name`` (see :data:`CONNECTOR_NAME`)?"""
    return CONNECTOR_NAME.fullmatch(name) is not None


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
