"""The ``hold`` fault aimed at a request count: the first N matching requests pass, the
next one is carried out at once and its answer held until released — the moment a test
kills its client."""

from __future__ import annotations

import threading
from typing import Any

from connectors.salesforce.tests.conftest import SandboxHandle
from connectors.salesforce.tests.sandbox.helpers import lead, session_client


def test_the_second_create_is_done_at_once_and_answered_only_when_released(
    salesforce_sandbox: SandboxHandle,
) -> None:
    sandbox = salesforce_sandbox
    who = sandbox.seed("Lead", lead(1))
    faults = sandbox.faults
    faults.add("hold", path_prefix="sobjects/Task", method="POST", after=1)
    sf = session_client(sandbox)
    answers: list[Any] = []

    def create(subject: str) -> None:
        answers.append(sf.Task.create({"WhoId": who, "Subject": subject}))

    create("first")
    assert answers and not faults.holding.is_set(), "the first request went through"
    second = threading.Thread(target=create, args=("second",))
    second.start()
    assert faults.holding.wait(10), "the second request is held"
    state = sandbox.server.state
    with state.lock:
        subjects = sorted(t["Subject"] for t in state.records["Task"].values())
    assert subjects == ["first", "second"], "carried out before its answer"
    assert len(answers) == 1
    faults.release()
    second.join(10)
    assert len(answers) == 2 and answers[1]["success"] is True
    assert faults.pending() == 0
