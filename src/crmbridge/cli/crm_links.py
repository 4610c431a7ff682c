"""What ``crmbridge check`` says about several CRMs at once: leads linked across
them, who owns each written property, and sync loops seen."""

from __future__ import annotations

from datetime import timedelta

from rich.console import Console

from crmbridge import clock
from crmbridge.config import CrmbridgeConfig
from crmbridge.settings import BOTH
from crmbridge.store.lead_links import linked_leads, unlinked_duplicates
from crmbridge.store.repository import Store
from crmbridge.store.sync_loops import Loop, loops_since
from crmbridge.sync.loops import fix_hint
from crmbridge.sync.pipeline import linked_crms

#: Loops seen this recently are reported (older ones were likely fixed meanwhile).
LOOPS_SHOWN_FOR = timedelta(days=7)


def loop_lines(loops: list[Loop], config: CrmbridgeConfig) -> tuple[list[str], list[str]]:
    """(problems, notes): a loop whose property is still written into both CRMs is a
    problem to fix; one whose property has an owner now is a note."""
    problems: list[str] = []
    notes: list[str] = []
    writeback = config.writeback
    for loop in loops:
        seen = (
            f"{loop.property} flaps in {loop.connector}: crmbridge wrote {loop.ours!r}, "
            f"then {loop.other}'s value {loop.theirs!r} came back ({loop.times:,} times, last "
            f"{loop.last_seen:%Y-%m-%d %H:%M} UTC, e.g. record {loop.crm_id})"
            if loop.last_seen
            else f"{loop.property} flaps in {loop.connector}"
        )
        both = writeback.writes_to(loop.property, loop.connector) and writeback.writes_to(
            loop.property, loop.other
        )
        if both:
            problems.append(
                f"sync loop: {seen}. Something syncing {loop.other} into {loop.connector} "
                f"(such as HubSpot's Salesforce integration) writes this property too. "
                f"Fix: {fix_hint(loop)}."
            )
        else:
            owner = writeback.owner_of(loop.property)
            notes.append(f"sync loop seen before {owner} owned it: {seen}; no longer written twice")
    return problems, notes


def check_crm_links(console: Console, err: Console, config: CrmbridgeConfig) -> bool:
    """Print the cross-CRM lines of ``check``; False when a sync loop must be fixed."""
    enabled = sorted(config.connectors.enabled())
    store = Store.open(config.bridge.database_url)
    try:
        with store.session() as session:
            loops = loops_since(session, clock.now() - LOOPS_SHOWN_FOR)
            linked = linked_leads(session)
            twice = unlinked_duplicates(session)
    finally:
        store.engine.dispose()
    if len(enabled) > 1:
        if linked_crms(config):
            console.print(
                f"[green]✔[/] {' + '.join(enabled)}: {linked['leads']:,} leads in several CRMs "
                f"(the same email), each scored once ({linked['records']:,} records)",
                highlight=False,
            )
            if twice:
                console.print(
                    f"[yellow]i[/] {twice:,} emails are held by two records of one CRM (a "
                    "lead and a contact): those people are not linked across CRMs",
                    highlight=False,
                )
        else:
            console.print(
                "[yellow]i[/] [bridge] link_across_crms = false: a person in several CRMs "
                "is a lead in each, scored apart",
                highlight=False,
            )
        writeback = config.writeback
        if writeback.owner == BOTH and not writeback.owners:
            console.print(
                "[yellow]i[/] every crmbridge property is written into each CRM: if a sync "
                "between them (HubSpot's Salesforce integration) maps one, set its owner "
                '([writeback.owners] crmbridge_score = "salesforce") or the two will fight',
                highlight=False,
            )
    problems, notes = loop_lines(loops, config)
    for line in problems:
        err.print(f"[red]✘[/] {line}", highlight=False, markup=False)
    for line in notes:
        console.print(f"[yellow]i[/] {line}", highlight=False, markup=False)
    return not problems
