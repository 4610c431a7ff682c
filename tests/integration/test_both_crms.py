"""Both CRMs in one daemon: HubSpot and Salesforce sandboxes, through the real SDKs.

Ana is in both CRMs (her email in two spellings): HubSpot knows her job title,
Salesforce her company's size and her buying role (a custom field the model reads as
``hs_buying_role`` through ``[connectors.salesforce.property_map]``), and the website
saw her on the pricing page three times. One lead, scored once from both: an IT director
at a 600-person company (+50) with three pricing visits (+45). Bea is in HubSpot only,
Carl in Salesforce only.

``native_sync`` plays HubSpot's Salesforce integration: a value written into a mapped
field of one CRM is copied into the same person's record in the other, as the sync
user, as the integration does once an admin maps the fields.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import structlog.testing

from crmbridge import clock
from crmbridge.config import CrmbridgeConfig, example_config_text, parse_config
from crmbridge.connector.registry import plugin
from crmbridge.daemon.service import Daemon
from crmbridge.records import CanonicalEvent
from crmbridge.report.collect import build_report, one_record_per_lead
from crmbridge.report.periods import current_week
from crmbridge.settings import WritebackSettings
from crmbridge.store.dashboard_queries import hot_leads
from crmbridge.store.lead_links import linked_leads, other_records
from crmbridge.store.report_queries import milestones
from crmbridge.store.repository import Store
from crmbridge.store.sync_loops import loops_since
from crmbridge.sync.identity import forget_deleted
from crmbridge.sync.pipeline import CycleSummary, Pipeline
from crmbridge_hubspot.sandbox.records import ChangeSource
from crmbridge_salesforce.fields import custom_field

from .helpers import cli

ANA, BEA, CARL = "ana@acme.es", "bea@beta.es", "carl@gamma.es"
SEED = ChangeSource("IMPORT", "test-seed")
USER = ChangeSource("CRM_UI", "userId:7")
#: What the native sync writes as, in HubSpot (its change source) and Salesforce.
SYNC_SOURCE = ChangeSource("SALESFORCE", "hubspot-salesforce-sync")
#: The crmbridge fields an admin mapped in the native sync.
SYNCED = ("crmbridge_score", "crmbridge_stage")


@dataclass
class Crms:
    """The two running sandboxes and the ids of the seeded people."""

    hubspot: Any
    salesforce: Any
    ids: dict[tuple[str, str], str]

    @property
    def hs_state(self) -> Any:
        return self.hubspot.server.state

    @property
    def sf_state(self) -> Any:
        return self.salesforce.server.state

    def hs(self, email: str) -> dict[str, str]:
        contact = self.hs_state.get_contact(self.ids[("hubspot", email)])
        return dict(contact.properties)

    def sf(self, email: str) -> dict[str, Any]:
        return dict(self.sf_state.get("Lead", self.ids[("salesforce", email)]))


@pytest.fixture
def crms() -> Iterator[Crms]:
    with ExitStack() as stack:
        hubspot = stack.enter_context(plugin("hubspot").sandbox.start("empty"))  # type: ignore[union-attr]
        salesforce = stack.enter_context(plugin("salesforce").sandbox.start("empty"))  # type: ignore[union-attr]
        ids: dict[tuple[str, str], str] = {}
        hs_state = hubspot.server.state
        for email, title in ((ANA, "IT Director"), (BEA, "Marketing intern")):
            contact = hs_state.create_contact(
                {"email": email, "firstname": email.split("@")[0].title(), "jobtitle": title},
                source=SEED,
                notify=False,
            )
            ids[("hubspot", email)] = str(contact.id)
        sf_state = salesforce.server.state
        sf_state.schema.add_custom_field("Lead", "Buying_Role__c", "string", "Buying role")
        sf_state.insert(
            "FieldPermissions",
            {"ParentId": sf_state.integration_permission_set, "SobjectType": "Lead",
             "Field": "Lead.Buying_Role__c", "PermissionsRead": True, "PermissionsEdit": True},
        )  # fmt: skip
        for email, size, role in (("Ana@Acme.es", 600, "DECISION_MAKER"), (CARL, 20, "")):
            ids[("salesforce", email.lower())] = sf_state.insert(
                "Lead",
                {"Email": email, "LastName": email.split("@")[0].title(), "Company": "Acme",
                 "Status": "Open - Not Contacted", "NumberOfEmployees": size,
                 "Buying_Role__c": role or None, "OwnerId": sf_state.users.rep},
            )  # fmt: skip
        yield Crms(hubspot, salesforce, ids)


def native_sync(crms: Crms) -> list[tuple[str, str, str]]:
    """Copy crmbridge's writes in one CRM into the other, as HubSpot's Salesforce sync
    does for mapped fields; what it copied (to, field, value) is listed."""
    copied: list[tuple[str, str, str]] = []
    sf_state, hs_state = crms.sf_state, crms.hs_state
    hs_by_email = {email: crm_id for (crm, email), crm_id in crms.ids.items() if crm == "hubspot"}
    sf_by_email = {
        email: crm_id for (crm, email), crm_id in crms.ids.items() if crm == "salesforce"
    }
    sync_user = sf_state.users.assignment_owner

    def from_hubspot(changes: Any) -> None:
        for change in changes:
            if change.source.type != "INTEGRATION" or change.property_name not in SYNCED:
                continue
            email = hs_state.get_contact(str(change.object_id)).properties.get("email", "")
            target = sf_by_email.get(email)
            if target is not None:
                value = change.property_value
                field = custom_field(change.property_name)
                sf_state.update("Lead", target, {field: _sf_value(value)}, by=sync_user)
                copied.append(("salesforce", change.property_name, value))

    def from_salesforce(sobject: str, record_id: str, values: Any, author: str) -> None:
        if author != sf_state.users.integration or sobject != "Lead":
            return
        email = str(sf_state.get("Lead", record_id)["Email"] or "").lower()
        target = hs_by_email.get(email)
        for name in SYNCED:
            field = custom_field(name)
            if target is not None and field in values:
                value = _hs_value(values[field])
                hs_state.update_contacts([(target, {name: value})], source=SYNC_SOURCE)
                copied.append(("hubspot", name, value))

    hs_state.subscribe(from_hubspot)
    sf_state.subscribe(from_salesforce)
    return copied


def _sf_value(value: str | None) -> Any:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return value


def _hs_value(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


def config_for(
    crms: Crms,
    store_url: str,
    *,
    link: bool = True,
    owners: dict[str, str] | None = None,
    notify: bool = False,
) -> CrmbridgeConfig:
    base = parse_config(example_config_text(), source="example").config
    salesforce = crms.salesforce.settings.model_copy(
        update={
            "property_map": {
                "jobtitle": "Title",
                "numemployees": "NumberOfEmployees",
                "hs_buying_role": "Buying_Role__c",
            }
        }
    )
    connectors = base.connectors.model_copy(
        update={"hubspot": crms.hubspot.settings, "salesforce": salesforce}
    )
    bridge = base.bridge.model_copy(update={"database_url": store_url, "link_across_crms": link})
    writeback = WritebackSettings(owners=owners or {})
    notifications = base.notifications.model_copy(update={"enabled": notify})
    return base.model_copy(
        update={
            "connectors": connectors,
            "bridge": bridge,
            "writeback": writeback,
            "notifications": notifications,
        }
    )


def pipeline_for(crms: Crms, config: CrmbridgeConfig) -> Pipeline:
    store = Store.open(config.bridge.database_url)
    connectors = {"hubspot": crms.hubspot.connect(), "salesforce": crms.salesforce.connect()}
    pipeline = Pipeline(store, config, connectors)
    pipeline.prepare()
    now = clock.now()
    store.insert_events(
        [
            CanonicalEvent(
                event_id=f"pricing-{days}",
                type="page_view",
                occurred_at=now - timedelta(days=days),
                contact={"email": ANA},
                properties={"url": "https://acme.es/pricing"},
            )
            for days in (1, 2, 3)
        ]
    )
    return pipeline


def cycle(pipeline: Pipeline) -> CycleSummary:
    summary = pipeline.run_once(clock.now())
    assert summary.ok, summary.errors
    return summary


def scores(pipeline: Pipeline) -> dict[tuple[str, str], int]:
    """Each record's current score in the store, by (CRM, email)."""
    with pipeline.store.session() as session:
        rows = pipeline.store.contacts_after(session, 0, 100)
        current = pipeline.store.current_scores(session, [r.id for r in rows])
    return {(r.crm, r.email): current[r.id].total for r in rows if r.id in current}


