"""Salesforce connector plugin for crmbridge, built on simple-salesforce.

Registered under the ``crmbridge.connectors`` entry point ``salesforce``. Its webhooks
(:mod:`crmbridge_salesforce.webhooks`) are received at ``POST /webhooks/salesforce``
once ``webhook_secret`` is set, enabled or not. Its sandbox
(:mod:`crmbridge_salesforce.sandbox`) runs with ``crmbridge sandbox --crm salesforce``.
"""

from crmbridge.connector import ConnectorPlugin
from crmbridge_salesforce.connector import SalesforceConnector
from crmbridge_salesforce.demo_sandbox import SalesforceSandboxProvider
from crmbridge_salesforce.settings import SalesforceSettings
from crmbridge_salesforce.webhooks import WEBHOOKS

plugin = ConnectorPlugin(
    name="salesforce",
    title="Salesforce",
    settings=SalesforceSettings,
    build=SalesforceConnector.from_settings,
    sandbox=SalesforceSandboxProvider(),
    webhooks=WEBHOOKS,
)

__all__ = ["SalesforceConnector", "SalesforceSettings", "plugin"]
