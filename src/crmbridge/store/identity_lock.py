"""Merges and deletions wait for the rescoring batch that holds their contacts.

A rescoring batch takes its contacts, scores them and commits their scores and outbox
rows. A merge or a deletion applied meanwhile — by a read on its own thread (see
:mod:`crmbridge.sync.overlap`) or by a webhook — would delete or rename a contact under
the batch, which would then store a score for a contact that is gone or queue a write
to a record id merged away. In one process they are put in order by one lock: a batch
holds it from taking its contacts to committing them, and a change of identity holds
it while it is applied, so it sees the batch's rows and folds or forgets them too.

Replicas sharing a PostgreSQL store are not ordered by this lock.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from crmbridge.logging import get_logger


class IdentityLock:
    """The lock of one store; :meth:`scoring` for a batch, :meth:`changing` for a
    merge or a deletion."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    @contextmanager
    def scoring(self) -> Iterator[None]:
        """Held by a rescoring batch from taking its contacts to committing them."""
        with self._lock:
            yield

    @contextmanager
    def changing(self, connector: str) -> Iterator[None]:
        """Held while merges or deletions of ``connector``'s records are applied; waits
        for a batch being scored (and says so in the log)."""
        if not self._lock.acquire(blocking=False):
            get_logger(connector=connector).info(
                "contact.identity_waits", reason="a rescoring batch holds contacts"
            )
            self._lock.acquire()
        try:
            yield
        finally:
            self._lock.release()
