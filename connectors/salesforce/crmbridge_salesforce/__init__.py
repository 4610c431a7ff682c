"""Salesforce connector plugin for crmbridge (settings and webhook parsing so far).

Registered under the ``crmbridge.connectors`` entry point ``salesforce``. Its connector
is not part of this release: enabling ``[connectors.salesforce]`` is refused.
"""

from typing import NoReturn

from crmbridge.connector import ConnectorPlugin
from crmbridge.errors import ConfigError, ConfigProblem
from crmbridge_salesforce.settings import SalesforceSettings


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
    name="salesforce", title="Salesforce", settings=SalesforceSettings, build=_not_yet
)

__all__ = ["SalesforceSettings", "plugin"]
