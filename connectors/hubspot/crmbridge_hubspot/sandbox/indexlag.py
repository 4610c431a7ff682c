"""Search index lag: a change reaches the search endpoints only some time after it is made.

HubSpot documents that new and updated records "may take a few moments" to appear in
search results, while reads by id answer the current record at once. The sandbox
models it per record version: each change draws a lag (fixed, or uniform in a range,
from a seeded generator); until the lag has passed on the sandbox's clock, search
shows the record as it was before (or not at all, if it was just created). A later
version whose lag runs out first supersedes an earlier one still pending, as a
reindex of the current record would; search never goes back to an older version.

Off by default (both bounds 0): every change is searchable at once and nothing is
kept. Settings (``PATCH /_sandbox/config``): ``index_lag_min_ms``,
``index_lag_max_ms`` and ``index_lag_seed``.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from crmbridge_hubspot.sandbox.config import SandboxConfig

T = TypeVar("T")


class IndexLag:
    """Draws the lag of each change from the shared settings (seeded, thread-safe)."""

    def __init__(self, config: SandboxConfig) -> None:
        self._config = config
        self._lock = threading.Lock()
        self._seed = config.index_lag_seed
        self._rng = random.Random(self._seed)

    def draw(self) -> timedelta | None:
        """The lag of one change; ``None`` when index lag is off."""
        low, high = self._config.index_lag_min_ms, self._config.index_lag_max_ms
        if high <= 0:
            return None
        with self._lock:
            if self._config.index_lag_seed != self._seed:
                self._seed = self._config.index_lag_seed
                self._rng = random.Random(self._seed)
            millis = self._rng.randint(low, high) if high > low else low
        return timedelta(milliseconds=millis)


@dataclass
class _Pending(Generic[T]):
    """A record's versions not yet superseded in search: oldest first, each with the
    instant search starts to show it (``None``: the record is not in search)."""

    versions: list[tuple[datetime, T | None]] = field(default_factory=list)


class SearchIndex(Generic[T]):
    """What search shows of records whose recent versions are still being indexed.

    Records with nothing pending are shown as they are; only those with a lagging
    version are kept here, and only until their newest version is searchable. Not
    thread-safe on its own: the state calls it under its lock.
    """

    def __init__(self) -> None:
        self._pending: dict[str, _Pending[T]] = {}
        #: Draws each change's lag; the app wires it to the settings (off until then).
        self.lag: Callable[[], timedelta | None] = lambda: None

    def changed(
        self, key: str, before: T | None, after: T, now: datetime, lag: timedelta | None
    ) -> None:
        """Record ``after``, a new version of ``key`` made at ``now`` that search shows
        ``lag`` later (draw it with :attr:`lag` first). ``before`` is what search showed
        until then (``None`` for a new record); it is needed only when the change lags."""
        if lag is None or lag <= timedelta(0):
            # Searchable at once: it supersedes every version still pending.
            self._pending.pop(key, None)
            return
        pending = self._pending.get(key)
        if pending is None:
            pending = self._pending[key] = _Pending(
                [(datetime.min.replace(tzinfo=now.tzinfo), before)]
            )
        pending.versions.append((now + lag, after))

    def forget(self, key: str) -> None:
        """The record is gone (deleted, merged away): nothing of it is searchable."""
        self._pending.pop(key, None)

    def lagging(self) -> int:
        """How many records have a version search does not show yet."""
        return len(self._pending)

    def shown(self, key: str, current: T, now: datetime) -> T | None:
        """The version of ``key`` search shows at ``now`` (``None``: not in search)."""
        pending = self._pending.get(key)
        if pending is None:
            return current
        newest = max(
            (i for i, (visible, _) in enumerate(pending.versions) if visible <= now), default=0
        )
        if newest == len(pending.versions) - 1:
            del self._pending[key]
            return current
        del pending.versions[:newest]
        return pending.versions[0][1]
