"""HubSpot connector plugin for crmbridge, built on the official ``hubspot-api-client`` SDK.

Registered under the ``crmbridge.connectors`` entry point ``hubspot``.
"""

from crmbridge.connector import ConnectorPlugin
from crmbridge_hubspot.connector import HubSpotConnector
from crmbridge_hubspot.demo_sandbox import HubSpotSandboxProvider
from crmbridge_hubspot.settings import HubSpotSettings

plugin = ConnectorPlugin(
    name="hubspot",
    title="HubSpot",
    settings=HubSpotSettings,
    build=HubSpotConnector.from_settings,
    sandbox=HubSpotSandboxProvider(),
)

__all__ = ["HubSpotConnector", "HubSpotSettings", "plugin"]
