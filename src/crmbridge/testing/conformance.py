"""The conformance suite every crmbridge connector must pass against its sandbox.

The suite is a pytest class to inherit: a connector adds one test module with a
harness for its sandbox and a subclass that provides the ``harness`` fixture; pytest
collects the inherited tests::

    class TestAcmeConformance(ConnectorConformance):
        @pytest.fixture
        def harness(self) -> Iterator[ConformanceHarness]:
            with acme_sandbox() as server:
                yield AcmeSandboxHarness(server)

The harness speaks for the CRM: it seeds contacts, edits them as a person would,
reads what the CRM really holds, tightens its rate limit, injects server errors and
counts the requests it answered. The tests therefore judge a connector by what landed
in the CRM, never by the connector's own report alone.

What a connector must do (one test or more each): pass ``check()`` with good
credentials and name the setting to fix with bad ones; create every crmbridge field
idempotently; read every contact changed since a cursor exactly once, oldest first,
through blocks of equal modification times longer than a page and through edits made
while it pages; return what was written; report a refused record on its own while the
rest of its batch lands; stay inside the CRM's advertised request budget; retry server
errors until every write lands; and, behind the pipeline, never write a value the CRM
already holds.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import pytest

from crmbridge.config import example_config_text, parse_config
from crmbridge.connector import Connector, Page, Write, WriteResult
from crmbridge.errors import AuthError
from crmbridge.records import ContactRecord
from crmbridge.store.crm_values import crm_values_by_record
from crmbridge.store.repository import Store
from crmbridge.sync.pipeline import Pipeline
from crmbridge.sync.writeback import own_fields, own_property_names, same_value

__all__ = ["ConformanceHarness", "ConnectorConformance", "RequestKind", "contact_specs"]

#: What :meth:`ConformanceHarness.count_requests` counts: every API request the CRM
#: answered, the record writes among them, its 429 answers, its 5xx answers.
RequestKind = Literal["all", "write", "rate_limited", "server_error"]

PREFIX = "crmbridge"
#: The scoring "now" of the pipeline test (any fixed instant will do).
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


@runtime_checkable
class ConformanceHarness(Protocol):
    """A connector's sandbox, as the conformance tests drive and inspect it.

    Contacts are described by *canonical* field names — the keys of
    ``contact_fields`` (``email``, ``firstname``, ``lastname``, ``company``) — which
    the harness maps to the CRM's own names. crmbridge's fields are named as the
    pipeline names them (``crmbridge_score``...), as connectors receive them.
    """

    #: The configuration path an admin fixes when credentials are refused.
    credential_setting: str
    #: How many contacts one page of ``read_changes`` holds at most.
    page_size: int
    #: Canonical contact field → the CRM's name for it (what ``read_changes`` returns).
    contact_fields: Mapping[str, str]

    def make_connector(self, *, valid_credentials: bool = True) -> Connector:
        """A new connector for the sandbox (with credentials it refuses when asked).

        A connector made after :meth:`set_rate_limit` paces itself for that window.
        """
        ...

    def secrets(self) -> Sequence[str]:
        """Every credential the connectors hold: none may appear in an error."""
        ...

    def seed_contacts(
        self, specs: Sequence[Mapping[str, str]], *, same_modified_time: bool = False
    ) -> list[str]:
        """Create contacts (in order, each modified after every earlier seed); their ids.

        With ``same_modified_time`` every contact of this call shares one modification
        time, as after a bulk import.
        """
        ...

    def edit_contact(self, crm_id: str, values: Mapping[str, str]) -> None:
        """Change canonical fields of a contact as a person in the CRM would."""
        ...

    def crm_values(self, crm_id: str, names: Sequence[str]) -> dict[str, str | None]:
        """What the CRM holds in crmbridge's fields ``names`` (None when empty)."""
        ...

    def field_names(self) -> set[str]:
        """The contact fields that exist in the CRM."""
        ...

    def missing_id(self) -> str:
        """A record id that does not exist in the CRM."""
        ...

    def unwritable_value(self) -> tuple[str, str]:
        """A crmbridge field and a value the CRM refuses for it (e.g. a bad option)."""
        ...

    def set_rate_limit(self, max_requests: int, interval_s: float) -> None:
        """Allow ``max_requests`` per rolling ``interval_s``, starting from an empty window."""
        ...

    def set_fault_rate(self, rate: float, *, seed: int = 0, after_apply: bool = False) -> None:
        """Answer a seeded fraction of requests with a 5xx (after applying them if asked)."""
        ...

    def count_requests(self, kind: RequestKind = "all") -> int:
        """How many requests of ``kind`` the CRM has answered so far."""
        ...


