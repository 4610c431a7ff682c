"""Account Engagement (Pardot) as a source of the Salesforce connector: what it reads,
what stops it, and what ``check`` says of it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import timedelta

from crmbridge import clock
from crmbridge.connector import LookbackCursor
from crmbridge.errors import CrmbridgeError, RateLimited
from crmbridge.logging import get_logger
from crmbridge_salesforce.client import SalesforceClient
from crmbridge_salesforce.pardot.client import PardotClient
from crmbridge_salesforce.pardot.reader import (
    ACTIVITIES,
    PROSPECTS,
    ActivityPage,
    ProspectStandings,
    Standing,
    sweep_activities,
)
from crmbridge_salesforce.pardot.settings import PardotSettings
from crmbridge_salesforce.session import SalesforceSession

log = get_logger(connector="salesforce")

#: The properties rules read Pardot's score and grade as.
SCORE = "pardot_score"
GRADE = "pardot_grade"
PROPERTIES = (SCORE, GRADE)
#: Cursor key of the visitor-activity read (beside the Salesforce objects' keys).
CURSOR_KEY = "pardot.visitor-activities"


def resumes(error: RateLimited) -> str:
    """When Pardot reads go on, said for a person."""
    at = clock.now() + timedelta(seconds=error.retry_after)
    return at.strftime("%Y-%m-%d %H:%M UTC")


class PardotSource:
    """Visitor activities and prospects' score and grade of one business unit."""

    def __init__(self, client: PardotClient) -> None:
        self.client = client
        self.settings = client.settings
        self.standings = ProspectStandings()

    @classmethod
    def build(
        cls, salesforce: SalesforceClient, settings: PardotSettings, timeout: float,
        ca_bundle: str | None,
    ) -> PardotSource:  # fmt: skip
        """A source on its own HTTP session (Pardot's calls are not Salesforce's: they
        count against Pardot's daily limit, not the org's)."""
        session = SalesforceSession(timeout, ca_bundle=ca_bundle)
        return cls(PardotClient(salesforce, settings, session))

    def standing_of(self, crm_id: str) -> Standing | None:
        """The score and grade last read for a lead or contact id."""
        return self.standings.by_crm_id.get(crm_id)

    def refresh(self) -> set[str]:
        """Read changed prospects; the lead and contact ids whose score or grade moved
        and whose record was not handed over since (:meth:`sent`), this read's and
        earlier ones'. A rate limit or failure is logged: what the pages read before it
        changed is still returned."""
        if not self.settings.score_and_grade:
            return set()
        try:
            self.standings.refresh(self.client, self.settings)
        except RateLimited as limited:
            log.warning("pardot.reads_paused", reason=limited.message, resume=resumes(limited))
        except CrmbridgeError as exc:
            log.warning("pardot.prospects_unread", error=str(exc))
        return set(self.standings.unsent)

    def sent(self, crm_ids: Iterable[str]) -> None:
        """These records were handed over (stored) with their score and grade."""
        self.standings.unsent.difference_update(crm_ids)

    def activities(self, position: LookbackCursor) -> Iterator[ActivityPage]:
        """Pages of activity events since ``position``. Pardot's daily limit stops the
        read where it is (said in the log, with when it resumes); another failure is
        raised once the pages read are handed over."""
        try:
            for page in sweep_activities(self.client, position, self.settings):
                if page.skipped:
                    log.info("pardot.activities_skipped", counts=dict(page.skipped.most_common(20)))
                yield page
        except RateLimited as limited:
            log.warning("pardot.reads_paused", reason=limited.message, resume=resumes(limited))

    def check(self) -> list[str]:
        """Problems with Pardot access: the business unit, the scope, the host, and the
        abilities each read needs (Visitors > View; Prospects > View for score and
        grade)."""
        reads = [ACTIVITIES, *([PROSPECTS] if self.settings.score_and_grade else [])]
        for obj in reads:
            try:
                self.client.query(
                    f"check Pardot access ({obj})", obj, {"fields": "id", "limit": "1"}
                )
            except RateLimited as limited:
                return [f"{limited} (Pardot reads resume at {resumes(limited)})"]
            except CrmbridgeError as exc:
                return [str(exc)]
        return []
