"""The hand-off tables of ``crmbridge.toml``: who gets a lead, who is told, how fast.

``[assignment]``, ``[notifications]``, ``[sla]``, ``[replies]``, ``[[triggers]]``,
``[reactivation]``, ``[profiling]``, ``[enrichment]`` and ``[objections]``. Every table
is optional; an absent table leaves its workflow off (assignment and notification are
off until an admin turns them on: they act on real people).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, time, timedelta
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, WithJsonSchema, field_validator, model_validator
from pydantic_core import PydanticCustomError

from crmbridge.durations import Duration, at_least
from crmbridge.i18n import N_
from crmbridge.scoring.model import STAGES, Condition, Conditions, Points, WholeDays
from crmbridge.scoring.objections import cue_pattern
from crmbridge.settings import WebhookUrl, known_timezone
from crmbridge.strict import Strict

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def known_stages(names: Iterable[str]) -> None:
    """Refuse (a path-labelled config error) a name that is no stage of the lifecycle."""
    for name in names:
        if name not in STAGES:
            raise PydanticCustomError(
                "unknown_stage",
                'unknown stage "{stage}"',
                {"stage": name, "hint": f"use one of {', '.join(STAGES)}"},
            )


class OwnerEntry(Strict):
    """One owner of the pool, by the CRM's owner id."""

    id: str = Field(min_length=1)
    name: str | None = Field(
        default=None, max_length=200, description="Shown in the weekly report instead of the id."
    )
    weight: int = Field(default=1, ge=1, le=1000, description="Share of leads under `weighted`.")
    available: bool = Field(default=True, description="false skips this owner (holiday, full).")
    manager: str | None = Field(default=None, description="Owner id told when an SLA breaches.")


class Territory(Strict):
    """Leads matching ``when`` go to ``owners`` (first matching territory wins)."""

    name: str = Field(min_length=1)
    when: Conditions = Field(min_length=1, description="Contact property -> condition.")
    owners: list[str] = Field(min_length=1)


class AssignmentSettings(Strict):
    """``[assignment]``: give a hot (or SQL) lead an owner."""

    enabled: bool = False
    on: Literal["hot", "sql"] = Field(default="hot", description="What triggers assignment.")
    strategy: Literal["round_robin", "weighted"] = "round_robin"
    keep_existing_owner: bool = True
    unowned: list[Annotated[str, StringConstraints(min_length=1, max_length=64)]] = Field(
        default_factory=list,
        max_length=100,
        description="Owners that count as none: a lead they hold is assigned (Salesforce: "
        "the default lead queue, the integration user).",
    )
    apply_to_existing: bool = Field(
        default=True,
        description="When assignment is turned on, also give an owner to the leads that "
        "already qualify; false: only to leads that qualify from then on.",
    )
    owner_property: str = Field(default="hubspot_owner_id", description="The CRM's owner field.")
    account_owner_property: str | None = Field(
        default=None,
        description="A contact property holding the company's (account's) owner: tried first.",
    )
    owners: list[OwnerEntry] = Field(
        default_factory=list,
        description="The pool; empty = every active owner the CRM lists.",
    )
    territories: list[Territory] = Field(default_factory=list)


class TaskTemplate(Strict):
    """A CRM task for the owner. ``{name}``, ``{email}``, ``{score}``, ``{stage}`` are filled."""

    subject: str = N_("Hot lead: {name} (score {score})")
    due_in: Duration = Field(default=timedelta(hours=4))
    priority: Literal["LOW", "MEDIUM", "HIGH"] = "HIGH"


class NotificationSettings(Strict):
    """``[notifications]``: tell the owner in real time."""

    enabled: bool = False
    apply_to_existing: bool = Field(
        default=True,
        description="When notifications are turned on, also notify the owners of leads "
        "already hot (once); false: only leads that turn hot from then on.",
    )
    task: TaskTemplate = Field(default_factory=TaskTemplate)
    slack_webhook_url: WebhookUrl | None = Field(
        default=None, description="A Slack-compatible incoming webhook (secret)."
    )
    webhook_url: WebhookUrl | None = Field(
        default=None, description="A generic webhook receiving a JSON body (secret)."
    )


class StageSla(Strict):
    """Time-to-contact commitment for one stage, counted in business time."""

    within: Annotated[Duration, at_least(timedelta(minutes=1))] = Field(
        description='Business time, e.g. "4h" or "2d" (a day = a business day of the hours).'
    )


