"""What ``crmbridge check`` says about several CRMs at once: leads linked across
them, who owns each written property, and sync loops seen."""

from __future__ import annotations

from datetime import timedelta

from rich.console import Console
from rich.markup import escape

from crmbridge import clock
from crmbridge.cli.language import active, number, plural, t
from crmbridge.config import CrmbridgeConfig
from crmbridge.i18n import N_
from crmbridge.settings import BOTH
from crmbridge.store.lead_links import linked_leads, unlinked_duplicates
from crmbridge.store.repository import Store
from crmbridge.store.sync_loops import Loop, loops_since
from crmbridge.sync.cross_crm import linked_crms
from crmbridge.sync.loops import fix_hint

#: Loops seen this recently are reported (older ones were likely fixed meanwhile).
LOOPS_SHOWN_FOR = timedelta(days=7)


def loop_lines(loops: list[Loop], config: CrmbridgeConfig) -> tuple[list[str], list[str]]:
    """(problems, notes): a loop whose property is still written into both CRMs is a
    problem to fix; one whose property has an owner now is a note."""
    problems: list[str] = []
    notes: list[str] = []
    writeback = config.writeback
    for loop in loops:
        flaps = t(N_("{property} flaps in {crm}"), property=loop.property, crm=loop.connector)
        if loop.last_seen:
            flaps += plural(
                ": crmbridge wrote {ours}, then {other}'s value {theirs} came back ({count} "
                "time, last {moment}, e.g. record {record})",
                ": crmbridge wrote {ours}, then {other}'s value {theirs} came back ({count} "
                "times, last {moment}, e.g. record {record})",
                loop.times,
                ours=repr(loop.ours),
                other=loop.other,
                theirs=repr(loop.theirs),
                moment=active().moment(loop.last_seen),
                record=loop.crm_id,
            )
        seen = flaps
        both = writeback.writes_to(loop.property, loop.connector) and writeback.writes_to(
            loop.property, loop.other
        )
        if both:
            problems.append(
                t(
                    N_(
                        "sync loop: {seen}. Something syncing {other} into {crm} (such as "
                        "HubSpot's Salesforce integration) writes this property too. Fix: {fix}."
                    ),
                    seen=seen,
                    other=loop.other,
                    crm=loop.connector,
                    fix=fix_hint(loop, active()),
                )
            )
        else:
            owner = writeback.owner_of(loop.property)
            notes.append(
                t(
                    N_("sync loop seen before {owner} owned it: {seen}; no longer written twice"),
                    owner=owner,
                    seen=seen,
                )
            )
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
            leads = plural(
                "{crms}: {count} lead in several CRMs (the same email), scored once "
                "({records} records)",
                "{crms}: {count} leads in several CRMs (the same email), each scored once "
                "({records} records)",
                linked["leads"],
                crms=" + ".join(enabled),
                records=number(linked["records"]),
            )
            console.print(f"[green]✔[/] {escape(leads)}", highlight=False)
            if twice:
                held = t(
                    N_(
                        "{count} emails are held by two records of one CRM (a lead and a "
                        "contact): those people are not linked across CRMs"
                    ),
                    count=number(twice),
                )
                console.print(f"[yellow]i[/] {escape(held)}", highlight=False)
        else:
            apart = t(
                N_(
                    "[bridge] link_across_crms = false: a person in several CRMs is a lead in "
                    "each, scored apart"
                )
            )
            console.print(f"[yellow]i[/] {escape(apart)}", highlight=False)
        writeback = config.writeback
        if writeback.owner == BOTH and not writeback.owners:
            both = t(
                N_(
                    "every crmbridge property is written into each CRM: if a sync between "
                    "them (HubSpot's Salesforce integration) maps one, set its owner "
                    '([writeback.owners] crmbridge_score = "salesforce") or the two will fight'
                )
            )
            console.print(f"[yellow]i[/] {escape(both)}", highlight=False)
    problems, notes = loop_lines(loops, config)
    for line in problems:
        err.print(f"[red]✘[/] {escape(line)}", highlight=False)
    for line in notes:
        console.print(f"[yellow]i[/] {escape(line)}", highlight=False)
    return not problems
