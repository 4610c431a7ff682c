"""The headline's second half: ``crmbridge run --once`` (the real daemon, its own
process) is killed with SIGKILL while the hand-off is in flight, and run again until
its outbox is settled. The org must end as an uninterrupted run leaves it: every
replied lead's cadence paused with one "replied — take over" task for its owner, every
hot lead assigned once with one hot-lead task, every analyst enrolled in the nurture
cadence once — no task, assignment or enrollment twice.

The kill is deterministic: the sandbox holds the answer of the Nth request of one kind
(carried out, its answer not sent: the worst moment for a client) and the test kills
the daemon while it waits for it. Each kill point is one trial on a fresh org; two by
default, all four with ``--long``.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from crmbridge.store import outbox
from crmbridge.store.repository import Store
from crmbridge_salesforce.sandbox import SandboxServer
from crmbridge_salesforce.sandbox.tls import Certificates

from .reply_world import (
    HOT_SUBJECT,
    INBOUND,
    NURTURE,
    OPTIONS,
    REPLY_SUBJECT,
    ReplyWorld,
    handoff_toml,
)

REPLIED, CONTROLS, HOT, ANALYSTS, SEED = 30, 5, 6, 4, 2026_1203
#: (name, request path, method, requests let through before the held one).
KILL_POINTS = [
    ("task batch", "composite/sobjects", "POST", 0),
    ("pause", "actions/standard/pauseSalesCadenceTracker", "POST", 12),
    ("enrollment", "actions/standard/assignTargetToSalesCadence", "POST", 1),
    ("assignment write", "composite/sobjects", "PATCH", 0),
]
SHORT = 2
MAX_RUNS = 5
UNSETTLED = ("pending", "in_flight", "failed")
PASSWORD_ENV, TOKEN_ENV = "SF_KILL_TEST_PASSWORD", "SF_KILL_TEST_TOKEN"


def config_file(folder: Path, server: SandboxServer, world: ReplyWorld) -> Path:
    """crmbridge.toml for the daemon: the hand-off, the store, the sandbox org."""
    text = handoff_toml(world).replace(
        "[bridge]\n", f'[bridge]\ndatabase_url = "sqlite:///{folder / "crmbridge.db"}"\n', 1
    )
    options = "\n".join(f"{key} = {json.dumps(value)}" for key, value in OPTIONS.items())
    text += f"""
[connectors.salesforce]
enabled = true
username = "{server.config.username}"
password = "${{{PASSWORD_ENV}}}"
security_token = "${{{TOKEN_ENV}}}"
login_host = "{server.login_host}"
ca_bundle = "{server.ca_bundle}"
objects = ["Lead"]
timeout = "30s"
{options}
"""
    path = folder / "crmbridge.toml"
    path.write_text(text)
    return path


def daemon(config: Path, server: SandboxServer) -> subprocess.Popen[str]:
    """``crmbridge run --once --json`` in a process of its own."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("CRMBRIDGE")}
    env |= {PASSWORD_ENV: server.config.password, TOKEN_ENV: server.config.security_token}
    command = [str(Path(sys.executable).with_name("crmbridge")), "run", "--once", "--json"]
    return subprocess.Popen(
        [*command, "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def unsettled(folder: Path) -> int:
    store = Store.open(f"sqlite:///{folder / 'crmbridge.db'}")
    try:
        with store.session() as session:
            depth = outbox.depth(session)
    finally:
        store.engine.dispose()
    return sum(depth.get(status, 0) for status in UNSETTLED)


def run_killed_then_settle(
    folder: Path, server: SandboxServer, world: ReplyWorld, kill: tuple[str, str, str, int]
) -> int:
    """Run the daemon, SIGKILL it at the held request, run it again until the outbox
    is settled; how many runs it took."""
    _, path, method, after = kill
    faults = server.faults
    faults.stall_seconds = 120
    faults.add("hold", path_prefix=path, method=method, after=after)
    config = config_file(folder, server, world)
    killed, err = False, ""
    for runs in range(1, MAX_RUNS + 1):
        process = daemon(config, server)
        # Until it ends, or (once) until the sandbox holds the chosen request's answer.
        while process.poll() is None and (killed or not faults.holding.is_set()):
            time.sleep(0.02)
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
            faults.release()
            killed = True
            continue
        _, err = process.communicate()
        assert process.returncode in (0, 1), err[-3000:]
        if killed and process.returncode == 0 and unsettled(folder) == 0:
            return runs
    raise AssertionError(f"not settled after {MAX_RUNS} runs (killed: {killed}): {err[-2000:]}")


def assert_done_once(world: ReplyWorld) -> None:
    """What an uninterrupted run leaves, and nothing twice."""
    tasks = world.crmbridge_tasks()
    trackers = world.trackers()
    for lead in world.replied:
        assert trackers[lead] == [(INBOUND, "Paused")], (lead, trackers[lead])
        [task] = tasks[lead]
        assert task["Subject"].endswith(REPLY_SUBJECT) and task["OwnerId"] == world.owner[lead]
    for lead in world.controls:
        assert trackers[lead] == [(INBOUND, "Running")] and lead not in tasks
    owners: Counter[str] = Counter()
    for lead in world.hot:
        owner = world.lead(lead)["OwnerId"]
        owners[owner] += 1
        [task] = tasks[lead]
        assert task["Subject"].startswith(HOT_SUBJECT) and task["OwnerId"] == owner
    # Assigned once each, by the rotation over the two configured reps.
    assert sorted(owners.values()) == [HOT // 2, HOT // 2], owners
    assert set(owners) == set(world.reps[:2])
    for lead in world.analysts:
        assert trackers[lead] == [(NURTURE, "Running")], (lead, trackers.get(lead))
        assert lead not in tasks


@pytest.mark.parametrize("kill", KILL_POINTS, ids=[k[0] for k in KILL_POINTS])
def test_a_daemon_killed_mid_handoff_resumes_without_doing_anything_twice(
    kill: tuple[str, str, str, int],
    tmp_path: Path,
    salesforce_sandbox_certificates: Certificates,
    request: pytest.FixtureRequest,
) -> None:
    if KILL_POINTS.index(kill) >= SHORT and not request.config.getoption("--long"):
        pytest.skip("this kill point runs with --long")
    with SandboxServer(certificates=salesforce_sandbox_certificates) as server:
        world = ReplyWorld.build(server, REPLIED, CONTROLS, hot=HOT, analysts=ANALYSTS)
        world.reply_all(random.Random(SEED))
        runs = run_killed_then_settle(tmp_path, server, world, kill)
        assert server.faults.pending() == 0, "the held request was reached"
        assert 2 <= runs <= MAX_RUNS
        assert_done_once(world)
