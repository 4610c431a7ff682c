"""The headline: 200 generated leads reply on Salesforce → in ONE cycle 200 cadences
are paused, each lead's owner gets exactly one "replied — take over" task, and leads
that did not reply keep running; a later cycle does nothing more.

The replies arrive as Salesforce records them: incoming EmailMessages, inbound calls
logged as Tasks, emails logged as Tasks of the org's "Inbound Email" type, one to three
per lead. Everything is asserted on what the sandbox org holds, through the real
connector (simple-salesforce over HTTPS).
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from connectors.salesforce.tests.conftest import SandboxHandle
from crmbridge.config import parse_config
from crmbridge.store.repository import Store
from crmbridge.sync.pipeline import Pipeline

from .reply_world import CHANNELS, INBOUND, OPTIONS, REPLY_SUBJECT, ReplyWorld, handoff_toml
from .salesforce_harness import connector_for, settings_for

REPLIED, CONTROLS, SEED = 200, 20, 2026_1202


def test_200_replies_pause_200_cadences_in_one_cycle_each_owner_tasked_once(
    salesforce_sandbox: SandboxHandle, tmp_path: Path
) -> None:
    server = salesforce_sandbox.server
    world = ReplyWorld.build(server, REPLIED, CONTROLS)
    config = parse_config(handoff_toml(world), source="test").config
    config = config.model_copy(
        update={
            "connectors": config.connectors.model_copy(
                update={"salesforce": settings_for(server, **OPTIONS)}
            )
        }
    )
    store = Store.open(f"sqlite:///{tmp_path / 'crmbridge.db'}")
    try:
        pipeline = Pipeline(store, config, {"salesforce": connector_for(server, **OPTIONS)})
        pipeline.prepare()
        first = pipeline.run_once(datetime.now(UTC))
        assert first.ok, first.errors
        assert world.crmbridge_tasks() == {}, "no reply yet: no task"

        used = world.reply_all(random.Random(SEED))
        assert set(used) == set(CHANNELS) and sum(used.values()) == REPLIED

        replying = pipeline.run_once(datetime.now(UTC))
        assert replying.ok, replying.errors
        trackers = world.trackers()
        tasks = world.crmbridge_tasks()
        # Every replied lead: its cadence paused, one task, owned by its owner.
        assert Counter(trackers[lead][0][1] for lead in world.replied) == {"Paused": REPLIED}
        assert all(len(trackers[lead]) == 1 for lead in world.replied)
        for lead in world.replied:
            [task] = tasks[lead]
            assert task["Subject"].endswith(REPLY_SUBJECT), task["Subject"]
            assert task["OwnerId"] == world.owner[lead]
            assert world.lead(lead)["CRMBridge_Sequence_Paused__c"] == "true"
        by_owner = Counter(t["OwnerId"] for lead in world.replied for t in tasks[lead])
        assert by_owner == Counter(world.owner[lead] for lead in world.replied)
        # Leads that did not reply: still running, no task.
        assert all(trackers[lead] == [(INBOUND, "Running")] for lead in world.controls)
        assert not any(lead in tasks for lead in world.controls)

        quiet = pipeline.run_once(datetime.now(UTC))
        assert quiet.ok, quiet.errors
        assert quiet.actions == 0
        assert world.crmbridge_tasks() == tasks
    finally:
        store.engine.dispose()