def test_a_person_in_both_crms_is_one_lead_scored_once_and_written_per_owner(
    crms: Crms, store_url: str
) -> None:
    copied = native_sync(crms)
    config = config_for(crms, store_url, owners={"crmbridge_score": "salesforce"})
    pipeline = pipeline_for(crms, config)

    first = cycle(pipeline)

    # Three people, three leads: Ana's two records are scored once, together.
    assert first.read == 4 and first.scored == 3
    assert scores(pipeline) == {
        ("hubspot", ANA): 95,
        ("salesforce", ANA): 95,
        ("hubspot", BEA): 0,
        ("salesforce", CARL): 0,
    }
    # The score is Salesforce's: written there only, and carried to HubSpot by the sync.
    assert crms.sf(ANA)["CRMBridge_Score__c"] == 95
    assert ("hubspot", "crmbridge_score", "95") in copied
    assert crms.hs(ANA)["crmbridge_score"] == "95"
    hs_writes = [r for r in crms.hs_state.requests() if r.path.endswith("/batch/update")]
    assert hs_writes and all('"crmbridge_score"' not in str(r.body) for r in hs_writes)
    # Every other property has no owner: written into both CRMs, the same.
    assert crms.hs(ANA)["crmbridge_stage"] == crms.sf(ANA)["CRMBridge_Stage__c"] == "mql"
    # Authority: the buying role, read from Buying_Role__c under its model name.
    assert crms.sf(ANA)["CRMBridge_Bant__c"] == crms.hs(ANA)["crmbridge_bant"] == "- A - -"
    # Bea and Carl, each in one CRM: Bea's score has Salesforce as owner, so it waits.
    assert "crmbridge_score" not in crms.hs(BEA)
    assert crms.sf(CARL)["CRMBridge_Score__c"] == 0
    with pipeline.store.session() as session:
        assert linked_leads(session) == {"leads": 1, "records": 2}

    # The sync's copies come back as echoes: nothing flaps, nothing is written again.
    again = cycle(pipeline)
    assert again.written == 0 and again.changed == 0
    with pipeline.store.session() as session:
        assert loops_since(session, clock.now() - timedelta(days=1)) == []


