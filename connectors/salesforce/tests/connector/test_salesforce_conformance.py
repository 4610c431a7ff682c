"""The Salesforce connector passes crmbridge's connector conformance suite on the sandbox,
through the real simple-salesforce over TLS."""

from __future__ import annotations

import pytest

from connectors.salesforce.tests.conftest import SandboxHandle
from crmbridge.testing.conformance import ConformanceHarness, ConnectorConformance

from .salesforce_harness import SalesforceSandboxHarness


def test_the_harness_is_a_conformance_harness(salesforce_sandbox: SandboxHandle) -> None:
    assert isinstance(SalesforceSandboxHarness(salesforce_sandbox.server), ConformanceHarness)


class TestSalesforceConformance(ConnectorConformance):
    """Every conformance test, against a fresh Salesforce sandbox."""

    @pytest.fixture
    def harness(self, salesforce_sandbox: SandboxHandle) -> SalesforceSandboxHarness:
        return SalesforceSandboxHarness(salesforce_sandbox.server)