class SeedTimes:
    """The modification times a harness gives the contacts it seeds: from ``start``,
    one second apart, each call's after every earlier one's (or, for a bulk import,
    one instant shared by a call's contacts)."""

    def __init__(self, start: datetime) -> None:
        self._next = start.replace(microsecond=0)

    def take(self, count: int, *, same: bool = False) -> list[datetime]:
        """The times of the next ``count`` contacts (``same``: one shared time)."""
        first = self._next
        if same:
            self._next += timedelta(seconds=1)
            return [first] * count
        self._next += timedelta(seconds=count)
        return [first + timedelta(seconds=n) for n in range(count)]


def contact_specs(count: int, tag: str = "c") -> list[dict[str, str]]:
    """``count`` distinct contacts in canonical field names."""
    return [
        {
            "email": f"{tag}{n}@conformance.example.com",
            "firstname": f"First{n}",
            "lastname": f"{tag.upper()}-Last{n}",
            "company": f"Company {n % 7}",
        }
        for n in range(count)
    ]


def _read_all(connector: Connector, cursor: str | None, properties: Sequence[str]) -> list[Page]:
    return list(connector.read_changes(cursor, properties))


def _records(pages: Sequence[Page]) -> list[ContactRecord]:
    return [record for page in pages for record in page.records]


def _auth_failure(action: Callable[[], Any]) -> str:
    """The admin-facing text of the AuthError ``action`` raises, with its detail."""
    with pytest.raises(AuthError) as failure:
        action()
    return f"{failure.value} {failure.value.detail or ''}"