def test_a_record_deleted_in_one_crm_leaves_the_other_scored_alone(
    crms: Crms, store_url: str
) -> None:
    pipeline = pipeline_for(crms, config_for(crms, store_url))
    cycle(pipeline)
    assert scores(pipeline)[("salesforce", ANA)] == 95  # with her HubSpot record's values

    # Her HubSpot record is deleted (a read or a webhook says so).
    crms.hs_state.delete_contact(crms.ids[("hubspot", ANA)], source=USER)
    forget_deleted(pipeline.store, "hubspot", [crms.ids[("hubspot", ANA)]])
    cycle(pipeline)
    assert scores(pipeline)[("salesforce", ANA)] == 0  # Salesforce's values alone
    with pipeline.store.session() as session:
        assert linked_leads(session) == {"leads": 0, "records": 0}


def test_a_duplicate_merged_away_in_one_crm_links_the_person_across_crms(
    crms: Crms, store_url: str
) -> None:
    """Ana twice in Salesforce is no lead across CRMs; once the duplicate is merged into
    her other lead there, she is one lead with her HubSpot record."""
    sf_ana = crms.ids[("salesforce", ANA)]
    twin = crms.sf_state.insert(
        "Lead",
        {"Email": ANA, "LastName": "Ana", "Company": "Acme", "Status": "Open - Not Contacted",
         "OwnerId": crms.sf_state.users.rep},
    )  # fmt: skip
    pipeline = pipeline_for(crms, config_for(crms, store_url))
    cycle(pipeline)
    with pipeline.store.session() as session:
        assert linked_leads(session) == {"leads": 0, "records": 0}

    crms.sf_state.delete("Lead", twin, merged_into=sf_ana)
    cycle(pipeline)
    with pipeline.store.session() as session:
        assert linked_leads(session) == {"leads": 1, "records": 2}
    assert scores(pipeline)[("salesforce", ANA)] == scores(pipeline)[("hubspot", ANA)] == 95


