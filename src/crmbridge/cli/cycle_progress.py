"""The progress bar of ``run --once`` on a terminal: counts per stage and time left."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as Bars

from crmbridge.cli.language import t
from crmbridge.i18n import N_
from crmbridge.sync.progress import READ, SCORED, SENT, WRITTEN, Progress

LABELS = {
    READ: N_("contacts read"),
    SCORED: N_("contacts scored"),
    WRITTEN: N_("contacts written"),
    SENT: N_("outbox rows sent"),
}


@contextmanager
def cycle_progress(console: Console, *, enabled: bool) -> Iterator[Progress | None]:
    """A progress callback drawing one bar per stage on ``console``, or None when
    ``enabled`` is false (JSON output, or not a terminal: a log must stay plain text).

    A stage whose total is not known in advance (what a CRM will hand over) shows its
    count; the outbox, whose due rows are counted first, also shows the time left.
    """
    if not enabled:
        yield None
        return
    with Bars(
        TextColumn("{task.description:<20}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as bars:
        tasks: dict[str, TaskID] = {
            counter: bars.add_task(t(label), total=None) for counter, label in LABELS.items()
        }
        totals = dict.fromkeys(LABELS, 0)
        # A cycle reads, rescores and writes on threads of their own.
        counting = threading.Lock()

        def tell(counter: str, done: int, expected: int) -> None:
            task = tasks.get(counter)
            if task is None:
                return
            with counting:
                if expected:
                    totals[counter] += expected
                    bars.update(task, total=totals[counter])
                if done:
                    bars.advance(task, done)

        yield tell
