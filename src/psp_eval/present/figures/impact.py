"""Figures of the impact evaluation: CONSORT flow, Kaplan-Meier curves with numbers at risk,
and the forest plot of effects by hub or subgroup."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from lifelines import KaplanMeierFitter
from matplotlib.figure import Figure

from psp_eval.analyses.consort import Consort
from psp_eval.present import disclosure
from psp_eval.present.figures import style as figures
from psp_eval.present.impact import consort_shown


def forest(
    effects: pd.DataFrame,
    label: str,
    pooled: pd.Series | None = None,
    *,
    xlabel: str = "Difference, SFFC minus usual care (95% CI)",
    reference: float = 0.0,
    pooled_label: str = "All hubs (pooled)",
) -> Figure:
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
            ax.errorbar(
                row["estimate"],
                y,
                xerr=[[row["estimate"] - row["ci_low"]], [row["ci_high"] - row["estimate"]]],
                fmt="s",
                color=figures.ARM_COLOURS["sffc"],
                capsize=3,
            )
        else:
            ax.text(
                reference, y, "not estimable", ha="center", va="center", fontsize=8, color="0.4"
            )
    if pooled is not None:
        e, lo, hi = pooled["estimate"], pooled["ci_low"], pooled["ci_high"]
        ax.fill([lo, e, hi, e], [0, 0.25, 0, -0.25], color="0.2")
        names.append((0, pooled_label))
    ax.axvline(reference, color="0.5", linestyle="--", linewidth=1)
    ax.set_yticks([y for y, _ in names], [t for _, t in names])
    ax.set_ylim(-0.8, n - 0.2)
    ax.set_xlabel(xlabel)
    return fig


def consort_figure(
    flow: Consort, labels: dict[str, str], outcome_label: str = "week-8 SDQ"
) -> Figure:
    """The CONSORT diagram (`labels`: arm -> name in the boxes): boxes and arrows, counts
    through `consort_shown` ("[c]" hidden, splits protected), each recorded on the figure."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch

    fig, ax = plt.subplots(figsize=(8.0, 8.6))
    safe = consort_shown(flow)

    def count(key: str) -> str:
        """A box's count, as `consort_shown` made it safe, recorded for the audit."""
        return disclosure.record_printed(fig, f"CONSORT: {key.removeprefix('reason: ')}", safe[key])

    ax.set_xlim(0, 100)
    ax.set_ylim(0, 100)
    ax.axis("off")

    def box(x: float, y: float, w: float, h: float, text: str, left: bool = False) -> None:
        ax.add_patch(
            FancyBboxPatch(
                (x - w / 2, y - h / 2),
                w,
                h,
                boxstyle="round,pad=0.4",
                facecolor="white",
                edgecolor="0.3",
                linewidth=1,
            )
        )
        if left:
            ax.text(x - w / 2 + 1, y, text, ha="left", va="center", fontsize=7)
        else:
            ax.text(x, y, text, ha="center", va="center", fontsize=7.5)

    def arrow(x0: float, y0: float, x1: float, y1: float) -> None:
        ax.annotate(
            "", xy=(x1, y1), xytext=(x0, y0), arrowprops={"arrowstyle": "->", "color": "0.3"}
        )

    ordered = sorted(flow.reasons, key=lambda k: (-flow.reasons[k], k))
    reason_lines = "\n".join(f"  {k.removeprefix('reason: ')}: {count(k)}" for k in ordered)
    box(22, 94, 34, 6, f"Families referred and assessed\nfor eligibility (n = {count('referred')})")
    box(70, 80, 58, 17, f"Not randomised (n = {count('excluded')})\n{reason_lines}", left=True)
    box(22, 68, 30, 5, f"Randomised (n = {count('randomised')})")
    arrow(22, 90.6, 22, 71)
    arrow(22, 80, 40.4, 80)
    ys = {"alloc": 52, "follow": 30, "analysed": 9}
    for x, arm in ((22, "sffc"), (72, "usual")):
        title = labels[arm]
        what = "SFFC support" if arm == "sffc" else "no SFFC support"
        box(
            x,
            ys["alloc"],
            40,
            10,
            f"Allocated to {title} (n = {count(f'{arm}_allocated')})\n"
            f"Received allocation ({what}) (n = {count(f'{arm}_received')})\n"
            f"Did not receive it (n = {count(f'{arm}_not_received')})",
        )
        box(
            x,
            ys["follow"],
            40,
            10,
            f"Withdrew (n = {count(f'{arm}_withdrawn')})\n"
            f"Lost to follow-up: no {outcome_label} (n = {count(f'{arm}_lost')})\n"
            f"Followed up (n = {count(f'{arm}_followed_up')})",
        )
        box(
            x,
            ys["analysed"],
            40,
            9,
            f"Analysed, intention to treat (n = {count(f'{arm}_analysed')})\n"
            f"Not analysed: no baseline or {outcome_label} (n = {count(f'{arm}_not_analysed')})",
        )
        arrow(22, 65.5, x, ys["alloc"] + 5.6)
        arrow(x, ys["alloc"] - 5.4, x, ys["follow"] + 5.6)
        arrow(x, ys["follow"] - 5.4, x, ys["analysed"] + 5.1)
    for y, label in (
        (ys["alloc"] + 8.5, "Allocation"),
        (ys["follow"] + 8, "Follow-up"),
        (ys["analysed"] + 7.5, "Analysis"),
    ):
        ax.text(
            50 - 3, y, label, ha="center", va="center", fontsize=8, fontweight="bold", color="0.25"
        )
    return fig


