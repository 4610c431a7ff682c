"""``[connectors.salesforce]``: how crmbridge will sign in to Salesforce."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, SecretStr

from crmbridge.connector import ConnectorSettings


class SalesforceSettings(ConnectorSettings):
    """``[connectors.salesforce]``: one of password, JWT or client-credentials auth,
    and the shared secret of its webhooks."""

    username: str | None = None
    password: SecretStr | None = None
    security_token: SecretStr | None = None
    domain: str = Field(default="login", description='"login", "test" or a My Domain.')
    consumer_key: str | None = None
    private_key_file: str | None = None
    client_id: str | None = None
    client_secret: SecretStr | None = None
    instance_url: str | None = None
    webhook_secret: SecretStr | None = Field(
        default=None,
        description="Shared secret Salesforce webhooks send (X-Crmbridge-Secret or ?secret=); "
        "webhooks are received when it is set, even with enabled = false.",
    )
    org_id: str | None = Field(
        default=None, description="The only Salesforce org (00D...) whose webhooks are accepted."
    )

    #: Without a webhook secret Salesforce webhooks are answered 503.
    optional_secrets: ClassVar[frozenset[str]] = frozenset({"webhook_secret"})
