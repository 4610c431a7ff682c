"""The report as one self-contained HTML page: inline CSS, inline SVG charts, no
script and no link to anything outside the file, so it opens offline and in a mail."""

from __future__ import annotations

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from crmbridge.i18n import Texts
from crmbridge.report import charts
from crmbridge.report.collect import Report
from crmbridge.report.view import TITLES, definitions, heading, tables

#: The report's templates: ``page.html`` (title, heading, tables with the charts after
#: the first, a closing block) and the report's own page built on it.
PAGES = Environment(
    loader=PackageLoader("crmbridge.report", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def render_html(report: Report, t: Texts) -> str:
    """The page, in the report's language; every text is escaped, the charts are ours."""
    template = PAGES.get_template("report.html")
    return template.render(
        language=t.language,
        title=t(TITLES["report"]),
        heading=heading(report, t),
        tables=tables(report, t),
        # The SVG comes from matplotlib, which escapes the text it draws.
        charts=[Markup(svg) for svg in charts.charts(report, t)],
        definitions_title=t(TITLES["definitions"]),
        definitions=definitions(report, t),
        empty=t("Nothing in this period."),
    )
