"""Figures of the blinded trial monitoring."""

from __future__ import annotations

import pandas as pd


def recruitment_figure(cumulative: pd.DataFrame, hubs: pd.DataFrame, target_date: pd.Timestamp):
    """Families randomised to date per hub (arms pooled), each against its target (dashed
    line) at the target date."""
    import matplotlib.pyplot as plt

    from psp_eval.present.figures.style import CATEGORY_COLOURS

    fig, ax = plt.subplots(figsize=(7.5, 3.8), layout="constrained")
    for colour, hub in zip(CATEGORY_COLOURS * 3, hubs.itertuples()):
        if hub.hub_id in cumulative:
            ax.step(
                cumulative["week"],
                cumulative[hub.hub_id],
                where="post",
                color=colour,
                label=hub.hub_name,
            )
        ax.plot([target_date], [hub.recruitment_target], marker="_", markersize=14, color=colour)
    ax.axvline(target_date, color="0.4", linestyle="--", linewidth=1)
    ax.annotate(
        "target date",
        (target_date, ax.get_ylim()[1]),
        ha="right",
        va="top",
        fontsize=8,
        color="0.3",
    )
    ax.set_xlabel("Week randomised")
    ax.set_ylabel("Families randomised (cumulative)")
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(frameon=False, fontsize=8)
    return fig
