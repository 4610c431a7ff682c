"""Enrichment on form fill: company facts from the email domain, only where empty.

A ``form_submit`` newer than the last one handled looks the lead's email domain up with
the configured enricher (free-mail domains are skipped: gmail.com says nothing about
the company). Each mapped fact is planned only for a property the lead does not have —
neither in the CRM nor in the form just submitted — so what a person typed is never
overwritten; ``<prefix>_enrichment_source`` records where the facts came from. A
domain the provider does not know plans nothing. An enricher that cannot start (a bad
file) is logged and noted, and leaves the form unhandled: it is enriched once fixed.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from crmbridge.clock import parse_instant
from crmbridge.errors import ConfigError
from crmbridge.handoff.enrichers import Enricher, build_enricher, clean_domain
from crmbridge.handoff.lead import HandoffPlan, Lead, is_blank
from crmbridge.handoff.settings import EnrichmentSettings
from crmbridge.i18n import N_
from crmbridge.logging import get_logger
from crmbridge.scoring.types import Event

FORM = "form_submit"
#: Personal mailboxes: their domain says nothing about the lead's company.
FREE_MAIL = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "hotmail.com",
        "hotmail.es",
        "outlook.com",
        "outlook.es",
        "live.com",
        "msn.com",
        "yahoo.com",
        "yahoo.es",
        "ymail.com",
        "icloud.com",
        "me.com",
        "aol.com",
        "proton.me",
        "protonmail.com",
        "gmx.com",
        "gmx.es",
    }
)
STATE_KEY = "enriched_form_at"

log = get_logger(component="enrichment")


def email_domain(email: str | None) -> str | None:
    """The company domain of an email address; None for a free-mail or malformed one."""
    if not email or "@" not in email:
        return None
    domain = clean_domain(email.rsplit("@", 1)[1])
    if not domain or "." not in domain or domain in FREE_MAIL:
        return None
    return domain


def _latest_form(events: Iterable[Event]) -> Event | None:
    forms = [event for event in events if event.type == FORM]
    return max(forms, key=lambda event: event.occurred_at) if forms else None


class EnrichmentStep:
    """Plans company facts for leads who just filled in a form."""

    def __init__(self, settings: EnrichmentSettings, prefix: str = "crmbridge") -> None:
        self.settings = settings
        self.source_property = settings.source_property or f"{prefix}_enrichment_source"
        self.enricher: Enricher | None = None
        self.problem: str | None = None
        if settings.enabled:
            try:
                self.enricher = build_enricher(settings)
            except ConfigError as exc:
                self.problem = "; ".join(str(problem) for problem in exc.problems)
                log.warning("enrichment.unavailable", error=self.problem)

    def plan(self, lead: Lead, plan: HandoffPlan) -> None:
        """Enrich after a new form fill; remember the form so it is handled once."""
        if not self.settings.enabled:
            return
        form = _latest_form(lead.events)
        if form is None or self._handled(lead, form.occurred_at):
            return
        if self.enricher is None:
            plan.notes.append(
                lead.texts(N_("enrichment unavailable: {problem}"), problem=self.problem)
            )
            return
        lead.state[STATE_KEY] = form.occurred_at.isoformat()
        domain = email_domain(lead.email)
        if domain is None:
            plan.notes.append(
                lead.texts(N_("form filled with a personal or no email: not enriched"))
            )
            return
        facts = self.enricher.lookup(domain)
        if facts is None:
            plan.notes.append(
                lead.texts(
                    N_("form filled: {domain} is unknown to {source}"),
                    domain=domain,
                    source=self.enricher.source,
                )
            )
            return
        filled = []
        for fact, name in self.settings.fields.items():
            value = facts.get(fact)
            if is_blank(value) or name in plan.properties or self._given(lead, form, name):
                continue
            plan.properties[name] = str(value)
            filled.append(name)
        if not filled:
            plan.notes.append(
                lead.texts(
                    N_("form filled: nothing to add from {source}"), source=self.enricher.source
                )
            )
            return
        plan.properties[self.source_property] = self.enricher.source
        lead.state["enrichment"] = {"source": self.enricher.source, "fields": filled}
        plan.notes.append(
            lead.texts(
                N_("enriched {fields} from {source}"),
                fields=", ".join(filled),
                source=self.enricher.source,
            )
        )

    @staticmethod
    def _handled(lead: Lead, submitted: datetime) -> bool:
        handled = lead.state.get(STATE_KEY)
        return bool(handled) and parse_instant(str(handled)) >= submitted

    @staticmethod
    def _given(lead: Lead, form: Event, name: str) -> bool:
        """The lead has this property, in the CRM or in the form just submitted."""
        return not is_blank(lead.value(name)) or not is_blank(form.properties.get(name))
