"""A crash test's worker process: started, killed at a chosen moment, or run to its
report; and the report a worker prints once its cycle is done."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from datetime import datetime
from typing import Any

from crmbridge.store import outbox
from crmbridge.store.repository import Store
from crmbridge.sync.pipeline import Pipeline


def environment() -> dict[str, str]:
    """The test's environment without crmbridge's own variables."""
    return {k: v for k, v in os.environ.items() if not k.upper().startswith("CRMBRIDGE")}


def run_worker(
    command: list[str], kill_after: float | None = None, *, timeout: float = 180
) -> tuple[dict[str, Any] | None, float]:
    """Run the worker to its end (its report) or SIGKILL it ``kill_after`` s after ready;
    also how long it worked after ready."""
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment()
    )
    assert process.stdout is not None
    try:
        assert process.stdout.readline().strip() == "ready"
        ready = time.monotonic()
        if kill_after is not None:
            try:
                process.wait(timeout=kill_after)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait()
                return None, time.monotonic() - ready
        out, err = process.communicate(timeout=timeout)
        worked = time.monotonic() - ready
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err[-3000:]
    return dict(json.loads(out.strip().splitlines()[-1])), worked


def run_and_report(store: Store, pipeline: Pipeline, now: datetime) -> int:
    """A worker's cycle: prepare, run once recovering everything, print the summary and
    the outbox depth as one JSON line; the exit status."""
    pipeline.prepare()
    summary = pipeline.run_once(now, recover_all=True)
    with store.session() as session:
        depth = dict(outbox.depth(session))
    print(json.dumps({"summary": summary.as_dict(), "outbox": depth}), flush=True)
    store.engine.dispose()
    return 0 if summary.ok else 1
