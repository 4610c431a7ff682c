"""Build the connectors a configuration enables."""

from __future__ import annotations

from connectors.base import Connector
from crmbridge.config import CrmbridgeConfig
from crmbridge.errors import ConfigError, ConfigProblem


def build_connectors(config: CrmbridgeConfig) -> dict[str, Connector]:
    """One connector per enabled ``[connectors.*]`` table, keyed by its name.

    Refuses (ConfigError) while a secret of an enabled table is an unset ``${VAR}``.
    """
    config.require_secrets()
    built: dict[str, Connector] = {}
    if config.connectors.hubspot.enabled:
        from connectors.hubspot.connector import HubSpotConnector

        built["hubspot"] = HubSpotConnector.from_settings(config.connectors.hubspot)
    if config.connectors.salesforce.enabled:
        raise ConfigError(
            [
                ConfigProblem(
                    "connectors.salesforce.enabled",
                    "the Salesforce connector is not part of this release yet",
                    "set enabled = false",
                )
            ]
        )
    return built
