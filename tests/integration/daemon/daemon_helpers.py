"""Pieces shared by the daemon's process-level tests.

- :func:`start_sandbox`: an in-process HubSpot sandbox holding ``n`` synthetic contacts;
- :class:`WriteLog`: every contact write the sandbox applied through its API, with the
  time it was applied (the sandbox's property history drops writes of an unchanged value,
  so it cannot prove that nothing was written twice; this log can);
- :class:`DaemonProcess`: ``python -m crmbridge run`` as a subprocess configured by its
  environment only, with its stdout/stderr captured in files, always killed at the end;
- small probes: free ports, the request log's busiest rolling window, metric values,
  waiting.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from crmbridge_hubspot.sandbox.config import DEFAULT_APP_SECRET, DEFAULT_TOKEN
from crmbridge_hubspot.sandbox.records import ChangeSource, RequestRecord
from crmbridge_hubspot.sandbox.server import SandboxServer, build
from crmbridge_hubspot.sandbox.state import SandboxState
from tests.environment import clean_environment

SCORE = "crmbridge_score"
#: Whatever a test does, a daemon it started is gone this long after it asked.
KILL_AFTER_S = 30.0
_SEED_SOURCE = ChangeSource("IMPORT", "daemon-tests")
_TITLES = ("CIO", "Director de IT", "Analyst", "Head of IT", "Responsable de Marketing")
_SIZES = ("20", "300", "600", "1500")


# -- the sandbox ------------------------------------------------------------------------------


def contact_email(index: int) -> str:
    """The email of the ``index``-th synthetic contact."""
    return f"lead{index}@daemon-tests.example"


def add_contacts(state: SandboxState, count: int, *, start: int = 0) -> list[str]:
    """Create ``count`` varied contacts (no webhook for them); returns their record ids."""
    ids = []
    for index in range(start, start + count):
        contact = state.create_contact(
            {
                "email": contact_email(index),
                "firstname": f"Lead{index}",
                "jobtitle": _TITLES[index % len(_TITLES)],
                "numemployees": _SIZES[index % len(_SIZES)],
            },
            source=_SEED_SOURCE,
            notify=False,
        )
        ids.append(contact.id)
    return ids


def start_sandbox(
    contacts: int,
    *,
    token: str = DEFAULT_TOKEN,
    app_secret: str = DEFAULT_APP_SECRET,
    **settings: Any,
) -> SandboxServer:
    """A started sandbox (empty seed plus ``contacts`` synthetic contacts)."""
    state, config = build("empty", token, app_secret=app_secret, **settings)
    add_contacts(state, contacts)
    return SandboxServer(state, config).start()


@dataclass(frozen=True)
class AppliedWrite:
    """One contact update the sandbox applied through its API."""

    at: datetime
    contact_id: str
    properties: Mapping[str, str]


class WriteLog:
    """Records every API update of contacts the sandbox applies (batch or single).

    It wraps the state's ``update_contacts`` on that one instance; the API's handlers
    look it up on every request. A write of a value the contact already holds is
    recorded too: that is exactly the duplicate the property history would hide.
    ``on_write`` is called with each applied batch, on the sandbox's request thread.
    """

    def __init__(
        self,
        state: SandboxState,
        on_write: Callable[[list[AppliedWrite]], None] | None = None,
    ) -> None:
        self.state = state
        self._lock = threading.Lock()
        self._writes: list[AppliedWrite] = []
        original = state.update_contacts

        def recording(
            inputs: Sequence[tuple[str, Mapping[str, Any]]], **options: Any
        ) -> tuple[list[Any], list[str]]:
            updated, missing = original(inputs, **options)
            if not options.get("as_user"):
                at = state.now()
                gone = set(missing)
                applied = [
                    AppliedWrite(at, str(key), {k: str(v) for k, v in values.items()})
                    for key, values in inputs
                    if key not in gone
                ]
                with self._lock:
                    self._writes.extend(applied)
                if on_write is not None:
                    on_write(applied)
            return updated, missing

        state.update_contacts = recording  # type: ignore[method-assign]

    def writes(self) -> list[AppliedWrite]:
        """Every applied write, in the order applied."""
        with self._lock:
            return list(self._writes)

    def times_written(self, name: str = SCORE) -> Counter[str]:
        """How many applied writes carried property ``name``, by contact id."""
        return Counter(w.contact_id for w in self.writes() if name in w.properties)


def scored(state: SandboxState, name: str = SCORE) -> dict[str, str]:
    """Contact id → the value of ``name`` the sandbox holds (contacts without it left out)."""
    return {c.id: c.properties[name] for c in state.contacts() if name in c.properties}


def busiest_window(records: Iterable[RequestRecord], seconds: float = 10.0) -> int:
    """The most requests found in any rolling window of ``seconds`` (by log timestamp)."""
    moments = sorted(r.timestamp for r in records)
    span = timedelta(seconds=seconds)
    most = 0
    first = 0
    for last, moment in enumerate(moments):
        while moments[first] <= moment - span:
            first += 1
        most = max(most, last - first + 1)
    return most


def counts_in_window(record: RequestRecord) -> bool:
    """Whether the sandbox counts this request in its rolling 10-second window: searches
    have their own per-second limit and the token-info call is not rate limited."""
    return not record.path.endswith("/search") and not record.path.startswith("/oauth/")


# -- daemon processes -------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def daemon_environment(
    database_url: str,
    sandbox_url: str,
    port: int,
    *,
    ingest_token: str = "daemon-tests-ingest-token",
    access_token: str = DEFAULT_TOKEN,
    app_secret: str = DEFAULT_APP_SECRET,
    poll_interval: str = "2s",
    drain_interval: str = "1s",
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Everything a daemon needs, by environment, against the bundled example config."""
    env = clean_environment()
    env.update(
        {
            "CRMBRIDGE__BRIDGE__DATABASE_URL": database_url,
            "CRMBRIDGE__CONNECTORS__HUBSPOT__BASE_URL": sandbox_url,
            "HUBSPOT_ACCESS_TOKEN": access_token,
            "HUBSPOT_APP_SECRET": app_secret,
            "CRMBRIDGE_INGEST_TOKEN": ingest_token,
            "CRMBRIDGE__DAEMON__HOST": "127.0.0.1",
            "CRMBRIDGE__DAEMON__PORT": str(port),
            "CRMBRIDGE__DAEMON__POLL_INTERVAL": poll_interval,
            "CRMBRIDGE__DAEMON__DRAIN_INTERVAL": drain_interval,
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra or {})
    return env


@dataclass
class DaemonProcess:
    """One ``crmbridge run`` subprocess; its output goes to ``<folder>/<name>.out|.err``."""

    name: str
    folder: Path
    env: dict[str, str]
    port: int
    process: subprocess.Popen[bytes]
    ingest_token: str
    started_at: float = field(default_factory=time.monotonic)
    session: requests.Session = field(default_factory=requests.Session)

    @classmethod
    def start(
        cls,
        name: str,
        folder: Path,
        env: Mapping[str, str],
        *,
        args: Sequence[str] = ("run",),
    ) -> DaemonProcess:
        """Start ``python -m crmbridge <args>`` in ``folder`` (no crmbridge.toml there)."""
        folder.mkdir(parents=True, exist_ok=True)
        out = (folder / f"{name}.out").open("ab")
        err = (folder / f"{name}.err").open("ab")
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", "crmbridge", *args],
                cwd=folder,
                env=dict(env),
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
            )
        finally:
            out.close()
            err.close()
        port = int(env["CRMBRIDGE__DAEMON__PORT"])
        return cls(name, folder, dict(env), port, process, env.get("CRMBRIDGE_INGEST_TOKEN", ""))

    # -- observing --------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def output(self) -> str:
        """Everything the process wrote so far, stdout then stderr."""
        parts = []
        for suffix in ("out", "err"):
            path = self.folder / f"{self.name}.{suffix}"
            if path.exists():
                parts.append(path.read_bytes().decode("utf-8", "replace"))
        return "\n".join(parts)

    def stderr(self) -> str:
        path = self.folder / f"{self.name}.err"
        return path.read_bytes().decode("utf-8", "replace") if path.exists() else ""

    def tail(self, lines: int = 40) -> str:
        """The end of the output, for assertion messages."""
        return "\n".join(self.output().splitlines()[-lines:])

    def get(self, path: str, timeout: float = 5.0) -> requests.Response:
        return self.session.get(self.url + path, timeout=timeout)

    def post_events(
        self, events: Sequence[Mapping[str, Any]], *, token: str | None = None, timeout: float = 10
    ) -> requests.Response:
        """POST a JSON array of canonical events to ``/v1/events``."""
        return self.session.post(
            self.url + "/v1/events",
            json=list(events),
            headers={"Authorization": f"Bearer {token or self.ingest_token}"},
            timeout=timeout,
        )

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Wait until ``/readyz`` answers 200; fail early if the process ended."""
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if not self.alive():
                raise AssertionError(
                    f"{self.name} exited with {self.process.returncode} before it was ready:\n"
                    + self.tail()
                )
            try:
                answer = self.get("/readyz", timeout=3)
                if answer.status_code == 200:
                    return
                last = f"{answer.status_code} {answer.text}"
            except requests.RequestException as exc:
                last = type(exc).__name__
            time.sleep(0.2)
        raise AssertionError(f"{self.name} not ready after {timeout:g} s ({last}):\n{self.tail()}")

    def wait_synced(self, state: SandboxState, contacts: int, timeout: float = 60.0) -> None:
        """Wait until ready, then until the CRM holds a score for ``contacts`` contacts
        (the first sync); fail early if the process ended."""
        self.wait_ready(timeout)
        wait_for(lambda: len(scored(state)) == contacts, timeout, "the first sync", watch=[self])

    # -- stopping ---------------------------------------------------------------------------

    def terminate(self, timeout: float) -> tuple[int | None, float]:
        """SIGTERM, then wait up to ``timeout`` seconds: the exit code (None if still
        running) and the seconds from the signal to the exit (or to giving up)."""
        asked = time.monotonic()
        self.send(signal.SIGTERM)
        code = self.wait(timeout)
        return code, time.monotonic() - asked

    def send(self, signum: int = signal.SIGTERM) -> None:
        if self.alive():
            self.process.send_signal(signum)

    def wait(self, timeout: float) -> int | None:
        """The exit code, or None if still running after ``timeout`` seconds."""
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout: float = KILL_AFTER_S) -> int:
        """SIGTERM, then SIGKILL if it is still there after ``timeout``; the exit code."""
        self.session.close()
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            if self.wait(timeout) is None:
                self.process.kill()
        return self.process.wait(10)

    def kill(self) -> None:
        """End it at once (teardown)."""
        self.session.close()
        if self.alive():
            self.process.kill()
            self.process.wait(10)


def outbox_rows(database_url: str, status_condition: str) -> int:
    """Outbox rows of a daemon's database whose status matches ``status_condition``
    (SQL, e.g. ``= 'pending'``)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            query = text(f"SELECT count(*) FROM outbox WHERE status {status_condition}")
            return int(connection.execute(query).scalar_one())
    finally:
        engine.dispose()


