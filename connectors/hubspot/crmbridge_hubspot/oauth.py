"""OAuth refresh-token flow for HubSpot apps installed with OAuth (not private apps)."""

from __future__ import annotations

from hubspot import HubSpot

from crmbridge.errors import AuthError
from crmbridge_hubspot.errors import from_exception
from crmbridge_hubspot.settings import HubSpotSettings


def refresh_access_token(settings: HubSpotSettings) -> str:
    """Exchange the configured refresh token for a fresh access token."""
    if not (settings.client_id and settings.client_secret and settings.refresh_token):
        raise AuthError("OAuth needs connectors.hubspot.client_id, client_secret and refresh_token")
    sdk = HubSpot(host=settings.base_url.rstrip("/"))
    try:
        answer = sdk.oauth.tokens_api.create(
            grant_type="refresh_token",
            client_id=settings.client_id,
            client_secret=settings.client_secret.get_secret_value(),
            refresh_token=settings.refresh_token.get_secret_value(),
        )
    except Exception as exc:
        raise AuthError(
            "HubSpot refused the refresh token: reinstall the app and update "
            "connectors.hubspot.refresh_token",
            detail=str(from_exception(exc, what="OAuth token refresh")),
        ) from None
    return str(answer.access_token)
