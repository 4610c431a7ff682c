"""The backtest as one self-contained HTML page: the report's page layout, its tables
and the lift chart inline."""

from __future__ import annotations

from markupsafe import Markup

from crmbridge.backtest.chart import lift_chart
from crmbridge.backtest.run import Backtest
from crmbridge.backtest.view import TITLE, heading, tables
from crmbridge.i18n import Texts
from crmbridge.report.html import PAGES


def render_html(result: Backtest, t: Texts) -> str:
    """The page in the configured language; every text is escaped, the chart is ours."""
    return PAGES.get_template("page.html").render(
        language=t.language,
        title=t(TITLE),
        heading=heading(result, t),
        tables=tables(result, t),
        # matplotlib escapes the text it draws (model labels included).
        charts=[Markup(lift_chart(result, t))],
        empty=t("No leads."),
    )