class ConnectorConformance:
    """The conformance tests; subclass it and provide a ``harness`` fixture."""

    #: The budget of the rate-limit test: requests per rolling window, window seconds.
    rate_limit: tuple[int, float] = (10, 2.0)
    #: The share of requests answered with a 5xx in the retry test.
    fault_rate: float = 0.15
    fault_seed: int = 11

    @pytest.fixture
    def harness(self) -> ConformanceHarness:
        """The connector's sandbox: a subclass must override this fixture."""
        pytest.fail(
            f"{type(self).__name__} must define a `harness` fixture returning a "
            "ConformanceHarness for the connector's sandbox",
            pytrace=False,
        )

    # -- helpers ----------------------------------------------------------------------

    @staticmethod
    def ready_connector(harness: ConformanceHarness) -> Connector:
        """A connector whose CRM has every crmbridge field."""
        connector = harness.make_connector()
        connector.ensure_schema(own_fields(PREFIX))
        return connector

    @staticmethod
    def read_properties(harness: ConformanceHarness) -> list[str]:
        """The CRM names of the canonical contact fields."""
        return sorted(harness.contact_fields.values())

    @staticmethod
    def assert_holds(
        harness: ConformanceHarness, crm_id: str, expected: Mapping[str, str | None]
    ) -> None:
        """The CRM holds ``expected`` in crmbridge's fields of ``crm_id``."""
        held = harness.crm_values(crm_id, list(expected))
        wrong = {
            name: (value, held.get(name))
            for name, value in expected.items()
            if not same_value("" if value is None else value, held.get(name))
        }
        assert not wrong, f"record {crm_id}: (written, held) differ for {wrong}"

    # -- check ------------------------------------------------------------------------

    def test_check_passes_with_valid_credentials(self, harness: ConformanceHarness) -> None:
        report = harness.make_connector().check()

        assert report.ok, report.problems
        assert report.problems == ()

    def test_check_names_the_setting_to_fix_when_credentials_are_refused(
        self, harness: ConformanceHarness
    ) -> None:
        try:
            report = harness.make_connector(valid_credentials=False).check()
        except AuthError as exc:  # refusing at once is as good as reporting
            problems = [f"{exc} {exc.detail or ''}"]
        else:
            assert not report.ok
            problems = list(report.problems)

        assert problems, "a refused credential must be reported as a problem"
        text = "\n".join(problems)
        assert harness.credential_setting in text, text
        for secret in harness.secrets():
            assert secret not in text

    def test_a_write_with_refused_credentials_raises_auth_error(
        self, harness: ConformanceHarness
    ) -> None:
        # The drainer stops on AuthError and keeps the rows; any other error would
        # burn their attempts one cycle after another.
        (crm_id,) = harness.seed_contacts(contact_specs(1))

        def write() -> None:
            connector = harness.make_connector(valid_credentials=False)
            connector.write([Write(crm_id, {f"{PREFIX}_score": "10"})])

        text = _auth_failure(write)

        assert harness.credential_setting in text, text
        for secret in harness.secrets():
            assert secret not in text

    # -- schema -----------------------------------------------------------------------

    def test_ensure_schema_creates_every_crmbridge_field(self, harness: ConformanceHarness) -> None:
        wanted = {field.name for field in own_fields(PREFIX)}
        missing_before = wanted - harness.field_names()

        created = harness.make_connector().ensure_schema(own_fields(PREFIX))

        assert set(created) == missing_before
        assert len(created) == len(set(created)), "a field was created twice"
        assert wanted <= harness.field_names()

    def test_ensure_schema_is_idempotent(self, harness: ConformanceHarness) -> None:
        connector = harness.make_connector()
        connector.ensure_schema(own_fields(PREFIX))
        fields_after_first = harness.field_names()

        again = connector.ensure_schema(own_fields(PREFIX))
        from_another_replica = harness.make_connector().ensure_schema(own_fields(PREFIX))

        assert again == []
        assert from_another_replica == []
        assert harness.field_names() == fields_after_first

    # -- reading ----------------------------------------------------------------------

    def _seed_with_ties(self, harness: ConformanceHarness) -> list[str]:
        """Contacts before, inside and after a block of ties longer than a page."""
        before = harness.seed_contacts(contact_specs(30, "before"))
        tied = harness.seed_contacts(
            contact_specs(harness.page_size + 25, "tied"), same_modified_time=True
        )
        after = harness.seed_contacts(contact_specs(20, "after"))
        return before + tied + after

    def test_incremental_read_returns_each_contact_once_across_pages(
        self, harness: ConformanceHarness
    ) -> None:
        ids = self._seed_with_ties(harness)
        specs = (
            contact_specs(30, "before")
            + contact_specs(harness.page_size + 25, "tied")
            + contact_specs(20, "after")
        )
        expected = dict(zip(ids, specs, strict=True))
        connector = harness.make_connector()

        pages = _read_all(connector, None, self.read_properties(harness))
        records = _records(pages)

        counts = Counter(record.id for record in records)
        assert {crm_id for crm_id, n in counts.items() if n > 1} == set()
        assert set(counts) == set(ids)
        assert len(pages) >= 2, "more contacts than a page must take more than one page"
        assert all(len(page.records) <= harness.page_size for page in pages)
        moments = [record.updated_at for record in records if record.updated_at is not None]
        assert len(moments) == len(records), "every record carries its modification time"
        assert moments == sorted(moments), "records must come oldest first"
        names = harness.contact_fields
        for record in records:
            spec = expected[record.id]
            assert record.email == spec["email"]
            assert record.properties.get(names["firstname"]) == spec["firstname"]
            assert record.properties.get(names["lastname"]) == spec["lastname"]

    def test_a_read_resumed_from_any_page_cursor_returns_exactly_the_rest(
        self, harness: ConformanceHarness
    ) -> None:
        ids = self._seed_with_ties(harness)
        connector = harness.make_connector()
        properties = self.read_properties(harness)
        pages = _read_all(connector, None, properties)

        for index, page in enumerate(pages):
            rest = [r.id for r in _records(_read_all(connector, page.cursor, properties))]
            expected = [r.id for r in _records(pages[index + 1 :])]
            assert sorted(rest) == sorted(expected), f"resumed after page {index}"
        assert len(_records(pages)) == len(ids)

    def test_a_read_from_the_final_cursor_returns_only_later_changes(
        self, harness: ConformanceHarness
    ) -> None:
        ids = harness.seed_contacts(contact_specs(12))
        connector = harness.make_connector()
        properties = self.read_properties(harness)
        final = _read_all(connector, None, properties)[-1].cursor

        assert _records(_read_all(connector, final, properties)) == []

        harness.edit_contact(ids[3], {"firstname": "Edited"})
        changed = _records(_read_all(connector, final, properties))

        assert [r.id for r in changed] == [ids[3]]
        assert changed[0].properties.get(harness.contact_fields["firstname"]) == "Edited"

    def test_an_edit_while_paging_through_ties_costs_no_other_contact(
        self, harness: ConformanceHarness
    ) -> None:
        tied = harness.seed_contacts(
            contact_specs(2 * harness.page_size + 50, "bulk"), same_modified_time=True
        )
        connector = harness.make_connector()
        seen: list[str] = []
        edited = tied[4]

        for number, page in enumerate(connector.read_changes(None, self.read_properties(harness))):
            seen.extend(record.id for record in page.records)
            if number == 1:  # a person edits a contact already read, mid-read
                harness.edit_contact(edited, {"firstname": "Edited mid-read"})

        missing = set(tied) - set(seen)
        assert missing == set(), f"{len(missing)} contact(s) never read: {sorted(missing)[:5]}"
        repeats = {crm_id for crm_id, n in Counter(seen).items() if n > 1}
        assert repeats <= {edited}, "only the edited contact may be read again"

    # -- writing ----------------------------------------------------------------------

    def test_read_values_returns_what_was_written(self, harness: ConformanceHarness) -> None:
        ids = harness.seed_contacts(contact_specs(3))
        connector = self.ready_connector(harness)
        values = {
            f"{PREFIX}_score": "87",
            f"{PREFIX}_grade": "B",
            f"{PREFIX}_stage": "mql",
            f"{PREFIX}_hot": "true",
            f"{PREFIX}_bant": "B A - T",
            f"{PREFIX}_reasons": "+50 IT director, 600 employees; +15 visitó /pricing — ñ",
        }
        written = {
            crm_id: {**values, f"{PREFIX}_score": str(80 + i)} for i, crm_id in enumerate(ids)
        }

        results = connector.write([Write(crm_id, props) for crm_id, props in written.items()])
        held = connector.read_values([*ids, harness.missing_id()], list(values))

        assert [(r.crm_id, r.ok) for r in results] == [(crm_id, True) for crm_id in ids]
        assert set(held) == set(ids), "unknown ids are left out"
        for crm_id, props in written.items():
            for name, value in props.items():
                assert same_value(value, held[crm_id][name]), (crm_id, name, held[crm_id][name])
            self.assert_holds(harness, crm_id, props)

    def test_a_none_value_clears_the_field(self, harness: ConformanceHarness) -> None:
        (crm_id,) = harness.seed_contacts(contact_specs(1))
        connector = self.ready_connector(harness)
        reasons, score = f"{PREFIX}_reasons", f"{PREFIX}_score"
        connector.write([Write(crm_id, {reasons: "+15 pricing page", score: "15"})])

        results = connector.write([Write(crm_id, {reasons: None})])

        assert results == [WriteResult(crm_id, True)]
        assert harness.crm_values(crm_id, [reasons])[reasons] in (None, "")
        self.assert_holds(harness, crm_id, {score: "15"})

    def test_a_full_batch_is_one_write_request(self, harness: ConformanceHarness) -> None:
        connector = self.ready_connector(harness)
        ids = harness.seed_contacts(contact_specs(connector.max_batch_size, "full"))
        writes_before = harness.count_requests("write")

        results = connector.write([Write(crm_id, {f"{PREFIX}_score": "5"}) for crm_id in ids])

        assert all(result.ok for result in results)
        sent = harness.count_requests("write") - writes_before
        assert sent == 1, f"{sent} write requests for one full batch"
        for crm_id in ids:
            self.assert_holds(harness, crm_id, {f"{PREFIX}_score": "5"})

    def test_an_unknown_record_fails_alone(self, harness: ConformanceHarness) -> None:
        ids = harness.seed_contacts(contact_specs(5))
        connector = self.ready_connector(harness)
        unknown = harness.missing_id()
        batch = [Write(crm_id, {f"{PREFIX}_grade": "A"}) for crm_id in ids]
        batch.insert(2, Write(unknown, {f"{PREFIX}_grade": "A"}))

        results = {r.crm_id: r for r in connector.write(batch)}

        assert set(results) == {*ids, unknown}
        assert not results[unknown].ok
        assert results[unknown].error
        assert not results[unknown].retriable
        for crm_id in ids:
            assert results[crm_id].ok, results[crm_id]
            self.assert_holds(harness, crm_id, {f"{PREFIX}_grade": "A"})

    def test_a_refused_value_fails_alone(self, harness: ConformanceHarness) -> None:
        ids = harness.seed_contacts(contact_specs(6))
        connector = self.ready_connector(harness)
        name, bad_value = harness.unwritable_value()
        score = f"{PREFIX}_score"
        bad = ids[3]
        batch = [
            Write(crm_id, {score: "40", name: bad_value} if crm_id == bad else {score: "40"})
            for crm_id in ids
        ]

        results = connector.write(batch)

        assert [r.crm_id for r in results] == ids
        verdicts = {r.crm_id: r for r in results}
        assert not verdicts[bad].ok
        assert verdicts[bad].error
        assert not verdicts[bad].retriable, "the same value will be refused again"
        assert harness.crm_values(bad, [score])[score] in (None, ""), "nothing of it applied"
        for crm_id in ids:
            if crm_id != bad:
                assert verdicts[crm_id].ok, verdicts[crm_id]
                self.assert_holds(harness, crm_id, {score: "40"})

    # -- rate limits and failures -----------------------------------------------------

    def test_a_burst_of_writes_stays_inside_the_advertised_budget(
        self, harness: ConformanceHarness
    ) -> None:
        limit, window = self.rate_limit
        ids = harness.seed_contacts(contact_specs(2 * limit + 5, "burst"))
        self.ready_connector(harness)
        harness.set_rate_limit(limit, window)
        paced = harness.make_connector()
        refused_before = harness.count_requests("rate_limited")
        started = time.monotonic()

        for number, crm_id in enumerate(ids):
            results = paced.write([Write(crm_id, {f"{PREFIX}_score": str(number)})])
            assert results[0].ok, results

        elapsed = time.monotonic() - started
        assert harness.count_requests("rate_limited") == refused_before, (
            "the connector exceeded the advertised budget"
        )
        # Sent faster, the burst would have met a 429: it was really paced.
        assert elapsed >= (len(ids) // limit - 1) * window
        for number, crm_id in enumerate(ids):
            self.assert_holds(harness, crm_id, {f"{PREFIX}_score": str(number)})

    @pytest.mark.parametrize("after_apply", [False, True], ids=["before-apply", "after-apply"])
    def test_server_errors_are_retried_until_every_write_lands(
        self, harness: ConformanceHarness, after_apply: bool
    ) -> None:
        ids = harness.seed_contacts(contact_specs(24, "flaky"))
        connector = self.ready_connector(harness)
        bant = {f"{PREFIX}_bant": "B - N -"}
        assert all(r.ok for r in connector.write([Write(crm_id, bant) for crm_id in ids]))
        harness.set_fault_rate(self.fault_rate, seed=self.fault_seed, after_apply=after_apply)
        errors_before = harness.count_requests("server_error")
        intended = {
            crm_id: {f"{PREFIX}_score": str(n), f"{PREFIX}_stage": "lead"}
            for n, crm_id in enumerate(ids)
        }

        results = [
            result
            for crm_id, props in intended.items()
            for result in connector.write([Write(crm_id, props)])
        ]
        held = connector.read_values(ids, [f"{PREFIX}_score", f"{PREFIX}_stage"])

        assert harness.count_requests("server_error") > errors_before, "no fault was injected"
        assert [(r.crm_id, r.ok) for r in results] == [(crm_id, True) for crm_id in ids]
        harness.set_fault_rate(0.0)
        for crm_id, props in intended.items():
            # Exactly what a fault-free run leaves: the writes, and nothing else touched.
            self.assert_holds(harness, crm_id, {**props, **bant})
            assert all(same_value(value, held[crm_id][k]) for k, value in props.items())

    # -- behind the pipeline ----------------------------------------------------------

    def test_a_second_cycle_writes_nothing(
        self, harness: ConformanceHarness, tmp_path: Path
    ) -> None:
        ids = harness.seed_contacts(contact_specs(12, "cycle"))
        connector = harness.make_connector()
        config = parse_config(example_config_text(), source="bundled example").config
        store = Store.open(f"sqlite:///{tmp_path / 'conformance.db'}")
        try:
            pipeline = Pipeline(store, config, {connector.name: connector})
            pipeline.prepare()

            first = pipeline.run_once(NOW)
            writes = harness.count_requests("write")
            second = pipeline.run_once(NOW)
            harness.edit_contact(ids[0], {"firstname": "Renamed"})
            third = pipeline.run_once(NOW)
            believed = self._believed_values(store, connector.name)
        finally:
            store.engine.dispose()

        assert first.ok, first.errors
        assert (first.read, first.written) == (len(ids), len(ids))
        assert second.ok, second.errors
        assert (second.scored, second.written) == (0, 0), "echoes of our writes are not changes"
        assert third.ok, third.errors
        assert (third.scored, third.written) == (1, 0), "a rescore with the same result"
        assert harness.count_requests("write") == writes, "a value the CRM holds was rewritten"
        assert set(believed) == set(ids)
        own = own_property_names(config.writeback.prefix)
        for crm_id, values in believed.items():
            assert values.get(f"{config.writeback.prefix}_score") is not None
            # The next diff starts from what the store believes: the CRM must hold it.
            self.assert_holds(harness, crm_id, {name: values.get(name) for name in own})

    @staticmethod
    def _believed_values(store: Store, crm: str) -> dict[str, dict[str, str | None]]:
        """What the store believes the CRM holds of crmbridge's fields, by record."""
        with store.session() as session:
            return crm_values_by_record(session, crm)
