"""Refuse to write into a real CRM from the bundled example model.

The example is a starting point to read and to try against the local sandbox; running
it against a company's HubSpot would write its sample scoring into real contacts. That
holds whether crmbridge fell back to the bundled file (no config found) or reads a copy
of it whose scoring model was never edited (``cp config.example.toml crmbridge.toml``).

A connector counts as the local sandbox when its ``base_url`` host is a loopback
address, or ``sandbox`` — the sandbox service of the project's ``compose.yaml``: a name
without a dot resolves only on the local (Docker) network, never to HubSpot's API.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from crmbridge.config import (
    EXAMPLE_SOURCE,
    CrmbridgeConfig,
    LoadedConfig,
    example_config_text,
    parse_config,
)
from crmbridge.errors import ConfigError
from crmbridge.scoring import ScoringEngine

#: The host of the sandbox service in ``compose.yaml`` (``http://sandbox:8765``).
COMPOSE_SANDBOX_HOST = "sandbox"


def is_loopback_url(url: str) -> bool:
    """True when ``url``'s host is this machine (localhost, 127.0.0.0/8, ::1)."""
    host = _host(url)
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_local_sandbox_url(url: str) -> bool:
    """True when ``url`` is the local sandbox: this machine, or compose's ``sandbox``."""
    return is_loopback_url(url) or _host(url) == COMPOSE_SANDBOX_HOST


def _host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def model_version(config: CrmbridgeConfig) -> str:
    """The scoring model's version (what the scores record), from a configuration."""
    return ScoringEngine(config.scoring, config.bant, config.lifecycle).version


def is_example_model(loaded: LoadedConfig) -> bool:
    """Does ``loaded`` score with the bundled example's model, unchanged?"""
    if loaded.source == EXAMPLE_SOURCE:
        return True
    try:
        example = parse_config(example_config_text(), source=EXAMPLE_SOURCE).config
    except ConfigError:
        # The environment breaks the example itself (it loaded the admin's file): the
        # two cannot be the same model.
        return False
    return model_version(loaded.config) == model_version(example)


def remote_crms_on_example(loaded: LoadedConfig) -> list[str]:
    """Enabled connectors that would write a CRM other than the local sandbox while the
    bundled example model is in use (empty: nothing to refuse)."""
    remote = [
        f"{name} ({settings.endpoint() or 'its vendor API'})"
        for name, settings in loaded.config.connectors.enabled().items()
        if not is_local_sandbox_url(settings.endpoint() or "")
    ]
    return remote if remote and is_example_model(loaded) else []


def example_refusal(crms: list[str], source: str = EXAMPLE_SOURCE) -> str:
    """What to tell the admin instead of writing the example's scores into their CRM."""
    if source == EXAMPLE_SOURCE:
        why = "no crmbridge.toml was found"
        fix = (
            "Copy config.example.toml to crmbridge.toml, edit the scoring model for your "
            "business, and run again (or pass --config FILE / set CRMBRIDGE_CONFIG)."
        )
    else:
        why = f"{source} holds the example's scoring model unchanged"
        fix = (
            f"Edit the scoring model in {source} ([scoring], [bant], [lifecycle]) for your "
            "business, and run again."
        )
    return (
        f"crmbridge will not write to {', '.join(crms)} with the bundled example model "
        f"({why}). {fix} To try crmbridge first, use `crmbridge demo` or the local "
        "sandbox (base_url http://127.0.0.1:8765)."
    )
