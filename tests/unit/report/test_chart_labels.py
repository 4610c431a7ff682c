"""Chart labels come from the CRM (owner names, rule names): they are text, never maths."""

from __future__ import annotations

from matplotlib.axes import Axes

from crmbridge.report.charts import figure_svg


def test_a_label_with_dollar_signs_is_drawn_as_text() -> None:
    label = r"Ana x$\undefinedcmd$y"

    def draw(axes: Axes) -> None:
        axes.barh([label], [3])

    svg = figure_svg(draw)

    assert svg.startswith("<svg") and "undefinedcmd" in svg
