"""Rich rendering of scores for the CLI. Presentation only: no scoring happens here."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Group
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from crmbridge.handoff.lead import HandoffPlan
from crmbridge.records import ContactRecord
from crmbridge.scoring import TRANSITIONS, Score, ScoringEngine

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


def scores_table(rows: Sequence[tuple[ContactRecord, Score]], *, title: str) -> Table:
    """One line per lead: score, grade, BANT, stage, hot and the top reasons."""
    table = Table(title=title, title_justify="left", show_lines=False)
    table.add_column("Lead", overflow="fold")
    table.add_column("Score", justify="right")
    table.add_column("Fit", justify="right")
    table.add_column("Eng.", justify="right")
    table.add_column("Grade", justify="center")
    table.add_column("BANT", no_wrap=True)
    table.add_column("Stage")
    table.add_column("Hot", justify="center")
    table.add_column("Top reasons", overflow="fold", ratio=1)
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
) -> Panel:
    """Every rule that fired, caps, decay, BANT letters, the stage decision, the hand-off."""
    rules = Table(title="Rules that fired", title_justify="left", expand=True)
    rules.add_column("Kind")
    rules.add_column("Rule", overflow="fold")
    rules.add_column("Events", justify="right")
    rules.add_column("Raw", justify="right")
    rules.add_column("Cap / decay", overflow="fold")
    rules.add_column("Points", justify="right")
    for c in score.contributions:
        limits = ", ".join(
            part
            for part in (
                f"capped at {c.capped_at:g}" if c.capped_at is not None else "",
                f"group {c.group}" if c.group else "",
                "decayed" if c.decayed else "",
                c.detail if c.kind == "inactivity" else "",
            )
            if part
        )
        rules.add_row(
            c.kind, c.rule, str(c.events or ""), f"{c.raw_points:g}", limits, f"{c.points:+d}"
        )
    rules.add_row("", "[bold]Total[/]", "", "", "", f"[bold]{score.total}[/]")

    bant = Table(title="BANT", title_justify="left", expand=True)
    bant.add_column("Letter")
    bant.add_column("Property")
    bant.add_column("Value")
    bant.add_column("Qualifies", justify="center")
    for letter in ("budget", "authority", "need", "timeline"):
        criterion = getattr(engine.bant_model, letter)
        prop = criterion.property if criterion else "(not mapped)"
        value = contact.properties.get(prop, "") if criterion else ""
        ok = getattr(score.bant, letter)
        bant.add_row(letter, prop, str(value), "✔" if ok else "✘")

    stage = score.stage
    lines = [
        f"Grade [bold]{score.grade}[/] (fit {score.fit}); hot: {'yes' if score.hot else 'no'} "
        f"(threshold {engine.scoring.hot_threshold:g}); MQL threshold "
        f"{engine.scoring.mql_threshold:g}",
        f"Stage [bold]{stage.stage}[/] via [italic]{stage.transition}[/]: "
        f"{TRANSITIONS[stage.transition]}" + (" — needs nurture" if stage.needs_nurture else ""),
        f"Committee role: {score.bant.committee_role or 'unknown'}",
    ]
    lines.extend(f"[yellow]note[/] {note}" for note in score.notes)
    if handoff is not None:
        lines.extend(_handoff_lines(handoff))
    title = f"{lead_name(contact)} — score {score.total}"
    return Panel(
        Group(rules, bant, Text.from_markup("\n".join(lines))),
        title=title,
        subtitle=f"model {score.model_version}, as of {score.scored_at:%Y-%m-%d %H:%M}Z",
    )


def _handoff_lines(plan: HandoffPlan) -> list[str]:
    """The hand-off of a first cycle, in plain words."""
    lines = ["[bold]Hand-off[/] (first cycle):"]
    lines.extend(f"  set {name} = {escape(value)!r}" for name, value in plan.properties.items())
    lines.extend(f"  {escape(action.describe())}" for action in plan.actions)
    lines.extend(f"  post to {payload.get('channel')}" for _key, payload in plan.webhooks)
    lines.extend(f"  [dim]{escape(note)}[/]" for note in plan.notes)
    if len(lines) == 1:
        lines.append("  nothing")
    return lines
