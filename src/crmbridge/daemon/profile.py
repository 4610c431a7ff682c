"""``GET /v1/profile/{email}``: what a form should ask a lead next, from the store.

The answer is computed by the same function the profiling step uses to write
``crmbridge_next_question``, so a form and the CRM never disagree.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from crmbridge.config import CrmbridgeConfig
from crmbridge.handoff.lead import held_value
from crmbridge.handoff.profiling import Standing, known_fields, next_question
from crmbridge.records import normalize_email
from crmbridge.store.profiles import scored_contact_by_email
from crmbridge.store.repository import Store

#: Longer than any email address (RFC 5321): answered 404 at once.
MAX_EMAIL = 320


class ProfileAnswer(BaseModel):
    """What ``GET /v1/profile/{email}`` knows of a lead, for a form to ask the next field."""

    email: str
    stage: str | None = Field(description="The lifecycle stage (null before the first scoring).")
    score: int | None = Field(description="The current score (null before the first scoring).")
    hot: bool
    next_question: str = Field(
        description='The CRM property to ask for next; "" when nothing is left to ask.'
    )
    known: list[str] = Field(description="Profiling fields the lead has already given.")


def profile_answer(store: Store, config: CrmbridgeConfig, email: str) -> ProfileAnswer | None:
    """The profiling answer for the contact with this email (any case), from the store.

    Stored emails are normalised (:func:`~crmbridge.records.normalize_email`), so the
    given one is too, and the email index answers. When several CRMs hold the email,
    the most recently scored contact answers.
    """
    wanted = normalize_email(email)
    if not wanted or len(wanted) > MAX_EMAIL:
        return None
    with store.session() as session:
        row = scored_contact_by_email(session, wanted)
    if row is None:
        return None
    properties, crm_values = row.properties or {}, row.crm_values or {}

    def lookup(name: str) -> Any:
        return held_value(properties, crm_values, name)

    standing = Standing(row.scored_stage or row.stage, row.total, bool(row.hot))
    return ProfileAnswer(
        email=row.email,
        stage=standing.stage,
        score=row.total,
        hot=standing.hot,
        next_question=next_question(config.profiling, standing, lookup),
        known=known_fields(config.profiling, lookup),
    )
