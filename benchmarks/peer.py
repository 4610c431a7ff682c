"""What every per-record peer of a CRM benchmark starts from: the bundled model's
engine and the benchmark's events, by the email they are about."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from crmbridge.config import example_config_text, parse_config
from crmbridge.records import CanonicalEvent
from crmbridge.scoring import Event, ScoringEngine


def peer_scoring(events: Iterable[dict[str, Any]]) -> tuple[ScoringEngine, dict[str, list[Event]]]:
    """The engine of the bundled model, and ``events`` grouped by email."""
    config = parse_config(example_config_text()).config
    engine = ScoringEngine(config.scoring, config.bant, config.lifecycle)
    by_email: dict[str, list[Event]] = {}
    for raw in events:
        event = CanonicalEvent.model_validate(raw)
        by_email.setdefault(event.contact.email or "", []).append(event.to_event())
    return engine, by_email
