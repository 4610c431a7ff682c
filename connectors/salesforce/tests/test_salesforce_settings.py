"""``[connectors.salesforce] webhook_secret / org_id``, and the ``[daemon]`` keys they
replace: a file written for the earlier names keeps loading, with a warning naming the
new key, and its Salesforce webhooks are still accepted."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from crmbridge.config import example_config_text, parse_config
from crmbridge.errors import ConfigError
from tests.integration.daemon.app_harness import SF_ORG, SF_SECRET, Harness

LEAD = "00Q5e00000AbCdEEAZ"
MESSAGE = f"""<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">
 <soapenv:Body>
  <notifications xmlns="http://soap.sforce.com/2005/09/outbound">
   <OrganizationId>{SF_ORG}</OrganizationId>
   <Notification><Id>04l01</Id><sObject><Id>{LEAD}</Id></sObject></Notification>
  </notifications>
 </soapenv:Body>
</soapenv:Envelope>""".encode()


def with_lines(table: str, lines: str, text: str | None = None) -> str:
    """The bundled example (or ``text``) with ``lines`` added at the top of ``[table]``."""
    text = example_config_text() if text is None else text
    assert f"\n[{table}]\n" in text
    return text.replace(f"\n[{table}]\n", f"\n[{table}]\n{lines}\n", 1)


def test_the_connector_table_holds_the_webhook_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SALESFORCE_WEBHOOK_SECRET", SF_SECRET)
    text = with_lines(
        "connectors.salesforce",
        f'webhook_secret = "${{SALESFORCE_WEBHOOK_SECRET}}"\norg_id = "{SF_ORG}"',
    )

    loaded = parse_config(text)

    settings = loaded.config.connectors.salesforce
    assert settings.webhook_secret is not None
    assert settings.webhook_secret.get_secret_value() == SF_SECRET
    assert (settings.org_id, settings.enabled) == (SF_ORG, False)
    assert SF_SECRET not in repr(settings)
    assert not [w for w in loaded.warnings if "salesforce" in w]


def test_an_unset_webhook_secret_only_warns() -> None:
    text = with_lines("connectors.salesforce", 'webhook_secret = "${UNSET_SF_HOOK_SECRET}"')
    loaded = parse_config(text)
    assert loaded.config.connectors.salesforce.webhook_secret is None
    assert any("connectors.salesforce.webhook_secret" in w for w in loaded.warnings)


def test_the_old_daemon_keys_are_read_under_their_new_names(
    monkeypatch: pytest.MonkeyPatch, build: Callable[..., Harness]
) -> None:
    monkeypatch.setenv("SALESFORCE_WEBHOOK_SECRET", SF_SECRET)
    text = with_lines(
        "daemon",
        f'salesforce_webhook_secret = "${{SALESFORCE_WEBHOOK_SECRET}}"\n'
        f'salesforce_org_id = "{SF_ORG}"',
    )

    loaded = parse_config(text)

    settings = loaded.config.connectors.salesforce
    assert settings.webhook_secret is not None
    assert settings.webhook_secret.get_secret_value() == SF_SECRET
    assert settings.org_id == SF_ORG
    renamed = [w for w in loaded.warnings if "renamed" in w]
    assert [w.split(";")[0] for w in renamed] == [
        "daemon.salesforce_webhook_secret: renamed to connectors.salesforce.webhook_secret "
        "in 0.1.0",
        "daemon.salesforce_org_id: renamed to connectors.salesforce.org_id in 0.1.0",
    ]
    # A daemon started on that file takes Salesforce's messages as before.
    harness = build(loaded.config)
    response = harness.client.post(
        "/webhooks/salesforce",
        content=MESSAGE,
        headers={"Content-Type": "text/xml", "X-Crmbridge-Secret": SF_SECRET},
    )
    assert response.status_code == 200, response.text
    assert "<Ack>true</Ack>" in response.text


def test_a_key_set_under_both_names_is_an_error() -> None:
    text = with_lines("connectors.salesforce", f'org_id = "{SF_ORG}"')
    text = with_lines("daemon", 'salesforce_org_id = "00D000000000001"', text)
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    problem = caught.value.problems[0]
    assert problem.path == "daemon.salesforce_org_id"
    assert problem.message == 'renamed to "connectors.salesforce.org_id" in 0.1.0, which is set too'
