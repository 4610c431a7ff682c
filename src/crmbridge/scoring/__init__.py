"""Pure lead scoring: rule model, engine, BANT and the lifecycle stage machine.

Nothing in this package performs I/O or reads the clock; ``now`` is always an argument.
"""

from crmbridge.scoring.engine import ScoringEngine
from crmbridge.scoring.lifecycle import TRANSITIONS
from crmbridge.scoring.model import (
    BantModel,
    Condition,
    EngagementRule,
    FitRule,
    LifecycleModel,
    ScoringModel,
)
from crmbridge.scoring.types import BantResult, Contact, Contribution, Event, Score, StageDecision

__all__ = [
    "TRANSITIONS",
    "BantModel",
    "BantResult",
    "Condition",
    "Contact",
    "Contribution",
    "EngagementRule",
    "Event",
    "FitRule",
    "LifecycleModel",
    "Score",
    "ScoringEngine",
    "ScoringModel",
    "StageDecision",
]
