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
