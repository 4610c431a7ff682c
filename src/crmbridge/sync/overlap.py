"""A cycle's read and writes on threads of their own, so that what is stored is scored
and written while the rest is still being read.

A read mostly waits: for the CRM's answer, and for the search limit (HubSpot allows a
few searches a second). A write mostly waits for the CRM's answer too. Scoring the
pages already stored fills those waits. Nothing is handed between the threads but the
store itself: the read stores each page with its cursor, rescoring takes the contacts
the read marked dirty, writing sends the outbox rows rescoring committed. Each stage
persists before the next sees its work, as in a cycle that runs them one after the
other, so a crash loses nothing either way.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol


class Flag(Protocol):
    """What a read looks at between pages to know whether to end (an ``Event``)."""

    def is_set(self) -> bool:
        """Whether to end now."""
        ...


class Either:
    """Set when any of its flags is: a read on the background thread ends at once when
    the process stops, not only once the cycle's thread has next looked (which may be
    a rescoring round later)."""

    def __init__(self, *flags: Flag | None) -> None:
        self._flags = [flag for flag in flags if flag is not None]

    def is_set(self) -> bool:
        """Whether any flag is set."""
        return any(flag.is_set() for flag in self._flags)


class Background:
    """Runs ``work(halt)`` on a thread; use as a context manager around what goes on
    meanwhile. ``halt`` is set when ``stop`` is (seen at each :meth:`running`) or when
    the code inside the ``with`` fails; leaving the block waits for the work to end and
    raises what it raised."""

    def __init__(
        self, work: Callable[[threading.Event], None], stop: threading.Event | None, name: str
    ) -> None:
        self.halt = threading.Event()
        self._stop = stop
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(work,), name=name, daemon=True)

    def _run(self, work: Callable[[threading.Event], None]) -> None:
        try:
            work(self.halt)
        except BaseException as exc:  # handed to the caller's thread on leaving the block
            self._error = exc

    def running(self, wait_s: float) -> bool:
        """Whether the work still runs, after waiting up to ``wait_s`` for it to end."""
        if self._stop is not None and self._stop.is_set():
            self.halt.set()
        self._thread.join(wait_s)
        return self._thread.is_alive()

    def __enter__(self) -> Background:
        self._thread.start()
        return self

    def __exit__(self, *failure: object) -> None:
        failed = failure[1] is not None  # (type, exception, traceback) of the block's
        if failed:
            self.halt.set()
        self._thread.join()
        if self._error is not None and not failed:
            raise self._error
