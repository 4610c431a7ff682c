"""The lift chart: each model's lift by score decile, against the line of no lift."""

from __future__ import annotations

from matplotlib.axes import Axes

from crmbridge.backtest.run import Backtest
from crmbridge.i18n import Texts
from crmbridge.report.charts import ACCENT, CURRENT, PREVIOUS, figure_svg

_COLOURS = (CURRENT, ACCENT, PREVIOUS)


def lift_chart(result: Backtest, t: Texts) -> str:
    """Grouped bars, one group per decile and one bar per model, as inline SVG."""
    models = result.models
    width = 0.8 / max(1, len(models))

    def draw(axes: Axes) -> None:
        for index, model in enumerate(models):
            offset = (index - (len(models) - 1) / 2) * width
            positions = [d.decile + offset for d in model.deciles]
            lifts = [d.lift if d.lift is not None else 0.0 for d in model.deciles]
            colour = _COLOURS[index % len(_COLOURS)]
            axes.bar(positions, lifts, width, color=colour, label=model.label)
        axes.axhline(1.0, color="#0f172a", linestyle="--", linewidth=1, label=t("No lift"))
        axes.set_xticks(range(1, 11))
        axes.set_xlabel(t("Score decile (1 = highest scores)"))
        axes.set_ylabel(t("Lift"))
        axes.set_title(t("Lift by score decile"), loc="left")
        axes.legend(frameon=False)

    return figure_svg(draw)
