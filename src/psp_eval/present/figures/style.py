"""Figures for the reports, in one visual style: the two arms always in the same colours.

Arm names are not kept here: every figure that names the arms takes them as `labels`
(arm value -> display name), so a blinded run passes "Arm A" and "Arm B"."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # no screen needed; notebooks display the saved SVG
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

# Okabe-Ito colours: distinguishable with the common colour-vision deficiencies.
ARM_COLOURS = {"sffc": "#0072B2", "usual": "#E69F00"}
CATEGORY_COLOURS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00"]


def figure(width: float = 7.0, height: float = 3.6) -> tuple[Figure, plt.Axes]:
    fig, ax = plt.subplots(figsize=(width, height), layout="constrained")
    ax.spines[["top", "right"]].set_visible(False)
    return fig, ax


def count_text(ax: plt.Axes, xy: tuple, shown: object, what: str, **text) -> object:
    """Print a count of people at `xy` (the usual `annotate` arguments in `text`), already
    through `psp_eval.present.disclosure`: recorded on the figure for the audit (and refused
    if small), and tagged `psp-count-<k>` in the SVG so the audit finds it in the report."""
    from psp_eval.present import disclosure

    fig = ax.get_figure()
    label = disclosure.record_printed(fig, what, shown)
    note = ax.annotate(label, xy, **text)
    note.set_gid(f"psp-count-{len(disclosure.printed_counts(fig))}")
    return note


def at_risk_rows(
    ax: plt.Axes,
    shown: pd.DataFrame,
    *,
    colours: dict | None = None,
    title: str = "At risk",
    axis_label: str = "time",
) -> None:
    """Numbers at risk under `ax`: one row per group (`shown`'s index, its label at the left),
    one number under each time (its columns, x positions in data units), each printed with
    `count_text`; `shown` holds text from `disclosure.suppress_at_risk`."""
    base = -38  # points below the axes: under the time axis and its label
    ax.annotate(
        title,
        (0, 0),
        xycoords="axes fraction",
        xytext=(-14, base),
        textcoords="offset points",
        ha="right",
        fontsize=7,
        fontweight="bold",
    )
    for i, (group, row) in enumerate(shown.iterrows(), 1):
        offset = base - 11 * i
        colour = (colours or {}).get(group, "black")
        ax.annotate(
            str(group),
            (0, 0),
            xycoords="axes fraction",
            xytext=(-14, offset),
            textcoords="offset points",
            ha="right",
            fontsize=7,
            color=colour,
        )
        for time, text in row.items():
            count_text(
                ax,
                (time, 0),
                text,
                f"{title.lower()}: {group} at {axis_label} = {time:g}",
                xycoords=("data", "axes fraction"),
                xytext=(0, offset),
                textcoords="offset points",
                ha="center",
                fontsize=7,
                annotation_clip=False,
            )


def money_axis(axis, *, max_ticks: int = 6) -> None:
    """Pounds on a matplotlib axis (`ax.xaxis` or `ax.yaxis`): "−£2,000", "£10,000", on
    round-number ticks, as many as fit (at most `max_ticks`) so labels never run together."""
    from matplotlib.ticker import FuncFormatter

    from psp_eval.present.tables import money

    axis.set_major_locator(_FittingLocator(axis, money, max_ticks))
    axis.set_major_formatter(FuncFormatter(lambda x, _: money(x)))


class _FittingLocator(matplotlib.ticker.MaxNLocator):
    """Round-number ticks, fewer until the widest label (estimated from its characters and
    the tick font) fits between two ticks with room to spare."""

    def __init__(self, axis, text, max_ticks: int) -> None:
        super().__init__(nbins=max_ticks, steps=[1, 2, 2.5, 5, 10])
        self._axis, self._text, self._max = axis, text, max_ticks

    def __call__(self):
        from matplotlib.font_manager import FontProperties

        vmin, vmax = self._axis.get_view_interval()
        box = self._axis.axes.get_window_extent()
        horizontal = self._axis.axis_name == "x"
        length = box.width if horizontal else box.height
        key = "xtick.labelsize" if horizontal else "ytick.labelsize"
        points = FontProperties(size=matplotlib.rcParams[key]).get_size_in_points()
        pixels = points * self._axis.axes.figure.dpi / 72
        ticks = self.tick_values(vmin, vmax)
        for n in range(self._max, 1, -1):
            self.set_params(nbins=n)
            ticks = self.tick_values(vmin, vmax)
            if len(ticks) < 2 or vmax == vmin:
                break
            widest = max(len(self._text(t)) for t in ticks) * 0.62 * pixels + pixels
            need = widest if horizontal else 1.6 * pixels
            if length * (ticks[1] - ticks[0]) / abs(vmax - vmin) >= need:
                break
        return self.raise_if_exceeds(ticks)
