"""Assignment: a lead that becomes hot (or SQL) and has no owner is given one.

Who, in this order:

1. the owner of the lead's account (``account_owner_property``), when available;
2. the owners of the first territory whose ``when`` matches the lead;
3. the pool: ``[assignment] owners``, or every active owner the CRM lists.

Owners marked ``available = false`` or inactive in the CRM are skipped. Inside a
territory or the pool, ``round_robin`` takes turns and ``weighted`` takes turns in
proportion to the weights (a smooth weighted rotation: 3:1 gives a a b a, a a b a ...).

The turn is not kept in memory: it is the number of assignments already stored for
that rotation (``assignments.strategy`` names it, e.g. ``round_robin:Iberia``), read
when the planner is built under the rescoring lock, plus those planned since. A
restarted process or another replica therefore continues the same rotation.

An owner already on the lead is kept (unless ``keep_existing_owner = false``, and then
crmbridge replaces it once). With nobody available the lead waits, and is tried again
on the next cycle.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import reduce
from math import gcd

from crmbridge.handoff.lead import HandoffPlan, Lead, OwnerPool, want_recheck
from crmbridge.handoff.settings import AssignmentSettings, Territory
from crmbridge.i18n import N_
from crmbridge.scoring.conditions import CompiledWhen, compile_when

#: Hand-off state: the lead qualified before assignment was turned on with
#: ``apply_to_existing = false``; it gets no owner until it qualifies anew.
WAIVED = "assignment_waived"
ACCOUNT_OWNER = "account_owner"
SLA_REASSIGN = "sla_reassign"
#: The width of ``assignments.strategy``.
LABEL_WIDTH = 32


def weighted_cycle(weights: Sequence[tuple[str, int]]) -> list[str]:
    """One full turn of a smooth weighted rotation: each id appears ``weight`` times,
    spread out (nginx's smooth weighted round robin; ties go to the earlier id)."""
    common = reduce(gcd, (weight for _, weight in weights), 0) or 1
    weights = [(member, weight // common) for member, weight in weights]
    total = sum(weight for _, weight in weights)
    current = [0] * len(weights)
    turn: list[str] = []
    for _ in range(total):
        for index, (_, weight) in enumerate(weights):
            current[index] += weight
        best = max(range(len(weights)), key=lambda i: (current[i], -i))
        current[best] -= total
        turn.append(weights[best][0])
    return turn


class AssignmentStep:
    """Plans the owner of a newly hot (or SQL) lead."""

    def __init__(self, settings: AssignmentSettings, owners: OwnerPool) -> None:
        self.settings = settings
        self.owners = owners
        self.entries = {entry.id: entry for entry in settings.owners}
        self.territories: list[tuple[Territory, CompiledWhen]] = [
            (territory, compile_when(territory.when)) for territory in settings.territories
        ]
        #: Assignments per rotation: stored ones plus those planned by this planner.
        self.turns: dict[str, int] = dict(owners.assigned)
        self._cycles: dict[tuple[str, ...], list[str]] = {}

    def triggered(self, lead: Lead) -> bool:
        """Has the lead reached the point where it needs an owner?"""
        if self.settings.on == "sql":
            return lead.score.stage.stage == "sql"
        return lead.score.hot

    def plan(self, lead: Lead, plan: HandoffPlan) -> None:
        """Give the lead an owner when it needs one and has none."""
        if not self.settings.enabled or not self.triggered(lead):
            lead.state.pop(WAIVED, None)
            return
        if lead.state.get(WAIVED):
            return  # it qualified before assignment was turned on (apply_to_existing = false)
        current = lead.owner_id(self.settings.owner_property)
        if current and self.placeholder(current):
            current = None  # held by a queue or user that stands for "nobody yet"
        if current and (self.settings.keep_existing_owner or lead.state.get("owner_id")):
            return
        choice = self.choose(lead, plan)
        if choice is None:
            plan.notes.append(
                lead.texts(N_("no owner available to assign: tried again next cycle"))
            )
            want_recheck(lead.state, lead.now)
            return
        owner_id, label = choice
        self.give(lead, plan, owner_id, label)

    def placeholder(self, owner_id: str) -> bool:
        """Is ``owner_id`` one of ``unowned``? A 15-character Salesforce id also
        matches its 18-character form (the one the API answers)."""
        return any(
            owner_id == held or (len(held) == 15 and owner_id[:15] == held)
            for held in self.settings.unowned
        )

    def choose(self, lead: Lead, plan: HandoffPlan) -> tuple[str, str] | None:
        """(owner id, rotation label) for the lead, or None when nobody is available."""
        account = self.settings.account_owner_property
        if account:
            held = lead.value(account)
            if held not in (None, "") and self.available(str(held)):
                return str(held), ACCOUNT_OWNER
        strategy = self.settings.strategy
        for territory, matches in self.territories:
            if not matches({name: lead.value(name) for name in territory.when}):
                continue
            picked = self.rotate(f"{strategy}:{territory.name}"[:LABEL_WIDTH], territory.owners)
            if picked is not None:
                return picked
            plan.notes.append(
                lead.texts(
                    N_("territory {name}: nobody available, using the pool"), name=territory.name
                )
            )
            break
        return self.rotate(strategy, self.pool_ids())

    def pool_ids(self) -> list[str]:
        """The pool: the configured owners, else every active owner of the CRM."""
        if self.settings.owners:
            return [entry.id for entry in self.settings.owners]
        return [owner.id for owner in self.owners.owners if owner.active]

    def available(self, owner_id: str) -> bool:
        """Listed as active by the CRM and not marked unavailable in the configuration."""
        owner = self.owners.get(owner_id)
        entry = self.entries.get(owner_id)
        return owner is not None and owner.active and (entry is None or entry.available)

    def rotate(self, label: str, members: Sequence[str]) -> tuple[str, str] | None:
        """The next available member of the rotation ``label``; takes its turn."""
        eligible = [m for m in dict.fromkeys(members) if self.available(m)]
        if not eligible:
            return None
        turn = self.turns.get(label, 0)
        if self.settings.strategy == "weighted":
            order = self._weighted(tuple(eligible))
        else:
            order = eligible
        self.turns[label] = turn + 1
        return order[turn % len(order)], label

    def reassign(self, lead: Lead, plan: HandoffPlan, away_from: str) -> str | None:
        """Hand the lead to the pool's next available owner after ``away_from``."""
        members = list(dict.fromkeys(self.pool_ids()))
        start = members.index(away_from) + 1 if away_from in members else 0
        for offset in range(len(members)):
            candidate = members[(start + offset) % len(members)]
            if candidate != away_from and self.available(candidate):
                self.give(lead, plan, candidate, SLA_REASSIGN)
                return candidate
        return None

    def give(self, lead: Lead, plan: HandoffPlan, owner_id: str, label: str) -> None:
        """Plan the owner property, the assignment record and the state."""
        plan.properties[self.settings.owner_property] = owner_id
        plan.assignments.append({"owner_id": owner_id, "strategy": label})
        lead.state["owner_id"] = owner_id
        lead.state["assigned_at"] = lead.now.isoformat()
        plan.notes.append(
            lead.texts(N_("assigned to {owner} ({how})"), owner=self.describe(owner_id), how=label)
        )

    def describe(self, owner_id: str) -> str:
        """An owner as a rep would name them."""
        owner = self.owners.get(owner_id)
        name = (owner.name or owner.email) if owner is not None else ""
        return f"{name} ({owner_id})" if name else f"owner {owner_id}"

    def _weighted(self, eligible: tuple[str, ...]) -> list[str]:
        cycle = self._cycles.get(eligible)
        if cycle is None:
            weights = [(m, self.entries[m].weight if m in self.entries else 1) for m in eligible]
            cycle = self._cycles[eligible] = weighted_cycle(weights)
        return cycle
