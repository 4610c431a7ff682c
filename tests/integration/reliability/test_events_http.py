"""Generated events POSTed to a running daemon's ``/v1/events``, then scored by it.

A ``crmbridge run`` subprocess polls the local HubSpot sandbox; batches of generated
events go to it over HTTP as NDJSON or JSON arrays. Every answer is a 202 (or a 400
naming why a whole array is unreadable), every refused line is named with a reason,
every valid event is stored, and afterwards the daemon scores every contact, names the
absurd numbers in the notes, and wrote no traceback.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from crmbridge.store.repository import Store
from tests.integration.daemon.daemon_helpers import (
    DaemonProcess,
    contact_email,
    daemon_environment,
    free_port,
    start_sandbox,
    wait_for,
)

from .conftest import Figures, Sizes
from .events import EventSource, GeneratedEvent
from .oracles import (
    HungError,
    Tally,
    assert_no_traceback,
    check_report,
    event_count,
    not_kept_as_text,
    runs_left_running,
    score_state,
    stored_event_ids,
    unnamed_poison,
)

BATCH = 25
#: Bodies stay under the endpoint's 10 MB limit (a batch may hold megabyte values).
MAX_BODY = 8 * 1024 * 1024
REQUEST_TIMEOUT_S = 120.0
#: Shrinking would replay batches against a daemon that keeps what it stored: the
#: first failing batch is reported as generated.
NO_SHRINKING = (Phase.explicit, Phase.generate)


@pytest.fixture
def daemon(tmp_path: Path, sizes: Sizes) -> Iterator[tuple[DaemonProcess, Store, list[str]]]:
    """A daemon on a fresh SQLite store, polling a sandbox of a few contacts."""
    contacts = 40 if sizes.long else 8
    sandbox = start_sandbox(contacts)
    database = f"sqlite:///{tmp_path / 'crmbridge.db'}"
    env = daemon_environment(database, sandbox.url, free_port())
    process = DaemonProcess.start("fuzz-daemon", tmp_path / "daemon", env)
    store: Store | None = None
    try:
        process.wait_ready(90)
        store = Store.open(database, migrate=False)
        emails = [contact_email(i) for i in range(contacts)]
        opened = store

        def polled() -> bool:
            return len(score_state(opened.engine).contacts) == contacts

        wait_for(polled, 90, "the first poll to store every contact", watch=[process])
        yield process, store, emails
    finally:
        process.kill()
        if store is not None:
            store.engine.dispose()
        sandbox.stop()


def _bodies(batch: list[GeneratedEvent]) -> Iterator[list[GeneratedEvent]]:
    """The batch cut into requests that stay under :data:`MAX_BODY`."""
    part: list[GeneratedEvent] = []
    size = 0
    for event in batch:
        length = len(event.line()) + 2
        if part and size + length > MAX_BODY:
            yield part
            part, size = [], 0
        part.append(event)
        size += length
    if part:
        yield part


def _post(process: DaemonProcess, part: list[GeneratedEvent], as_array: bool) -> requests.Response:
    lines = [event.line() for event in part]
    if as_array:
        body, kind = "[" + ",".join(lines) + "]", "application/json"
    else:
        body, kind = "\n".join(lines) + "\n", "application/x-ndjson"
    try:
        return process.session.post(
            process.url + "/v1/events",
            data=body.encode("utf-8", "surrogatepass"),
            headers={
                "Authorization": f"Bearer {process.ingest_token}",
                "Content-Type": kind,
            },
            timeout=REQUEST_TIMEOUT_S,
        )
    except requests.Timeout:
        raise HungError(f"POST /v1/events of {len(part)} events: no answer") from None


def _cycle_durations(output: str) -> list[float]:
    """How long each of the daemon's cycles took, from its JSON log lines."""
    durations = []
    for line in output.splitlines():
        if '"cycle.done"' not in line:
            continue
        try:
            durations.append(float(json.loads(line)["duration_s"]))
        except (ValueError, KeyError, TypeError):
            continue
    return durations


def test_generated_events_through_the_daemon(
    daemon: tuple[DaemonProcess, Store, list[str]], sizes: Sizes, figures: Figures
) -> None:
    process, store, emails = daemon
    source = EventSource(emails, datetime.now(UTC))
    tally = Tally()

    @settings(
        max_examples=max(1, sizes.http_events // BATCH),
        deadline=None,
        database=None,
        derandomize=not sizes.long,
        phases=NO_SHRINKING,
        report_multiple_bugs=False,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.lists(source.events(), min_size=BATCH, max_size=BATCH), st.booleans())
    def post(batch: list[GeneratedEvent], as_array: bool) -> None:
        for part in _bodies(batch):
            answer = _post(process, part, as_array)
            assert answer.status_code in (202, 400), f"{answer.status_code}: {answer.text[:500]}"
            if answer.status_code == 400:
                # Only an array a JSON parser cannot read whole may be refused whole.
                assert as_array and any(e.deep for e in part), answer.text[:500]
                assert answer.json()["detail"], answer.text
                tally.refused_bodies += 1
                tally.generated += len(part)
                continue
            check_report(answer.json(), part, tally)
        assert process.alive(), process.tail()

    post()
    figures.record("events_http", **tally.figures())

    assert event_count(store.engine) == tally.stored
    missing = set(tally.accepted_ids) - stored_event_ids(store.engine, tally.accepted_ids)
    assert not not_kept_as_text(store.engine, tally.poison_ids, "watched_percent")
    assert not missing, f"{len(missing)} accepted events are not stored, e.g. {sorted(missing)[:5]}"

    def settled() -> bool:
        state = score_state(store.engine)
        return state.settled() and not unnamed_poison(state, tally.poisoned, "watched_percent")

    try:
        bound = 300 if sizes.long else 120
        wait_for(settled, bound, "every contact scored", every=1.0, watch=[process])
    except AssertionError:
        state = score_state(store.engine)
        figures.record("events_http", hung=1)
        pytest.fail(
            f"the daemon did not score every contact: {len(state.pending)} still due, "
            f"unscored {state.unscored()[:5]}, absurd numbers not named: "
            f"{unnamed_poison(state, tally.poisoned, 'watched_percent')[:3]}\n{process.tail(8)}"
        )
    figures.record("events_http", contacts_scored=len(score_state(store.engine).current), hung=0)
    code = process.stop()
    assert runs_left_running(store.engine) == 0, "a cycle of the daemon never ended"
    output = process.output()
    assert_no_traceback(output, "the daemon's output")
    errors = [line for line in output.splitlines() if '"level": "error"' in line]
    cycles = _cycle_durations(output)
    figures.record(
        "events_http",
        tracebacks=0,
        error_log_lines=len(errors),
        daemon_cycles=len(cycles),
        longest_cycle_seconds=max(cycles, default=0.0),
    )
    assert code == 0, process.tail()
    assert not errors, "\n".join(errors[:5])
