"""HubSpot's three limits told apart, through the real SDK against the sandbox.

A search over its per-second limit answers 429 without a ``policyName``; classified
as the search limit, it holds back searches for about a second while writes go on. The
10-second window is kept from the sandbox's own request log, every search of any object
(contacts and the tasks' Ref checks) is paced together at HubSpot's 5 per second, and
``check`` names each scope a token lacks with the feature that needs it.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

import pytest

from crmbridge.connector import Action, Write
from crmbridge.errors import MissingScope, RateLimited
from crmbridge_hubspot import HubSpotConnector
from crmbridge_hubspot.client import is_search
from crmbridge_hubspot.errors import translate
from crmbridge_hubspot.ratelimits import DAILY, SEARCH, SECONDLY, TEN_SECONDLY, classify
from crmbridge_hubspot.sandbox.records import RequestRecord
from crmbridge_hubspot.sandbox.server import SandboxServer

from .hubspot_harness import IMPORT, TOKEN, connector_for, sandbox, set_rate_limit

SEARCH_429 = {
    "status": "error",
    "message": "You have reached your secondly limit.",
    "correlationId": "0b0d7e1c-2a5f-4d0e-9a55-3f1c9d3e2b11",
    "category": "RATE_LIMITS",
}
TEN_SECONDLY_429 = {
    "status": "error",
    "message": "You have reached your ten_secondly_rolling limit.",
    "errorType": "RATE_LIMIT",
    "correlationId": "5d1a0e9e-7c3b-4f7a-8d2e-1b6c4a9f0e32",
    "policyName": "TEN_SECONDLY_ROLLING",
    "requestId": "c1f9a7d2-3e4b-4c5d-8e6f-7a8b9c0d1e2f",
}
DAILY_429 = {
    **TEN_SECONDLY_429,
    "message": "You have reached your daily limit.",
    "policyName": "DAILY",
}
#: What HubSpot sends with a search answer: the daily headers only.
SEARCH_HEADERS = {"X-HubSpot-RateLimit-Daily": "650000", "X-HubSpot-RateLimit-Daily-Remaining": "4"}
WINDOW_HEADERS = {
    "X-HubSpot-RateLimit-Max": "190",
    "X-HubSpot-RateLimit-Remaining": "0",
    "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
    "X-HubSpot-RateLimit-Secondly": "19",
    "X-HubSpot-RateLimit-Secondly-Remaining": "0",
    **SEARCH_HEADERS,
}


# -- the classifier over recorded shapes ------------------------------------------------


@pytest.mark.parametrize(
    ("body", "headers", "search", "policy", "wait"),
    [
        # A search over 5/s: no policyName, daily headers only.
        (SEARCH_429, SEARCH_HEADERS, True, SEARCH, 1.0),
        (SEARCH_429, None, True, SEARCH, 1.0),
        # Header names as requests hands them over (any case).
        (SEARCH_429, {k.lower(): v for k, v in SEARCH_HEADERS.items()}, True, SEARCH, 1.0),
        # The same words on another call: a per-second limit on every call, not ten seconds.
        (SEARCH_429, None, False, SECONDLY, 1.0),
        # Older answers named the search limit SECONDLY.
        ({**SEARCH_429, "policyName": "SECONDLY"}, None, True, SEARCH, 1.0),
        (TEN_SECONDLY_429, WINDOW_HEADERS, False, TEN_SECONDLY, 10.0),
        # A window tightened by HubSpot: wait its interval.
        (
            TEN_SECONDLY_429,
            {**WINDOW_HEADERS, "X-HubSpot-RateLimit-Interval-Milliseconds": "2000"},
            False,
            TEN_SECONDLY,
            2.0,
        ),
        # A 10-second 429 met by a search (a call that counted for both) holds every call.
        (TEN_SECONDLY_429, WINDOW_HEADERS, True, TEN_SECONDLY, 10.0),
        (
            DAILY_429,
            {**WINDOW_HEADERS, "X-HubSpot-RateLimit-Daily-Remaining": "0"},
            False,
            DAILY,
            None,
        ),
        # No body at all: the headers tell.
        ({}, {"X-HubSpot-RateLimit-Daily-Remaining": "0"}, True, DAILY, None),
        ({}, {"X-HubSpot-RateLimit-Remaining": "0"}, True, TEN_SECONDLY, 10.0),
        ({}, SEARCH_HEADERS, True, SEARCH, 1.0),
        # Nothing to go by on another call: the safe guess holds every call a window.
        ({}, None, False, TEN_SECONDLY, 10.0),
        # A Retry-After is honoured.
        (SEARCH_429, {**SEARCH_HEADERS, "Retry-After": "3"}, True, SEARCH, 3.0),
    ],
)
def test_a_429_is_classified_by_body_and_headers(
    body: dict[str, Any],
    headers: dict[str, str] | None,
    search: bool,
    policy: str,
    wait: float | None,
) -> None:
    limit = classify(body, headers, search=search)

    assert (limit.policy, limit.wait_s) == (policy, wait)
    assert limit.searches_only == (policy == SEARCH)


def test_translate_turns_a_search_429_into_a_one_second_search_limit() -> None:

    error = translate(
        429, json.dumps(SEARCH_429), what="search tasks", headers=SEARCH_HEADERS, search=True
    )

    assert isinstance(error, RateLimited)
    assert (error.policy, error.retry_after) == (SEARCH, 1.0)
    daily = translate(429, json.dumps(DAILY_429), what="batch update contacts")
    assert isinstance(daily, RateLimited) and daily.policy == DAILY
    assert 0 < daily.retry_after <= 86_400


def test_every_object_search_is_a_search() -> None:
    assert is_search("POST", "/crm/v3/objects/tasks/search")
    assert is_search("post", "/crm/v3/objects/contacts/search/")
    assert not is_search("GET", "/crm/v3/objects/tasks/search")
    assert not is_search("POST", "/crm/v3/objects/tasks")


# -- helpers ------------------------------------------------------------------------------


def _seed(server: SandboxServer, count: int) -> list[str]:
    base = server.state.now() - timedelta(days=5)
    ids = []
    for i in range(count):
        at = base + timedelta(seconds=i)
        created = server.state.create_contact(
            {"email": f"lead{i}@example.com", "firstname": f"Lead{i}"},
            source=IMPORT,
            created_at=at,
            updated_at=at,
            notify=False,
        )
        ids.append(created.id)
    return ids


def _api_calls(server: SandboxServer) -> list[RequestRecord]:
    return [r for r in server.state.requests() if not r.path.startswith("/_sandbox")]


def _most_in_window(records: Sequence[RequestRecord], seconds: float) -> int:
    """The most requests the log holds in any rolling window of ``seconds``."""
    times = sorted(r.timestamp for r in records)
    most, first = 0, 0
    for last, moment in enumerate(times):
        while moment - times[first] >= timedelta(seconds=seconds):
            first += 1
        most = max(most, last - first + 1)
    return most


def _run_together(*jobs: Callable[[], Any]) -> list[Any]:
    """Run ``jobs`` in threads at once; their results, or re-raise the first failure."""
    results: list[Any] = [None] * len(jobs)
    failures: list[BaseException] = []

    def run(index: int, job: Callable[[], Any]) -> None:
        try:
            results[index] = job()
        except BaseException as exc:  # re-raised in the test's thread
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    if failures:
        raise failures[0]
    return results


def _neighbour_searches(server: SandboxServer, stop: threading.Event, per_second: float) -> int:
    """Another integration on the account searching at ``per_second``; its 429 count."""
    refused = 0
    while not stop.is_set():
        request = urllib.request.Request(
            f"{server.url}/crm/v3/objects/contacts/search",
            data=b'{"limit": 1}',
            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=10):
                pass
        except urllib.error.HTTPError as exc:
            refused += exc.code == 429
        stop.wait(1 / per_second)
    return refused


# -- a search-429 storm -------------------------------------------------------------------


def test_a_search_429_storm_holds_back_searches_only_and_loses_nothing() -> None:
    window = 100
    with sandbox() as server:
        ids = _seed(server, 400)
        connector = connector_for(server)
        set_rate_limit(server, window, 10_000)
        stop = threading.Event()
        # Another integration spends most of the account's 5 searches a second.
        neighbour = threading.Thread(target=_neighbour_searches, args=(server, stop, 3.0))
        neighbour.start()
        write_times: list[float] = []

        def read() -> list[tuple[set[str], str | None]]:
            rounds = []
            for _ in range(2):
                found: set[str] = set()
                cursor = None
                for page in connector.read_changes(None, ["email", "firstname"]):
                    found.update(record.id for record in page.records)
                    cursor = page.cursor
                rounds.append((found, cursor))
            return rounds

        def write() -> list[bool]:
            done = []
            for round_ in range(3):
                for start in range(0, len(ids), 100):
                    batch = [
                        Write(crm_id, {"jobtitle": f"Round {round_}"})
                        for crm_id in ids[start : start + 100]
                    ]
                    done.extend(result.ok for result in connector.write(batch))
                    write_times.append(time.monotonic())
                    time.sleep(0.2)
            return done

        try:
            reads, writes = _run_together(read, write)
        finally:
            stop.set()
            neighbour.join()
        log = _api_calls(server)
        contacts = server.state.contacts()
        # A read leaves what was modified after it began to the next read, from its cursor.
        after = [
            {
                record.id
                for page in connector.read_changes(cursor, ["email"])
                for record in page.records
            }
            for _, cursor in reads
        ]

    searches = [r for r in log if r.path.endswith("/search")]
    others = [r for r in log if not r.path.endswith("/search")]
    # The storm happened: the connector's own searches were refused, as searches.
    assert connector.client.rate_limited[SEARCH] >= 1, connector.client.rate_limited
    assert sum(1 for r in searches if r.status == 429) >= connector.client.rate_limited[SEARCH]
    # ...and never taken for the 10-second window: writes went on without a pause.
    assert connector.client.rate_limited[TEN_SECONDLY] == 0
    gaps = [later - earlier for earlier, later in itertools.pairwise(write_times)]
    # (The old reading took the search 429 for the 10-second window: a 10 s stall.)
    assert max(gaps) < 3.0, f"writes stalled {max(gaps):.1f} s"
    # The 10-second window is never exceeded, as the sandbox logged it.
    assert not [r for r in others if r.status == 429]
    assert _most_in_window(others, 10.0) <= window
    # Nothing lost: every read saw every contact, every write landed.
    assert [found | later for (found, _), later in zip(reads, after, strict=True)] == [set(ids)] * 2
    assert len(writes) == 1_200 and all(writes)
    assert {c.properties.get("jobtitle") for c in contacts} == {"Round 2"}


# -- every search through the search governor ---------------------------------------------


def _task_action(crm_id: str, n: int) -> Action:
    return Action("task", crm_id, f"hot-task:{crm_id}:{n}", {"subject": "Hot lead"})


def test_task_and_contact_searches_are_paced_together_at_five_a_second() -> None:
    with sandbox() as server:
        ids = _seed(server, 400)
        connector: HubSpotConnector = connector_for(server)

        def read_contacts() -> int:
            pages = 0
            for _ in range(3):
                pages += sum(1 for _ in connector.read_changes(None, ["email"]))
            return pages

        def check_tasks() -> list[bool]:
            return [
                connector.handoff.performed(_task_action(ids[n], n), wait_for_index=False)
                for n in range(6)
            ]

        pages, found = _run_together(read_contacts, check_tasks)
        log = _api_calls(server)
        counters = server.state.counters()

    searches = [r for r in log if r.path.endswith("/search")]
    task_searches = [r for r in searches if "/tasks/" in r.path]
    assert pages >= 6 and found == [False] * 6
    assert len(task_searches) == 6 and len(searches) >= 12
    # Not one search was refused: contacts and tasks shared the 5 a second (the sandbox
    # counts arrivals; its log stamps answers, hence a slightly shorter window there).
    assert counters.get("rate_limited_search", 0) == 0
    assert _most_in_window(searches, 0.9) <= 5


def test_searches_take_no_slot_in_a_full_ten_second_window() -> None:
    # HubSpot's 10-second window excludes the search API: with every slot of it spent
    # on writes, a read of three pages still goes at the search limit's pace.
    window = 10
    with sandbox() as server:
        ids = _seed(server, 450)
        connector = connector_for(server)
        set_rate_limit(server, window, 10_000)
        # The governor keeps one slot of the window spare: nine writes fill it.
        for start in range(0, (window - 1) * 50, 50):
            batch = [Write(crm_id, {"jobtitle": "Full"}) for crm_id in ids[start : start + 50]]
            assert all(result.ok for result in connector.write(batch))
        started = time.monotonic()
        found = {
            record.id for page in connector.read_changes(None, ["email"]) for record in page.records
        }
        took = time.monotonic() - started
        log = _api_calls(server)

    searches = [r for r in log if r.path.endswith("/search")]
    assert found == set(ids) and len(searches) >= 3
    # Not one refusal, and no wait for the window to roll (10 s when searches queued there).
    assert not [r for r in log if r.status == 429]
    assert took < 5.0, f"the read waited {took:.1f} s behind the writes' window"


# -- scopes ---------------------------------------------------------------------------------

CORE = [
    "crm.objects.contacts.read",
    "crm.objects.contacts.write",
    "crm.schemas.contacts.read",
    "crm.schemas.contacts.write",
    "crm.objects.owners.read",
]


def test_check_names_the_list_read_scope_a_write_only_token_lacks() -> None:
    with sandbox(tokens={TOKEN: [*CORE, "crm.lists.write"]}) as server:
        (crm_id,) = _seed(server, 1)
        static = server.state.create_list("Quarterly contact", "MANUAL")
        connector = connector_for(server)
        report = connector.check()
        with pytest.raises(MissingScope) as refused:
            connector.handoff.perform(
                Action("list_add", crm_id, f"list:{crm_id}", {"list_id": static.list_id})
            )
        held = server.state.get_list(static.list_id)

    assert report.ok, report.problems
    (line,) = [line for line in report.limitations if line.startswith("crm.lists.read")]
    assert line.startswith(
        "crm.lists.read is missing: list_add ([[triggers]] add_to_list, "
        "[reactivation] archive_list_id) needs it"
    )
    # What check warned of is what HubSpot does: the list add is refused, naming the scope.
    assert "crm.lists.read" in str(refused.value)
    assert held is not None and not held.members
