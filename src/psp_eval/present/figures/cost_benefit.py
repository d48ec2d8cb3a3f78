"""Figures of the cost-benefit model: NPV distribution, tornado chart, cost-effectiveness plane
and acceptability curve."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from psp_eval.present.figures.style import ARM_COLOURS, CATEGORY_COLOURS, figure, money_axis
from psp_eval.present.tables import money


def npv_distribution(draws: pd.DataFrame, column: str = "npv") -> Figure:
    """Histogram of NPV per family over the Monte Carlo draws; the line at £0 is break-even."""
    fig, ax = figure()
    values = draws[column].to_numpy()
    below = values < 0
    bins = np.histogram_bin_edges(values, bins=60)
    ax.hist(values[below], bins=bins, color="#D55E00", alpha=0.85, label="Costs exceed benefits")
    ax.hist(values[~below], bins=bins, color="#009E73", alpha=0.85, label="Benefits exceed costs")
    ax.axvline(0, color="0.2", linewidth=1)
    ax.axvline(
        values.mean(),
        color="0.2",
        linestyle="--",
        linewidth=1,
        label=f"Mean {money(values.mean())}",
    )
    money_axis(ax.xaxis)
    ax.set_xlabel("Net present value per family allocated to SFFC (£)")
    ax.set_ylabel("Monte Carlo draws")
    ax.legend(frameon=False, fontsize=8)
    return fig


def tornado_chart(table: pd.DataFrame, base_npv: float, top: int = 10) -> Figure:
    """One-way sensitivity: NPV with each input at the low and high end of its 95% range."""
    rows = table.head(top).iloc[::-1]
    fig, ax = figure(7.5, 0.45 * len(rows) + 1.2)
    y = np.arange(len(rows))
    for i, (_, r) in enumerate(rows.iterrows()):
        ax.barh(i, r["npv_at_low"] - base_npv, left=base_npv, color="#56B4E9", height=0.6,
                label="Input at low end" if i == 0 else None)  # fmt: skip
        ax.barh(i, r["npv_at_high"] - base_npv, left=base_npv, color="#E69F00", height=0.6,
                label="Input at high end" if i == 0 else None)  # fmt: skip
    ax.axvline(base_npv, color="0.2", linewidth=1)
    ax.axvline(0, color="0.5", linestyle=":", linewidth=1)
    ax.set_yticks(y, rows["label"], fontsize=8)
    money_axis(ax.xaxis)
    ax.set_xlabel("NPV per family (£); solid line: base case, dotted: break-even")
    ax.legend(frameon=False, fontsize=8, loc="lower right")
    return fig


def ce_plane(draws: pd.DataFrame, effect: str = "sdq_effect", max_points: int = 2000) -> Figure:
    """Cost-effectiveness plane: change in SDQ total difficulties (SFFC minus usual, negative is
    better, drawn so that better is to the right) against net cost per family."""
    fig, ax = figure(6.0, 4.2)
    sample = draws.iloc[:max_points]
    x = -sample[effect]
    y = sample["costs_total"] - sample["benefits_total"]
    ax.scatter(x, y, s=4, alpha=0.35, color=ARM_COLOURS["sffc"], linewidths=0)
    ax.scatter([-draws[effect].mean()], [(draws["costs_total"] - draws["benefits_total"]).mean()],
               color="0.1", marker="x", s=50, label="Mean")  # fmt: skip
    ax.axhline(0, color="0.3", linewidth=1)
    ax.axvline(0, color="0.3", linewidth=1)
    money_axis(ax.yaxis)
    ax.set_xlabel("Reduction in SDQ total difficulties (points; right is better)")
    ax.set_ylabel("Net cost per family (£; below 0 saves money)")
    ax.legend(frameon=False, fontsize=8)
    return fig


def stacked_costs(by_quarter: pd.DataFrame) -> Figure:
    """Delivery spending per quarter, stacked by cost category (£, cash prices)."""
    fig, ax = figure()
    bottom = pd.Series(0.0, index=by_quarter.index)
    for colour, category in zip(CATEGORY_COLOURS, by_quarter.columns):
        ax.bar(
            by_quarter.index,
            by_quarter[category],
            bottom=bottom,
            color=colour,
            label=category.replace("_", " "),
        )
        bottom += by_quarter[category]
    ax.set_ylabel("Spending (£, cash prices)")
    ax.set_xlabel("Quarter")
    money_axis(ax.yaxis)
    ax.tick_params(axis="x", rotation=45)
    ax.legend(frameon=False, fontsize=8, ncols=2)
    return fig


def acceptability_curve(curve: pd.DataFrame) -> Figure:
    """The chance that SFFC is worth its net cost per family (`p_cost_effective`) against the
    value placed on one SDQ point of child difficulties avoided (`wtp_per_sdq_point`)."""
    fig, ax = figure(6.5, 3.6)
    ax.plot(curve["wtp_per_sdq_point"], 100 * curve["p_cost_effective"], color=ARM_COLOURS["sffc"])
    ax.axhline(50, color="0.5", linestyle=":", linewidth=1)
    ax.set_ylim(0, 100)
    ax.set_xlim(0, curve["wtp_per_sdq_point"].max())
    money_axis(ax.xaxis)
    ax.set_xlabel("Value of one SDQ point avoided, per family (£)")
    ax.set_ylabel("Chance SFFC is worth its net cost (%)")
    return fig
