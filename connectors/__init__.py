"""CRM connectors for crmbridge.

Each CRM lives in its own sub-package (``connectors.hubspot``, ``connectors.salesforce``)
behind the protocol in :mod:`connectors.base`.
"""
