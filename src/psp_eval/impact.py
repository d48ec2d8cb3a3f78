"""Impact evaluation: outcomes by arm.

The foundation holds the descriptive layer (means by arm and timepoint with t intervals, and
the unadjusted week-8 difference); the trial's adjusted analyses build on it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from psp_eval.contract import ARMS


def means_by_arm(outcomes: pd.DataFrame, randomisation: pd.DataFrame, column: str) -> pd.DataFrame:
    """n, mean, SD and 95% t interval of `column` per arm (families with a value)."""
    data = randomisation[["family_id", "arm"]].merge(outcomes, on="family_id", how="left")
    rows = []
    for arm in ARMS:
        values = data.loc[data["arm"] == arm, column].dropna().astype(float)
        n = len(values)
        mean = values.mean() if n else np.nan
        sd = values.std(ddof=1) if n > 1 else np.nan
        half = stats.t.ppf(0.975, n - 1) * sd / np.sqrt(n) if n > 1 else np.nan
        rows.append(
            {"arm": arm, "n": n, "mean": mean, "sd": sd, "ci_low": mean - half, "ci_high": mean + half}
        )
    return pd.DataFrame(rows)


def welch_difference(
    outcomes: pd.DataFrame, randomisation: pd.DataFrame, column: str
) -> dict[str, float]:
    """Unadjusted difference in means, sffc minus usual, with Welch's 95% CI and p-value."""
    data = randomisation[["family_id", "arm"]].merge(outcomes, on="family_id", how="left")
    treated = data.loc[data["arm"] == "sffc", column].dropna().astype(float)
    control = data.loc[data["arm"] == "usual", column].dropna().astype(float)
    result = stats.ttest_ind(treated, control, equal_var=False)
    ci = result.confidence_interval(0.95)
    return {
        "estimate": float(treated.mean() - control.mean()),
        "ci_low": float(ci.low),
        "ci_high": float(ci.high),
        "p_value": float(result.pvalue),
        "n_treated": int(len(treated)),
        "n_control": int(len(control)),
    }


def format_p(p_value: float) -> str:
    """A p-value as reports print it: three decimals, or "<0.001"."""
    return "<0.001" if p_value < 0.001 else f"{p_value:.3f}"
