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


def test_new_fields_keep_the_shape_their_metadata_gave(salesforce_sandbox: SandboxHandle) -> None:
    lead_id = salesforce_sandbox.seed("Lead", lead(1))
    sf = session_client(salesforce_sandbox)
    stage = {"FullName": "Lead.Stage__c", "Metadata": {
        "type": "Picklist", "label": "Stage",
        "valueSet": {"restricted": True, "valueSetDefinition": {"value": [
            {"fullName": "MQL", "label": "MQL"}, {"fullName": "SQL", "label": "SQL"}]}},
    }}  # fmt: skip
    note = {"FullName": "Lead.Note__c",
            "Metadata": {"type": "Text", "length": 10, "label": "Note"}}  # fmt: skip
    hot = {"FullName": "Lead.Hot__c",
           "Metadata": {"type": "Checkbox", "label": "Hot", "defaultValue": "false"}}  # fmt: skip
    for spec in (SCORE, stage, note, hot):
        sf.restful("tooling/sobjects/CustomField", method="POST", json=spec)
        name = spec["FullName"]
        sf.restful("sobjects/FieldPermissions", method="POST", json={
            "ParentId": salesforce_sandbox.server.state.integration_permission_set,
            "SobjectType": "Lead", "Field": name, "PermissionsRead": True,
            "PermissionsEdit": True})  # fmt: skip
    described = {f["name"]: f for f in sf.Lead.describe()["fields"]}
    assert [v["value"] for v in described["Stage__c"]["picklistValues"]] == ["MQL", "SQL"]
    assert described["Note__c"]["length"] == 10
    assert sf.query("SELECT Hot__c FROM Lead")["records"][0]["Hot__c"] is False
    records = [
        {"attributes": {"type": "Lead"}, "id": lead_id, "Stage__c": "Customer"},
        {"attributes": {"type": "Lead"}, "id": lead_id, "Note__c": "x" * 11},
        {"attributes": {"type": "Lead"}, "id": lead_id, "Crmbridge_Score__c": 1e15},
        {"attributes": {"type": "Lead"}, "id": lead_id, "Stage__c": "SQL", "Hot__c": True},
    ]
    results = sf.restful("composite/sobjects", method="PATCH",
                         json={"allOrNone": False, "records": records})  # fmt: skip
    assert [r["errors"][0]["statusCode"] if r["errors"] else None for r in results] == [
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        "STRING_TOO_LONG",
        "NUMBER_OUTSIDE_VALID_RANGE",
        None,
    ]
