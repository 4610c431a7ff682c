"""ProfilingStep: being written (see issue 7)."""

from __future__ import annotations

from typing import Any

from crmbridge.actions.lead import HandoffPlan, Lead


class ProfilingStep:
    """Placeholder until this workflow lands: plans nothing."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args = args

    def plan(self, lead: Lead, plan: HandoffPlan) -> None:
        """Nothing yet."""
