"""Time to event by arm: Cox hazard ratio, log-rank, proportional-hazards check, RMST, and
the Kaplan-Meier figure with numbers at risk (shown through disclosure control).

Why a module of its own: the trial's re-referral outcome (time to first re-referral within
24 months, censored at withdrawal or the end of follow-up) needs the same steps for the
trial and every hub, and each must fail cleanly ("not estimable") when a hub has too few
events.

Conventions (checked against R's survival package in tests/reference): hazard ratios treated
over control, Efron ties (R's coxph default); the proportional-hazards check is R's cox.zph
score test with its default km transform; RMST is the area under the Kaplan-Meier curve with
the variance R's print.survfit(rmean = ) reports.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.statistics import logrank_test
from lifelines.utils import restricted_mean_survival_time
from scipy import stats

from psp_eval.analyses.impact import NotEstimable

COX_COLUMNS = ["hazard_ratio", "ci_low", "ci_high", "p_value", "n", "events", "logrank_p"]
MIN_EVENTS_PER_ARM = 2


def _cox_frame(
    data: pd.DataFrame,
    duration: str,
    event: str,
    arm: str,
    treated: object,
    control: object,
    covariates: Sequence[str],
) -> pd.DataFrame:
    rows = data[data[arm].isin([treated, control])].dropna(subset=[duration, event, *covariates])
    frame = pd.DataFrame(
        {
            "duration_": rows[duration].astype(float).values,
            "event_": rows[event].astype(float).values,
            "treated_": (rows[arm] == treated).astype(float).values,
        }
    )
    for name in covariates:
        column = rows[name].reset_index(drop=True)
        if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
            frame[name] = column.astype(float).values
        else:
            dummies = pd.get_dummies(column.astype(str), prefix=name, drop_first=True, dtype=float)
            frame = frame.join(dummies)
    keep = [
        c
        for c in frame.columns
        if c in ("duration_", "event_", "treated_") or frame[c].nunique() > 1
    ]
    frame = frame[keep]
    events = frame.groupby("treated_")["event_"].sum().reindex([0.0, 1.0], fill_value=0)
    if frame["treated_"].nunique() < 2 or events.min() < MIN_EVENTS_PER_ARM:
        raise NotEstimable(f"too few {event} events per arm to fit a Cox model")
    return frame


def _fit(frame: pd.DataFrame) -> CoxPHFitter:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return CoxPHFitter().fit(frame, duration_col="duration_", event_col="event_")
        except Exception as error:  # lifelines raises ConvergenceError and friends
            raise NotEstimable(f"the Cox model did not converge: {error}") from error


def cox_by_arm(
    data: pd.DataFrame,
    duration: str,
    event: str,
    arm: str,
    treated: object,
    control: object,
    covariates: Sequence[str] = (),
) -> pd.DataFrame:
    """Hazard ratio treated over control (Cox, Efron ties, Wald 95% CI as lifelines reports
    it) adjusted for `covariates` (strings dummy-coded), and the unadjusted log-rank p-value.
    Rows missing a needed column are left out; `n` and `events` count those used."""
    frame = _cox_frame(data, duration, event, arm, treated, control, covariates)
    fit = _fit(frame)
    row = fit.summary.loc["treated_"]
    lr = logrank_test(
        frame.loc[frame["treated_"] == 1, "duration_"],
        frame.loc[frame["treated_"] == 0, "duration_"],
        frame.loc[frame["treated_"] == 1, "event_"],
        frame.loc[frame["treated_"] == 0, "event_"],
    )
    return pd.DataFrame(
        [
            {
                "hazard_ratio": float(row["exp(coef)"]),
                "ci_low": float(row["exp(coef) lower 95%"]),
                "ci_high": float(row["exp(coef) upper 95%"]),
                "p_value": float(row["p"]),
                "n": len(frame),
                "events": int(frame["event_"].sum()),
                "logrank_p": float(lr.p_value),
            }
        ]
    )[COX_COLUMNS]


def logrank(
    data: pd.DataFrame, duration: str, event: str, arm: str, treated: object, control: object
) -> dict[str, float]:
    """Log-rank test of two arms: chi-square statistic (1 df) and p-value."""
    t = data[data[arm] == treated]
    c = data[data[arm] == control]
    result = logrank_test(t[duration], c[duration], t[event], c[event])
    return {"statistic": float(result.test_statistic), "p_value": float(result.p_value)}


ZPH_TRANSFORMS = ("km", "rank", "identity", "log")


def _time_transform(time: np.ndarray, event: np.ndarray, transform: str) -> np.ndarray:
    """g(t) of every row as R's cox.zph computes it: "km" 1 - S(t-) of the Kaplan-Meier curve
    of all rows (left-continuous), "rank" the average rank of t among all rows' times."""
    if transform == "identity":
        return time.astype(float)
    if transform == "log":
        return np.log(time)
    if transform == "rank":
        return stats.rankdata(time)
    if transform != "km":
        raise ValueError(f"transform must be one of {', '.join(ZPH_TRANSFORMS)}: {transform!r}")
    times, deaths = np.unique(time[event], return_counts=True)
    at_risk = len(time) - np.searchsorted(np.sort(time), times, side="left")  # time >= t
    surv = np.cumprod(1 - deaths / at_risk)
    before = np.searchsorted(times, time, side="left")  # event times strictly before t
    return 1 - np.concatenate([[1.0], surv])[before]


