"""Tables of the impact evaluation as reports show them (disclosure-controlled)."""

from __future__ import annotations

import pandas as pd

from psp_eval.analyses.consort import Consort
from psp_eval.present import disclosure


def baseline_table(
    frame: pd.DataFrame,
    arm: str,
    arm_labels: dict[str, str],
    continuous: dict[str, str],
    categorical: dict[str, str],
) -> pd.DataFrame:
    """Table 1: baseline characteristics by arm, no p-values. Continuous: mean (SD) and the
    number with a value; categorical: n (%) of those with a value, counts through disclosure
    control (a category of 1-4 families and its giveaway read "[c]")."""
    rows: list[dict[str, str]] = []
    arms = list(arm_labels)
    sizes = frame[arm].value_counts()
    rows.append(
        {
            "Characteristic": "Families randomised, n",
            **{arm_labels[a]: str(disclosure.safe_count(sizes.get(a, 0))) for a in arms},
        }
    )
    for column, label in continuous.items():
        row = {"Characteristic": f"{label}, mean (SD)"}
        for a in arms:
            values = frame.loc[frame[arm] == a, column].dropna().astype(float)
            row[arm_labels[a]] = (
                f"{values.mean():.1f} ({values.std(ddof=1):.1f}); n = {len(values)}"
                if len(values) >= disclosure.DEFAULT_THRESHOLD
                else disclosure.SUPPRESSED
            )
        rows.append(row)
    for column, label in categorical.items():
        data = frame.dropna(subset=[column])
        counts = pd.crosstab(data[column].astype(str), data[arm]).reindex(
            columns=arms, fill_value=0
        )
        counts.loc["total"] = counts.sum()
        safe = disclosure.suppress(counts, arms, total_row="total")
        rows.append({"Characteristic": f"{label}, n (%)", **{arm_labels[a]: "" for a in arms}})
        for category in counts.index:
            if category == "total":
                continue
            row = {"Characteristic": f"  {category.replace('_', ' ')}"}
            for a in arms:
                shown = safe.at[category, a]
                total = counts.at["total", a]
                row[arm_labels[a]] = (
                    shown
                    if shown == disclosure.SUPPRESSED
                    else f"{int(shown)} ({100 * int(shown) / total:.0f}%)"
                    if total
                    else "0"
                )
            rows.append(row)
    return pd.DataFrame(rows)


def consort_shown(flow: Consort, threshold: int = disclosure.DEFAULT_THRESHOLD) -> dict[str, str]:
    """Box texts safe for funders: 1 to threshold-1 hidden, and a second box of any split
    with one hidden part (so none is recovered by subtraction); zeros are shown."""
    values = {**flow.counts, **flow.reasons}
    hidden = {k for k, v in values.items() if 0 < v < threshold}
    changed = True
    while changed:
        changed = False
        for parent, parts in flow.splits:
            group = (parent, *parts)
            if sum(k in hidden for k in group) != 1:
                continue
            candidates = [k for k in group if k not in hidden and values[k] > 0]
            if candidates:
                hidden.add(min(candidates, key=lambda k: (values[k], k)))
                changed = True
    return {k: disclosure.SUPPRESSED if k in hidden else f"{v:,}" for k, v in values.items()}
