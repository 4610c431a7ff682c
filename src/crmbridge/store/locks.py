"""Who may do what when several ``crmbridge run`` replicas share one database.

On Postgres each singleton job (a connector's poll) runs under a session-level advisory
lock: the replica that gets it polls, the others skip that tick. SQLite cannot be
shared by replicas at all, so a second daemon on the same file is refused at start.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from sqlalchemy import text
from sqlalchemy.engine import Engine

from crmbridge.errors import ConfigError, ConfigProblem


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for ``pg_try_advisory_lock``."""
    digest = hashlib.sha256(f"crmbridge:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


#: SQLite has one replica, but its jobs (polls, drains) run on several threads.
_local_locks: dict[tuple[str, str], threading.Lock] = {}
_local_locks_guard = threading.Lock()


@contextmanager
def singleton(engine: Engine, name: str) -> Iterator[bool]:
    """Yield True if this replica holds the lock ``name``.

    On Postgres a session-level advisory lock (other replicas and this replica's other
    jobs see it); on SQLite a lock of this process, as its jobs run concurrently.
    """
    if engine.dialect.name != "postgresql":
        with _local_locks_guard:
            lock = _local_locks.setdefault((str(engine.url), name), threading.Lock())
        held = lock.acquire(blocking=False)
        try:
            yield held
        finally:
            if held:
                lock.release()
        return
    key = lock_key(name)
    with engine.connect() as connection:
        held = bool(
            connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
        )
        try:
            yield held
        finally:
            if held:
                connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                connection.commit()


class SqliteGuard:
    """Holds an exclusive lock file beside a SQLite database for the daemon's lifetime."""

    def __init__(self, database_url: str) -> None:
        path = database_url.split("///", 1)[-1] if "///" in database_url else ""
        self.path = Path(f"{path}.lock") if path and path != ":memory:" else None
        self._handle: IO[str] | None = None

    def acquire(self) -> None:
        """Take the lock or raise ConfigError explaining how to run several replicas."""
        if self.path is None:
            return
        handle = self.path.open("a+")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            raise ConfigError(
                [
                    ConfigProblem(
                        "bridge.database_url",
                        "another crmbridge daemon is already using this SQLite database",
                        "run one daemon per SQLite file, or use Postgres "
                        "(postgresql+psycopg://...) for several replicas",
                    )
                ]
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        """Let another daemon start."""
        if self._handle is not None:
            fcntl.flock(self._handle.fileno(), fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None
