"""A Salesforce org of replying leads, for the hand-off's headline tests.

Four reps own the leads; every lead runs in the "Inbound" cadence; each generated
lead replies one to three times through one channel: an incoming EmailMessage, an
inbound call logged as a Task (``CallType`` Inbound), or an email logged as a Task of
the org's "Inbound Email" type. A few control leads never reply; a few CIOs turn hot
(assignment and a hot-lead task) and a few analysts match the nurture trigger (a
cadence enrollment). What the org ends up holding is read from the sandbox's state.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from crmbridge_salesforce.sandbox import SandboxServer

#: The reply channels a generated lead uses.
CHANNELS = ("email", "inbound_call", "inbound_email_task")
INBOUND = "Inbound"
NURTURE = "Nurture"
REPLY_SUBJECT = "replied — take over"
HOT_SUBJECT = "Hot lead: "

#: The model and hand-off: CIOs are hot; analysts go to the nurture cadence.
HANDOFF_TOML = """
[bridge]
timezone = "UTC"

[scoring]
mql_threshold = 30
hot_threshold = 50

[[scoring.fit]]
name = "CIO"
points = 60
when = { Title = { contains_word = "cio" } }

[assignment]
enabled = true
on = "hot"
owner_property = "OwnerId"
owners = [{ id = "REP0" }, { id = "REP1" }]
unowned = ["UNOWNED"]

[notifications]
enabled = true
task = { subject = "Hot lead: {name} (score {score})", due_in = "4h", priority = "HIGH" }

[replies]
enabled = true
task_subject = "{name} replied — take over"

[[triggers]]
name = "Analysts → nurture cadence"
then = { enroll_sequence = "Nurture" }
[triggers.when]
properties = { Title = { contains_word = "analyst" } }
"""
#: The connector's settings the hand-off needs here.
OPTIONS: dict[str, Any] = {
    "activity": True,
    "sales_engagement": True,
    "reply_task_types": ["Inbound Email"],
}


def handoff_toml(world: ReplyWorld) -> str:
    """:data:`HANDOFF_TOML` with the org's first two reps as the assignment's owners and
    the user the org's assignment rule gives new leads as "nobody yet"."""
    reps = world.reps
    text = HANDOFF_TOML.replace("REP0", reps[0]).replace("REP1", reps[1])
    return text.replace("UNOWNED", world.server.state.users.assignment_owner)


@dataclass
class ReplyWorld:
    """The generated org: who owns what, who replies how."""

    server: SandboxServer
    reps: list[str]
    replied: dict[str, str] = field(default_factory=dict)  # lead id -> channel
    controls: list[str] = field(default_factory=list)
    hot: list[str] = field(default_factory=list)
    analysts: list[str] = field(default_factory=list)
    owner: dict[str, str] = field(default_factory=dict)

    # -- building it ----------------------------------------------------------------

    @classmethod
    def build(
        cls, server: SandboxServer, replied: int, controls: int, *, hot: int = 0,
        analysts: int = 0,
    ) -> ReplyWorld:  # fmt: skip
        """An org with ``replied`` leads that will reply, ``controls`` that will not, and
        ``hot`` CIOs and ``analysts`` (neither in a cadence), all owned by four reps."""
        admin = server.admin
        reps = [
            admin.create(
                "User",
                {
                    "Username": f"rep{n}@org.example",
                    "LastName": f"Rep {n}",
                    "Email": f"rep{n}@org.example",
                    "IsActive": True,
                },
            )
            for n in range(4)
        ]
        world = cls(server, reps)
        cadence = admin.create("ActionCadence", {"Name": INBOUND, "State": "Active"})
        admin.create("ActionCadence", {"Name": NURTURE, "State": "Active"})
        start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)
        for n in range(replied + controls + hot + analysts):
            title = "Engineer"
            if n >= replied + controls:
                title = "CIO" if n < replied + controls + hot else "Analyst"
            owner = reps[n % len(reps)]
            if title == "CIO":
                # New, as the lead assignment rule left it: crmbridge assigns it.
                owner = server.state.users.assignment_owner
            lead = admin.create(
                "Lead",
                {"LastName": f"Lead{n}", "Company": f"Co {n}", "Title": title,
                 "Email": f"lead{n}@reply.example", "OwnerId": owner},
                modstamp=start + timedelta(seconds=n),
            )  # fmt: skip
            world.owner[lead] = owner
            if n < replied + controls:
                admin.create(
                    "ActionCadenceTracker",
                    {"ActionCadenceId": cadence, "TargetId": lead, "State": "Running",
                     "OwnerId": owner},
                )  # fmt: skip
                if n < replied:
                    world.replied[lead] = ""
                else:
                    world.controls.append(lead)
            elif title == "CIO":
                world.hot.append(lead)
            else:
                world.analysts.append(lead)
        return world

    def reply_all(self, rng: random.Random) -> Counter[str]:
        """Every replying lead replies 1-3 times through a channel of its own; how many
        leads used each channel."""
        used: Counter[str] = Counter()
        now = datetime.now(UTC).replace(microsecond=0)
        for index, lead in enumerate(self.replied):
            channel = CHANNELS[index % len(CHANNELS)]
            self.replied[lead] = channel
            used[channel] += 1
            for n in range(rng.randint(1, 3)):
                self._reply(lead, channel, now - timedelta(minutes=5 * n + rng.randint(0, 4)))
        return used

    def _reply(self, lead: str, channel: str, at: datetime) -> None:
        admin = self.server.admin
        email = self.server.state.records["Lead"][lead]["Email"]
        if channel == "email":
            admin.create(
                "EmailMessage",
                {"FromAddress": email, "Incoming": True, "Subject": "Re: our call",
                 "MessageDate": at},
            )  # fmt: skip
            return
        fields: dict[str, Any] = {"WhoId": lead, "Status": "Completed", "OwnerId": self.owner[lead]}
        if channel == "inbound_call":
            fields |= {"Subject": "Call", "Type": "Call", "CallType": "Inbound"}
        else:
            fields |= {"Subject": "Email: pricing", "Type": "Inbound Email"}
        admin.create("Task", fields, by=self.owner[lead])

    # -- what the org holds -----------------------------------------------------------

    def crmbridge_tasks(self) -> dict[str, list[dict[str, Any]]]:
        """crmbridge's tasks (created by the integration user) by lead."""
        state = self.server.state
        found: dict[str, list[dict[str, Any]]] = {}
        with state.lock:
            for task in state.records["Task"].values():
                if task["CreatedById"] == state.users.integration and not task["IsDeleted"]:
                    found.setdefault(str(task["WhoId"]), []).append(dict(task))
        return found

    def trackers(self) -> dict[str, list[tuple[str, str]]]:
        """Each target's cadence trackers: (cadence name, state)."""
        state = self.server.state
        with state.lock:
            names = {c["Id"]: c["Name"] for c in state.records["ActionCadence"].values()}
            found: dict[str, list[tuple[str, str]]] = {}
            for row in state.records["ActionCadenceTracker"].values():
                found.setdefault(row["TargetId"], []).append(
                    (names[row["ActionCadenceId"]], row["State"])
                )
        return found

    def lead(self, lead: str) -> dict[str, Any]:
        return dict(self.server.admin.record("Lead", lead))
