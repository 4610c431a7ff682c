"""A first cycle scores and writes the pages it has stored while it reads the rest."""

from __future__ import annotations

import math
from pathlib import Path

from crmbridge.connector.rate_governor import RateGovernor
from crmbridge_hubspot.client import is_search
from crmbridge_hubspot.connector import BATCH_LIMIT, SEARCH_LIMIT

from .hubspot_harness import connector_for, pipeline_over, sandbox
from .test_hubspot_connector import NOW, seed_population

#: Two search pages, a search a second (a CRM's search limit, tightened).
CONTACTS = 2 * SEARCH_LIMIT


def test_writes_start_while_the_read_goes_on_in_whole_batches(tmp_path: Path) -> None:
    with sandbox() as server:
        ids = seed_population(server.state, CONTACTS)
        connector = connector_for(server)
        with pipeline_over(connector, tmp_path) as pipeline:
            pipeline.prepare()
            connector.client.search_governor = RateGovernor(1, 1.0, margin=0)
            server.state.reset_observations()
            summary = pipeline.run_once(NOW)
        log = server.state.requests()
        contacts = {contact.id: contact for contact in server.state.contacts()}

    assert summary.ok, summary.errors
    # Contacts written before the read reached its end are read again there (their
    # modification time moved on): an echo of our own writes, never scored again.
    assert summary.read >= CONTACTS
    assert (summary.scored, summary.written) == (CONTACTS, CONTACTS)
    searches = [i for i, r in enumerate(log) if is_search(r.method, r.path)]
    writes = [i for i, r in enumerate(log) if r.path.endswith("/batch/update")]
    # Writing began before the read's last search had been answered...
    assert writes[0] < searches[-1], [(r.method, r.path) for r in log]
    # ...and never spent a call on a part-filled batch while pages were still coming.
    assert len(writes) == math.ceil(CONTACTS / BATCH_LIMIT)
    assert all(contacts[crm_id].properties.get("crmbridge_score") for crm_id in ids)