class Escalation(Strict):
    """What a breached SLA does."""

    notify_manager: bool = True
    reassign: bool = False


class SlaSettings(Strict):
    """``[sla]``: the clock from hand-off to first contact by the owner."""

    enabled: bool = False
    timezone: str | None = Field(default=None, description="Default: [bridge].timezone.")
    business_hours: Annotated[
        tuple[time, time],
        WithJsonSchema({"type": "string", "pattern": r"^\d{1,2}:\d{2}\s*-\s*\d{1,2}:\d{2}$"}),
    ] = Field(default=(time(9), time(18)), description='"09:00-18:00", local time.')
    business_days: list[Weekday] = Field(
        default_factory=lambda: ["mon", "tue", "wed", "thu", "fri"],  # type: ignore[arg-type]
        min_length=1,
    )
    holidays: list[date] = Field(default_factory=list)
    stages: dict[str, StageSla] = Field(
        default_factory=lambda: {
            "sql": StageSla(within=timedelta(hours=4)),
            "mql": StageSla(within=timedelta(days=2)),
        }
    )
    escalate: Escalation = Field(default_factory=Escalation)
    feedback_property: str | None = Field(
        default="crmbridge_sales_feedback",
        description="CRM property where sales record their verdict (contacted, not_qualified…).",
    )
    feedback_reason_property: str | None = Field(default="crmbridge_feedback_reason")
    feedback_values: dict[
        Annotated[str, StringConstraints(min_length=1, max_length=255)],
        Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")],
    ] = Field(
        default_factory=dict,
        max_length=200,
        description="The CRM's values of feedback_property as verdicts, e.g. "
        '{"Unqualified" = "not_qualified"}; when set, other values are no verdict.',
    )
    contacted_feedback: list[str] = Field(
        default_factory=lambda: ["contacted", "meeting_booked", "qualified"]
    )

    @field_validator("business_hours", mode="before")
    @classmethod
    def _hours(cls, value: object) -> object:
        if isinstance(value, str):
            start, sep, end = value.partition("-")
            if not sep:
                raise PydanticCustomError(
                    "bad_hours",
                    'invalid business hours "{v}"',
                    {"v": value, "hint": '"09:00-18:00"'},
                )
            return (start.strip(), end.strip())
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str | None) -> str | None:
        return name if name is None else known_timezone(name)

    @field_validator("stages")
    @classmethod
    def _known_stages(cls, stages: dict[str, StageSla]) -> dict[str, StageSla]:
        known_stages(stages)
        return stages

    @model_validator(mode="after")
    def _ordered_hours(self) -> SlaSettings:
        start, end = self.business_hours
        if end <= start:
            raise PydanticCustomError(
                "bad_hours",
                "business hours end before they start",
                {"hint": 'write "09:00-18:00"'},
            )
        return self


class ReplySettings(Strict):
    """``[replies]``: a lead who replies is taken out of automation and handed over."""

    enabled: bool = True
    task_subject: str = N_("{name} replied — take over")
    due_in: Duration = Field(default=timedelta(hours=1))
    same_reply_within: Duration = Field(
        default=timedelta(minutes=15),
        description="Replies this close to the one handled are the same reply seen twice.",
    )


class EventCondition(Strict):
    """An event of ``type`` (whose properties match ``where``) within ``within_days``."""

    type: str = Field(min_length=1)
    where: Conditions = Field(default_factory=dict)
    within_days: WholeDays | None = None


class TriggerWhen(Strict):
    """When a trigger fires: every listed part must hold."""

    score: Condition | None = None
    stage: Condition | None = None
    hot: bool | None = None
    event: EventCondition | None = None
    properties: Conditions = Field(default_factory=dict)


class TriggerThen(Strict):
    """What a trigger does: exactly one action."""

    enroll_sequence: str | None = Field(default=None, description="A sequence id.")
    set_property: dict[str, str] | None = None
    notify: str | None = Field(default=None, description="A task subject for the owner.")
    add_to_list: str | None = Field(default=None, description="A list id.")

    @model_validator(mode="after")
    def _one_action(self) -> TriggerThen:
        chosen = [k for k in type(self).model_fields if getattr(self, k) is not None]
        if len(chosen) != 1:
            raise PydanticCustomError(
                "one_action",
                "a trigger does exactly one thing ({count} given)",
                {
                    "count": len(chosen),
                    "hint": "set one of enroll_sequence, set_property, notify, add_to_list",
                },
            )
        return self


