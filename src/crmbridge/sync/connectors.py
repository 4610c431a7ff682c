"""Build the connectors a configuration enables, through the installed plugins."""

from __future__ import annotations

from crmbridge.config import CrmbridgeConfig
from crmbridge.connector import Connector
from crmbridge.connector.registry import plugin


def build_connectors(config: CrmbridgeConfig) -> dict[str, Connector]:
    """One connector per enabled ``[connectors.*]`` table, keyed by its name.

    Refuses (ConfigError) while a secret of an enabled table is an unset ``${VAR}``, or
    when a plugin refuses its settings.
    """
    config.require_secrets()
    return {
        name: plugin(name).build(settings) for name, settings in config.connectors.enabled().items()
    }
