"""Figures for the process evaluation: funnel plots, diverging Likert bars, volunteer retention.

Same style as `psp_eval.present.figures.style` (Okabe-Ito colours, no top/right spines). Every count drawn
on a figure (numbers at risk, numbers of responses) is already suppressed and is printed
through `style.count_text` or `disclosure.record_printed`, so the audit sees it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from psp_eval.present import disclosure
from psp_eval.present.figures.style import ARM_COLOURS, CATEGORY_COLOURS, count_text, figure
from psp_eval.present.hubs import named
from psp_eval.present.process import Funnel

# Diverging palette for 1-5 agreement (ColorBrewer RdBu, colour-blind safe), neutral in grey.
LIKERT_COLOURS = {1: "#ca0020", 2: "#f4a582", 3: "#d9d9d9", 4: "#92c5de", 5: "#0571b0"}
HIGHLIGHT = "#D55E00"
LABEL_STEPS = 100  # adjustText steps that move the funnel plots' labels apart


def funnel_plot(
    points: pd.DataFrame,
    curves: pd.DataFrame,
    *,
    volume: str,
    value: str,
    label: str,
    highlight: pd.Series | None = None,
    extra: pd.DataFrame | None = None,
    xlabel: str = "Families",
    ylabel: str = "",
    percent: bool = True,
) -> Figure:
    """Units at (volume, indicator) against the target and its 95% and 99.8% limits.

    `points` comes from `funnel.funnel_points`, `curves` from `funnel.limit_curves`.
    `highlight` (boolean, aligned with points) marks the units of this report's hub, labelled
    by name; the others are grey. Without it, only units outside the limits are named. `extra` (same columns) adds larger diamonds, e.g. hubs.
    """
    fig, ax = figure(7.0, 4.2)
    scale = 100 if percent else 1
    styles = {0.95: ("--", "95% limits"), 0.998: (":", "99.8% limits")}
    for coverage, part in curves.groupby("coverage"):
        style, name = styles.get(coverage, ("-.", f"{100 * coverage:g}% limits"))
        ax.plot(
            part["volume"],
            scale * part["low"],
            color="0.35",
            linestyle=style,
            linewidth=1,
            label=name,
        )
        ax.plot(part["volume"], scale * part["high"], color="0.35", linestyle=style, linewidth=1)
    target = float(points["target"].iloc[0]) if len(points) else np.nan
    ax.axhline(scale * target, color="0.2", linewidth=1, label="Overall")
    mark = (
        highlight.to_numpy(dtype=bool)
        if highlight is not None
        else np.ones(len(points), dtype=bool)
    )
    other = points[~mark]
    ax.scatter(
        other[volume],
        scale * other[value],
        color="0.65",
        s=22,
        label="Other LAs" if len(other) else None,
        zorder=3,
    )
    mine = points[mark]
    colour = HIGHLIGHT if highlight is not None else CATEGORY_COLOURS[0]
    ax.scatter(
        mine[volume],
        scale * mine[value],
        color=colour,
        s=30,
        zorder=4,
        label="LAs in this hub" if highlight is not None else "LAs",
    )
    # A hub report names its own LAs; the trial report names only LAs outside the limits.
    named = mine if highlight is not None or "outside" not in mine else mine[mine["outside"] != ""]
    names = [
        ax.text(getattr(row, volume), scale * getattr(row, value), str(getattr(row, label)),
                fontsize=7)
        for row in named.itertuples()
    ]  # fmt: skip
    if extra is not None and len(extra):
        ax.scatter(
            extra[volume],
            scale * extra[value],
            marker="D",
            s=48,
            color=CATEGORY_COLOURS[2],
            edgecolor="black",
            linewidth=0.5,
            zorder=5,
            label="Hubs",
        )
        names += [
            ax.text(getattr(row, volume), scale * getattr(row, value), str(getattr(row, label)),
                    fontsize=7, fontweight="bold")
            for row in extra.itertuples()
        ]  # fmt: skip
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_xlim(left=0)
    if not percent and len(points) and (points[value] >= 0).all():
        ax.set_ylim(bottom=0)  # e.g. days: the normal limits may dip below 0, the data cannot
    ax.legend(frameon=False, fontsize=7, loc="lower right", ncols=2)
    _keep_apart(ax, names)
    return fig


def _keep_apart(ax, texts: list) -> None:
    """Move point labels (adjustText) so that none is printed over another or over a point,
    with a thin line back to its point where it moved."""
    if not texts:
        return
    from adjustText import adjust_text

    adjust_text(  # it draws the figure first, to measure the labels as drawn
        texts,
        ax=ax,
        # a fixed number of steps, not adjustText's default of 1 s of them: the same labels
        # in the same places on every run and machine (where they never stop overlapping,
        # as on the trial's funnels, 100 steps place them as well as 1 s of over 1,000 did)
        iter_lim=LABEL_STEPS,
        expand=(1.15, 1.3),
        arrowprops={"arrowstyle": "-", "color": "0.45", "linewidth": 0.5},
    )


def diverging_likert(
    distribution: pd.DataFrame, min_responses: int = disclosure.DEFAULT_THRESHOLD
) -> Figure:
    """Percent of responses at each level per question, centred on "neither" (diverging bars).

    `distribution` comes from `process.likert_distribution`; one bar per timepoint and
    question. Questions with fewer than `min_responses` responses are not drawn.
    """
    data = distribution[distribution["n"] >= min_responses].reset_index(drop=True)
    height = max(1.6, 0.32 * len(data) + 1.0)
    fig, ax = figure(7.0, height)
    labels = [
        f"{r.question_id} ({r.timepoint}, n = "
        + disclosure.record_printed(
            fig, f"responses: {r.question_id} at {r.timepoint}", disclosure.safe_count(r.n)
        )
        + ")"
        for r in data.itertuples()
    ]
    y = np.arange(len(data))[::-1]
    left = -(data["pct_1"] + data["pct_2"] + data["pct_3"] / 2)
    from psp_eval.analyses.process import LIKERT_LABELS, LIKERT_LEVELS

    for level in LIKERT_LEVELS:
        width = data[f"pct_{level}"]
        ax.barh(
            y,
            width,
            left=left,
            color=LIKERT_COLOURS[level],
            label=LIKERT_LABELS[level],
            height=0.7,
            edgecolor="white",
            linewidth=0.4,
        )
        left = left + width
    ax.axvline(0, color="0.3", linewidth=0.8)
    ax.set_yticks(y, labels, fontsize=7)
    ax.set_xlabel("Percent of responses (disagree to the left, agree to the right)")
    ax.xaxis.set_major_formatter(lambda x, _: f"{abs(x):.0f}%")
    ax.set_xlim(-100, 100)
    if len(data) == 0:
        ax.text(
            0,
            0.5,
            "Fewer than 5 responses to every question",
            ha="center",
            va="center",
            transform=ax.transData,
        )
    ax.legend(frameon=False, fontsize=7, ncols=5, loc="lower center", bbox_to_anchor=(0.5, 1.0))
    return fig


def retention_curves(
    spells: pd.DataFrame, at_risk: pd.DataFrame, group: str | None = None
) -> Figure:
    """Kaplan-Meier share of volunteers still volunteering, by `group`, with numbers at risk below.

    `spells` from `process.volunteer_spells`; `at_risk` from `process.retention_at` (already
    suppressed: small risk sets read [c]). A group with fewer than 5 volunteers is not drawn.
    """
    from lifelines import KaplanMeierFitter

    fig, ax = figure(7.0, 4.2)
    groups = (
        [("All", spells)]
        if group is None
        else [(str(k), g) for k, g in spells.groupby(group, sort=True)]
    )
    names = []
    for colour, (name, part) in zip(CATEGORY_COLOURS, groups):
        if len(part) < disclosure.DEFAULT_THRESHOLD:
            continue
        kmf = KaplanMeierFitter(label=name).fit(part["months"], event_observed=part["ended"])
        kmf.plot_survival_function(
            ax=ax, color=colour, ci_show=True, ci_alpha=0.12, show_censors=False
        )
        names.append(name)
    ax.set_ylim(0, 1.02)
    ax.yaxis.set_major_formatter(lambda y, _: f"{100 * y:.0f}%")
    ax.set_ylabel("Still volunteering")
    ax.set_xlabel("Months since starting as a volunteer")
    ax.legend(frameon=False, fontsize=8)
    times = sorted(at_risk["months"].unique())
    ax.set_xticks(times)
    rows = [n for n in names if n in set(at_risk["group"])]
    for i, name in enumerate(rows):
        part = at_risk[at_risk["group"] == name].set_index("months")
        for t in times:
            if t not in part.index:
                continue
            count_text(
                ax,
                (t, 0),
                part.at[t, "at_risk"],
                f"volunteers at risk: {name} at {t:g} months",
                xycoords=("data", "axes fraction"),
                xytext=(0, -50 - 11 * i),
                textcoords="offset points",
                ha="center",
                fontsize=7,
                annotation_clip=False,
            )
        ax.annotate(
            name,
            (0, 0),
            xycoords="axes fraction",
            xytext=(-8, -50 - 11 * i),
            textcoords="offset points",
            ha="right",
            fontsize=7,
        )
    ax.annotate(
        "At risk",
        (0, 0),
        xycoords="axes fraction",
        xytext=(-8, -39),
        textcoords="offset points",
        ha="right",
        fontsize=7,
        fontweight="bold",
    )
    return fig


def scatter_by_la(ax, frame: pd.DataFrame, x: str, y: str, highlight=None) -> None:
    """One point per LA on `ax`; `highlight` (boolean array) marks this hub's LAs in orange.

    Missing y values (LAs with too few families to show) are not drawn.
    """
    values = pd.to_numeric(frame[y], errors="coerce")
    mark = (
        np.asarray(highlight, dtype=bool)
        if highlight is not None
        else np.zeros(len(frame), dtype=bool)
    )
    ax.scatter(
        frame.loc[~mark, x],
        values[~mark],
        color=CATEGORY_COLOURS[0] if highlight is None else "0.65",
        s=22,
        label="LAs" if highlight is None else "Other LAs",
    )
    if mark.any():
        ax.scatter(frame.loc[mark, x], values[mark], color=HIGHLIGHT, s=30, label="LAs in this hub")
    ax.spines[["top", "right"]].set_visible(False)


def referrals_against_target(by_month: pd.DataFrame, target: float | None) -> Figure:
    """Cumulative families referred and randomised per month, with the recruitment target."""
    fig, ax = figure()
    ax.step(
        by_month["month"],
        by_month["cumulative_referred"],
        where="post",
        color=CATEGORY_COLOURS[4],
        label="Referred",
    )
    ax.step(
        by_month["month"],
        by_month["cumulative_randomised"],
        where="post",
        color=CATEGORY_COLOURS[0],
        label="Randomised",
    )
    if target:
        ax.axhline(
            target,
            color="0.4",
            linestyle="--",
            linewidth=1,
            label="Recruitment target (randomised)",
        )
    ax.set_xlabel("Month")
    ax.set_ylabel("Families (cumulative)")
    ax.legend(frameon=False)
    return fig


def cumulative_recruitment(
    by_month: pd.DataFrame, labels: dict[str, str], target: float | None = None
) -> Figure:
    """Running total of families randomised per arm (`labels`: arm value -> name, treated
    first, coloured as the arms always are), against the recruitment target."""
    fig, ax = figure()
    for arm, colour in zip(labels, ARM_COLOURS.values()):
        ax.step(
            by_month["month"],
            by_month[f"cumulative_{arm}"],
            where="post",
            color=colour,
            label=labels[arm],
        )
    if target is not None:
        ax.axhline(target / 2, color="0.4", linestyle="--", linewidth=1, label="Target per arm")
    ax.set_xlabel("Month randomised")
    ax.set_ylabel("Families randomised (cumulative)")
    ax.legend(frameon=False)
    return fig


def funnel_axes(treated: str) -> dict[str, tuple[str, str]]:
    """x and y axis titles of each funnel indicator (`treated`: the treated arm's name)."""
    return {
        "follow_up": ("Families randomised", "Week-8 follow-up (%)"),
        "fidelity": (
            f"Families randomised to {treated}",
            f"{treated} families with any support (%)",
        ),
        "days_to_support": (
            f"{treated} families supported",
            "Mean days from randomisation to first support",
        ),
    }


def indicator_funnel_plot(
    funnel: Funnel, names: dict[str, str], treated: str, hub: str | None = None
) -> Figure:
    """`funnel_plot` of one `present.process.Funnel`: in a hub's report (`hub`) its LAs are
    marked; in the trial's report the hubs are drawn too, as diamonds named from `names`."""
    xlabel, ylabel = funnel_axes(treated)[funnel.indicator]
    return funnel_plot(
        funnel.points,
        funnel.curves,
        volume=funnel.volume,
        value=funnel.value,
        label="la_name",
        highlight=None if hub is None else funnel.points["hub_id"].eq(hub),
        extra=funnel.hubs.assign(la_name=named(funnel.hubs["hub_id"], names))
        if hub is None
        else None,
        xlabel=xlabel,
        ylabel=ylabel,
        percent=funnel.kind == "proportion",
    )


def context_grid(la: pd.DataFrame, hub: str | None = None) -> Figure:
    """Delivery (families supported per 10,000 children) and week-8 follow-up against each
    LA's looked-after rate and deprivation rank, one point per LA with at least 5 families
    behind the value (`la` from `process.la_indicators`); a hub's LAs marked in its report."""
    import matplotlib.pyplot as plt

    threshold = disclosure.DEFAULT_THRESHOLD
    plot = la.assign(
        supported_per_10k=la["supported_per_10k"].where(la["supported"] >= threshold),
        follow_up_pct=(100 * la["follow_up_rate"]).where(la["randomised"] >= threshold),
    )
    fig, axes = plt.subplots(2, 2, figsize=(7.0, 5.6), layout="constrained")
    mark = None if hub is None else plot["hub_id"].eq(hub).to_numpy()
    contexts = [
        ("cla_rate_per_10k", "Looked-after children per 10,000"),
        ("deprivation_rank", "Deprivation rank (1 = most deprived)"),
    ]
    deliveries = [
        ("supported_per_10k", "Supported per 10,000 children"),
        ("follow_up_pct", "Week-8 follow-up (%)"),
    ]
    for row, (x, xlabel) in enumerate(contexts):
        for col, (y, ylabel) in enumerate(deliveries):
            ax = axes[row][col]
            scatter_by_la(ax, plot, x, y, mark)
            ax.set_xlabel(xlabel, fontsize=8)
            ax.set_ylabel(ylabel, fontsize=8)
    axes[0][0].legend(frameon=False, fontsize=7)
    return fig
