"""crmbridge's custom fields on the sandbox org: created once, and a field hidden by
field-level security reported as hidden (with what to grant), never created again."""

from __future__ import annotations

import pytest

from connectors.salesforce.tests.conftest import SandboxHandle
from crmbridge.connector import FieldSpec
from crmbridge.errors import MissingScope

from .salesforce_harness import connector_for

FIELDS = [
    FieldSpec("crmbridge_score", "Lead score", "number"),
    FieldSpec("crmbridge_grade", "Lead grade", "enumeration", ("A", "B", "C", "D")),
]


def custom_fields_created(sandbox: SandboxHandle) -> int:
    return sum(
        1
        for r in sandbox.admin.request_log()
        if r.method == "POST" and r.path.endswith("/tooling/sobjects/CustomField")
    )


def test_fields_are_created_once_then_all_present(salesforce_sandbox: SandboxHandle) -> None:
    connector = connector_for(salesforce_sandbox.server)

    assert connector.ensure_schema(FIELDS) == ["crmbridge_score", "crmbridge_grade"]
    assert connector.ensure_schema(FIELDS) == []
    assert {"CRMBridge_Score__c", "CRMBridge_Grade__c"} <= connector.property_names()
    assert custom_fields_created(salesforce_sandbox) == 2


def test_a_field_hidden_by_field_level_security_is_named_not_created_again(
    salesforce_sandbox: SandboxHandle,
) -> None:
    sandbox = salesforce_sandbox
    connector_for(sandbox.server).ensure_schema(FIELDS)
    # An admin takes the permission set away from the integration user.
    state = sandbox.server.state
    with state.lock:
        for row in state.records["PermissionSetAssignment"].values():
            row["IsDeleted"] = True

    with pytest.raises(MissingScope) as hidden:
        connector_for(sandbox.server).ensure_schema(FIELDS)

    text = str(hidden.value)
    assert "Lead.CRMBridge_Score__c, Lead.CRMBridge_Grade__c" in text
    assert "field-level security hides them" in text
    assert "Assign the permission set Crmbridge_Integration" in text
    assert custom_fields_created(sandbox) == 2, "never created again"
