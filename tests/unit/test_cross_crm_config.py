"""Several CRMs in one config: property maps, owners and linking, each refused at its
path; and a CRM's record read under the model's names."""

from __future__ import annotations

import pytest

from crmbridge.config import parse_config
from crmbridge.errors import ConfigError
from crmbridge.records import ContactRecord
from crmbridge.sync.cross_crm import linked_crms
from crmbridge.sync.property_map import PropertyMap

BOTH_ON = """
[connectors.hubspot]
enabled = true
access_token = "pat-na1-00000000-0000-0000-0000-000000000000"
[connectors.salesforce]
enabled = true
session_id = "00D!sandbox"
instance_url = "https://acme.my.salesforce.com"
"""


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, source="test.toml")
    return [f"{p.path}: {p.message}" for p in caught.value.problems]


def test_both_crms_link_by_default_and_linking_can_be_turned_off() -> None:
    config = parse_config(BOTH_ON, source="test.toml").config
    assert linked_crms(config) == {"hubspot", "salesforce"}
    off = parse_config("[bridge]\nlink_across_crms = false\n" + BOTH_ON, source="t").config
    assert linked_crms(off) == frozenset()
    # One CRM enabled: nothing to link.
    assert linked_crms(parse_config("", source="t").config) == frozenset()


def test_owners_name_where_each_property_is_written() -> None:
    text = (
        BOTH_ON
        + '[writeback]\nowner = "salesforce"\n[writeback.owners]\ncrmbridge_stage = "both"\n'
    )
    writeback = parse_config(text, source="t").config.writeback

    assert writeback.writes_to("crmbridge_score", "salesforce")
    assert not writeback.writes_to("crmbridge_score", "hubspot")
    assert writeback.writes_to("crmbridge_stage", "hubspot")


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (
            '[writeback.owners]\ncrmbridge_score = "salesforse"\n',
            'writeback.owners.crmbridge_score: unknown CRM "salesforse"',
        ),
        (
            '[writeback.owners]\nscore = "hubspot"\n',
            "writeback.owners.score: not one of crmbridge's properties",
        ),
        (
            '[connectors.salesforce.property_map]\njobtitle = "Title"\nrole = "title"\n',
            'connectors.salesforce.property_map: "title" is mapped from both "jobtitle" and "role"',
        ),
        (
            '[connectors.salesforce.property_map]\njobtitle = "Title; DROP"\n',
            "connectors.salesforce.property_map.jobtitle: ",
        ),
    ],
)
def test_a_mistake_is_refused_at_its_path(extra: str, expected: str) -> None:
    found = problems(BOTH_ON + extra)
    assert any(line.startswith(expected) for line in found), found


def test_an_owner_that_is_not_enabled_is_refused() -> None:
    found = problems('[writeback]\nowner = "salesforce"\n')
    assert found == [
        'writeback.owner: "salesforce" is not enabled: crmbridge would write this nowhere'
    ]


def test_a_record_is_read_under_the_models_names() -> None:
    names = PropertyMap({"jobtitle": "Title", "hs_buying_role": "Buying_Role__c"})
    record = ContactRecord(
        crm="salesforce",
        id="00Q1",
        properties={
            "Title": "CIO",
            "Buying_Role__c": "DECISION_MAKER",
            "jobtitle": "x",
            "Email": "a",
        },
    )

    assert names.crm_names(["jobtitle", "numemployees", "jobtitle"]) == ["Title", "numemployees"]
    assert names.record(record).properties == {
        "jobtitle": "CIO",
        "hs_buying_role": "DECISION_MAKER",
        "Email": "a",
    }
    assert names.model_names({"Title", "Email"}) == {"jobtitle", "Email"}