def book_demo(pipeline: Pipeline) -> None:
    """Ana booked a demo two hours ago (+30)."""
    demo = CanonicalEvent(
        event_id="demo-booked",
        type="meeting_booked",
        occurred_at=clock.now() - timedelta(hours=2),
        contact={"email": ANA},
    )
    pipeline.store.insert_events([demo])


def test_a_hot_lead_in_both_crms_is_told_to_sales_once_in_its_home_crm(
    crms: Crms, store_url: str
) -> None:
    config = config_for(crms, store_url, owners={"crmbridge_score": "salesforce"}, notify=True)
    pipeline = pipeline_for(crms, config)
    book_demo(pipeline)  # on top of the rest: 125 points, a hot lead

    cycle(pipeline)
    cycle(pipeline)

    assert scores(pipeline)[("hubspot", ANA)] == scores(pipeline)[("salesforce", ANA)] == 125
    assert crms.hs(ANA)["crmbridge_hot"] == "true" and crms.sf(ANA)["CRMBridge_Hot__c"] == "true"
    sf_ana = crms.ids[("salesforce", ANA)]
    tasks = crms.sf_state.visible("Task", include_deleted=False)
    # Salesforce owns the score, so the lead's hand-off runs there: one task, none in HubSpot.
    assert [t["WhoId"] for t in tasks] == [sf_ana]
    assert crms.hs_state.tasks() == []
    # The dashboard's hot-lead queue shows her once, by that record.
    with pipeline.store.session() as session:
        shown, count = hot_leads(session, 10, skip=one_record_per_lead(config))
        assert hot_leads(session, 10)[1] == 2
    assert count == 1 and [(h.crm, h.crm_id) for h in shown] == [("salesforce", sf_ana)]


def test_a_property_written_into_both_crms_and_synced_is_found_flapping(
    crms: Crms, store_url: str
) -> None:
    copied = native_sync(crms)
    # Linking off: Ana is two leads, scored apart (the pricing visits went to her
    # HubSpot record: 45 there, 0 in Salesforce), and crmbridge_score has no owner, so
    # crmbridge writes each CRM its own score while the sync copies each across.
    pipeline = pipeline_for(crms, config_for(crms, store_url, link=False))
    first = cycle(pipeline)
    assert first.scored == 4
    assert (scores(pipeline)[("hubspot", ANA)], scores(pipeline)[("salesforce", ANA)]) == (45, 0)
    # HubSpot got 45 from crmbridge, then Salesforce's 0 from the sync.
    assert crms.hs(ANA)["crmbridge_score"] == "0"

    second = cycle(pipeline)
    assert any(line.startswith("crmbridge_score in hubspot: ") for line in second.sync_loops)
    assert found_loops(pipeline, "crmbridge_score") == {
        ("hubspot", "crmbridge_score", "salesforce"): ("45", "0")
    }
    # The stage, also mapped in the sync, flaps the same way (lead in HubSpot, subscriber).
    assert ("hubspot", "crmbridge_stage", "salesforce") in found_loops(pipeline)

    # Another visit rescores Ana: crmbridge writes its 45 back over the 0 the sync put
    # into HubSpot, and the sync carries it over Salesforce's 0: the value flaps.
    pipeline.store.insert_events(
        [
            CanonicalEvent(
                event_id="pricing-today",
                type="page_view",
                occurred_at=clock.now(),
                contact={"email": ANA},
                properties={"url": "https://acme.es/pricing/enterprise"},
            )
        ]
    )
    cycle(pipeline)
    cycle(pipeline)

    assert crms.hs(ANA)["crmbridge_score"] == "45"
    assert crms.sf(ANA)["CRMBridge_Score__c"] == 45
    assert found_loops(pipeline, "crmbridge_score") == {
        ("hubspot", "crmbridge_score", "salesforce"): ("45", "0"),
        ("salesforce", "crmbridge_score", "hubspot"): ("0", "45"),
    }
    assert [c for c in copied if c[1] == "crmbridge_score"] == [
        ("salesforce", "crmbridge_score", "45"),
        ("hubspot", "crmbridge_score", "0"),
        ("salesforce", "crmbridge_score", "45"),
    ]


