"""Rich rendering of scores for the CLI. Presentation only: no scoring happens here.

Every label goes through the catalog in the language of the ``t`` given (the command
line's, see :mod:`crmbridge.cli.language`); rule names stay as the admin wrote them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.console import Group
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from crmbridge.connector import Action
from crmbridge.handoff.lead import HandoffPlan
from crmbridge.i18n import ENGLISH, N_, Texts
from crmbridge.records import ContactRecord
from crmbridge.scoring import TRANSITIONS, Score, ScoringEngine
from crmbridge.scoring.engine import BANT_LETTERS

#: The kinds of contribution ``explain`` lists.
KINDS = {"fit": N_("fit"), "engagement": N_("engagement"), "inactivity": N_("inactivity")}

STAGE_STYLE = {
    "sql": "bold green",
    "mql": "green",
    "nurture": "yellow",
    "reactivation": "magenta",
    "archived": "dim",
    "customer": "cyan",
    "opportunity": "cyan",
}


def stage_text(stage: str) -> Text:
    """A stage name coloured the same way in every table."""
    return Text(stage, style=STAGE_STYLE.get(stage, ""))


def lead_name(contact: ContactRecord) -> str:
    """A human label: first and last name, else email, else id."""
    props = contact.properties
    name = " ".join(str(props[k]) for k in ("firstname", "lastname") if props.get(k))
    return name or contact.email or contact.id


def scores_table(
    rows: Sequence[tuple[ContactRecord, Score]], *, title: str, t: Texts = ENGLISH
) -> Table:
    """One line per lead: score, grade, BANT, stage, hot and the top reasons."""
    table = Table(title=title, title_justify="left", show_lines=False)
    table.add_column(t(N_("Lead")), overflow="fold")
    table.add_column(t(N_("Score")), justify="right")
    table.add_column(t(N_("Fit")), justify="right")
    table.add_column(t(N_("Eng.")), justify="right")
    table.add_column(t(N_("Grade")), justify="center")
    table.add_column("BANT", no_wrap=True)
    table.add_column(t(N_("Stage")))
    table.add_column(t(N_("Hot")), justify="center")
    table.add_column(t(N_("Top reasons")), overflow="fold", ratio=1)
    for contact, score in rows:
        stage = stage_text(score.stage.stage)
        table.add_row(
            lead_name(contact),
            str(score.total),
            str(score.fit),
            str(score.engagement + score.inactivity),
            score.grade,
            score.bant.letters,
            stage,
            "🔥" if score.hot else "",
            "\n".join(score.reasons[:4]),
        )
    return table


def explain_panel(
    contact: ContactRecord,
    score: Score,
    engine: ScoringEngine,
    handoff: HandoffPlan | None = None,
    t: Texts = ENGLISH,
    owners: Mapping[str, str] | None = None,
) -> Panel:
    """Every rule that fired, caps, decay, BANT letters, the stage decision, the hand-off."""
    rules = Table(title=t(N_("Rules that fired")), title_justify="left", expand=True)
    rules.add_column(t(N_("Kind")))
    rules.add_column(t(N_("Rule")), overflow="fold")
    rules.add_column(t(N_("Events")), justify="right")
    rules.add_column(t(N_("Raw")), justify="right")
    rules.add_column(t(N_("Cap / decay")), overflow="fold")
    rules.add_column(t(N_("Points")), justify="right")
    for c in score.contributions:
        limits = ", ".join(
            part
            for part in (
                t(N_("capped at {points}"), points=t.number(c.capped_at))
                if c.capped_at is not None
                else "",
                t(N_("group {group}"), group=c.group) if c.group else "",
                t(N_("decayed")) if c.decayed else "",
                c.detail if c.kind == "inactivity" else "",
            )
            if part
        )
        rules.add_row(
            t(KINDS.get(c.kind, c.kind)),
            escape(c.rule),
            str(c.events or ""),
            f"{c.raw_points:g}",
            escape(limits),
            f"{c.points:+d}",
        )
    total = escape(t(N_("Total")))
    rules.add_row("", f"[bold]{total}[/]", "", "", "", f"[bold]{score.total}[/]")

    bant = Table(title="BANT", title_justify="left", expand=True)
    bant.add_column(t(N_("Letter")))
    bant.add_column(t(N_("Property")))
    bant.add_column(t(N_("Value")))
    bant.add_column(t(N_("Qualifies")), justify="center")
    for letter in ("budget", "authority", "need", "timeline"):
        criterion = getattr(engine.bant_model, letter)
        prop = criterion.property if criterion else t(N_("(not mapped)"))
        value = contact.properties.get(prop, "") if criterion else ""
        ok = getattr(score.bant, letter)
        bant.add_row(t(BANT_LETTERS[letter]), prop, escape(str(value)), "✔" if ok else "✘")
    return Panel(
        Group(
            rules,
            bant,
            Text.from_markup("\n".join(_decision_lines(score, engine, t, handoff, owners))),
        ),
        title=escape(t(N_("{lead} — score {total}"), lead=lead_name(contact), total=score.total)),
        subtitle=escape(
            t(
                N_("model {version}, as of {moment}"),
                version=score.model_version,
                moment=t.moment(score.scored_at),
            )
        ),
    )


def _decision_lines(
    score: Score,
    engine: ScoringEngine,
    t: Texts,
    handoff: HandoffPlan | None,
    owners: Mapping[str, str] | None,
) -> list[str]:
    """Grade, hot, stage and its transition, committee role, notes and the hand-off."""
    stage = score.stage
    grade = t(
        N_("Grade {grade} (fit {fit}); hot: {hot} (threshold {hot_at}); MQL threshold {mql_at}"),
        grade=score.grade,
        fit=score.fit,
        hot=t(N_("yes")) if score.hot else t(N_("no")),
        hot_at=t.number(engine.scoring.hot_threshold),
        mql_at=t.number(engine.scoring.mql_threshold),
    )
    moved = t(
        N_("Stage {stage} via {transition}: {why}"),
        stage=stage.stage,
        transition=stage.transition,
        why=t(TRANSITIONS[stage.transition]),
    )
    if stage.needs_nurture:
        moved += t(N_(" — needs nurture"))
    role = t(N_("Committee role: {role}"), role=score.bant.committee_role or t(N_("unknown")))
    lines = [escape(grade), escape(moved), escape(role)]
    noted = escape(t(N_("note")))
    lines.extend(f"[yellow]{noted}[/] {escape(note)}" for note in score.notes)
    if handoff is not None:
        lines.extend(_handoff_lines(handoff, t, owners or {}))
    return lines


def _handoff_lines(plan: HandoffPlan, t: Texts, owners: Mapping[str, str]) -> list[str]:
    """The hand-off of a first cycle, in plain words."""
    heading = escape(t(N_("Hand-off (first cycle):")))
    lines = [f"[bold]{heading}[/]"]
    lines.extend(
        "  " + escape(t(N_("set {name} = {value}"), name=name, value=repr(value)))
        for name, value in plan.properties.items()
    )
    lines.extend("  " + escape(describe(action, t, owners)) for action in plan.actions)
    lines.extend(
        "  " + escape(t(N_("post to {channel}"), channel=payload.get("channel")))
        for _key, payload in plan.webhooks
    )
    lines.extend(f"  [dim]{escape(note)}[/]" for note in plan.notes)
    if len(lines) == 1:
        lines.append("  " + escape(t(N_("nothing"))))
    return lines


def describe(action: Action, t: Texts = ENGLISH, owners: Mapping[str, str] | None = None) -> str:
    """One planned action in plain words, its owner by name where the configuration
    names them (``[[assignment.owners]]``)."""
    payload = action.payload
    if action.kind == "task":
        owner = payload.get("owner_id")
        subject = str(payload.get("subject", ""))
        if owner:
            name = (owners or {}).get(str(owner), str(owner))
            return t(N_('task "{subject}" for {owner}'), subject=subject, owner=name)
        return t(N_('task "{subject}" unassigned (the lead has no owner)'), subject=subject)
    if action.kind == "enroll":
        return t(N_("enroll in sequence {sequence}"), sequence=payload.get("sequence_id"))
    if action.kind == "pause":
        return t(N_("pause active sequences"))
    return t(N_("add to list {list}"), list=payload.get("list_id"))
