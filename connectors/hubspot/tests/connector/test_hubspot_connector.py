"""The HubSpot connector through the official SDK, against the sandbox.

Schema bootstrap, reads (requested properties, activity as canonical events), batched
writes and the bisection of a batch HubSpot refuses as a whole, a 429 storm and 5%
server errors behind the full pipeline (the CRM ends exactly as after a clean run),
a wrong token, the 10,000-result search cap, and echo suppression.
"""

from __future__ import annotations

import math
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import SecretStr
from sqlmodel import col, func, select

from crmbridge.connector import Write
from crmbridge.errors import AuthError, ConfigError, MissingScope
from crmbridge.i18n import Texts
from crmbridge.store import outbox
from crmbridge.store.tables import ContactRow
from crmbridge.sync.pipeline import CycleSummary, Pipeline
from crmbridge.sync.writeback import own_fields, own_property_names
from crmbridge_hubspot import HubSpotConnector
from crmbridge_hubspot.connector import BATCH_LIMIT, SEARCH_LIMIT
from crmbridge_hubspot.sandbox.server import SandboxServer
from crmbridge_hubspot.sandbox.state import SandboxState
from crmbridge_hubspot.settings import HubSpotSettings

from .hubspot_harness import (
    IMPORT,
    TOKEN,
    TOKEN_SETTING,
    USER,
    WRONG_TOKEN,
    connector_for,
    pipeline_over,
    sandbox,
    set_rate_limit,
)

PREFIX = "crmbridge"
OWN = own_property_names(PREFIX)
#: Every field ensure_schema creates: crmbridge's own plus the ones sales fill in.
FIELDS = [field.name for field in own_fields(PREFIX)]
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
#: Contacts of the storm and fault scenarios: 12 batches of 100, thousands of values.
POPULATION = 1_200
_TITLES = ("CIO", "Director de IT", "Analyst", "Responsable de Marketing", "CTO")
_SIZES = ("20", "300", "600", "1500")
#: Not CRM state: they move with the wall clock (or with every write).
#: Wall-clock timestamps, and the writing store's mark (each run has its own store).
_VOLATILE = ("createdate", "lastmodifieddate", "crmbridge_store")


# -- helpers ---------------------------------------------------------------------------


