"""Figures of the impact evaluation: the forest plot of effects by hub or subgroup."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from psp_eval import figures


def forest(effects: pd.DataFrame, label: str, pooled: pd.Series | None = None, *,
           xlabel: str = "Difference, SFFC minus usual care (95% CI)", reference: float = 0.0,
           pooled_label: str = "All hubs (pooled)") -> Figure:
    """One row per group (`label` column; estimate, ci_low, ci_high; NaN rows read "not
    estimable"), the pooled estimate as a diamond below, and a line at no effect."""
    import matplotlib.pyplot as plt

    rows = effects.reset_index(drop=True)
    n = len(rows) + (1 if pooled is not None else 0)
    fig, ax = plt.subplots(figsize=(7.0, 0.45 * n + 1.2), layout="constrained")
    ax.spines[["top", "right", "left"]].set_visible(False)
    names = []
    for i, row in rows.iterrows():
        y = n - 1 - i
        names.append((y, str(row[label])))
        if np.isfinite(row["estimate"]):
            ax.errorbar(row["estimate"], y, xerr=[[row["estimate"] - row["ci_low"]], [row["ci_high"] - row["estimate"]]],
                        fmt="s", color=figures.ARM_COLOURS["sffc"], capsize=3)
        else:
            ax.text(reference, y, "not estimable", ha="center", va="center", fontsize=8, color="0.4")
    if pooled is not None:
        e, lo, hi = pooled["estimate"], pooled["ci_low"], pooled["ci_high"]
        ax.fill([lo, e, hi, e], [0, 0.25, 0, -0.25], color="0.2")
        names.append((0, pooled_label))
    ax.axvline(reference, color="0.5", linestyle="--", linewidth=1)
    ax.set_yticks([y for y, _ in names], [t for _, t in names])
    ax.set_ylim(-0.8, n - 0.2)
    ax.set_xlabel(xlabel)
    return fig