def test_no_loop_is_found_when_one_crm_owns_the_synced_property(crms: Crms, store_url: str) -> None:
    native_sync(crms)
    owners = dict.fromkeys(SYNCED, "salesforce")
    pipeline = pipeline_for(crms, config_for(crms, store_url, link=False, owners=owners))
    for _ in range(3):
        cycle(pipeline)
    # HubSpot holds what the sync carried from Salesforce; crmbridge never fought it.
    assert crms.hs(ANA)["crmbridge_score"] == "0"
    assert found_loops(pipeline) == {}


def found_loops(
    pipeline: Pipeline, only: str | None = None
) -> dict[tuple[str, str, str], tuple[str, str]]:
    """The sync loops the store recorded (of property ``only``): their last values."""
    with pipeline.store.session() as session:
        seen = loops_since(session, clock.now() - timedelta(days=1))
    return {
        (lp.connector, lp.property, lp.other): (lp.ours, lp.theirs)
        for lp in seen
        if only in (None, lp.property)
    }


def test_linking_off_makes_two_independent_leads(crms: Crms, store_url: str) -> None:
    pipeline = pipeline_for(crms, config_for(crms, store_url, link=False))

    cycle(pipeline)

    found = scores(pipeline)
    # Neither record alone is an IT director at a large company: no fit points.
    assert {found[("hubspot", ANA)], found[("salesforce", ANA)]} == {45, 0}
    assert crms.hs(ANA)["crmbridge_score"] in ("45", "0")
    assert crms.sf(ANA)["CRMBridge_Score__c"] in (45, 0)


def test_an_email_change_unlinks_the_record_and_changing_it_back_links_it_again(
    crms: Crms, store_url: str
) -> None:
    pipeline = pipeline_for(crms, config_for(crms, store_url))
    cycle(pipeline)
    hs_ana = crms.ids[("hubspot", ANA)]

    crms.hs_state.update_contacts(
        [(hs_ana, {"email": "ana.ruiz@acme.es"})], source=USER, as_user=True
    )
    moved = cycle(pipeline)

    # Two people now: HubSpot's has the title and the visits, Salesforce's the size.
    assert moved.scored == 2
    with pipeline.store.session() as session:
        assert linked_leads(session) == {"leads": 0, "records": 0}
    found = scores(pipeline)
    assert found[("hubspot", "ana.ruiz@acme.es")] == 45 and found[("salesforce", ANA)] == 0
    assert crms.hs_state.get_contact(hs_ana).properties["crmbridge_score"] == "45"
    assert crms.sf(ANA)["CRMBridge_Score__c"] == 0

    crms.hs_state.update_contacts([(hs_ana, {"email": ANA})], source=USER, as_user=True)
    back = cycle(pipeline)

    assert back.scored == 1
    with pipeline.store.session() as session:
        assert linked_leads(session) == {"leads": 1, "records": 2}
    assert scores(pipeline) == {
        ("hubspot", ANA): 95,
        ("salesforce", ANA): 95,
        ("hubspot", BEA): 0,
        ("salesforce", CARL): 0,
    }
    assert crms.hs(ANA)["crmbridge_score"] == "95" and crms.sf(ANA)["CRMBridge_Score__c"] == 95


def test_a_change_in_one_crm_rescores_the_whole_lead_once(
    crms: Crms, tmp_path: Path, store_url: str
) -> None:
    pipeline = pipeline_for(crms, config_for(crms, store_url))
    cycle(pipeline)
    assert crms.hs(ANA)["crmbridge_bant"] == "- A - -"
    # A rep clears Ana's buying role in Salesforce: only that record changes.
    crms.sf_state.update("Lead", crms.ids[("salesforce", ANA)], {"Buying_Role__c": None})

    after = cycle(pipeline)

    # One lead scored; both its records written (HubSpot's, unchanged, too).
    assert (after.scored, after.changed, after.written) == (1, 2, 2)
    assert crms.hs(ANA)["crmbridge_bant"] == crms.sf(ANA)["CRMBridge_Bant__c"] == "- - - -"


# -- check, plan and explain ------------------------------------------------------------


