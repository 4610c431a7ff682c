"""Custom fields through the Tooling API, field-level security, and getDeleted."""

from __future__ import annotations

from datetime import timedelta

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from connectors.salesforce.tests.conftest import SandboxHandle
from connectors.salesforce.tests.sandbox.helpers import lead, session_client
from crmbridge import clock

SCORE = {"FullName": "Lead.Crmbridge_Score__c",
         "Metadata": {"type": "Number", "precision": 18, "scale": 4, "label": "Score"}}  # fmt: skip


def _grant(sf: object, parent: str, edit: bool = True) -> object:
    return sf.restful(  # type: ignore[attr-defined]
        "sobjects/FieldPermissions",
        method="POST",
        json={"ParentId": parent, "SobjectType": "Lead", "Field": "Lead.Crmbridge_Score__c",
              "PermissionsRead": True, "PermissionsEdit": edit},
    )  # fmt: skip


def test_a_new_field_is_invisible_until_an_assigned_permission_set_grants_it(
    salesforce_sandbox: SandboxHandle,
) -> None:
    lead_id = salesforce_sandbox.seed("Lead", lead(1))
    sf = session_client(salesforce_sandbox)
    created = sf.restful("tooling/sobjects/CustomField", method="POST", json=SCORE)
    assert created["success"] is True and created["id"].startswith("00N")
    names = lambda: {f["name"] for f in sf.Lead.describe()["fields"]}  # noqa: E731
    assert "Crmbridge_Score__c" not in names()
    # A permission set nobody is assigned grants nothing.
    stray = sf.restful("sobjects/PermissionSet", method="POST",
                       json={"Name": "Stray", "Label": "Stray"})["id"]  # fmt: skip
    _grant(sf, stray)
    assert "Crmbridge_Score__c" not in names()
    [found] = sf.query("SELECT Id FROM PermissionSet WHERE Name = 'Crmbridge_Integration'")[
        "records"
    ]
    _grant(sf, found["Id"])
    assert "Crmbridge_Score__c" in names()
    sf.Lead.update(lead_id, {"Crmbridge_Score__c": 87.5}, headers={"Sforce-Auto-Assign": "FALSE"})
    rows = sf.query("SELECT Crmbridge_Score__c FROM Lead")["records"]
    assert rows[0]["Crmbridge_Score__c"] == 87.5
    found_fields = sf.toolingexecute(
        "query?q=SELECT+Id,DeveloperName+FROM+CustomField+WHERE+DeveloperName='Crmbridge_Score'"
    )
    assert [r["DeveloperName"] for r in found_fields["records"]] == ["Crmbridge_Score"]


def test_field_creation_and_grants_refuse_what_salesforce_refuses(
    salesforce_sandbox: SandboxHandle,
) -> None:
    sf = session_client(salesforce_sandbox)
    sf.restful("tooling/sobjects/CustomField", method="POST", json=SCORE)
    with pytest.raises(SalesforceMalformedRequest) as again:
        sf.restful("tooling/sobjects/CustomField", method="POST", json=SCORE)
    assert again.value.content[0]["errorCode"] == "DUPLICATE_DEVELOPER_NAME"
    bad = {"FullName": "Lead.Bad__Name__c", "Metadata": {"type": "Text", "label": "x"}}
    with pytest.raises(SalesforceMalformedRequest) as invalid:
        sf.restful("tooling/sobjects/CustomField", method="POST", json=bad)
    assert invalid.value.content[0]["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"
    parent = salesforce_sandbox.server.state.integration_permission_set
    _grant(sf, parent)
    with pytest.raises(SalesforceMalformedRequest) as duplicate:
        _grant(sf, parent)
    assert duplicate.value.content[0]["errorCode"] == "DUPLICATE_VALUE"


def test_get_deleted_lists_recent_deletions(salesforce_sandbox: SandboxHandle) -> None:
    gone = salesforce_sandbox.seed("Lead", lead(1))
    salesforce_sandbox.admin.delete("Lead", gone)
    sf = session_client(salesforce_sandbox)
    now = clock.now()
    answer = sf.Lead.deleted(now - timedelta(days=1), now + timedelta(minutes=1))
    assert [r["id"] for r in answer["deletedRecords"]] == [gone]
    with pytest.raises(SalesforceMalformedRequest) as failure:
        sf.Lead.deleted(now - timedelta(days=20), now)
    assert failure.value.content[0]["errorCode"] == "INVALID_REPLICATION_DATE"


def test_the_organization_is_queryable(salesforce_sandbox: SandboxHandle) -> None:
    sf = session_client(salesforce_sandbox)
    [org] = sf.query("SELECT Id, Name FROM Organization")["records"]
    assert org["Id"].startswith("00D")
