"""Can the daemon's store take writes? Asked by intake, ``/readyz``, ``/healthz`` and jobs.

Two questions of different cost:

- :meth:`StoreProbe.gone` — is the SQLite file the daemon opened at start still there?
  A deleted (or replaced) file keeps working through the open handle: writes "succeed"
  into a file nobody will ever open again. Comparing the path's device and inode with
  the ones seen at start costs one ``stat``, so every intake request asks it.
- :meth:`StoreProbe.check` — the full probe for readiness: the file as above, the
  database answers (with a deadline; a hung check is waited on by one thread at most),
  and it accepts writes (SQLite: a write lock can be taken or is held by someone else;
  Postgres: the session is not read-only, e.g. a standby).

Answers never contain the database's path or URL (they are served over HTTP).

While the daemon runs, a new connection to its SQLite store never creates the file
(:func:`forbid_recreation`): a cycle that was already running when the file was deleted
fails instead of leaving a new, empty store behind for the next start to adopt.
"""

from __future__ import annotations

import sqlite3
import threading
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import event, text

from crmbridge.logging import get_logger
from crmbridge.store.repository import Store

#: The deadline of one readiness probe of the database.
PROBE_TIMEOUT_S = 2.0
GONE = "the SQLite file was deleted or replaced while crmbridge ran; restore it and restart"

log = get_logger(component="store")


@dataclass(frozen=True)
class StoreState:
    """The outcome of a probe: ``ok`` when the store answers and accepts writes."""

    reachable: bool
    writable: bool
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when intake can be accepted."""
        return self.reachable and self.writable


def sqlite_file(store: Store) -> tuple[str, bool] | None:
    """The SQLite file behind ``store`` and whether its URL opens it read-only.

    None for Postgres and for an in-memory SQLite database.
    """
    if not store.is_sqlite:
        return None
    url = store.engine.url
    database = url.database or ""
    query = dict(url.query)
    if database.startswith("file:") and str(query.get("uri", "")).lower() == "true":
        database = database[len("file:") :]
    if database in ("", ":memory:") or str(query.get("mode", "")) == "memory":
        return None
    return str(Path(database).absolute()), str(query.get("mode", "")) == "ro"


def forbid_recreation(store: Store) -> None:
    """Open the store's SQLite file read-write from now on, never creating it."""
    found = sqlite_file(store)
    if found is None or found[1]:
        return
    path = found[0]

    def existing_file_only(
        _dialect: Any, _record: Any, cargs: list[Any], cparams: dict[str, Any]
    ) -> None:
        if not cparams.get("uri"):
            cargs[:] = [f"file:{quote(path)}?mode=rw"]
            cparams["uri"] = True

    event.listen(store.engine, "do_connect", existing_file_only)


class StoreProbe:
    """Watches one store; created when the daemon starts, before it serves."""

    def __init__(self, store: Store, timeout_s: float = PROBE_TIMEOUT_S) -> None:
        self.store = store
        self.timeout_s = timeout_s
        found = sqlite_file(store)
        self.path = found[0] if found else None
        self.read_only_url = bool(found and found[1])
        self.identity = _identity(self.path) if self.path else None
        self._hung: threading.Thread | None = None
        self._lock = threading.Lock()
        self._reported_gone = False

    def gone(self) -> str | None:
        """Why the store's file is no longer the one opened at start, or None."""
        if self.path is None or self.identity is None:
            return None
        if _identity(self.path) == self.identity:
            return None
        if not self._reported_gone:
            self._reported_gone = True
            log.error("store.gone", path=self.path, detail=GONE)
        return GONE

    def check(self) -> StoreState:
        """The full probe (file, answer, writability) within the deadline."""
        missing = self.gone()
        if missing is not None:
            return StoreState(False, False, missing)
        with self._lock:
            if self._hung is not None and self._hung.is_alive():
                return StoreState(
                    False, False, "a previous check is still waiting for the database"
                )
            outcome: list[StoreState] = []
            worker = threading.Thread(
                target=lambda: outcome.append(self._probe()), name="store-probe", daemon=True
            )
            worker.start()
            worker.join(self.timeout_s)
            if worker.is_alive():
                self._hung = worker
                return StoreState(False, False, f"no answer within {self.timeout_s:g} s")
        return outcome[0] if outcome else StoreState(False, False, "check did not finish")

    def _probe(self) -> StoreState:
        try:
            with self.store.engine.connect() as connection:
                if self.store.is_sqlite:
                    connection.execute(text("SELECT 1")).scalar()
                    read_only = False
                else:
                    setting = connection.execute(
                        text("SELECT current_setting('transaction_read_only')")
                    ).scalar()
                    read_only = str(setting).lower() == "on"
        except Exception as exc:
            return StoreState(False, False, f"unreachable ({type(exc).__name__})")
        if read_only:
            return StoreState(True, False, "the database is read-only (a standby?)")
        if self.path is not None:
            return self._sqlite_writable()
        return StoreState(True, True)

    def _sqlite_writable(self) -> StoreState:
        """Take SQLite's write lock without waiting: refused as read-only, or busy (fine)."""
        if self.read_only_url:
            return StoreState(True, False, "the database URL opens the file read-only")
        assert self.path is not None
        try:
            connection = sqlite3.connect(
                f"file:{quote(self.path)}?mode=rw", uri=True, timeout=0, isolation_level=None
            )
        except sqlite3.Error as exc:
            return StoreState(False, False, f"cannot open the SQLite file ({type(exc).__name__})")
        with closing(connection):
            try:
                connection.execute("BEGIN IMMEDIATE")
                connection.execute("ROLLBACK")
            except sqlite3.OperationalError as exc:
                message = str(exc).lower()
                if "locked" in message or "busy" in message:
                    return StoreState(True, True)  # another connection is writing now
                if "readonly" in message or "read-only" in message:
                    return StoreState(True, False, "the SQLite file is read-only")
                return StoreState(True, False, f"cannot write ({type(exc).__name__})")
        return StoreState(True, True)


def _identity(path: str) -> tuple[int, int] | None:
    try:
        stat = Path(path).stat()
    except OSError:
        return None
    return stat.st_dev, stat.st_ino
