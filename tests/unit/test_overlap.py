"""crmbridge.sync.overlap: work on a thread of its own, failures handed back."""

from __future__ import annotations

import threading

import pytest

from crmbridge.sync.overlap import Background


def test_the_work_runs_while_the_caller_goes_on_and_is_waited_for() -> None:
    release = threading.Event()
    done: list[str] = []

    def work(halt: threading.Event) -> None:
        release.wait(5)
        done.append("read")

    with Background(work, None, "test-work") as background:
        assert background.running(0.01)
        release.set()
    assert done == ["read"]
    assert not background.running(0)


def test_a_failure_of_the_work_is_raised_in_the_caller() -> None:
    def work(halt: threading.Event) -> None:
        raise RuntimeError("the read broke")

    with pytest.raises(RuntimeError, match="the read broke"), Background(work, None, "test"):
        pass


def test_a_failure_of_the_caller_halts_the_work_and_wins() -> None:
    halted: list[bool] = []

    def work(halt: threading.Event) -> None:
        halted.append(halt.wait(5))

    with pytest.raises(KeyError), Background(work, None, "test"):
        raise KeyError("the rescore broke")
    assert halted == [True]


def test_a_stop_reaches_the_work_at_the_next_look() -> None:
    stop = threading.Event()
    seen: list[bool] = []

    def work(halt: threading.Event) -> None:
        seen.append(halt.wait(5))

    with Background(work, stop, "test") as background:
        stop.set()
        while background.running(0.01):
            pass
    assert seen == [True]