def km_figure(
    data: pd.DataFrame,
    duration: str,
    event: str,
    arm: str,
    labels: dict,
    colours: dict,
    *,
    time_scale: float = 1.0,
    xlabel: str = "Months since randomisation",
    ylabel: str = "Proportion not re-referred",
    ticks: Sequence[float] = (0, 6, 12, 18, 24),
) -> Figure:
    """Kaplan-Meier curves per arm with the numbers at risk below, through
    `disclosure.suppress_at_risk` (counts of 1-4 families, and drops of 1-4 between ticks,
    read "[c]") and recorded on the figure for the audit. `time_scale` divides durations
    (days -> months with 30.4375)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.0, 4.4))
    ax.spines[["top", "right"]].set_visible(False)
    at_risk = {}
    for level, label in labels.items():
        part = data[data[arm] == level]
        if part.empty:
            continue
        times = part[duration] / time_scale
        km = KaplanMeierFitter(label=label).fit(times, part[event])
        km.plot_survival_function(ax=ax, color=colours.get(level), ci_show=True)
        # still followed at each tick; the tolerance keeps those followed to the very end
        at_risk[label] = [int((times >= t - 1e-9 * max(1.0, abs(t))).sum()) for t in ticks]
    ax.set_xticks(list(ticks))
    ax.set_xlim(min(ticks), max(ticks))
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(frameon=False, loc="lower left")
    if at_risk:
        counts = pd.DataFrame.from_dict(at_risk, orient="index", columns=list(ticks))
        figures.at_risk_rows(
            ax,
            disclosure.suppress_at_risk(counts),
            colours={labels[k]: c for k, c in colours.items() if k in labels},
            axis_label=xlabel,
        )
    fig.tight_layout()
    return fig


def first_event_km(frame: pd.DataFrame, outcome, design, colours: dict) -> Figure:
    """`km_figure` of a record outcome's time to first event (`outcome.time_to_first`), in
    months of the design's follow-up, by arm."""
    timing = outcome.time_to_first
    return km_figure(
        frame,
        timing["duration"],
        timing["event"],
        "arm",
        design.labels,
        colours,
        time_scale=frame["follow_up_days"].max() / design.follow_up_months,
        ylabel=f"Proportion {timing['without']}",
    )
