"""Figures for the reports, in one visual style: the two arms always in the same colours."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # no screen needed; notebooks display the saved SVG
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from psp_eval import blinding  # noqa: E402

# Okabe-Ito colours: distinguishable with the common colour-vision deficiencies.
ARM_COLOURS = {"sffc": "#0072B2", "usual": "#E69F00"}
ARM_LABELS = blinding.live_labels()  # "SFFC" and "Services as usual", or A and B when blinded
CATEGORY_COLOURS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00"]


def _figure(width: float = 7.0, height: float = 3.6) -> tuple[Figure, plt.Axes]:
    fig, ax = plt.subplots(figsize=(width, height), layout="constrained")
    ax.spines[["top", "right"]].set_visible(False)
    return fig, ax


def cumulative_recruitment(by_month: pd.DataFrame, target: float | None = None) -> Figure:
    """Running total of families randomised per arm, against the recruitment target."""
    fig, ax = _figure()
    for arm, colour in ARM_COLOURS.items():
        ax.step(by_month["month"], by_month[f"cumulative_{arm}"], where="post", color=colour, label=ARM_LABELS[arm])
    if target is not None:
        ax.axhline(target / 2, color="0.4", linestyle="--", linewidth=1, label="Target per arm")
    ax.set_xlabel("Month randomised")
    ax.set_ylabel("Families randomised (cumulative)")
    ax.legend(frameon=False)
    return fig


def stacked_costs(by_quarter: pd.DataFrame) -> Figure:
    """Delivery spending per quarter, stacked by cost category (£, cash prices)."""
    fig, ax = _figure()
    bottom = pd.Series(0.0, index=by_quarter.index)
    for colour, category in zip(CATEGORY_COLOURS, by_quarter.columns):
        ax.bar(by_quarter.index, by_quarter[category], bottom=bottom, color=colour, label=category.replace("_", " "))
        bottom += by_quarter[category]
    ax.set_ylabel("Spending (£, cash prices)")
    ax.set_xlabel("Quarter")
    ax.yaxis.set_major_formatter(matplotlib.ticker.StrMethodFormatter("£{x:,.0f}"))
    ax.tick_params(axis="x", rotation=45)
    ax.legend(frameon=False, fontsize=8, ncols=2)
    return fig
