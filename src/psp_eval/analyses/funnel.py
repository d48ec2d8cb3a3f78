"""Funnel plots: is a unit's rate or mean further from the target than chance allows?

Control limits follow Spiegelhalter (2005), "Funnel plots for comparing institutional
performance", Statistics in Medicine 24:1185-1202. A unit of volume n (families) is plotted at
(n, indicator); the limits are the range a unit with the target's true value would fall in
with probability `coverage` (95% and 99.8%, two-sided, by default), so points outside the
99.8% limits deserve a look and points outside 95% are expected about 1 in 20 by chance.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
from scipy import stats

COVERAGES = (0.95, 0.998)


def _z(coverage: float) -> float:
    """Two-sided normal quantile: 1.959964 for 95%, 3.090232 for 99.8%."""
    return float(stats.norm.ppf(0.5 + coverage / 2))


def _exact_binomial_limit(n: np.ndarray, target: float, p: float) -> np.ndarray:
    """Spiegelhalter (2005) appendix A.1.1: the p-quantile of Binomial(n, target), interpolated.

    r_p is the smallest r with F(r) >= p; alpha = (F(r_p) - p) / (F(r_p) - F(r_p - 1)); the
    limit is (r_p - alpha) / n, which moves smoothly with n instead of in steps.
    """
    r = stats.binom.ppf(p, n, target)
    cdf = stats.binom.cdf(r, n, target)
    pmf = stats.binom.pmf(r, n, target)
    alpha = np.where(pmf > 0, (cdf - p) / np.where(pmf > 0, pmf, 1), 0.0)
    return (r - alpha) / n


def proportion_limits(
    volume: Iterable[float], target: float, coverage: float = 0.95, method: str = "exact"
) -> pd.DataFrame:
    """Lower and upper control limits for a proportion at each volume.

    method "normal": target ± z·sqrt(target·(1 - target)/n); "exact": interpolated binomial
    quantiles (Spiegelhalter 2005, A.1.1). Limits are clipped to [0, 1].
    """
    if not 0 < target < 1:
        raise ValueError(f"target proportion must be strictly between 0 and 1, got {target}")
    n = np.asarray(list(volume), dtype=float)
    if (n <= 0).any():
        raise ValueError("volumes must be positive")
    tail = (1 - coverage) / 2
    if method == "normal":
        half = _z(coverage) * np.sqrt(target * (1 - target) / n)
        low, high = target - half, target + half
    elif method == "exact":
        low = _exact_binomial_limit(n, target, tail)
        high = _exact_binomial_limit(n, target, 1 - tail)
    else:
        raise ValueError(f"method must be 'exact' or 'normal', got {method!r}")
    return pd.DataFrame(
        {"volume": n, "coverage": coverage, "low": np.clip(low, 0, 1), "high": np.clip(high, 0, 1)}
    )


def mean_limits(
    volume: Iterable[float], target: float, sd: float, coverage: float = 0.95
) -> pd.DataFrame:
    """Control limits for a mean of n observations: target ± z·sd/sqrt(n) (Spiegelhalter 2005, A.2)."""
    n = np.asarray(list(volume), dtype=float)
    if (n <= 0).any():
        raise ValueError("volumes must be positive")
    half = _z(coverage) * sd / np.sqrt(n)
    return pd.DataFrame(
        {"volume": n, "coverage": coverage, "low": target - half, "high": target + half}
    )


def limit_curves(
    kind: str,
    max_volume: float,
    target: float,
    sd: float | None = None,
    coverages: tuple[float, ...] = COVERAGES,
) -> pd.DataFrame:
    """The funnel's limit lines from volume 1 to `max_volume`, for plotting (tidy: one row per volume and coverage)."""
    volume = np.arange(1, max(int(np.ceil(max_volume)), 2) + 1)
    parts = [
        proportion_limits(volume, target, c)
        if kind == "proportion"
        else mean_limits(volume, target, float(sd), c)
        for c in coverages
    ]
    return pd.concat(parts, ignore_index=True)


def funnel_points(
    frame: pd.DataFrame,
    unit: str,
    volume: str,
    value: str,
    kind: str,
    *,
    target: float | None = None,
    sd: float | None = None,
    coverages: tuple[float, ...] = COVERAGES,
) -> pd.DataFrame:
    """Each unit's indicator beside its limits and whether it falls outside them.

    `frame` has one row per unit with its volume (n) and indicator (a proportion for kind
    "proportion", a mean for kind "mean"). The target defaults to the volume-weighted mean of
    the indicator (the overall rate); for means, `sd` is the pooled individual-level SD and
    must be given. Columns added: target, low_<c>/high_<c> per coverage, and `outside`: the
    widest limits the unit lies beyond ("99.8%", "95%" or ""). A proportion of exactly 0 or 1
    is outside only when that count is itself less likely than the tail (1 - coverage) / 2.
    """
    data = frame.loc[frame[volume] > 0, [unit, volume, value]].copy()
    if target is None:
        target = float(np.average(data[value], weights=data[volume]))
    if kind == "mean" and sd is None:
        raise ValueError("a funnel for means needs the individual-level sd")
    data["target"] = target
    data["outside"] = ""
    for coverage in sorted(coverages):
        limits = (
            proportion_limits(data[volume], target, coverage)
            if kind == "proportion"
            else mean_limits(data[volume], target, float(sd), coverage)
        )
        label = f"{100 * coverage:g}"
        data[f"low_{label}"] = limits["low"].to_numpy()
        data[f"high_{label}"] = limits["high"].to_numpy()
        beyond = (data[value] < data[f"low_{label}"]) | (data[value] > data[f"high_{label}"])
        if kind == "proportion":
            # The interpolated limits never reach 0 or 1, so 0/n or n/n would always look
            # extreme: at the boundary use the binomial probability of that count instead.
            n = data[volume].to_numpy(dtype=float)
            tail = (1 - coverage) / 2
            at_top = (data[value] >= 1).to_numpy() & (stats.binom.pmf(n, n, target) >= tail)
            at_bottom = (data[value] <= 0).to_numpy() & (stats.binom.pmf(0, n, target) >= tail)
            beyond = beyond & ~at_top & ~at_bottom
        data.loc[beyond.to_numpy(), "outside"] = f"{label}%"
    return data.reset_index(drop=True)
