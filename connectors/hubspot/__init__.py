"""HubSpot connector, built on the official ``hubspot-api-client`` SDK."""

from connectors.hubspot.connector import HubSpotConnector

__all__ = ["HubSpotConnector"]
