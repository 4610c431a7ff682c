"""The HubSpot connector passes crmbridge's connector conformance suite on the sandbox."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from crmbridge.testing.conformance import ConformanceHarness, ConnectorConformance

from .hubspot_harness import HubSpotSandboxHarness, sandbox


def test_the_harness_is_a_conformance_harness() -> None:
    with sandbox() as server:
        assert isinstance(HubSpotSandboxHarness(server), ConformanceHarness)


class TestHubSpotConformance(ConnectorConformance):
    """Every conformance test, against a fresh HubSpot sandbox with its default limits."""

    @pytest.fixture
    def harness(self) -> Iterator[HubSpotSandboxHarness]:
        with sandbox() as server:
            yield HubSpotSandboxHarness(server)
