"""HubSpot connector plugin for crmbridge, built on the official ``hubspot-api-client`` SDK.

Registered under the ``crmbridge.connectors`` entry point ``hubspot``.
"""

from crmbridge.connector import ConnectorPlugin
from crmbridge_hubspot.connector import HubSpotConnector
from crmbridge_hubspot.demo_sandbox import HubSpotSandboxProvider
from crmbridge_hubspot.settings import HubSpotSettings
from crmbridge_hubspot.webhooks import WEBHOOKS

plugin = ConnectorPlugin(
    name="hubspot",
    title="HubSpot",
    settings=HubSpotSettings,
    build=HubSpotConnector.from_settings,
    sandbox=HubSpotSandboxProvider(),
    webhooks=WEBHOOKS,
)

__all__ = ["HubSpotConnector", "HubSpotSettings", "plugin"]