# -- waiting ----------------------------------------------------------------------------------


def wait_for(
    condition: Callable[[], bool],
    timeout: float,
    what: str,
    *,
    every: float = 0.25,
    watch: Sequence[DaemonProcess] = (),
) -> float:
    """Poll ``condition`` until true; the seconds it took. Fails on timeout or if a
    watched daemon died meanwhile (with the end of its output)."""
    started = time.monotonic()
    deadline = started + timeout
    while True:
        if condition():
            return time.monotonic() - started
        for daemon in watch:
            if not daemon.alive():
                raise AssertionError(
                    f"{daemon.name} exited with {daemon.process.returncode} while waiting "
                    f"for {what}:\n{daemon.tail()}"
                )
        if time.monotonic() > deadline:
            details = "\n".join(f"--- {d.name}:\n{d.tail(15)}" for d in watch)
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}\n{details}")
        time.sleep(every)


def status_counts(db: Path, table: str) -> dict[str, int]:
    """Rows of ``table`` (``outbox``, ``sync_runs``) in a SQLite store, by status."""
    import sqlite3
    from contextlib import closing

    with closing(sqlite3.connect(db)) as connection:
        rows = connection.execute(f"SELECT status, count(*) FROM {table} GROUP BY status")
        return {str(status): int(count) for status, count in rows.fetchall()}


_NO_DEFAULT = float("nan")


def metric_value(text: str, series: str, *, default: float = _NO_DEFAULT) -> float:
    """The value of one series (``name{labels}``) in a Prometheus text exposition."""
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.split()[-1])
    if default == default:  # not NaN: a default was given
        return default
    raise AssertionError(f"{series} not exposed")


def pricing_view(email: str, at: datetime, event_id: str) -> dict[str, Any]:
    """A canonical pricing-page view (15 points in the bundled model, at most 3 count)."""
    return {
        "event_id": event_id,
        "type": "page_view",
        "occurred_at": at.isoformat().replace("+00:00", "Z"),
        "contact": {"email": email},
        "properties": {"url": "https://acme.es/pricing"},
    }
