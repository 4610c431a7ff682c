"""Salesforce connector plugin for crmbridge (settings, webhook parsing and a sandbox so far).

Registered under the ``crmbridge.connectors`` entry point ``salesforce``. Its connector
is not part of this release: enabling ``[connectors.salesforce]`` is refused. Its
webhooks (:mod:`crmbridge_salesforce.webhooks`) are received at
``POST /webhooks/salesforce`` once ``webhook_secret`` is set, enabled or not. Its
sandbox (:mod:`crmbridge_salesforce.sandbox`) runs with ``crmbridge sandbox --crm
salesforce``.
"""

from typing import NoReturn

from crmbridge.connector import ConnectorPlugin
from crmbridge.errors import ConfigError, ConfigProblem
from crmbridge_salesforce.demo_sandbox import SalesforceSandboxProvider
from crmbridge_salesforce.settings import SalesforceSettings
from crmbridge_salesforce.webhooks import WEBHOOKS


def _not_yet(settings: SalesforceSettings) -> NoReturn:
    raise ConfigError(
        [
            ConfigProblem(
                "connectors.salesforce.enabled",
                "the Salesforce connector is not part of this release yet",
                "set enabled = false",
            )
        ]
    )


plugin = ConnectorPlugin(
    name="salesforce",
    title="Salesforce",
    settings=SalesforceSettings,
    build=_not_yet,
    sandbox=SalesforceSandboxProvider(),
    webhooks=WEBHOOKS,
)

__all__ = ["SalesforceSettings", "plugin"]
