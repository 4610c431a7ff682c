"""Keep a claim on outbox rows alive while the CRM calls made under it run.

A claim's lease (``[outbox] lease``) tells other replicas when an in-flight row was
orphaned by a crash. One claim may cover many calls: a batch's reference check (several
searches, a wait for the search index), its send, the searches that settle an
ambiguous answer, or a property batch split to isolate a bad record. However long they
take, a live process re-stamps its claim every third of the lease, so a short lease
never hands a batch still being worked on to a second replica.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta

from crmbridge.logging import get_logger
from crmbridge.store import outbox
from crmbridge.store.repository import Store

#: Re-stamped this many times per lease: a missed stamp (a slow database) still
#: leaves the claim alive.
STAMPS_PER_LEASE = 3


@contextmanager
def kept_claim(store: Store, rows: Sequence[outbox.Queued], lease: timedelta) -> Iterator[None]:
    """Re-stamp the claim of ``rows`` every third of ``lease`` until the block ends."""
    ids = [row.id for row in rows]
    if not ids:
        yield
        return
    done = threading.Event()
    every = lease.total_seconds() / STAMPS_PER_LEASE

    def stamp() -> None:
        while not done.wait(every):
            try:
                with store.session() as session:
                    outbox.keep_claimed(session, ids)
            except Exception as exc:  # whatever failed (the database), stamped next time
                get_logger().warning("outbox.claim_not_renewed", rows=len(ids), error=str(exc))

    keeper = threading.Thread(target=stamp, name="crmbridge-claim-keeper", daemon=True)
    keeper.start()
    try:
        yield
    finally:
        done.set()
        keeper.join()
