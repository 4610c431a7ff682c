"""How ``crmbridge plan`` shows a forecast: the summary, the rows, JSON and CSV."""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from crmbridge.cli.language import number, t
from crmbridge.i18n import N_
from crmbridge.sync.plan_summary import ACTION_PREFIX, PlanSummary
from crmbridge.sync.rescore import PlannedChange

#: Columns of ``plan --csv``: one row per planned write or action, then the queued rows.
CSV_COLUMNS = ("crm", "crm_id", "email", "kind", "property", "old", "new", "status")
CSV_NAME = "crmbridge-plan.csv"
#: The widest bar of the score distribution, in characters.
BAR = 24
#: A spreadsheet runs a cell starting with one of these as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def change_dict(change: PlannedChange) -> dict[str, Any]:
    """One planned write or action as ``plan --json`` lists it."""
    return {
        "crm": change.crm,
        "crm_id": change.crm_id,
        "email": change.email,
        "property": change.name,
        "old": change.old,
        "new": change.new,
        "linked_with": list(change.linked),
    }


def queued_dict(row: Any) -> dict[str, Any]:
    """One write already in the outbox as ``plan --json`` lists it."""
    is_property = row.kind == "property"
    return {
        "crm": row.connector,
        "crm_id": row.crm_id,
        "property": row.target if is_property else f"{ACTION_PREFIX}{row.kind}",
        "new": (row.value or {}).get("value") if is_property else row.value,
        "status": row.status,
    }


def csv_cell(value: object) -> str:
    """A CSV cell a spreadsheet shows as text (never runs it as a formula)."""
    if isinstance(value, dict | list):
        text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    else:
        text = "" if value is None else str(value)
    if text.startswith(FORMULA_START) and not _number(text):
        return "'" + text
    return text


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def csv_path(target: Path) -> Path:
    """``target`` itself, or the plan's file inside it when it is a folder."""
    return target / CSV_NAME if target.is_dir() else target


def write_csv(target: Path, changes: Sequence[PlannedChange], queued: Sequence[Any]) -> Path:
    """Write every planned change and queued row to ``target`` (a file or folder)."""
    path = csv_path(target)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for change in changes:
            action = change.name.startswith(ACTION_PREFIX)
            writer.writerow(
                csv_cell(value)
                for value in (
                    change.crm,
                    change.crm_id,
                    change.email,
                    "action" if action else "property",
                    change.name.removeprefix(ACTION_PREFIX),
                    change.old,
                    change.new,
                    "planned",
                )
            )
        for row in queued:
            item = queued_dict(row)
            action = row.kind != "property"
            writer.writerow(
                csv_cell(value)
                for value in (
                    item["crm"],
                    item["crm_id"],
                    "",
                    "action" if action else "property",
                    str(item["property"]).removeprefix(ACTION_PREFIX),
                    "",
                    item["new"],
                    item["status"],
                )
            )
    return path


def _bar(count: int, most: int) -> str:
    if not count:
        return ""
    return "█" * max(1, round(BAR * count / most))


def print_summary(console: Console, summary: PlanSummary, title: str = N_("Next cycle")) -> None:
    """The figures of the next cycle (or of what ``title`` names, a catalog message),
    complete whatever ``--limit`` says."""
    figures = t(
        N_(
            "{scored} contacts rescored ({new} never scored before), {changing} would "
            "change; hot leads {before} → {after}"
        ),
        scored=number(summary.scored),
        new=number(summary.new_leads),
        changing=number(summary.contacts_changing),
        before=number(summary.hot_before),
        after=number(summary.hot_after),
    )
    console.print(f"[bold]{escape(t(title))}[/]: {escape(figures)}", highlight=False)
    if summary.linked:
        linked = t(
            N_(
                "{count} of them in several CRMs (one person, the same email): each scored "
                "once from all its records, written as [writeback] owners say"
            ),
            count=number(summary.linked),
        )
        console.print(linked, highlight=False, markup=False)
    if summary.writes or summary.actions:
        counts = Table(title=t(N_("Writes and actions")), title_justify="left")
        counts.add_column(t(N_("Property / action")))
        counts.add_column(t(N_("Contacts")), justify="right")
        for name, count in sorted(summary.writes.items()):
            counts.add_row(escape(name), number(count))
        for kind, count in sorted(summary.actions.items()):
            counts.add_row(escape(t(N_("action: {kind}"), kind=kind)), number(count))
        console.print(counts)
    if summary.baselines:
        left = Table(title=t(N_("Left alone: already there (no enrolment)")), title_justify="left")
        left.add_column(t(N_("Why")))
        left.add_column(t(N_("Contacts")), justify="right")
        for why, count in sorted(summary.baselines.items()):
            left.add_row(escape(why), number(count))
        console.print(left)
    _print_moves(console, summary)
    _print_histogram(console, summary)
    _print_rules(console, summary)


