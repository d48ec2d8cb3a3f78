"""Figures of the need analysis."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd


def trend_figure(
    overall: pd.DataFrame, by_hub: pd.DataFrame, hub_names: Mapping[str, str] | None = None
):
    """Left: children starting care and those fitting the profile per year (all LAs); right:
    the profile share per year, all LAs and each hub. Both tables come from count_profile."""
    import matplotlib.pyplot as plt

    from psp_eval.present.figures.style import CATEGORY_COLOURS

    fig, (left, right) = plt.subplots(1, 2, figsize=(9.0, 3.6), layout="constrained")
    x = np.arange(len(overall))
    left.bar(x, overall["children_starting"], color="0.8", label="Children starting care")
    left.bar(
        x, overall["children_fitting"], color=CATEGORY_COLOURS[0], label="Fitting the SFFC profile"
    )
    left.set_xticks(x, overall["year"], rotation=45)
    left.set_ylabel("Children (per year)")
    left.legend(frameon=False, fontsize=8)
    years = list(overall["year"])
    for colour, (hub, part) in zip(CATEGORY_COLOURS[1:] * 3, by_hub.groupby("hub_id", sort=True)):
        part = part.set_index("year").reindex(years)
        label = (hub_names or {}).get(hub, hub)
        right.plot(x, part["share_pct"], color=colour, linewidth=1, alpha=0.8, label=label)
    right.plot(x, overall["share_pct"], color="black", linewidth=2.2, marker="o", label="All LAs")
    right.set_xticks(x, years, rotation=45)
    right.set_ylabel("Fitting the profile (% of children starting)")
    right.set_ylim(bottom=0)
    right.legend(frameon=False, fontsize=7, ncols=2)
    for ax in (left, right):
        ax.spines[["top", "right"]].set_visible(False)
        ax.set_xlabel("Year the period of care started (April-March)")
    return fig