def zph_score_test(
    x: np.ndarray,
    time: np.ndarray,
    event: np.ndarray,
    beta: np.ndarray,
    transform: str = "km",
) -> np.ndarray:
    """Chi-square (1 df) of each column of `x`: the score test, at the fitted Cox model (Efron
    ties, coefficients `beta`), of adding x_j g(t) with g the centred time transform. This is
    R's cox.zph (survival >= 3.0; Grambsch & Therneau 1994) column by column: the statistic is
    U_j^2 / (I_gg - I_gb I_bb^-1 I_bg), the information of the x_j g(t) term given all of beta.
    Tied event times share g(t) and their Efron risk-set means, so row order cannot matter."""
    x, time = np.asarray(x, dtype=float), np.asarray(time, dtype=float)
    event = np.asarray(event).astype(bool)
    g_rows = _time_transform(time, event, transform)
    g_rows = g_rows - g_rows[event].mean()
    eta = x @ np.asarray(beta, dtype=float)
    risk = np.exp(eta - eta.max())
    p = x.shape[1]
    u, i_bb, i_bg, i_gg = np.zeros(p), np.zeros((p, p)), np.zeros((p, p)), np.zeros((p, p))
    # The risk-set sums s0, s1, s2 of each event time, latest first: rows sorted by time
    # (latest first), each time's risk set is the previous one plus the rows from t up to it,
    # so every row is added once (not once per event time, as a mask per time would).
    order = np.argsort(-time, kind="stable")
    time, event, x, risk, g_rows = time[order], event[order], x[order], risk[order], g_rows[order]
    event_times = np.unique(time[event])[::-1]
    ends = np.searchsorted(-time, -event_times, side="right")  # rows with time >= t
    s0, s1, s2, start = 0.0, np.zeros(p), np.zeros((p, p)), 0
    for t, end in zip(event_times, ends, strict=True):
        xb, rb = x[start:end], risk[start:end]
        s0, s1, s2 = s0 + rb.sum(), s1 + rb @ xb, s2 + (xb * rb[:, None]).T @ xb
        dead = start + np.flatnonzero((time[start:end] == t) & event[start:end])
        start = end
        rd, xd = risk[dead], x[dead]
        e0, e1, e2 = rd.sum(), rd @ xd, (xd * rd[:, None]).T @ xd
        d = len(rd)
        score, info = xd.sum(axis=0), np.zeros((p, p))
        for k in range(d):  # Efron: the k-th of d tied deaths sees k/d of them removed
            share = k / d
            mean = (s1 - share * e1) / (s0 - share * e0)
            score = score - mean
            info += (s2 - share * e2) / (s0 - share * e0) - np.outer(mean, mean)
        g = g_rows[dead[0]]
        u += g * score
        i_bb += info
        i_bg += g * info
        i_gg += g**2 * info
    adjusted = np.diag(i_gg) - np.einsum("ij,ij->j", i_bg, np.linalg.solve(i_bb, i_bg))
    return u**2 / adjusted


