"""The report for a terminal: rich tables under a title, then the definitions; and its
summary as plain text for an e-mail."""

from __future__ import annotations

import io

from rich import box
from rich.console import Console, RenderableType
from rich.markup import escape
from rich.table import Table as RichTable
from rich.text import Text

from crmbridge.i18n import Texts
from crmbridge.report.collect import Report
from crmbridge.report.view import TITLES, Table, definitions, heading, tables


def grid(
    table: Table, t: Texts, style: box.Box = box.HEAVY_HEAD, empty: str | None = None
) -> RichTable:
    """A table for the terminal; ``empty`` is the line shown when it has no rows."""
    grid = RichTable(title=table.title, title_justify="left", box=style)
    for index, (_, header) in enumerate(table.columns):
        grid.add_column(header, justify="left" if index == 0 else "right")
    for row in table.shown:
        grid.add_row(*(escape(cell) for cell in row))
    if not table.shown:
        shown = empty if empty is not None else t("Nothing in this period.")
        grid.add_row(shown, *[""] * (len(table.columns) - 1))
    return grid


def _title(report: Report, t: Texts) -> list[RenderableType]:
    return [Text(t(TITLES["report"]), style="bold"), *(Text(s) for s in heading(report, t))]


def renderables(report: Report, t: Texts) -> list[RenderableType]:
    """What ``crmbridge report`` prints, in order."""
    shown = _title(report, t)
    shown.extend(grid(table, t) for table in tables(report, t))
    shown.append(Text(t(TITLES["definitions"]), style="bold"))
    shown.extend(Text(f"• {line}") for line in definitions(report, t))
    return shown


def plain_summary(report: Report, t: Texts) -> str:
    """The heading and the summary table as plain text (an e-mail's body)."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=100, color_system=None)
    for renderable in _title(report, t):
        console.print(renderable)
    console.print(grid(tables(report, t)[0], t, box.ASCII))
    return buffer.getvalue()
