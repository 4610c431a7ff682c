"""Refuse to write into a real CRM from the bundled example model.

The example is a starting point to read and to try against the local sandbox; running
it against a company's HubSpot would write its sample scoring into real contacts. A
connector counts as the local sandbox when its ``base_url`` host is a loopback address.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from crmbridge.config import EXAMPLE_SOURCE, LoadedConfig


def is_loopback_url(url: str) -> bool:
    """True when ``url``'s host is this machine (localhost, 127.0.0.0/8, ::1)."""
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def remote_crms_on_example(loaded: LoadedConfig) -> list[str]:
    """Enabled connectors that would write a CRM other than the local sandbox while the
    bundled example model is in use (empty: nothing to refuse)."""
    if loaded.source != EXAMPLE_SOURCE:
        return []
    hubspot = loaded.config.connectors.hubspot
    if hubspot.enabled and not is_loopback_url(hubspot.base_url):
        return [f"hubspot ({hubspot.base_url})"]
    return []


def example_refusal(crms: list[str]) -> str:
    """What to tell the admin instead of writing the example's scores into their CRM."""
    return (
        f"crmbridge will not write to {', '.join(crms)} with the bundled example model "
        "(no crmbridge.toml was found). Copy config.example.toml to crmbridge.toml, edit "
        "the scoring model for your business, and run again (or pass --config FILE / set "
        "CRMBRIDGE_CONFIG). To try crmbridge first, use `crmbridge demo` or the local "
        "sandbox (base_url http://127.0.0.1:8765)."
    )
