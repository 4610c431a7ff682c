"""The HubSpot plugin's sandbox capability: what ``crmbridge demo`` and ``crmbridge
sandbox`` get from it, through the registry and in CRM-neutral terms."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from crmbridge.connector.registry import plugin
from crmbridge_hubspot.demo_sandbox import HubSpotSandbox
from crmbridge_hubspot.sandbox.state import REPLY_PROPERTY


def test_the_demo_sandbox_offers_what_the_demo_needs() -> None:
    provider = plugin("hubspot").sandbox
    assert provider is not None

    with provider.start() as sandbox:
        assert isinstance(sandbox, HubSpotSandbox)
        assert sandbox.settings.enabled and sandbox.settings.endpoint() == sandbox.url
        assert requests.get(sandbox.admin_url, timeout=10).ok
        contacts = sandbox.contacts()
        assert len(contacts) == sandbox.contact_count() == 200
        assert all(c.email for c in contacts)
        events = sandbox.demo_events()
        assert len(events) > 1000 and {"type", "occurred_at", "contact"} <= set(events[0])

        connector = sandbox.connect()
        assert connector.check().ok
        fields = sandbox.fields
        first = contacts[0].crm_id
        names = [fields.first_name, fields.last_name, fields.company, fields.owner]
        values = connector.read_values([first], names)[first]
        assert values[fields.first_name] and values[fields.company]
        # Full names by the id the owner property holds.
        owners = sandbox.owner_names()
        assert owners and all(" " in name for name in owners.values())
        # The calls of the connectors it made, by what they did.
        assert sandbox.api_calls()["batch read contacts"] == 1

        sandbox.reply(first)
        replied = sandbox.server.state.get_contact(first)
        assert replied is not None and replied.properties.get(REPLY_PROPERTY)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_sandbox_command_serves_it_and_says_how_to_point_crmbridge_at_it(
    tmp_path: Path,
) -> None:
    port = _free_port()
    out = tmp_path / "out.txt"
    with out.open("w") as stream:
        process = subprocess.Popen(
            [sys.executable, "-m", "crmbridge", "sandbox", "--port", str(port), "--seed", "empty"],
            stdout=stream,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                answer = requests.get(f"http://127.0.0.1:{port}/_sandbox", timeout=2)
                break
            except requests.ConnectionError:
                assert process.poll() is None, out.read_text()
                assert time.monotonic() < deadline, out.read_text()
                time.sleep(0.2)
        assert answer.ok
    finally:
        process.terminate()
        process.wait(timeout=10)
    banner = out.read_text()
    assert f"crmbridge sandbox (HubSpot-compatible) on http://127.0.0.1:{port}" in banner
    assert f"CRMBRIDGE__CONNECTORS__HUBSPOT__BASE_URL=http://127.0.0.1:{port}" in banner
