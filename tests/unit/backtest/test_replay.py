"""The replay sees only what was known before a deal closed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from crmbridge.backtest.outcomes import Outcome
from crmbridge.backtest.replay import Lead, replay
from crmbridge.config import load_config
from crmbridge.scoring.engine import ScoringEngine
from crmbridge.scoring.types import Contact, Event

CLOSE = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
ENGINE = ScoringEngine(load_config(None).config.scoring)
CONTACT = Contact("1", {"jobtitle": "CIO", "numemployees": 900}, "cio@example.com")
PRICING = Event("page_view", CLOSE - timedelta(days=3), {"url": "https://x.example/pricing"})


def _score(*events: Event) -> tuple[int, int, int]:
    outcome = Outcome("cio@example.com", True, True, CLOSE)
    (result,) = replay(ENGINE, [Lead(CONTACT, list(events), outcome)])
    return result.total, result.events_used, result.events_after_close


def test_a_meeting_booked_after_the_close_is_ignored() -> None:
    before = _score(PRICING)
    planted = Event("meeting_booked", CLOSE + timedelta(hours=1))
    assert _score(PRICING, planted) == (before[0], 1, 1)


def test_an_event_at_the_close_instant_is_ignored_and_one_a_second_before_counts() -> None:
    base, _, _ = _score(PRICING)
    at_close = Event("meeting_booked", CLOSE)
    just_before = Event("meeting_booked", CLOSE - timedelta(seconds=1))
    assert _score(PRICING, at_close)[0] == base
    assert _score(PRICING, just_before)[0] == base + 30


def test_the_score_is_taken_as_of_the_close_so_old_events_have_left_their_window() -> None:
    # The pricing rule counts visits of the last 90 days: one 100 days before the close
    # no longer counts then, whatever the date the backtest runs on.
    old = Event("page_view", CLOSE - timedelta(days=100), {"url": "https://x.example/pricing"})
    assert _score(old)[0] == _score()[0]
    assert _score(PRICING)[0] == _score()[0] + 15


def test_the_replay_says_when_properties_are_current_values() -> None:
    outcome = Outcome("cio@example.com", True, False, CLOSE)
    (now,) = replay(ENGINE, [Lead(CONTACT, [], outcome)])
    (then,) = replay(ENGINE, [Lead(CONTACT, [], outcome, properties_as_of=CLOSE)])
    assert now.current_properties and not then.current_properties