def _print_moves(console: Console, summary: PlanSummary) -> None:
    if not summary.stage_moves:
        return
    sources = sorted({old for old, _ in summary.stage_moves})
    targets = sorted({new for _, new in summary.stage_moves})
    matrix = Table(title=t(N_("Stage moves (from ↓ to →)")), title_justify="left")
    matrix.add_column(t(N_("from")))
    for target in targets:
        matrix.add_column(escape(target), justify="right")
    for source in sources:
        cells = []
        for target in targets:
            count = summary.stage_moves.get((source, target), 0)
            text = number(count) if count else "·"
            cells.append(f"[dim]{text}[/]" if source == target else text)
        matrix.add_row(escape(source), *cells)
    console.print(matrix)


def _print_histogram(console: Console, summary: PlanSummary) -> None:
    buckets = summary.histogram()
    if not buckets:
        return
    most = max(max(b.before, b.after) for b in buckets)
    chart = Table(title=t(N_("Score distribution (before → after)")), title_justify="left")
    chart.add_column(t(N_("score")), justify="right")
    chart.add_column(t(N_("before")), no_wrap=True)
    chart.add_column(t(N_("after")), no_wrap=True)
    for bucket in buckets:
        chart.add_row(
            bucket.label,
            f"[blue]{_bar(bucket.before, most)}[/] {number(bucket.before)}",
            f"[green]{_bar(bucket.after, most)}[/] {number(bucket.after)}",
        )
    console.print(chart)
    if summary.new_leads:
        new = t(
            N_('({count} never scored before: in "after" only)'), count=number(summary.new_leads)
        )
        console.print(escape(new), highlight=False)


def _print_rules(console: Console, summary: PlanSummary) -> None:
    if not summary.rules or not summary.scored:
        return
    rules = Table(title=t(N_("Rules: leads matched (of those rescored)")), title_justify="left")
    rules.add_column(t(N_("Rule")), overflow="fold")
    rules.add_column(t(N_("Leads")), justify="right")
    for rule in summary.rules:
        count = summary.rule_matches.get(rule, 0)
        nobody = escape(t(N_("0 — matches nobody")))
        shown = number(count) if count else f"[yellow]{nobody}[/]"
        rules.add_row(escape(rule), shown)
    console.print(rules)


def print_changes(
    console: Console,
    changes: Sequence[PlannedChange],
    limit: int,
    owners: tuple[str, Mapping[str, str]] | None = None,
) -> int:
    """The planned rows grouped by contact, at most ``limit`` (0: all); how many are
    left out. ``owners`` (the owner property, owner id → name) shows an owner change by
    name and id."""
    shown = changes if limit <= 0 else changes[:limit]
    if not shown:
        return 0
    table = Table(title=t(N_("Planned CRM writes and actions")), title_justify="left")
    table.add_column(t(N_("Contact")), overflow="fold")
    table.add_column(t(N_("Property / action")))
    table.add_column(t(N_("Old → new")), overflow="fold")
    last = ""
    for change in shown:
        key = f"{change.crm}:{change.crm_id}"
        linked = "".join(f"\n= {other}" for other in change.linked)
        who = "" if key == last else f"{key}\n{change.email or ''}{linked}".strip()
        last = key
        old, new = change.old, change.new
        if owners is not None and change.name == owners[0]:
            old, new = _owner(old, owners[1]), _owner(new, owners[1]) or ""
        table.add_row(escape(who), escape(change.name), escape(f"{old or '∅'} → {new}"))
    console.print(table)
    return len(changes) - len(shown)


def _owner(owner_id: str | None, names: Mapping[str, str]) -> str | None:
    """An owner id as a person reads it: "Name (id)" when the configuration names them."""
    if not owner_id or owner_id not in names:
        return owner_id
    return f"{names[owner_id]} ({owner_id})"