def ph_test(
    data: pd.DataFrame,
    duration: str,
    event: str,
    arm: str,
    treated: object,
    control: object,
    covariates: Sequence[str] = (),
    transform: str = "km",
) -> dict[str, float]:
    """Proportional-hazards check of the arm term, as R's `cox.zph` reports it for that term:
    the score test of a time-varying arm effect (Schoenfeld residuals against g(t), by default
    R's `transform = "km"`), in the Cox model with `covariates`; chi-square on 1 df."""
    frame = _cox_frame(data, duration, event, arm, treated, control, covariates)
    fit = _fit(frame)
    columns = [c for c in frame.columns if c not in ("duration_", "event_")]
    chisq = zph_score_test(
        frame[columns].values,
        frame["duration_"].values,
        frame["event_"].values,
        fit.params_[columns].values,
        transform,
    )[columns.index("treated_")]
    return {"statistic": float(chisq), "p_value": float(stats.chi2.sf(chisq, 1))}


def rmst(durations: pd.Series, events: pd.Series, horizon: float) -> tuple[float, float]:
    """Restricted mean event-free time to `horizon` (area under the Kaplan-Meier curve, as
    lifelines.utils.restricted_mean_survival_time) and its Greenwood-type variance
    sum_i A_i^2 d_i / (n_i (n_i - d_i)) over event times t_i <= horizon, A_i the area under
    the curve from t_i to the horizon (Klein & Moeschberger 2003, section 4.5)."""
    km = KaplanMeierFitter().fit(durations, events)
    mean = float(restricted_mean_survival_time(km, t=horizon))
    table = km.event_table
    times = table.index.values.astype(float)
    surv = km.survival_function_.iloc[:, 0].reindex(table.index).values
    # step function: S(t) = surv[k] on [times[k], times[k+1]); area from t_i to horizon
    edges = np.append(times, np.inf)
    widths = np.clip(np.minimum(edges[1:], horizon) - np.minimum(edges[:-1], horizon), 0, None)
    pieces = surv * widths
    tail = np.cumsum(pieces[::-1])[::-1]  # area from times[k] to horizon
    d = table["observed"].values.astype(float)
    n = table["at_risk"].values.astype(float)
    use = (times <= horizon) & (d > 0) & (n > d)
    var = float(np.sum(tail[use] ** 2 * d[use] / (n[use] * (n[use] - d[use]))))
    return mean, var


def rmst_difference(
    data: pd.DataFrame,
    duration: str,
    event: str,
    arm: str,
    treated: object,
    control: object,
    horizon: float,
) -> dict[str, float]:
    """Restricted mean event-free time to `horizon` per arm and their difference, treated
    minus control, with a normal 95% CI from the two (independent) variances."""
    out: dict[str, float] = {}
    for name, level in (("treated", treated), ("control", control)):
        part = data[data[arm] == level]
        if part.empty:
            raise NotEstimable("an arm has no families")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out[f"rmst_{name}"], out[f"var_{name}"] = rmst(part[duration], part[event], horizon)
    diff = out["rmst_treated"] - out["rmst_control"]
    se = float(np.sqrt(out["var_treated"] + out["var_control"]))
    return {
        "rmst_treated": out["rmst_treated"],
        "rmst_control": out["rmst_control"],
        "difference": diff,
        "ci_low": diff - 1.959964 * se,
        "ci_high": diff + 1.959964 * se,
    }