def config_file(
    crms: Crms, tmp_path: Path, *, link: bool = True, owners: dict[str, str] | None = None
) -> Path:
    """``crmbridge.toml``: the bundled model, both sandboxes, as an admin writes it."""
    text = example_config_text()
    start, end = text.index("[connectors.hubspot]"), text.index("# ─── Scoring")
    hs, sf = crms.hubspot.settings, crms.salesforce.settings
    connectors = f"""[connectors.hubspot]
enabled = true
access_token = "{hs.access_token.get_secret_value()}"
base_url = "{hs.base_url}"

[connectors.salesforce]
enabled = true
instance_url = "{sf.instance_url}"
session_id = "{sf.session_id.get_secret_value()}"
ca_bundle = "{sf.ca_bundle}"

[connectors.salesforce.property_map]
jobtitle = "Title"
numemployees = "NumberOfEmployees"
hs_buying_role = "Buying_Role__c"

"""
    text = text[:start] + connectors + text[end:]
    text = text.replace("[bridge]\n", f"[bridge]\nlink_across_crms = {str(link).lower()}\n", 1)
    text += "\n[writeback.owners]\n" + "".join(f'{k} = "{v}"\n' for k, v in (owners or {}).items())
    path = tmp_path / "crmbridge.toml"
    path.write_text(text, "utf-8")
    return path


def run_cli(config: CrmbridgeConfig, path: Path, *args: str) -> tuple[int, str]:
    """``crmbridge ARGS`` on the test's store: its exit code and what it printed (only
    standard output with --json)."""
    result = cli(config.bridge.database_url, "--config", str(path), *args)
    return result.exit_code, result.stdout if "--json" in args else result.output


def test_plan_and_explain_show_the_lead_linked_and_check_counts_it(
    crms: Crms, tmp_path: Path, store_url: str
) -> None:
    owners = {"crmbridge_score": "salesforce"}
    config = config_for(crms, store_url, owners=owners)
    path = config_file(crms, tmp_path, owners=owners)
    pipeline = pipeline_for(crms, config)  # the events; nothing read yet

    code, output = run_cli(config, path, "plan", "--json")

    assert code == 0, output
    plan = json.loads(output)
    assert plan["summary"]["contacts_rescored"] == 3
    assert plan["summary"]["leads_in_several_crms"] == 1
    hs_ana, sf_ana = crms.ids[("hubspot", ANA)], crms.ids[("salesforce", ANA)]
    score_rows = [
        (c["crm"], c["crm_id"], c["new"], c["linked_with"])
        for c in plan["changes"]
        if c["property"] == "crmbridge_score"
    ]
    assert ("salesforce", sf_ana, "95", [f"hubspot:{hs_ana}"]) in score_rows
    assert not [row for row in score_rows if row[0] == "hubspot"]

    code, output = run_cli(config, path, "explain", ANA, "--json")

    assert code == 0, output
    explained = json.loads(output)
    assert (explained["crm"], explained["score"]["total"]) == ("salesforce", 95)
    assert sorted((r["crm"], r["crm_id"], r["home"]) for r in explained["linked_records"]) == [
        ("hubspot", hs_ana, False),
        ("salesforce", sf_ana, True),
    ]
    code, text = run_cli(config, path, "explain", ANA)
    assert "One lead in several CRMs" in " ".join(text.split())

    # The next cycle does what the plan said.
    first = cycle(pipeline)
    assert first.scored == plan["summary"]["contacts_rescored"]
    assert crms.sf(ANA)["CRMBridge_Score__c"] == 95

    code, output = run_cli(config, path, "check")

    said = " ".join(output.split())
    assert code == 0, said
    assert "1 lead in several CRMs (the same email), scored once (2 records)" in said


def test_check_explains_a_sync_loop_and_how_to_end_it(
    crms: Crms, tmp_path: Path, store_url: str
) -> None:
    native_sync(crms)
    config = config_for(crms, store_url, link=False)
    pipeline = pipeline_for(crms, config)
    cycle(pipeline)
    cycle(pipeline)

    code, output = run_cli(config, config_file(crms, tmp_path, link=False), "check")

    said = " ".join(output.split())
    assert code == 2, said
    assert (
        "sync loop: crmbridge_score flaps in hubspot: crmbridge wrote '45', then "
        "salesforce's value '0' came back (1 time" in said
    )
    assert 'Fix: set [writeback.owners] crmbridge_score = "salesforce" (or "hubspot")' in said

    # With an owner the property is no longer written twice: a note, not a failure.
    owners = dict.fromkeys(SYNCED, "salesforce")
    fixed = config_file(crms, tmp_path, link=False, owners=owners)
    code, output = run_cli(config, fixed, "check")
    said = " ".join(output.split())
    assert code == 0, said
    assert "sync loop seen before salesforce owned it: crmbridge_score flaps in hubspot" in said


