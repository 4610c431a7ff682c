"""What ``crmbridge demo --crm salesforce`` gets from the plugin's sandbox."""

from __future__ import annotations

from crmbridge.connector.registry import plugin
from crmbridge_salesforce.demo_sandbox import SalesforceSandbox


def test_the_demo_sandbox_offers_what_the_demo_needs() -> None:
    provider = plugin("salesforce").sandbox
    assert provider is not None

    with provider.start() as sandbox:
        assert isinstance(sandbox, SalesforceSandbox)
        assert sandbox.settings.enabled and sandbox.settings.endpoint() == sandbox.url
        contacts = sandbox.contacts()
        assert len(contacts) == sandbox.contact_count() >= 200
        assert all(c.email for c in contacts)
        assert any("director" in c.job_title.lower() for c in contacts)
        events = sandbox.demo_events()
        assert len(events) > 1000 and {"type", "occurred_at", "contact", "event_id"} <= set(
            events[0]
        )
        known = {c.email for c in contacts}
        assert {e["contact"]["email"] for e in events} <= known

        connector = sandbox.connect()
        assert connector.check().ok
        fields = sandbox.fields
        first = next(c.crm_id for c in contacts if c.crm_id.startswith("00Q"))
        names = [fields.first_name, fields.last_name, fields.company, fields.owner]
        values = connector.read_values([first], names)[first]
        assert values[fields.first_name] and values[fields.company]
        owners = sandbox.owner_names()
        assert owners[values[fields.owner]].count(" ") >= 1
        assert sandbox.api_calls()["query"] >= 1

        sandbox.reply(first)
        rows = sandbox.server.state.visible("EmailMessageRelation", include_deleted=False)
        assert first in {r["RelationId"] for r in rows}
