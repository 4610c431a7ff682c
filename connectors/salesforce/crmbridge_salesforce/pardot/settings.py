"""``[connectors.salesforce.pardot]``: Account Engagement (Pardot) as an event source."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from crmbridge.connector import Duration, at_most
from crmbridge.strict import Strict

#: Production business units; developer orgs and sandboxes answer at pi.demo.pardot.com.
DEFAULT_BASE_URL = "https://pi.pardot.com"
#: The most records one v5 query page returns (``limit``; Pardot's default is 200).
MAX_PAGE_SIZE = 1000
#: The smallest edition's daily API calls (Growth); Plus has 50,000, Advanced and
#: Premium 100,000. Set ``daily_limit`` to your edition's.
DEFAULT_DAILY_LIMIT = 25_000
#: v5 answers from a cache up to 60 s behind: each read starts this long before the
#: newest change it read.
DEFAULT_LOOKBACK = timedelta(minutes=5)
MAX_LOOKBACK = timedelta(days=1)
DEFAULT_LOOKBACK_RECORDS = 2000
#: A business unit id: 18 characters starting 0Uv.
BUSINESS_UNIT = re.compile(r"^0Uv[A-Za-z0-9]{15}$")
TABLE = "connectors.salesforce.pardot"


class PardotSettings(Strict):
    """``[connectors.salesforce.pardot]``: read visitor activities (form fills, email
    opens and clicks, page views, visits, custom redirect clicks, webinars) as events,
    and the prospects' Pardot score and grade as ``pardot_score`` / ``pardot_grade``.

    Pardot is called with the Salesforce sign-in of ``[connectors.salesforce]`` (the
    connected app needs the ``pardot_api`` scope) and the business unit's id.
    """

    enabled: bool = False
    business_unit_id: str | None = Field(
        default=None,
        description="The Account Engagement business unit (Setup > Business Unit Setup): "
        "18 characters starting 0Uv.",
    )
    base_url: str = Field(
        default=DEFAULT_BASE_URL,
        description="https://pi.pardot.com, or https://pi.demo.pardot.com for developer "
        "orgs and sandboxes (the local sandbox's URL in tests).",
    )
    page_size: int = Field(default=MAX_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)
    daily_limit: int = Field(
        default=DEFAULT_DAILY_LIMIT,
        ge=1,
        le=10_000_000,
        description="The business unit's daily API calls (Growth 25,000, Plus 50,000, "
        "Advanced and Premium 100,000).",
    )
    api_share: float = Field(
        default=0.5,
        gt=0,
        le=1,
        description="The share of daily_limit crmbridge may use; reads stop there and go "
        "on once older calls leave the 24-hour window.",
    )
    lookback: Annotated[Duration, at_most(MAX_LOOKBACK)] = Field(
        default=DEFAULT_LOOKBACK,
        description="Each read starts this long before the newest change it read.",
    )
    lookback_records: int = Field(default=DEFAULT_LOOKBACK_RECORDS, ge=0, le=50_000)
    score_and_grade: bool = Field(
        default=True,
        description="Read the prospects' score and grade as pardot_score and pardot_grade.",
    )

    @field_validator("business_unit_id")
    @classmethod
    def _business_unit(cls, value: str | None) -> str | None:
        if value is not None and not BUSINESS_UNIT.match(value):
            raise ValueError("a business unit id is 18 letters and digits starting 0Uv")
        return value

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme != "https" or not parts.hostname or parts.query or parts.fragment:
            raise ValueError("an https:// URL with a host and nothing after it")
        if parts.path not in ("", "/"):
            raise ValueError("the host only (crmbridge adds /api/v5/...)")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _needs_business_unit(self) -> PardotSettings:
        if self.enabled and self.business_unit_id is None:
            raise ValueError(
                "business_unit_id is required when Pardot is enabled (Salesforce Setup > "
                "Business Unit Setup: 18 characters starting 0Uv)"
            )
        return self
