"""``[connectors.salesforce]``: how crmbridge will sign in to Salesforce."""

from __future__ import annotations

from pydantic import Field, SecretStr

from crmbridge.connector import ConnectorSettings


class SalesforceSettings(ConnectorSettings):
    """``[connectors.salesforce]``: one of password, JWT or client-credentials auth."""

    username: str | None = None
    password: SecretStr | None = None
    security_token: SecretStr | None = None
    domain: str = Field(default="login", description='"login", "test" or a My Domain.')
    consumer_key: str | None = None
    private_key_file: str | None = None
    client_id: str | None = None
    client_secret: SecretStr | None = None
    instance_url: str | None = None