def test_turning_linking_off_or_naming_an_owner_reaches_every_lead_at_the_next_start(
    crms: Crms, store_url: str
) -> None:
    pipeline = pipeline_for(crms, config_for(crms, store_url))
    cycle(pipeline)
    assert crms.hs(ANA)["crmbridge_score"] == "95"

    # A restart with linking off: nothing changed in either CRM, yet Ana is split.
    apart = Pipeline(
        pipeline.store,
        config_for(crms, store_url, link=False),
        {"hubspot": crms.hubspot.connect(), "salesforce": crms.salesforce.connect()},
    )
    split = cycle(apart)

    assert split.scored == 4
    assert (scores(apart)[("hubspot", ANA)], scores(apart)[("salesforce", ANA)]) == (45, 0)
    assert crms.hs(ANA)["crmbridge_score"] == "45" and crms.sf(ANA)["CRMBridge_Score__c"] == 0

    # Linked again, with HubSpot owning the score: Salesforce keeps what it holds.
    owned = Pipeline(
        pipeline.store,
        config_for(crms, store_url, owners={"crmbridge_score": "hubspot"}),
        {"hubspot": crms.hubspot.connect(), "salesforce": crms.salesforce.connect()},
    )
    cycle(owned)

    assert crms.hs(ANA)["crmbridge_score"] == "95" and crms.sf(ANA)["CRMBridge_Score__c"] == 0
    assert cycle(owned).written == 0


def test_the_weekly_report_counts_a_lead_in_both_crms_once(crms: Crms, store_url: str) -> None:
    config = config_for(crms, store_url, owners={"crmbridge_score": "salesforce"})
    pipeline = pipeline_for(crms, config)
    cycle(pipeline)
    now = clock.now()
    week = current_week(now, ZoneInfo("UTC"))

    with pipeline.store.session() as session:
        linked = build_report(session, config, week, now)
        apart = build_report(
            session,
            config.model_copy(
                update={"bridge": config.bridge.model_copy(update={"link_across_crms": False})}
            ),
            week,
            now,
        )
        leads = milestones(session, week.start, now, skip=other_records("salesforce"))

    # Ana, Bea and Carl: three leads, not four records.
    assert sum(linked.current.score_histogram.values()) == 3
    assert sum(apart.current.score_histogram.values()) == 4
    # Ana stands for her lead by her home record (Salesforce owns the score).
    ids = {lead.contact_id for lead in leads}
    with pipeline.store.session() as session:
        rows = {r.id: (r.crm, r.email) for r in pipeline.store.contacts_after(session, 0, 10)}
    assert sorted(rows[i] for i in ids) == [
        ("hubspot", BEA),
        ("salesforce", ANA),
        ("salesforce", CARL),
    ]


def test_a_hot_lead_told_in_one_crm_is_not_told_again_when_it_appears_in_the_other(
    crms: Crms, store_url: str
) -> None:
    """Ana is hot in HubSpot alone and told to sales there; later the same person shows
    up in Salesforce, which owns the score: the lead's home moves there, but the lead
    was hot already, so sales are not told a second time."""
    sf_ana, hs_ana = crms.ids[("salesforce", ANA)], crms.ids[("hubspot", ANA)]
    crms.sf_state.update("Lead", sf_ana, {"Email": "someone.else@acme.es"})
    crms.hs_state.update_contacts([(hs_ana, {"numemployees": "600"})], source=USER)
    config = config_for(crms, store_url, owners={"crmbridge_score": "salesforce"}, notify=True)
    pipeline = pipeline_for(crms, config)
    book_demo(pipeline)
    cycle(pipeline)
    assert scores(pipeline)[("hubspot", ANA)] >= 100
    assert len(crms.hs_state.tasks()) == 1  # told in HubSpot, where she was alone

    crms.sf_state.update("Lead", sf_ana, {"Email": "Ana@Acme.es"})
    cycle(pipeline)
    cycle(pipeline)
    assert scores(pipeline)[("salesforce", ANA)] >= 100  # one lead now, at home in Salesforce
    assert crms.sf_state.visible("Task", include_deleted=False) == []
    assert len(crms.hs_state.tasks()) == 1


