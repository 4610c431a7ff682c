"""What must hold after absurd input: the checks every fuzz test shares."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from crmbridge.records import normalize_email
from crmbridge.store.tables import ContactRow, EventRow, ScoreRow, SyncRunRow

from .events import ACCEPT, REJECT, GeneratedEvent

T = TypeVar("T")
_CONTACTS = ContactRow.__table__  # type: ignore[attr-defined]
_EVENTS = EventRow.__table__  # type: ignore[attr-defined]
_SCORES = ScoreRow.__table__  # type: ignore[attr-defined]
_RUNS = SyncRunRow.__table__  # type: ignore[attr-defined]


class HungError(AssertionError):
    """Something did not finish within its generous bound."""


def within(seconds: float, what: str, work: Callable[[], T]) -> T:
    """``work()`` on a watchdog thread; :class:`HungError` if it is not done after ``seconds``.

    A bound on finishing at all, not a speed requirement: it is many times the
    expected duration, so only a hang (or quadratic blow-up) trips it.
    """
    result: list[T] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            result.append(work())
        except BaseException as exc:  # handed to the caller's thread
            failure.append(exc)

    worker = threading.Thread(target=run, name=f"watchdog: {what}", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise HungError(f"{what} did not finish within {seconds:g} s")
    if failure:
        raise failure[0]
    return result[0]


def assert_no_traceback(text: str, where: str) -> None:
    """No Python traceback (nor an exception name from one) in ``text``."""
    for marker in ("Traceback (most recent call last)", "OverflowError", "RecursionError"):
        at = text.find(marker)
        assert at < 0, f"{marker!r} in {where}:\n{text[at : at + 400]}\n…\n{text[-900:]}"


@dataclass
class Tally:
    """Counts over every request or file of one test."""

    generated: int = 0
    accepted: int = 0  # stored, or a duplicate of a stored event
    stored: int = 0  # reported as ingested (new events)
    rejected: int = 0  # refused with a line number and a reason
    refused_bodies: int = 0  # whole JSON arrays refused with a 400 and a reason
    poison: int = 0
    warnings: int = 0
    verdicts: dict[str, int] = field(default_factory=dict)
    accepted_ids: set[str] = field(default_factory=set)
    poisoned: dict[str, set[str]] = field(default_factory=dict)  # email → absurd numbers
    poison_ids: dict[str, str] = field(default_factory=dict)  # event id → absurd number

    def figures(self) -> dict[str, int]:
        return {
            "generated": self.generated,
            "accepted": self.accepted,
            "stored": self.stored,
            "rejected_with_reason": self.rejected,
            "refused_bodies_400": self.refused_bodies,
            "warnings": self.warnings,
            "poison_numbers_accepted": self.poison,
            **{f"generated_{k}": v for k, v in sorted(self.verdicts.items())},
        }


def check_report(report: dict[str, Any], sent: Sequence[GeneratedEvent], tally: Tally) -> None:
    """An ingest report (CLI ``--json`` or the 202 body) against what was sent.

    Line *n* is ``sent[n - 1]``. Every error names its line and a reason, the counts
    add up, valid events are never refused and invalid ones always are.
    """
    errors = [i for i in report["issues"] if i["severity"] == "error"]
    summary = {k: report[k] for k in ("lines", "ingested", "duplicates", "failed")}
    assert report["lines"] == len(sent), summary
    assert report["ingested"] + report["duplicates"] + report["failed"] == len(sent), summary
    assert len(errors) == report["failed"], f"{summary}: some rejections are not named"
    refused = {}
    for issue in errors:
        assert 1 <= issue["line"] <= len(sent), issue
        assert isinstance(issue["reason"], str) and issue["reason"].strip(), issue
        refused[issue["line"]] = issue["reason"]
    for number, event in enumerate(sent, start=1):
        tally.generated += 1
        tally.verdicts[event.verdict] = tally.verdicts.get(event.verdict, 0) + 1
        shown = event.line()[:300]
        if event.verdict == ACCEPT:
            assert number not in refused, (
                f"valid event refused: line {number}: {refused.get(number)}\n{shown}"
            )
        if event.verdict == REJECT:
            assert number in refused, f"invalid event accepted: line {number}\n{shown}"
        if number in refused:
            tally.rejected += 1
            continue
        tally.accepted += 1
        if event.event_id is not None:
            tally.accepted_ids.add(event.event_id)
        if event.poison is not None and event.email is not None:
            tally.poison += 1
            tally.poisoned.setdefault(normalize_email(event.email), set()).add(event.poison)
            if event.event_id is not None:
                tally.poison_ids[event.event_id] = event.poison
    tally.warnings += report["warnings"]
    tally.stored += report["ingested"]


def stored_event_ids(engine: Engine, wanted: Iterable[str]) -> set[str]:
    """Which of ``wanted`` are stored as events (by dedupe key)."""
    wanted = list(wanted)
    found: set[str] = set()
    with engine.connect() as connection:
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            query = select(_EVENTS.c.dedupe_key).where(_EVENTS.c.dedupe_key.in_(chunk))
            found.update(connection.execute(query).scalars())
    return found


def event_count(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(_EVENTS)).scalar_one())


def runs_left_running(engine: Engine) -> int:
    """``sync_runs`` rows still "running" (once no cycle is: a cycle that never ended)."""
    with engine.connect() as connection:
        query = select(func.count()).select_from(_RUNS).where(_RUNS.c.status == "running")
        return int(connection.execute(query).scalar_one())


def not_kept_as_text(engine: Engine, poison_ids: dict[str, str], name: str) -> list[str]:
    """Stored events whose absurd number ``name`` is not the text that was sent."""
    wrong = []
    with engine.connect() as connection:
        for event_id, sent in poison_ids.items():
            query = select(_EVENTS.c.properties).where(_EVENTS.c.dedupe_key == event_id)
            kept = connection.execute(query).scalar_one().get(name)
            if kept != sent:
                wrong.append(f"{event_id}: sent {sent[:20]!r}, stored {str(kept)[:20]!r}")
    return wrong


@dataclass(frozen=True)
class ScoreState:
    """Each stored contact: whether it has a current score, and its notes as text."""

    contacts: dict[str, int]  # email (or crm id) → contact row id
    current: dict[int, str]  # contact row id → reasons and detail, as text
    pending: set[int]  # dirty, or due again (a failed scoring leaves it due)

    def unscored(self) -> list[str]:
        return [key for key, cid in self.contacts.items() if cid not in self.current]

    def settled(self) -> bool:
        """Every contact scored since its last change."""
        return not self.pending and not self.unscored()


def score_state(engine: Engine, now: datetime | None = None) -> ScoreState:
    moment = now or datetime.now(UTC)
    with engine.connect() as connection:
        contacts, pending = {}, set()
        for row in connection.execute(select(_CONTACTS)):
            contacts[row.email or row.crm_id] = row.id
            recheck = row.recheck_at
            if recheck is not None and recheck.tzinfo is None:
                recheck = recheck.replace(tzinfo=UTC)
            if row.dirty or (recheck is not None and recheck <= moment):
                pending.add(row.id)
        current = {
            row.contact_id: f"{row.reasons}\n{json.dumps(row.detail, default=str)}"
            for row in connection.execute(select(_SCORES).where(_SCORES.c.is_current.is_(True)))
        }
    return ScoreState(contacts, current, pending)


def unnamed_poison(state: ScoreState, poisoned: dict[str, set[str]], name: str) -> list[str]:
    """Contacts with an absurd ``name`` whose current score does not call it not a number."""
    missing = []
    for email in poisoned:
        text = state.current.get(state.contacts.get(email, -1), "")
        if name not in text or "not a number" not in text:
            missing.append(f"{email}: {text[:300]!r}")
    return missing