def seed_population(state: SandboxState, count: int = POPULATION) -> list[str]:
    """Varied contacts updated in small groups sharing a timestamp; their ids."""
    base = (state.now() - timedelta(days=20)).replace(microsecond=0)
    ids = []
    for i in range(count):
        at = base + timedelta(seconds=i // 7)
        values = {
            "email": f"lead{i}@example{i % 13}.com",
            "firstname": f"Lead{i}",
            "jobtitle": _TITLES[i % len(_TITLES)],
            "numemployees": _SIZES[i % len(_SIZES)],
        }
        if i % 3 == 0:
            values["hs_buying_role"] = "DECISION_MAKER"
        created = state.create_contact(
            values, source=IMPORT, created_at=at, updated_at=at, notify=False
        )
        ids.append(created.id)
    return ids


def crm_snapshot(state: SandboxState) -> dict[str, dict[str, str]]:
    """Every contact's properties, by id (timestamps of the wall clock and the store's
    mark left out)."""
    return {
        contact.id: {k: v for k, v in contact.properties.items() if k not in _VOLATILE}
        for contact in state.contacts()
    }


def outbox_depth(pipeline: Pipeline) -> dict[str, int]:
    with pipeline.store.session() as session:
        return dict(outbox.depth(session))


def dirty_contacts(pipeline: Pipeline) -> int:
    with pipeline.store.session() as session:
        query = select(func.count()).select_from(ContactRow).where(col(ContactRow.dirty))
        return int(session.exec(query).one())


def requests_to(
    server: SandboxServer, suffix: str, status: int | None = None, *, method: str = "POST"
) -> int:
    """``method`` requests to a path ending with ``suffix`` (answered ``status``)."""
    return sum(
        1
        for r in server.state.requests()
        if r.method == method and r.path.endswith(suffix) and (status is None or r.status == status)
    )


def neighbour_burst(server: SandboxServer, count: int) -> Counter[int]:
    """Another integration on the same private app spends the window: ``count`` calls."""
    statuses: Counter[int] = Counter()
    for _ in range(count):
        request = urllib.request.Request(
            f"{server.url}/crm/v3/objects/contacts?limit=1",
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                statuses[response.status] += 1
        except urllib.error.HTTPError as exc:
            statuses[exc.code] += 1
    return statuses


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    with sandbox() as running:
        yield running


@pytest.fixture
def connector(server: SandboxServer) -> HubSpotConnector:
    return connector_for(server)


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    """The CRM after one cycle over the population with no limit, fault or neighbour."""
    with sandbox() as server:
        seed_population(server.state)
        connector = connector_for(server)
        with pipeline_over(connector, tmp_path_factory.mktemp("clean")) as pipeline:
            pipeline.prepare()
            summary = pipeline.run_once(NOW)
        assert summary.ok, summary.errors
        assert summary.written == POPULATION
        return crm_snapshot(server.state)


# -- schema ----------------------------------------------------------------------------


def test_schema_bootstrap_creates_the_group_and_typed_properties(
    server: SandboxServer, connector: HubSpotConnector
) -> None:
    created = connector.ensure_schema(own_fields(PREFIX))

    assert created == FIELDS
    assert server.state.group(PREFIX) is not None
    kinds = {
        "number": ("number", "number"),
        "string": ("string", "text"),
        "bool": ("bool", "booleancheckbox"),
        "enumeration": ("enumeration", "select"),
        "datetime": ("datetime", "date"),
    }
    for field in own_fields(PREFIX):
        definition = server.state.contact_property(field.name)
        assert definition is not None, field.name
        assert (definition.type, definition.field_type) == kinds[field.type], field.name
        assert definition.group_name == PREFIX
        if field.type == "enumeration":
            assert definition.option_values() == list(field.options)
        if field.type == "bool":
            assert definition.option_values() == ["true", "false"]


def test_schema_bootstrap_twice_creates_nothing_the_second_time(
    server: SandboxServer, connector: HubSpotConnector
) -> None:
    first_replica = connector_for(server)
    first_replica.ensure_schema(own_fields(PREFIX)[:3])  # partly there already
    creates_before = requests_to(server, "/crm/v3/properties/contacts")

    created = connector.ensure_schema(own_fields(PREFIX))
    creates_between = requests_to(server, "/crm/v3/properties/contacts")
    again = connector.ensure_schema(own_fields(PREFIX))

    assert created == FIELDS[3:]
    assert creates_between - creates_before == len(FIELDS) - 3
    assert again == []
    assert requests_to(server, "/crm/v3/properties/contacts") == creates_between


def test_a_language_change_relabels_crmbridges_properties_once_and_leaves_others_alone(
    server: SandboxServer, connector: HubSpotConnector
) -> None:
    connector.ensure_schema(own_fields(PREFIX))
    # An admin moved one property into a group of their own: its label is theirs.
    moved = server.state.contact_property(f"{PREFIX}_grade")
    assert moved is not None
    server.state.replace_contact_property(replace(moved, group_name="contactinformation"))
    spanish = Texts("es", ZoneInfo("UTC"))

    assert connector.ensure_schema(own_fields(PREFIX, spanish)) == []
    relabelled = sum(1 for r in server.state.requests() if r.method == "PATCH")
    again = connector.ensure_schema(own_fields(PREFIX, spanish))

    score = server.state.contact_property(f"{PREFIX}_score")
    assert score is not None and score.label == "Puntuación del lead"
    assert score.description == "Lo escribe crmbridge: Puntuación del lead."
    grade = server.state.contact_property(f"{PREFIX}_grade")
    assert grade is not None and grade.label == "Lead grade"
    assert relabelled == len(FIELDS) - 1  # all but the grade, which was moved
    assert again == [] and sum(1 for r in server.state.requests() if r.method == "PATCH") == (
        relabelled
    )
    assert requests_to(server, "/crm/v3/properties/contacts/groups") == 1  # one group create


# -- reading ---------------------------------------------------------------------------

ACTIVITY = {
    "recent_conversion_date": "2026-11-02T09:30:00.000Z",
    "recent_conversion_event_name": "Pricing demo request",
    "hs_sales_email_last_replied": "2026-11-05T16:45:00.000Z",
    "hs_email_last_open_date": "2026-11-03T08:00:00.000Z",
    "hs_email_last_click_date": "2026-11-03T08:01:30.000Z",
    "hs_analytics_num_page_views": "7",
}


def test_read_returns_the_requested_properties_and_activity_as_events(
    server: SandboxServer, connector: HubSpotConnector
) -> None:
    contact = server.state.create_contact(
        {"email": "ana@acme.es", "jobtitle": "CIO", "phone": "+34 600 000 000", **ACTIVITY},
        source=USER,
        as_user=True,
    )

    pages = list(connector.read_changes(None, ["jobtitle", "numemployees"]))

    assert len(pages) == 1
    (record,) = pages[0].records
    assert (record.crm, record.id, record.email) == ("hubspot", contact.id, "ana@acme.es")
    assert record.properties["jobtitle"] == "CIO"
    assert "phone" not in record.properties, "only requested properties are read"
    assert "lastmodifieddate" not in record.properties, "volatile: kept as updated_at"
    assert record.updated_at == contact.updated_at
    events = {event.type: event for event in pages[0].events}
    assert set(events) == {"form_submit", "email_reply", "email_open", "email_click", "page_view"}
    for event in events.values():
        assert event.contact.crm == "hubspot"
        assert event.contact.id == contact.id
        assert event.event_id and event.event_id.startswith(f"hubspot:{contact.id}:")
    assert events["form_submit"].properties == {"form": "Pricing demo request"}
    assert events["form_submit"].occurred_at == datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
    assert events["email_reply"].properties == {"source": "sales_email"}
    assert events["email_reply"].occurred_at == datetime(2026, 11, 5, 16, 45, tzinfo=UTC)
    assert events["email_click"].occurred_at == datetime(2026, 11, 3, 8, 1, 30, tzinfo=UTC)
    assert events["page_view"].properties["page_views"] == "7"


def test_event_ids_are_stable_across_reads_and_new_activity_gets_new_ids(
    server: SandboxServer, connector: HubSpotConnector
) -> None:
    contact = server.state.create_contact(
        {"email": "ana@acme.es", **ACTIVITY}, source=USER, as_user=True
    )
    first = list(connector.read_changes(None, ["jobtitle"]))
    again = list(connector.read_changes(None, ["jobtitle"]))
    ids_first = {e.type: e.event_id for e in first[0].events}
    assert {e.type: e.event_id for e in again[0].events} == ids_first

    server.state.update_contacts(
        [
            (
                contact.id,
                {
                    "hs_analytics_num_page_views": "9",
                    "hs_email_last_open_date": "2026-11-10T12:00:00Z",
                },
            )
        ],
        source=USER,
        as_user=True,
    )
    later = list(connector.read_changes(first[-1].cursor, ["jobtitle"]))

    ids_later = {e.type: e.event_id for e in later[0].events}
    changed = {kind for kind in ids_first if ids_later[kind] != ids_first[kind]}
    assert changed == {"page_view", "email_open"}
    assert ids_later["page_view"] == f"hubspot:{contact.id}:page_views:9"


# -- writing ---------------------------------------------------------------------------


def test_writes_go_in_batches_of_100(server: SandboxServer, connector: HubSpotConnector) -> None:
    connector.ensure_schema(own_fields(PREFIX))
    ids = seed_population(server.state, 150)
    writes = [
        Write(crm_id, {"crmbridge_score": str(n), "crmbridge_hot": "false"})
        for n, crm_id in enumerate(ids)
    ]

    results = connector.write(writes)

    assert [(r.crm_id, r.ok) for r in results] == [(crm_id, True) for crm_id in ids]
    assert connector.client.calls["batch update contacts"] == math.ceil(150 / BATCH_LIMIT)
    assert requests_to(server, "/batch/update", 200) == 2
    for n, crm_id in enumerate(ids):
        held = server.state.get_contact(crm_id)
        assert held is not None
        assert held.properties["crmbridge_score"] == str(n)
        assert held.properties["crmbridge_hot"] == "false"


@pytest.mark.parametrize("bad_positions", [[17], [0], [17, 42]], ids=["one", "first", "two"])
def test_a_batch_refused_for_one_bad_value_is_bisected(
    server: SandboxServer, connector: HubSpotConnector, bad_positions: list[int]
) -> None:
    connector.ensure_schema(own_fields(PREFIX))
    ids = seed_population(server.state, 50)
    bad = {ids[p] for p in bad_positions}
    batch = [
        Write(crm_id, {"crmbridge_score": "70", "crmbridge_grade": "Z" if crm_id in bad else "B"})
        for crm_id in ids
    ]

    results = connector.write(batch)

    log = [r for r in server.state.requests() if r.path.endswith("/batch/update")]
    assert log[0].status == 400, "HubSpot refuses the whole batch for one bad option"
    verdicts = {r.crm_id: r for r in results}
    assert [r.crm_id for r in results] == ids
    for crm_id in ids:
        held = server.state.get_contact(crm_id)
        assert held is not None
        if crm_id in bad:
            assert not verdicts[crm_id].ok
            assert "crmbridge_grade" in (verdicts[crm_id].error or "")
            assert "crmbridge_score" not in held.properties
        else:
            assert verdicts[crm_id].ok, verdicts[crm_id]
            assert (held.properties["crmbridge_score"], held.properties["crmbridge_grade"]) == (
                "70",
                "B",
            )
    # Each good record was applied by exactly one call: bisection never resends a success.
    assert server.state.counters()["contact_updates"] == len(ids) - len(bad)
    calls = connector.client.calls["batch update contacts"]
    depth = math.ceil(math.log2(len(ids)))
    assert calls == len(log)
    assert calls <= 1 + 2 * depth * len(bad), f"{calls} calls to isolate {len(bad)} record(s)"
    assert sum(1 for r in log if r.status == 400) <= (depth + 1) * len(bad)


# -- the pipeline under pressure ---------------------------------------------------------


def assert_like_clean_run(
    server: SandboxServer, clean_run: dict[str, dict[str, str]], summary: CycleSummary
) -> None:
    assert summary.ok, summary.errors
    assert (summary.written, summary.failed) == (POPULATION, 0)
    # Writes go out while the read goes on; the read stops at what existed when it
    # began, so it never meets the contacts just written again.
    assert summary.read == POPULATION
    final = crm_snapshot(server.state)
    assert final.keys() == clean_run.keys()
    different = [crm_id for crm_id in final if final[crm_id] != clean_run[crm_id]]
    assert different == [], f"{len(different)} contacts differ, e.g. {different[:3]}"


def test_a_429_storm_loses_nothing(
    server: SandboxServer,
    connector: HubSpotConnector,
    clean_run: dict[str, dict[str, str]],
    tmp_path: Path,
) -> None:
    seed_population(server.state)
    with pipeline_over(connector, tmp_path) as pipeline:
        pipeline.prepare()
        set_rate_limit(server, 10, 10_000)
        # Another integration on the same private app spends the whole window first.
        assert neighbour_burst(server, 12) == Counter({200: 10, 429: 2})

        summary = pipeline.run_once(NOW)
        depth = outbox_depth(pipeline)

    assert_like_clean_run(server, clean_run, summary)
    assert set(depth) == {"done"}, depth
    # The neighbour's window cost one 429; twelve writes against a budget of ten per
    # window cost none: the connector waited instead of knocking.
    assert connector.client.rate_limited["TEN_SECONDLY_ROLLING"] == 1
    assert requests_to(server, "/batch/update", 429) == 1
    assert requests_to(server, "/batch/update", 200) == POPULATION // BATCH_LIMIT
    assert connector.client.governor.max_requests == 10, "the budget is learned from headers"


@pytest.mark.parametrize("after_handler", [False, True], ids=["refused", "applied-then-5xx"])
def test_five_percent_server_errors_leave_the_crm_as_a_clean_run(
    clean_run: dict[str, dict[str, str]], tmp_path: Path, after_handler: bool
) -> None:
    # Seed 26 draws faults on schema calls and on reads/writes of this request sequence.
    faults = {"fault_rate": 0.05, "fault_seed": 26, "fault_after_handler": after_handler}
    with sandbox(**faults) as server:
        seed_population(server.state)
        connector = connector_for(server)
        with pipeline_over(connector, tmp_path) as pipeline:
            pipeline.prepare()
            summary = pipeline.run_once(NOW)
            depth = outbox_depth(pipeline)

        assert server.state.counters().get("faults_injected", 0) >= 2
        assert_like_clean_run(server, clean_run, summary)
        assert set(depth) == {"done"}, depth
        data_faults = sum(
            1
            for r in server.state.requests()
            if r.status >= 500 and r.path.endswith(("/search", "/batch/update"))
        )
        assert data_faults >= 1, "no read or write met a fault"


# -- credentials -----------------------------------------------------------------------


def test_a_wrong_token_is_an_auth_error_that_names_the_setting(
    server: SandboxServer,
) -> None:
    (crm_id,) = seed_population(server.state, 1)
    wrong = connector_for(server, WRONG_TOKEN)
    actions: dict[str, Any] = {
        "ensure_schema": lambda: wrong.ensure_schema(own_fields(PREFIX)),
        "read_changes": lambda: list(wrong.read_changes(None, ["jobtitle"])),
        "read_values": lambda: wrong.read_values([crm_id], OWN),
        "write": lambda: wrong.write([Write(crm_id, {"crmbridge_score": "1"})]),
    }

    for name, action in actions.items():
        with pytest.raises(AuthError) as failure:
            action()
        message = str(failure.value)
        assert TOKEN_SETTING in message, name
        for secret in (WRONG_TOKEN, TOKEN):
            assert secret not in message, name
            assert secret not in (failure.value.detail or ""), name
    report = wrong.check()

    assert not report.ok
    assert any(TOKEN_SETTING in problem for problem in report.problems)
    assert WRONG_TOKEN not in "".join(report.problems)
    assert WRONG_TOKEN not in repr(wrong)
    # A refused token is not retried: one request per action, plus check's one.
    assert server.state.counters()["status_401"] == len(actions) + 1


def test_a_missing_token_is_a_config_error_naming_the_setting() -> None:
    settings = HubSpotSettings(enabled=True, access_token=SecretStr(""), base_url="http://x")

    with pytest.raises(ConfigError) as failure:
        HubSpotConnector.from_settings(settings)

    assert [p.path for p in failure.value.problems] == [TOKEN_SETTING]


def test_a_token_without_write_scopes_is_reported_by_check() -> None:
    read_only = ["crm.objects.contacts.read", "crm.schemas.contacts.read"]
    with sandbox(tokens={TOKEN: read_only}) as server:
        (crm_id,) = seed_population(server.state, 1)
        connector = connector_for(server)

        report = connector.check()
        # A missing scope is its own error, not a refused token.
        with pytest.raises(MissingScope) as failure:
            connector.write([Write(crm_id, {"email": "x@example.com"})])

    assert not report.ok
    # One line per missing scope, each naming what needs it.
    problems = "\n".join(report.problems)
    assert "crm.objects.contacts.write is missing: sync (write scores" in problems
    assert "crm.schemas.contacts.write is missing: check (create the crmbridge" in problems
    assert "crm.objects.owners.read is missing: [assignment] owners needs it" in problems
    assert len(report.problems) == 3
    assert "crm.objects.contacts.write" in str(failure.value)


# -- the search cap --------------------------------------------------------------------


def test_the_10000_result_search_cap_is_never_hit(server: SandboxServer) -> None:
    count = 10_500
    base = (server.state.now() - timedelta(days=40)).replace(microsecond=0)
    for i in range(count):
        at = base + timedelta(seconds=i)
        server.state.create_contact(
            {"email": f"p{i}@example.com"},
            source=IMPORT,
            created_at=at,
            updated_at=at,
            notify=False,
        )
    connector = connector_for(server)
    seen: list[str] = []
    cursor = None
    # Two daemon cycles: the first stops after 25 pages, the second resumes at its cursor.
    for page_number, page in enumerate(connector.read_changes(None, ["email"])):
        seen.extend(r.id for r in page.records)
        cursor = page.cursor
        if page_number == 24:
            break
    seen.extend(r.id for page in connector.read_changes(cursor, ["email"]) for r in page.records)

    assert len(seen) == count
    assert len(set(seen)) == count
    assert seen == sorted(seen, key=int), "oldest first (ids were created in time order)"
    searches = connector.client.calls["search contacts"]
    # Each read adds one search for its bound (the newest modification when it began).
    pages = math.ceil(count / (SEARCH_LIMIT - 1))
    assert math.ceil(count / SEARCH_LIMIT) + 2 <= searches <= pages + 2 + 2
    assert requests_to(server, "/search", 200) == searches
    assert requests_to(server, "/search", 400) == 0


# -- echoes ----------------------------------------------------------------------------


def test_our_own_writes_read_back_mark_nothing_dirty(
    server: SandboxServer, connector: HubSpotConnector, tmp_path: Path
) -> None:
    ids = seed_population(server.state, 60)
    with pipeline_over(connector, tmp_path) as pipeline:
        pipeline.prepare()
        first = pipeline.run_once(NOW)
        writes = requests_to(server, "/batch/update")

        echo = pipeline.run_once(NOW)
        dirty_after_echo = dirty_contacts(pipeline)
        server.state.update_contacts(
            [(ids[2], {"jobtitle": "CIO", "numemployees": "900"})], source=USER, as_user=True
        )
        edited = pipeline.run_once(NOW)

    assert first.ok and first.written == 60, first
    assert (echo.read, echo.scored, echo.changed, echo.written) == (60, 0, 0, 0)
    assert dirty_after_echo == 0
    assert echo.ok
    assert (edited.read, edited.scored, edited.written) == (1, 1, 1)
    assert requests_to(server, "/batch/update") == writes + 1
    held = server.state.get_contact(ids[2])
    assert held is not None
    assert held.properties["crmbridge_fit_score"] == "50"


def test_check_names_the_handoff_scopes_a_token_lacks_without_failing() -> None:
    core = [
        "crm.objects.contacts.read",
        "crm.objects.contacts.write",
        "crm.schemas.contacts.read",
        "crm.schemas.contacts.write",
        "crm.objects.owners.read",
        "crm.lists.write",
    ]
    with sandbox(tokens={TOKEN: core}) as server:
        report = connector_for(server).check()

    assert report.ok, report.problems
    lacking = [line for line in report.limitations if " is missing: " in line]
    assert len(lacking) == 7, lacking
    company = "company rules (company.<property>) needs it (add it, or leave the feature off)"
    assert f"crm.objects.companies.read is missing: {company}" in lacking
    assert f"crm.schemas.companies.read is missing: {company}" in lacking
    account = "[account_score] (written to companies) needs it (add it, or leave the feature off)"
    assert f"crm.objects.companies.write is missing: {account}" in lacking
    assert f"crm.schemas.companies.write is missing: {account}" in lacking
    enroll = "enroll ([[triggers]] enroll_sequence, [reactivation] sequence_id) needs it"
    assert any(
        line.startswith(f"automation.sequences.read is missing: {enroll}") for line in lacking
    )
    assert any(
        "automation.sequences.enrollments.write is missing: enroll" in line for line in lacking
    )
    assert not any("crm.lists.write" in line for line in lacking)
    # HubSpot needs both list scopes to add a member: write alone is named as lacking read,
    # with the feature that needs it.
    assert any(
        line.startswith("crm.lists.read is missing: list_add ([[triggers]] add_to_list")
        for line in lacking
    )
    assert any("cannot pause or unenroll" in line for line in report.limitations)