def _daemon_over(crms: Crms, config: CrmbridgeConfig) -> Daemon:
    connectors = {"hubspot": crms.hubspot.connect(), "salesforce": crms.salesforce.connect()}
    daemon = Daemon(config, Store.open(config.bridge.database_url), connectors, serve_http=False)
    daemon.preflight()
    return daemon


def _pricing_visit(event_id: str, days_ago: int = 0) -> CanonicalEvent:
    return CanonicalEvent(
        event_id=event_id,
        type="page_view",
        occurred_at=clock.now() - timedelta(days=days_ago),
        contact={"email": ANA},
        properties={"url": "https://acme.es/pricing"},
    )


def _polls(daemon: Daemon, rounds: int, order: tuple[str, ...]) -> list[dict[str, Any]]:
    """``rounds`` polls of each CRM, as the daemon's scheduler runs them; the log."""
    with structlog.testing.capture_logs() as logs:
        for _ in range(rounds):
            for name in order:
                daemon.poll(name)
    cycles = [line for line in logs if line["event"] == "cycle.done"]
    assert cycles and all(line["ok"] for line in cycles), cycles
    return logs


def test_one_daemon_polls_both_crms_and_finds_the_sync_loop_between_them(
    crms: Crms, store_url: str
) -> None:
    """The daemon itself (start-up checks, then a poll per CRM, as its scheduler runs
    them) over both sandboxes, linking off and no owner: once the admin maps
    crmbridge's fields in the native sync, each CRM's score flaps and the daemon logs
    and counts the loop."""
    daemon = _daemon_over(crms, config_for(crms, store_url, link=False))
    try:
        daemon.store.insert_events([_pricing_visit(f"pricing-{d}", d) for d in (1, 2, 3)])
        _polls(daemon, 1, ("hubspot", "salesforce"))
        assert crms.hs(ANA)["crmbridge_score"] == "45"
        assert crms.sf(CARL)["CRMBridge_Score__c"] is not None
        copied = native_sync(crms)
        download = CanonicalEvent(
            event_id="guide-today",
            type="content_download",
            occurred_at=clock.now(),
            contact={"email": ANA},
            properties={"asset_type": "guide"},
        )
        daemon.store.insert_events([download])
        logs = _polls(daemon, 2, ("hubspot", "salesforce"))
    finally:
        daemon.shutdown()
        daemon.store.engine.dispose()
    assert ("salesforce", "crmbridge_score", "55") in copied, copied
    looped = {
        (line["connector"], line["property"]) for line in logs if line["event"] == "sync.loop"
    }
    assert ("salesforce", "crmbridge_score") in looped, looped
    assert not [line for line in logs if line["event"] == "contacts.held"]
    with Store.open(store_url).session() as session:
        seen = {
            (lp.connector, lp.property)
            for lp in loops_since(session, clock.now() - timedelta(days=1))
        }
    assert ("salesforce", "crmbridge_score") in seen


def test_values_the_native_sync_carries_from_their_owner_never_hold_a_record(
    crms: Crms, store_url: str
) -> None:
    """The fix for a loop (one CRM owns the property) under the daemon: Salesforce owns
    score and stage, the native sync carries them into HubSpot, and HubSpot's record,
    which now shows them without crmbridge's mark, is still crmbridge's to write (the
    properties HubSpot does get: grade, BANT...). No loop, no hold."""
    owners = dict.fromkeys(SYNCED, "salesforce")
    daemon = _daemon_over(crms, config_for(crms, store_url, owners=owners))
    try:
        copied = native_sync(crms)
        daemon.store.insert_events([_pricing_visit(f"pricing-{d}", d) for d in (1, 2, 3)])
        logs = _polls(daemon, 3, ("salesforce", "hubspot"))
    finally:
        daemon.shutdown()
        daemon.store.engine.dispose()
    assert ("hubspot", "crmbridge_score", "95") in copied, copied
    assert not [line for line in logs if line["event"] in ("contacts.held", "sync.loop")]
    hubspot = crms.hs(ANA)
    assert hubspot["crmbridge_score"] == "95"  # carried by the sync, never written there
    assert hubspot.get("crmbridge_grade"), hubspot  # written by crmbridge: not held