class Trigger(Strict):
    """``[[triggers]]``: a nurture rule. Fires once per lead (per event when it names one)."""

    name: str = Field(min_length=1)
    when: TriggerWhen
    then: TriggerThen


class ReactivationSettings(Strict):
    """``[reactivation]``: what happens when the stage machine says quiet / no response."""

    sequence_id: str | None = Field(default=None, description="Reactivation sequence.")
    archive_list_id: str | None = Field(default=None, description="Quarterly-contact list.")
    sender_email: str | None = Field(
        default=None, description="Default sender for enrollments (else the owner's email)."
    )


class ProfilingStep(Strict):
    """Ask ``ask`` (first one not yet known) when ``stages`` / score band / hot match."""

    stages: list[str] = Field(default_factory=list)
    min_score: Points | None = None
    max_score: Points | None = None
    hot: bool | None = None
    ask: list[str] = Field(min_length=1, description="CRM property names, in order.")


class BantQuestionSettings(Strict):
    """``[profiling.bant]``: the next BANT question for the rep, in the CRM and in tasks."""

    enabled: bool = True
    stages: list[str] = Field(
        default_factory=lambda: ["mql", "sql", "nurture"],
        description="Stages whose leads get a question (hot leads always do).",
    )

    @field_validator("stages")
    @classmethod
    def _known_stages(cls, stages: list[str]) -> list[str]:
        known_stages(stages)
        return stages


class ProfilingSettings(Strict):
    """``[profiling]``: the next question a form should ask a lead, and the next BANT
    question for the rep (``[profiling.bant]``)."""

    enabled: bool = True
    bant: BantQuestionSettings = Field(default_factory=BantQuestionSettings)
    hot_only: list[str] = Field(
        default_factory=lambda: ["phone", "mobilephone"],
        description="Never asked before the lead is hot.",
    )
    steps: list[ProfilingStep] = Field(
        default_factory=lambda: [
            ProfilingStep(stages=["subscriber"], ask=["firstname", "jobtitle", "company"]),
            ProfilingStep(stages=["lead"], ask=["jobtitle", "company", "numemployees"]),
            ProfilingStep(stages=["mql"], ask=["crmbridge_need", "crmbridge_timeline"]),
            ProfilingStep(hot=True, ask=["crmbridge_budget", "phone"]),
        ]
    )


class EnrichmentSettings(Strict):
    """``[enrichment]``: company facts from the email domain, on form fill."""

    enabled: bool = False
    provider: str = Field(
        default="file", min_length=1, description='"file", or a provider registered in code.'
    )
    path: str | None = Field(default=None, description="CSV or JSON of companies by domain.")
    fields: dict[str, str] = Field(
        default_factory=lambda: {
            "industry": "industry",
            "size": "numemployees",
            "country": "country",
        },
        description="Provider field -> CRM property.",
    )
    source_property: str | None = Field(
        default=None, description="Where the source is written; default <prefix>_enrichment_source."
    )


class ObjectionClass(Strict):
    """Cue phrases (any language) and the points each adds to a class."""

    cues: list[str] = Field(min_length=1)
    points: Points = Field(default=1.0, gt=0)

    @field_validator("cues")
    @classmethod
    def _worded(cls, cues: list[str]) -> list[str]:
        for cue in cues:
            if cue_pattern(cue) is None:
                raise PydanticCustomError(
                    "empty_cue",
                    'cue "{cue}" holds no word',
                    {"cue": cue, "hint": 'write a phrase, e.g. "in # days" (# is a number)'},
                )
        return cues


class ObjectionSettings(Strict):
    """``[objections]``: classify a price objection as real price, trust or authority."""

    enabled: bool = True
    text_properties: list[str] = Field(
        default_factory=lambda: ["crmbridge_feedback_reason", "crmbridge_sales_notes"]
    )
    classes: dict[Literal["price", "trust", "authority"], list[ObjectionClass]] = Field(
        default_factory=dict, description="Empty: the built-in English and Spanish cues."
    )
    min_confidence: int = Field(
        default=0, ge=0, le=100, description="Below this confidence the verdict is none."
    )
    bant_authority_points: Points = Field(
        default=0.5,
        ge=0,
        description="Added to authority when BANT's authority letter is missing (0: never).",
    )
