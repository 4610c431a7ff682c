"""The report for a terminal: rich tables under a title, then the definitions."""

from __future__ import annotations

from rich.console import RenderableType
from rich.markup import escape
from rich.table import Table as RichTable
from rich.text import Text

from crmbridge.report.collect import Report
from crmbridge.report.i18n import Texts
from crmbridge.report.view import TITLES, definitions, heading, tables


def renderables(report: Report, t: Texts) -> list[RenderableType]:
    """What ``crmbridge report`` prints, in order."""
    shown: list[RenderableType] = [Text(t(TITLES["report"]), style="bold")]
    shown.extend(Text(line) for line in heading(report, t))
    for table in tables(report, t):
        grid = RichTable(title=table.title, title_justify="left")
        for index, (_, header) in enumerate(table.columns):
            grid.add_column(header, justify="left" if index == 0 else "right")
        for row in table.shown:
            grid.add_row(*(escape(cell) for cell in row))
        if not table.shown:
            grid.add_row(t("Nothing in this period."), *[""] * (len(table.columns) - 1))
        shown.append(grid)
    shown.append(Text(t(TITLES["definitions"]), style="bold"))
    shown.extend(Text(f"• {line}") for line in definitions(report, t))
    return shown
