"""Impact evaluation: the trial's statistical analysis of outcomes by arm.

Descriptive layer (`arm_means`: means by arm with t intervals, `welch_test`: the unadjusted
Welch difference) and the analyses of the statistical analysis plan (config `sap:`): `ancova`
(the primary analysis: treated minus control adjusted for baseline and stratification factors,
with Hedges' g), `mixed_ancova` (random intercepts), `mice_ancova` + `rubin_pool` (multiple
imputation), `adjust_p` (multiplicity), `rate_ratio` and `risk_ratio` (counts and binary
outcomes), `effects_by_group` + `interaction_test` (heterogeneity), `attrition_model`,
`baseline_table` (Table 1) and `analysis_frame` (one row per randomised family). Models that
cannot be fitted in a small scope raise `NotEstimable`; `try_fit` turns that into None.
Time-to-event analyses are in `psp_eval.analyses.survival`, the CONSORT flow in `psp_eval.analyses.consort`.

The estimators work on any data (checked against R on public data sets in tests/reference,
and by property tests): a DataFrame in, the column names and the two arms' labels
(`arm`, `treated`, `control`) as arguments, a tidy result out. Their conventions:

* effects are treated minus control (ratios treated over control); swapping the labels flips
  the sign (inverts the ratio); rows of other arms are left out;
* rows missing a needed column are left out (complete cases; `n` counts those used), except
  in `mice_ancova`, which imputes the outcome and baseline;
* categorical columns (strings, bools, categories) are dummy-coded against their first level
  in sorted order (R's default for a character column; `attrition_model` takes `reference`);
  `interaction_test` and `effects_by_group` treat the subgroup as categorical even if numeric;
* intervals are 95%: t for linear models (OLS, as R's lm), Wald (normal) for the mixed model
  (statsmodels; R's lme uses t on its own df), the GLMs and Cox; the negative binomial's SE
  is the observed information by default (Stata's nbreg), `se="expected"` gives R's glm.nb;
* Rubin's rules use Barnard-Rubin degrees of freedom, as R's mice `pool`.
The notebook-facing functions (`score_effects`, `sensitivity_analyses`, `record_effects`,
`subgroup_effects`, `time_to_first_tests`, `score_means`, `means_by_arm`, `welch_difference`)
pass the project's own column names and arms to them.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from scipy import stats
from statsmodels.discrete.discrete_model import Logit, NegativeBinomial
from statsmodels.genmod import families
from statsmodels.genmod.generalized_linear_model import GLM
from statsmodels.imputation.mice import MICEData
from statsmodels.regression.linear_model import OLS, OLSResults
from statsmodels.stats.multitest import multipletests
from statsmodels.tools.tools import add_constant

from psp_eval.data.contract import ARMS
from psp_eval.data.scope import isin


def arm_means(
    data: pd.DataFrame, outcome: str, arm: str, levels: Sequence, level: float = 0.95
) -> pd.DataFrame:
    """n, mean, SD and t interval (R: t.test(x)$conf.int) of `outcome` in each of `levels`
    of `arm`, in that order; rows missing the outcome are left out (n counts those used)."""
    rows = []
    for value in levels:
        values = data.loc[data[arm] == value, outcome].dropna().astype(float)
        n = len(values)
        mean = values.mean() if n else np.nan
        sd = values.std(ddof=1) if n > 1 else np.nan
        half = stats.t.ppf(0.5 + level / 2, n - 1) * sd / np.sqrt(n) if n > 1 else np.nan
        rows.append(
            {
                "arm": value,
                "n": n,
                "mean": mean,
                "sd": sd,
                "ci_low": mean - half,
                "ci_high": mean + half,
            }
        )
    return pd.DataFrame(rows)


def welch_test(
    data: pd.DataFrame, outcome: str, arm: str, treated: object, control: object
) -> dict[str, float]:
    """Unadjusted difference in means, treated minus control, with Welch's 95% CI and
    p-value (R: t.test(y ~ arm), unequal variances); rows missing the outcome left out."""
    treated_values = data.loc[data[arm] == treated, outcome].dropna().astype(float)
    control_values = data.loc[data[arm] == control, outcome].dropna().astype(float)
    result = stats.ttest_ind(treated_values, control_values, equal_var=False)
    ci = result.confidence_interval(0.95)
    return {
        "estimate": float(treated_values.mean() - control_values.mean()),
        "ci_low": float(ci.low),
        "ci_high": float(ci.high),
        "p_value": float(result.pvalue),
        "n_treated": int(len(treated_values)),
        "n_control": int(len(control_values)),
    }


def _by_family(outcomes: pd.DataFrame, randomisation: pd.DataFrame) -> pd.DataFrame:
    return randomisation[["family_id", "arm"]].merge(outcomes, on="family_id", how="left")


def means_by_arm(outcomes: pd.DataFrame, randomisation: pd.DataFrame, column: str) -> pd.DataFrame:
    """`arm_means` of `column` in the project's tables (outcomes joined to the randomisation
    by family_id; the contract's arms sffc, usual)."""
    return arm_means(_by_family(outcomes, randomisation), column, "arm", ARMS)


def welch_difference(
    outcomes: pd.DataFrame, randomisation: pd.DataFrame, column: str
) -> dict[str, float]:
    """`welch_test` of `column`, sffc minus usual, in the project's tables."""
    treated, control = ARMS
    return welch_test(_by_family(outcomes, randomisation), column, "arm", treated, control)


# --- the trial's analyses ------------------------------------------------------------------
ANCOVA_COLUMNS = [
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "p_value",
    "n",
    "n_treated",
    "n_control",
    "hedges_g",
    "hedges_g_ci_low",
    "hedges_g_ci_high",
]
FOLLOW_UP_DAYS = 730  # 24 months from randomisation (the seed plan's follow-up)


class NotEstimable(ValueError):
    """Too few people or events in a scope to fit a model: report "not estimable"."""


def _design(
    data: pd.DataFrame,
    arm: str,
    treated: object,
    control: object,
    needed: Sequence[str],
    covariates: Sequence[str],
    baseline: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows of the two arms with every needed column, and the design matrix (constant,
    treatment indicator, baseline, dummy-coded covariates; constant columns dropped)."""
    rows = data[data[arm].isin([treated, control])]
    rows = rows.dropna(subset=[*needed, *covariates]).reset_index(drop=True)
    if rows.empty:
        raise NotEstimable(f"no complete rows for {', '.join(needed)}")
    parts = [
        pd.Series(1.0, index=rows.index, name="const"),
        (rows[arm] == treated).astype(float).rename("treated"),
    ]
    if baseline is not None:
        parts.append(rows[baseline].astype(float).rename("baseline"))
    for name in covariates:
        column = rows[name]
        if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
            parts.append(column.astype(float).rename(name))
        else:
            dummies = pd.get_dummies(column.astype(str), prefix=name, drop_first=True, dtype=float)
            parts.append(dummies)
    x = pd.concat(parts, axis=1)
    keep = [c for c in x.columns if c in ("const", "treated") or x[c].nunique() > 1]
    return rows, x[keep]


def ancova(
    data: pd.DataFrame,
    outcome: str,
    arm: str,
    treated: object,
    control: object,
    baseline: str | None = None,
    covariates: Sequence[str] = (),
) -> pd.DataFrame:
    """Treated minus control difference in `outcome` by OLS, adjusted for `baseline` and
    `covariates` (strings/categories dummy-coded), with its t interval, p-value, and Hedges' g.

    Complete cases only; `n` says how many rows were used. Hedges' g is the adjusted
    difference over the pooled within-arm SD of the outcome, times the small-sample
    correction J, with the Hedges & Olkin variance (Borenstein et al. 2009, ch. 4).
    """
    needed = [outcome] + ([baseline] if baseline else [])
    rows, x = _design(data, arm, treated, control, needed, covariates, baseline)
    n_t = int((x["treated"] == 1).sum())
    n_c = int((x["treated"] == 0).sum())
    if n_t < 2 or n_c < 2 or len(rows) <= x.shape[1] + 1:
        raise NotEstimable(f"too few complete rows for {outcome} ({n_t} treated, {n_c} control)")
    y = rows[outcome].astype(float)
    fit = OLS(y, x).fit()
    low, high = fit.conf_int(0.05).loc["treated"]
    sd = pooled_sd(y[x["treated"] == 1], y[x["treated"] == 0])
    g = hedges_g_from_d(float(fit.params["treated"]) / sd, n_t, n_c)
    return pd.DataFrame(
        [
            {
                "estimate": float(fit.params["treated"]),
                "se": float(fit.bse["treated"]),
                "ci_low": float(low),
                "ci_high": float(high),
                "p_value": float(fit.pvalues["treated"]),
                "n": len(rows),
                "n_treated": n_t,
                "n_control": n_c,
                "hedges_g": g.g,
                "hedges_g_ci_low": g.ci_low,
                "hedges_g_ci_high": g.ci_high,
            }
        ]
    )[ANCOVA_COLUMNS]


def pooled_sd(a: pd.Series, b: pd.Series) -> float:
    """Pooled within-group standard deviation of two samples."""
    na, nb = len(a), len(b)
    return float(
        np.sqrt(((na - 1) * np.var(a, ddof=1) + (nb - 1) * np.var(b, ddof=1)) / (na + nb - 2))
    )


@dataclass(frozen=True)
class HedgesG:
    """Hedges' g with its standard error and 95% interval."""

    d: float
    g: float
    se: float
    ci_low: float
    ci_high: float


def hedges_g_from_d(d: float, n_treated: int, n_control: int, level: float = 0.95) -> HedgesG:
    """Cohen's d corrected for small samples: g = J d, J = 1 - 3/(4 df - 1), df = n1 + n2 - 2;
    V_d = (n1 + n2)/(n1 n2) + d^2/(2 (n1 + n2)), V_g = J^2 V_d (Borenstein et al. 2009,
    eqs 4.18-4.24); normal interval g +/- z SE_g."""
    n1, n2 = n_treated, n_control
    j = 1 - 3 / (4 * (n1 + n2 - 2) - 1)
    var_d = (n1 + n2) / (n1 * n2) + d**2 / (2 * (n1 + n2))
    se = float(j * np.sqrt(var_d))
    z = stats.norm.ppf(0.5 + level / 2)
    g = float(j * d)
    return HedgesG(d=float(d), g=g, se=se, ci_low=g - z * se, ci_high=g + z * se)


def hedges_g(mean_t: float, sd_t: float, n_t: int, mean_c: float, sd_c: float, n_c: int) -> HedgesG:
    """Hedges' g of two groups' summary statistics (treated minus control)."""
    s = np.sqrt(((n_t - 1) * sd_t**2 + (n_c - 1) * sd_c**2) / (n_t + n_c - 2))
    return hedges_g_from_d((mean_t - mean_c) / s, n_t, n_c)


def adjust_p(p_values: Sequence[float], method: str = "holm") -> list[float]:
    """Multiplicity-adjusted p-values (statsmodels `multipletests` methods: holm, bonferroni,
    hommel, fdr_bh, ...; "none" returns them unchanged)."""
    if method == "none":
        return [float(p) for p in p_values]
    return [float(p) for p in multipletests(list(p_values), method=method)[1]]


# --- the family-level analysis frame --------------------------------------------------------
def analysis_frame(
    tables: dict[str, pd.DataFrame], follow_up_days: int = FOLLOW_UP_DAYS
) -> pd.DataFrame:
    """One row per randomised family: arm, stratification factors (hub, LA, referral group),
    index child's age/sex/ethnicity, family size, scores at baseline and week 8, and
    follow-up outcomes to `follow_up_days` (shorter for withdrawn families): days followed,
    first re-referral (days, event), re-referrals, nights away, entry to care."""
    rand = tables["randomisation"][["family_id", "arm", "randomised_date"]]
    ref = tables["referrals"][["family_id", "la_code", "referral_group", "n_children"]]
    las = tables["las"][["la_code", "hub_id"]]
    frame = rand.merge(ref, on="family_id", how="left").merge(las, on="la_code", how="left")
    children = tables["children"]
    index = children[children["index_child"].fillna(False).astype(bool)]
    index = index[["family_id", "dob", "sex", "ethnicity"]]
    frame = frame.merge(index, on="family_id", how="left")
    frame["child_age"] = ((frame["randomised_date"] - frame["dob"]).dt.days / 365.25).astype(float)
    frame = frame.drop(columns="dob")
    frame = frame.merge(tables["outcomes"], on="family_id", how="left")
    withdrawals = tables["withdrawals"][["family_id", "withdrawal_date"]]
    frame = frame.merge(withdrawals, on="family_id", how="left")
    frame["withdrawn"] = frame["withdrawal_date"].notna()
    days_to_withdrawal = (frame["withdrawal_date"] - frame["randomised_date"]).dt.days
    frame["follow_up_days"] = (
        days_to_withdrawal.clip(upper=follow_up_days).fillna(follow_up_days).astype(float)
    )
    events = tables["care_events"].merge(rand[["family_id", "randomised_date"]], on="family_id")
    events["day"] = (events["event_date"] - events["randomised_date"]).dt.days
    events = events.merge(frame[["family_id", "follow_up_days"]], on="family_id")
    events = events[(events["day"] >= 0) & (events["day"] <= events["follow_up_days"])]
    by_type = {kind: part for kind, part in events.groupby("event_type")}
    empty = events.iloc[0:0]
    rerefs = by_type.get("re_referral", empty)
    first = rerefs.groupby("family_id")["day"].min()
    frame["re_referrals"] = (
        frame["family_id"].map(rerefs.groupby("family_id").size()).fillna(0).astype(float)
    )
    frame["re_referred"] = isin(frame["family_id"], first.index)
    frame["days_to_re_referral"] = (
        frame["family_id"].map(first).astype(float).fillna(frame["follow_up_days"])
    )
    away = by_type.get("nights_away", empty)
    frame["nights_away"] = (
        frame["family_id"].map(away.groupby("family_id")["nights"].sum()).fillna(0).astype(float)
    )
    frame["away_episodes"] = (
        frame["family_id"].map(away.groupby("family_id").size()).fillna(0).astype(float)
    )
    entered = set(by_type.get("care_entry", empty)["family_id"])
    frame["care_entry"] = isin(frame["family_id"], entered)
    frame["years_followed"] = frame["follow_up_days"] / 365.25
    for column in ("arm", "hub_id", "la_code", "referral_group", "sex", "ethnicity"):
        frame[column] = frame[column].astype(object)
    return frame


def age_band(age: pd.Series, edges: Sequence[float]) -> pd.Series:
    """Ages cut into bands [e0, e1), [e1, e2), ... labelled "e0-(e1-1)" in whole years."""
    labels = [f"{int(lo)}-{int(hi) - 1}" for lo, hi in itertools.pairwise(edges)]
    return pd.cut(age, bins=list(edges), right=False, labels=labels).astype(object)


# --- sensitivity analyses --------------------------------------------------------------------
def mixed_ancova(
    data: pd.DataFrame,
    outcome: str,
    arm: str,
    treated: object,
    control: object,
    baseline: str | None = None,
    covariates: Sequence[str] = (),
    *,
    group: str,
    nested: str | None = None,
) -> pd.DataFrame:
    """ANCOVA as a linear mixed model (REML) with a random intercept per `group` and, when
    `nested` is given and the model fits, per `nested` within group (R: lmer(y ~ arm + ... +
    (1 | group/nested))); falls back to the group intercept alone. Columns as `ancova` (no
    Hedges' g) plus `model` saying which model was fitted. Any column names work: the model
    is fitted on internally named copies of the columns."""
    needed = [outcome, group, *([baseline] if baseline else []), *([nested] if nested else [])]
    source = data[data[arm].isin([treated, control])].dropna(subset=[*needed, *covariates])
    rows = pd.DataFrame(
        {
            "y_": source[outcome].astype(float).values,
            "treated_": (source[arm] == treated).astype(float).values,
            "group_": source[group].values,
        }
    )
    terms = ["treated_"]
    if baseline:
        rows["baseline_"] = source[baseline].astype(float).values
        terms.append("baseline_")
    for i, name in enumerate(covariates):
        column = source[name]
        numeric = pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)
        rows[f"c{i}_"] = column.astype(float).values if numeric else column.astype(str).values
        terms.append(f"c{i}_" if numeric else f"C(c{i}_)")
    if nested:
        rows["nested_"] = source[nested].astype(str).values
    if rows["group_"].nunique() < 2:
        raise NotEstimable(f"a random intercept per {group} needs at least two groups")
    formula = "y_ ~ " + " + ".join(terms)
    attempts = []
    if nested:
        attempts.append(
            (
                f"{group} and {nested} random intercepts",
                {"vc_formula": {"nested_": "0 + C(nested_)"}, "re_formula": "1"},
            )
        )
    attempts.append((f"{group} random intercept", {}))
    for label, extra in attempts:
        fit = _best_reml_fit(smf.mixedlm(formula, rows, groups=rows["group_"], **extra))
        if fit is None:
            continue
        low, high = fit.conf_int(0.05).loc["treated_"]
        return pd.DataFrame(
            [
                {
                    "estimate": float(fit.params["treated_"]),
                    "se": float(fit.bse["treated_"]),
                    "ci_low": float(low),
                    "ci_high": float(high),
                    "p_value": float(fit.pvalues["treated_"]),
                    "n": len(rows),
                    "n_treated": int(rows["treated_"].sum()),
                    "n_control": int((1 - rows["treated_"]).sum()),
                    "model": label,
                }
            ]
        )
    raise NotEstimable("the mixed model did not converge")


# Derivative-free first: the gradient optimisers can stop short of the REML optimum (|grad|
# ~0.07) on one coding of the arms and "converge" on the other, so which arm is called treated
# decided whether a model was estimable. Of the fits that converge, the highest REML
# likelihood wins. Once one has converged, the next optimiser starts from it, so it can only
# confirm or improve it: from the default start they ended lower (or did not converge) on
# the 50,000-family trial and took 1-4 s each, from Powell's optimum 0.1 s.
MIXED_OPTIMISERS = ("powell", "lbfgs", "cg")


def _best_reml_fit(model):
    """The converged REML fit of `model` with the highest likelihood over MIXED_OPTIMISERS, or
    None when none converges to finite standard errors."""
    best = None
    for method in MIXED_OPTIMISERS:
        start = None if best is None else best.params_object
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                fit = model.fit(reml=True, method=[method], start_params=start)
            except (np.linalg.LinAlgError, ValueError):
                continue
        if not (fit.converged and np.isfinite(fit.llf) and np.isfinite(fit.bse["treated_"])):
            continue
        if best is None or fit.llf > best.llf + 1e-9:
            best = fit
    return best


@dataclass(frozen=True)
class Pooled:
    """A multiply-imputed estimate pooled by Rubin's rules."""

    estimate: float
    se: float
    df: float
    ci_low: float
    ci_high: float
    p_value: float
    within: float
    between: float
    m: int

    @property
    def fraction_missing_information(self) -> float:
        """(1 + 1/m) B / T: the share of the variance due to the missing data (approx.)."""
        return (1 + 1 / self.m) * self.between / self.se**2


def rubin_pool(
    estimates: Sequence[float],
    variances: Sequence[float],
    level: float = 0.95,
    *,
    dfcom: float,
) -> Pooled:
    """Rubin's rules (Rubin 1987): pooled mean Q, total variance T = W + (1 + 1/m) B, and a t
    reference with Barnard & Rubin's (1999) small-sample degrees of freedom, as R's mice
    `pool`: lambda = (1 + 1/m) B / T (at least 1e-4), df_old = (m - 1) / lambda^2, df_obs =
    (dfcom + 1) / (dfcom + 3) dfcom (1 - lambda), df = df_old df_obs / (df_old + df_obs).
    `dfcom` is the complete-data residual df (np.inf gives Rubin's large-sample df_old)."""
    q = np.asarray(estimates, dtype=float)
    u = np.asarray(variances, dtype=float)
    m = len(q)
    if m < 2:
        raise ValueError("Rubin's rules need at least two imputations")
    w = float(u.mean())
    b = float(q.var(ddof=1))
    t = w + (1 + 1 / m) * b
    lam = max((1 + 1 / m) * b / t, 1e-4)
    df_old = (m - 1) / lam**2
    if np.isinf(dfcom):
        df = df_old
    else:
        df_obs = (dfcom + 1) / (dfcom + 3) * dfcom * (1 - lam)
        df = df_old * df_obs / (df_old + df_obs)
    est = float(q.mean())
    se = float(np.sqrt(t))
    crit = stats.t.ppf(0.5 + level / 2, df)
    p = float(2 * stats.t.sf(abs(est / se), df))
    return Pooled(est, se, float(df), est - crit * se, est + crit * se, p, w, b, m)


class CrossProductOLS(OLS):
    """OLS fitted from the cross-products X'X and X'y: MICE's imputation model.

    Why: statsmodels' `OLS.fit` takes the pseudo-inverse of the whole n x p design (an SVD)
    each time MICE updates a variable, most of the impact notebook's time at 37,000 families.
    The p x p cross-products give the same estimates, covariance and rank (a rank-deficient
    design gets the same minimum-norm estimates as the pseudo-inverse)."""

    def fit(self, **kwargs) -> OLSResults:
        x, y = self.wexog, self.wendog
        xtx = x.T @ x
        self.normalized_cov_params = np.linalg.pinv(xtx, hermitian=True)
        self.rank = int(np.linalg.matrix_rank(xtx, hermitian=True))
        self._df_model = float(self.rank - self.k_constant)
        self.df_resid = self.nobs - self.rank
        beta = self.normalized_cov_params @ (x.T @ y)
        return OLSResults(self, beta, normalized_cov_params=self.normalized_cov_params)


class _MainEffectsMICEData(MICEData):
    """MICEData whose imputation models are the default ones (each variable on the intercept
    and every other column), with their design matrices taken from the data directly.

    Why: statsmodels builds each design through patsy at every update, which parses the
    formula and checks every cell for missing values again: 27 of the 30 s of MICE in the
    trial's impact notebook at 50,000 families. The matrices are the same: the intercept,
    then the other columns in the data's order, as patsy orders `v ~ a + b + ...`."""

    def _design(self, vname: str) -> tuple[np.ndarray, np.ndarray]:
        others = [column for column in self.data.columns if column != vname]
        exog = np.ones((len(self.data), len(others) + 1))
        exog[:, 1:] = self.data[others].to_numpy(dtype=float)
        return self.data[vname].to_numpy(dtype=float), exog

    def set_imputer(self, endog_name, formula=None, **kwargs) -> None:
        if formula is not None:
            raise ValueError("only the default (main effects) imputation formula is supported")
        super().set_imputer(endog_name, **kwargs)

    def get_split_data(self, vname):
        endog, exog = self._design(vname)
        observed, missing = self.ix_obs[vname], self.ix_miss[vname]
        kwds = self.predict_kwds.get(vname, {})
        return (
            endog[observed],
            exog[observed],
            exog[missing],
            self._process_kwds(kwds, observed),
            self._process_kwds(kwds, missing),
        )

    def get_fitting_data(self, vname):
        endog, exog = self._design(vname)
        observed = self.ix_obs[vname]
        return (
            endog[observed],
            exog[observed],
            self._process_kwds(self.init_kwds[vname], observed),
            self._process_kwds(self.fit_kwds[vname], observed),
        )


def mice_ancova(
    data: pd.DataFrame,
    outcome: str,
    arm: str,
    treated: object,
    control: object,
    baseline: str,
    covariates: Sequence[str] = (),
    auxiliary: Sequence[str] = (),
    m: int = 10,
    iterations: int = 5,
    seed: int = 0,
) -> Pooled:
    """ANCOVA after multiple imputation by chained equations (statsmodels MICEData:
    predictive mean matching) of the outcome, baseline and numeric `auxiliary` columns,
    given arm and the dummy-coded covariates; the m estimates pooled by Rubin's rules with
    Barnard-Rubin df (complete-data df: the ANCOVA's residual df). Any column names work;
    the rows are put in an order of their values first, so the row order does not matter."""
    rows = (
        data[data[arm].isin([treated, control])]
        .dropna(subset=list(covariates))
        .reset_index(drop=True)
    )
    numeric = pd.DataFrame({"treated_": (rows[arm] == treated).astype(float)})
    for name in covariates:
        numeric = numeric.join(
            pd.get_dummies(rows[name].astype(str), prefix=name, drop_first=True, dtype=float)
        )
    numeric.columns = [f"x{i}" for i in range(numeric.shape[1])]
    covariate_columns = list(numeric.columns[1:])
    # MICEData builds formulas from the column names: give every column a Python name
    numeric["y_"] = rows[outcome].astype(float)
    numeric["baseline_"] = rows[baseline].astype(float)
    for i, name in enumerate(auxiliary):
        numeric[f"aux{i}_"] = rows[name].astype(float)
    numeric = numeric.loc[:, numeric.nunique() > 1]
    covariate_columns = [c for c in covariate_columns if c in numeric.columns]
    # the imputations' random draws follow the row order: fix it by the values (the arm
    # last, so that swapping the arms' labels reorders only rows equal in all else)
    order = [c for c in numeric.columns if c != "x0"] + ["x0"]
    numeric = numeric.sort_values(order, kind="mergesort").reset_index(drop=True)
    # same seed, same imputations
    imputer = _MainEffectsMICEData(numeric, rng=np.random.default_rng(seed))
    for name in numeric.columns[numeric.isna().any()]:
        imputer.set_imputer(name, model_class=CrossProductOLS)
    estimates, variances, dfcom = [], [], np.inf
    for _ in range(m):
        imputer.update_all(iterations)
        done = imputer.data
        x = add_constant(done[["x0", "baseline_", *covariate_columns]], has_constant="add")
        fit = OLS(done["y_"], x).fit()
        estimates.append(float(fit.params["x0"]))
        variances.append(float(fit.bse["x0"] ** 2))
        dfcom = float(fit.df_resid)
    return rubin_pool(estimates, variances, dfcom=dfcom)


# --- attrition ----------------------------------------------------------------------------------
def attrition_model(
    data: pd.DataFrame,
    missing: str,
    predictors: Sequence[str],
    reference: dict[str, object] | None = None,
) -> pd.DataFrame:
    """Odds ratios (95% CI, p) of a missing follow-up (`missing`: 0/1 or bool) from a logistic
    regression on `predictors` (R: glm(missing ~ ..., family = binomial), Wald intervals):
    which baseline characteristics predict attrition. Categorical predictors are dummy-coded
    against `reference[name]`, or, when not given, their first level in sorted order (R's
    default for a character column); terms are named "name_level", and each row also says
    its `predictor` and, for a categorical one, its `level` and `reference` level."""
    reference = reference or {}
    rows = data.dropna(subset=list(predictors))
    parts = []
    terms: dict[str, tuple[str, str | None, str | None]] = {}  # term -> predictor, level, base
    for name in predictors:
        column = rows[name]
        if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
            parts.append(column.astype(float).rename(name))
            terms[name] = (name, None, None)
        else:
            text = column.astype(str)
            base = str(reference.get(name, sorted(text.unique())[0]))
            if base not in set(text):
                raise ValueError(f"reference level {base!r} of {name} is not in the data")
            levels = sorted(set(text) - {base})
            dummies = pd.get_dummies(text, prefix=name, dtype=float)
            parts.append(dummies[[f"{name}_{level}" for level in levels]])
            terms |= {f"{name}_{level}": (name, level, base) for level in levels}
    x = add_constant(pd.concat(parts, axis=1))
    x = x.loc[:, (x.nunique() > 1) | (x.columns == "const")]
    y = rows[missing].astype(float)
    if y.sum() < 5 or (1 - y).sum() < 5:
        raise NotEstimable("too few families with (or without) missing follow-up")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = Logit(y, x).fit(disp=False)
    if not fit.mle_retvals["converged"] or not np.isfinite(fit.bse).all():
        # e.g. a predictor that separates the missing from the rest: no finite odds ratio
        raise NotEstimable("the logistic regression of missing follow-up did not converge")
    ci = fit.conf_int()
    names = [terms.get(term, (term, None, None)) for term in fit.params.index]
    out = pd.DataFrame(
        {
            "term": fit.params.index,
            "predictor": [name for name, _, _ in names],
            "level": [level for _, level, _ in names],
            "reference": [base for _, _, base in names],
            "odds_ratio": np.exp(fit.params.values),
            "ci_low": np.exp(ci[0].values),
            "ci_high": np.exp(ci[1].values),
            "p_value": fit.pvalues.values,
        }
    )
    return out[out["term"] != "const"].reset_index(drop=True)


# --- counts and binary outcomes -------------------------------------------------------------------
def _negative_binomial(y: pd.Series, x: pd.DataFrame, offset: pd.Series):
    """NB2 maximum likelihood by Newton's method (analytic Hessian, converges to machine
    precision, so swapping the arms inverts the ratio exactly); BFGS where Newton fails to
    converge or meets a singular Hessian. None if neither converges."""
    model = NegativeBinomial(y, x, offset=offset)
    for method in ("newton", "bfgs"):
        try:
            fit = model.fit(method=method, disp=False, maxiter=200)
        except np.linalg.LinAlgError:
            continue
        if fit.mle_retvals.get("converged", False):
            return fit
    return None


def rate_ratio(
    data: pd.DataFrame,
    count: str,
    exposure: str,
    arm: str,
    treated: object,
    control: object,
    covariates: Sequence[str] = (),
    se: str = "observed",
) -> pd.DataFrame:
    """Rate ratio treated over control of a count per unit `exposure` (log offset): negative
    binomial (NB2, dispersion estimated by maximum likelihood) regression; Poisson with
    robust (HC0) SE if the negative binomial cannot be fitted. Columns rate_ratio, ci_low,
    ci_high, p_value, n, events, model.

    `se`: "observed" (default) takes the SE from the observed information of the joint fit
    of coefficients and dispersion (as Stata's nbreg, statsmodels NegativeBinomial);
    "expected" from the expected information given the dispersion, as R's MASS::glm.nb
    reports it. The estimates are the same; the SEs differ in the 2nd-3rd figure."""
    if se not in ("observed", "expected"):
        raise ValueError(f"se must be 'observed' or 'expected': {se!r}")
    rows, x = _design(data, arm, treated, control, [count, exposure], covariates)
    rows = rows[rows[exposure] > 0]
    x = x.loc[rows.index]
    y = rows[count].astype(float)
    if y[x["treated"] == 1].sum() == 0 or y[x["treated"] == 0].sum() == 0:
        raise NotEstimable(f"no {count} events in one arm")
    offset = np.log(rows[exposure].astype(float))
    fit, model = None, "negative binomial"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            nb = _negative_binomial(y, x, offset)
            if nb is not None and np.isfinite(nb.bse["treated"]):
                fit = nb
            if fit is not None and se == "expected":
                alpha = float(nb.params["alpha"])
                family = families.NegativeBinomial(alpha=alpha)
                fit = GLM(y, x, family=family, offset=offset).fit(start_params=nb.params[:-1])
        except (np.linalg.LinAlgError, ValueError):
            fit = None
        if fit is None:
            model = "Poisson, robust SE"
            fit = GLM(y, x, family=families.Poisson(), offset=offset).fit(cov_type="HC0")
    low, high = fit.conf_int(0.05).loc["treated"]
    return pd.DataFrame(
        [
            {
                "rate_ratio": float(np.exp(fit.params["treated"])),
                "ci_low": float(np.exp(low)),
                "ci_high": float(np.exp(high)),
                "p_value": float(fit.pvalues["treated"]),
                "n": len(rows),
                "events": float(y.sum()),
                "model": model,
            }
        ]
    )


def risk_ratio(
    data: pd.DataFrame, event: str, arm: str, treated: object, control: object
) -> pd.DataFrame:
    """Risk (%) per arm and the risk ratio treated over control with the Katz log interval."""
    rows = data[data[arm].isin([treated, control])].dropna(subset=[event])
    t = rows.loc[rows[arm] == treated, event].astype(bool)
    c = rows.loc[rows[arm] == control, event].astype(bool)
    a, n1, b, n0 = int(t.sum()), len(t), int(c.sum()), len(c)
    if min(a, b) == 0 or min(n1, n0) == 0:
        raise NotEstimable(f"no {event} in one arm")
    rr = (a / n1) / (b / n0)
    se = np.sqrt(1 / a - 1 / n1 + 1 / b - 1 / n0)
    z = (np.log(rr)) / se
    return pd.DataFrame(
        [
            {
                "pct_treated": 100 * a / n1,
                "pct_control": 100 * b / n0,
                "events_treated": a,
                "n_treated": n1,
                "events_control": b,
                "n_control": n0,
                "risk_ratio": rr,
                "ci_low": float(np.exp(np.log(rr) - 1.959964 * se)),
                "ci_high": float(np.exp(np.log(rr) + 1.959964 * se)),
                "p_value": float(2 * stats.norm.sf(abs(z))),
            }
        ]
    )


# --- heterogeneity ----------------------------------------------------------------------------------
def effects_by_group(
    data: pd.DataFrame,
    group: str,
    outcome: str,
    arm: str,
    treated: object,
    control: object,
    baseline: str | None = None,
    covariates: Sequence[str] = (),
) -> pd.DataFrame:
    """`ancova` within each level of `group` (levels too small to fit give NaN estimates)."""
    rows = []
    for level, part in data.groupby(group, sort=True):
        try:
            result = (
                ancova(
                    part,
                    outcome,
                    arm,
                    treated,
                    control,
                    baseline,
                    [c for c in covariates if c != group],
                )
                .iloc[0]
                .to_dict()
            )
        except NotEstimable:
            result = {c: np.nan for c in ANCOVA_COLUMNS}
            result.update(
                n=len(part),
                n_treated=int((part[arm] == treated).sum()),
                n_control=int((part[arm] == control).sum()),
            )
        rows.append({group: level, **result})
    return pd.DataFrame(rows)


def interaction_test(
    data: pd.DataFrame,
    group: str,
    outcome: str,
    arm: str,
    treated: object,
    control: object,
    baseline: str | None = None,
    covariates: Sequence[str] = (),
) -> dict[str, float]:
    """F test that the treatment effect is the same in every level of `group`: the ANCOVA
    with `group` and group-by-arm terms against the ANCOVA with `group` only (R: anova(lm(y ~
    arm + factor(group) + ...), lm(y ~ arm * factor(group) + ...))). `group` is always taken as
    categorical, numbers too (a dose 0.5/1/2 is three subgroups), as `effects_by_group`."""
    others = [c for c in covariates if c != group]
    needed = [outcome, group] + ([baseline] if baseline else [])
    categorical = data.assign(**{group: data[group].map(str, na_action="ignore")})
    rows, x = _design(categorical, arm, treated, control, needed, others, baseline)
    levels = pd.get_dummies(rows[group], prefix="subgroup", drop_first=True, dtype=float)
    if levels.shape[1] == 0:
        raise NotEstimable(f"only one level of {group}")
    x = pd.concat([x, levels], axis=1)
    inter = levels.mul(x["treated"], axis=0).add_suffix(":treated")
    y = rows[outcome].astype(float)
    small = OLS(y, x).fit()
    large = OLS(y, pd.concat([x, inter], axis=1)).fit()
    f, p, df = large.compare_f_test(small)
    return {
        "f": float(f),
        "df_num": float(df),
        "df_den": float(large.df_resid),
        "p_value": float(p),
    }


def try_fit(function, *args, **kwargs):
    """`function(*args, **kwargs)`, or None when the scope is too small to fit it
    (NotEstimable, or a numerical failure of the fitting routine)."""
    try:
        return function(*args, **kwargs)
    except (NotEstimable, np.linalg.LinAlgError):
        return None


# --- the trial's analyses over the design's outcomes ---------------------------------------------
EFFECT_COLUMNS = [*ANCOVA_COLUMNS, "outcome", "role", "p_adjusted", "p_method", "estimable"]


def score_effects(
    frame: pd.DataFrame,
    outcomes: Sequence,
    *,
    arm: str,
    treated: object,
    control: object,
    covariates: Sequence[str],
    multiplicity: str,
) -> pd.DataFrame:
    """The primary analysis of every questionnaire outcome (`outcomes`: design Outcomes with
    `column`, `baseline_column`, `role`): ANCOVA on the baseline score and `covariates`, one row
    per outcome. Primary outcomes' p-values are adjusted together by `multiplicity` (the ones
    that could be estimated); secondary outcomes' stay unadjusted. An outcome that cannot be
    fitted has `estimable` False, NaN statistics and its arms' counts of non-missing values."""
    rows, fits = [], {}
    for o in outcomes:
        fits[o.id] = try_fit(
            ancova, frame, o.column, arm, treated, control, o.baseline_column, covariates
        )
    primary = [o.id for o in outcomes if o.role == "primary" and fits[o.id] is not None]
    adjusted = dict(
        zip(primary, adjust_p([fits[i]["p_value"].iloc[0] for i in primary], multiplicity))
    )
    for o in outcomes:
        fit = fits[o.id]
        if fit is None:
            row = dict.fromkeys(ANCOVA_COLUMNS, np.nan)
            for key, level in (("n_treated", treated), ("n_control", control)):
                row[key] = int(frame.loc[frame[arm] == level, o.column].notna().sum())
        else:
            row = fit.iloc[0].to_dict()
        is_primary = o.role == "primary"
        method = multiplicity if is_primary and multiplicity != "none" else "unadjusted"
        raw = row["p_value"]
        row |= {
            "outcome": o.id,
            "role": o.role,
            "p_adjusted": adjusted.get(o.id, np.nan) if is_primary else raw,
            "p_method": method,
            "estimable": fit is not None,
        }
        rows.append(row)
    return pd.DataFrame(rows)[EFFECT_COLUMNS]


SENSITIVITY_COLUMNS = [
    "outcome",
    "analysis",
    "model",
    "estimate",
    "ci_low",
    "ci_high",
    "p_value",
    "n",
]


def sensitivity_analyses(
    frame: pd.DataFrame,
    outcomes: Sequence,
    effects: pd.DataFrame,
    *,
    arm: str,
    treated: object,
    control: object,
    covariates: Sequence[str],
    group: str,
    nested: str | None,
    mixed_covariates: Sequence[str],
    welch: callable,
    imputations: int | None,
    iterations: int = 5,
    seed: int = 0,
) -> pd.DataFrame:
    """The primary ANCOVA (`effects`, from `score_effects`) beside the unadjusted difference
    (`welch(column)`), a mixed model with random intercepts for `group` (and `nested` within
    it), and, when `imputations` is given, multiple imputation of the missing scores: one row
    per outcome and analysis (NaN where not estimable)."""
    rows = []
    by_id = effects.set_index("outcome")
    for o in outcomes:
        y, b = o.column, o.baseline_column
        primary = by_id.loc[o.id]
        rows.append({"outcome": o.id, "analysis": "ancova", "model": "",
                     **{k: primary[k] for k in ("estimate", "ci_low", "ci_high", "p_value", "n")}})  # fmt: skip
        w = welch(y)
        rows.append({"outcome": o.id, "analysis": "welch", "model": "", **w, "n": w["n_treated"] + w["n_control"]})  # fmt: skip
        mixed = try_fit(
            mixed_ancova, frame, y, arm, treated, control, b, list(mixed_covariates),
            group=group, nested=nested,
        )  # fmt: skip
        rows.append({"outcome": o.id, "analysis": "mixed",
                     **({"model": ""} if mixed is None else mixed.iloc[0][["model", "estimate", "ci_low", "ci_high", "p_value", "n"]].to_dict())})  # fmt: skip
        if imputations:
            pooled = try_fit(
                mice_ancova, frame, y, arm, treated, control, b, covariates,
                m=imputations, iterations=iterations, seed=seed,
            )  # fmt: skip
            values = {} if pooled is None else {
                "estimate": pooled.estimate, "ci_low": pooled.ci_low, "ci_high": pooled.ci_high,
                "p_value": pooled.p_value, "n": len(frame),
            }  # fmt: skip
            rows.append(
                {"outcome": o.id, "analysis": "mice", "model": f"m = {imputations}", **values}
            )
    return pd.DataFrame(rows).reindex(columns=[*SENSITIVITY_COLUMNS, "n_treated", "n_control"])


RECORD_COLUMNS = [
    "outcome", "measure", "estimate", "ci_low", "ci_high", "p_value", "model",
    "pct_treated", "pct_control", "events_treated", "events_control", "n_arm_treated",
    "n_arm_control",
]  # fmt: skip


def record_effects(
    frame: pd.DataFrame,
    outcomes: Sequence,
    *,
    arm: str,
    treated: object,
    control: object,
    covariates: Sequence[str],
) -> pd.DataFrame:
    """Every analysis of the LA-record outcomes (`outcomes`: design Outcomes with `rate`,
    `risk` and/or `time_to_first`), treated over control: rate ratios (negative binomial with
    log years followed as offset), risk ratios, Cox hazard ratios of the first event. One row
    per outcome and measure, NaN where not estimable; risks per arm are counted either way."""
    from psp_eval.analyses import survival

    n_t, n_c = int((frame[arm] == treated).sum()), int((frame[arm] == control).sum())
    rows = []
    for o in outcomes:
        if o.rate:
            r = try_fit(rate_ratio, frame, o.rate["count"], "years_followed", arm, treated, control, covariates)  # fmt: skip
            rows.append({"outcome": o.id, "measure": "rate",
                         **({} if r is None else {"estimate": r["rate_ratio"].iloc[0], **r.iloc[0][["ci_low", "ci_high", "p_value", "model"]].to_dict()})})  # fmt: skip
        if o.time_to_first:
            t = o.time_to_first
            c = try_fit(survival.cox_by_arm, frame, t["duration"], t["event"], arm, treated, control, covariates)  # fmt: skip
            rows.append({"outcome": o.id, "measure": "time_to_first",
                         **({} if c is None else {"estimate": c["hazard_ratio"].iloc[0], **c.iloc[0][["ci_low", "ci_high", "p_value"]].to_dict(), "model": "Cox"})})  # fmt: skip
        if o.risk:
            event = o.risk["event"]
            risk = try_fit(risk_ratio, frame, event, arm, treated, control)
            pct = {
                key: 100 * frame.loc[frame[arm] == level, event].mean() if n else np.nan
                for key, level, n in (("pct_treated", treated, n_t), ("pct_control", control, n_c))
            }
            values = {} if risk is None else {
                "estimate": risk["risk_ratio"].iloc[0],
                **risk.iloc[0][["ci_low", "ci_high", "p_value", "events_treated", "events_control"]].to_dict(),
            }  # fmt: skip
            rows.append(
                {"outcome": o.id, "measure": "risk", **values, **pct, "model": "risk ratio"}
            )
    out = pd.DataFrame(rows).reindex(columns=RECORD_COLUMNS)
    out["n_arm_treated"], out["n_arm_control"] = n_t, n_c
    return out


def time_to_first_tests(
    frame: pd.DataFrame,
    duration: str,
    event: str,
    *,
    arm: str,
    treated: object,
    control: object,
    covariates: Sequence[str],
    horizon: float,
) -> dict[str, dict | None]:
    """The log-rank test, the proportional-hazards check of the arm term and the difference in
    restricted mean event-free time to `horizon`, each None where not estimable."""
    from psp_eval.analyses import survival

    return {
        "logrank": try_fit(survival.logrank, frame, duration, event, arm, treated, control),
        "ph": try_fit(survival.ph_test, frame, duration, event, arm, treated, control, covariates),
        "rmst": try_fit(survival.rmst_difference, frame, duration, event, arm, treated, control, horizon),
    }  # fmt: skip


def subgroup_effects(
    frame: pd.DataFrame,
    group: str,
    outcome,
    *,
    arm: str,
    treated: object,
    control: object,
    covariates: Sequence[str],
) -> tuple[pd.DataFrame, float | None]:
    """The primary ANCOVA of `outcome` within each level of `group`, and the interaction
    test's p-value (None where not estimable)."""
    y, b = outcome.column, outcome.baseline_column
    effects = effects_by_group(frame, group, y, arm, treated, control, b, covariates)
    test = try_fit(interaction_test, frame, group, y, arm, treated, control, b, covariates)
    return effects, None if test is None else float(test["p_value"])


def score_means(outcomes: pd.DataFrame, randomisation: pd.DataFrame, design) -> pd.DataFrame:
    """`means_by_arm` of every questionnaire outcome at baseline and at its time point, with
    the outcome's id and the time point's."""
    parts = []
    for o in design.scores:
        for timepoint in (o.baseline, o.timepoint):
            part = means_by_arm(outcomes, randomisation, o.column_at(timepoint))
            parts.append(part.assign(outcome=o.id, timepoint=timepoint))
    return pd.concat(parts, ignore_index=True)


# --- the effects the cost-benefit model values, and how they move together ----------------------
# Care-entry log risk ratio, re-referral log rate ratio, difference in mean SDQ score.
CORRELATED_EFFECTS = ("care_entry_ratio", "re_referral_ratio", "sdq_effect")


def effect_correlation(
    frame: pd.DataFrame,
    *,
    arm: str,
    treated: object,
    control: object,
    care_entry: str,
    count: str,
    exposure: str,
    score: str,
    resamples: int = 500,
    seed: int = 20261123,
) -> pd.DataFrame:
    """Correlation of the three effects the model values (care-entry log risk ratio,
    re-referral log rate ratio, difference in mean score) across a bootstrap over families,
    resampled within arm: the same families give all three, so their estimates move together.

    `frame` has one row per family (e.g. `impact.analysis_frame`); the columns are named, not
    assumed. The rate ratio here is the ratio of pooled rates (the Poisson estimate without
    covariates), enough for a correlation; the effects' sizes and SEs stay the impact analysis's.
    """
    rng = np.random.default_rng(seed)
    draws = []
    columns = [care_entry, count, exposure, score]
    arms = {a: frame.loc[frame[arm] == a, columns].astype(float).to_numpy() for a in (treated, control)}  # fmt: skip
    if min(len(part) for part in arms.values()) < 2:
        raise NotEstimable("effect_correlation: both arms need at least two families")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-missing resample is NaN, dropped
        for _ in range(resamples):
            per_arm = {}
            for a, part in arms.items():
                take = part[rng.integers(0, len(part), len(part))]  # NaN skipped, as pandas does
                per_arm[a] = (
                    np.nanmean(take[:, 0]),
                    np.nansum(take[:, 1]) / np.nansum(take[:, 2]),
                    np.nanmean(take[:, 3]),
                )
            (r1, c1, s1), (r0, c0, s0) = per_arm[treated], per_arm[control]
            with np.errstate(divide="ignore", invalid="ignore"):
                draws.append((np.log(r1 / r0), np.log(c1 / c0), s1 - s0))
    values = pd.DataFrame(draws, columns=list(CORRELATED_EFFECTS))
    values = values.replace([np.inf, -np.inf], np.nan).dropna()
    if len(values) < 10:
        raise NotEstimable("effect_correlation: too few resamples with events in both arms")
    return values.corr()


def correlation_key(first: str, second: str) -> str:
    """The numbers.json name of the correlation of two of CORRELATED_EFFECTS."""
    return f"effect_correlation_{first}_{second}"


def effect_correlation_numbers(frame: pd.DataFrame, design, *, trial: bool) -> dict[str, float]:
    """For the trial (`frame`: its `trial_frame`): `effect_correlation` over all its families,
    with the arms and the SDQ score of its design, as numbers every scope's cost-benefit model
    reads (its effects are the trial's). Nothing for a hub."""
    if not trial:
        return {}
    corr = effect_correlation(
        frame,
        arm="arm",
        treated=design.treated.value,
        control=design.control.value,
        care_entry="care_entry",
        count="re_referrals",
        exposure="years_followed",
        score=design.outcome("sdq_total_difficulties").column,
    )
    return {
        correlation_key(first, second): float(corr.at[first, second])
        for first, second in itertools.combinations(CORRELATED_EFFECTS, 2)
    }


# --- one scope's analyses as the SAP gives them (the impact notebook's steps) --------------------


def trial_frame(tables, design) -> pd.DataFrame:
    """`analysis_frame` of the design's follow-up, with the index child's age band (a
    pre-specified subgroup) from the design's band edges."""
    frame = analysis_frame(tables, follow_up_days=design.follow_up_days)
    frame["age_band"] = age_band(frame["child_age"], design.age_bands)
    return frame


def scope_sensitivity(
    frame: pd.DataFrame,
    tables,
    outcomes: Sequence,
    effects: pd.DataFrame,
    *,
    arm: str,
    treated: object,
    control: object,
    covariates: Sequence[str],
    sap: dict,
    trial: bool,
) -> pd.DataFrame:
    """`sensitivity_analyses` as the SAP sets them for a scope: the mixed model has random
    intercepts for hub and LA within hub in the trial, for LA in a hub (a hub has one hub);
    MICE runs for the trial only unless `sap["mice_scopes"]` is "all" (hubs are small)."""
    group, nested = ("hub_id", "la_code") if trial else ("la_code", None)
    run_mice = trial or sap["mice_scopes"] == "all"
    return sensitivity_analyses(
        frame,
        outcomes,
        effects,
        arm=arm,
        treated=treated,
        control=control,
        covariates=covariates,
        group=group,
        nested=nested,
        mixed_covariates=[c for c in covariates if c not in (group, "hub_id")],
        welch=lambda column: welch_difference(tables["outcomes"], tables["randomisation"], column),
        imputations=sap["imputations"] if run_mice else None,
        iterations=sap["mice_iterations"],
        seed=sap["seed"],
    )


def missing_outcome_model(
    frame: pd.DataFrame,
    outcome,
    *,
    arm: str,
    control: object,
    covariates: Sequence[str],
    trial: bool,
) -> pd.DataFrame | None:
    """`attrition_model` of `outcome` missing at its time point on arm, the stratification
    factors, the baseline score and the child's age (and hub, in the trial); None where it
    cannot be fitted. The arm's odds ratio is the other arm's over `control`'s (term
    `<arm>_<other arm>`), whatever the arms' values sort as."""
    predictors = [
        arm,
        *(s for s in covariates if s != "hub_id"),
        outcome.baseline_column,
        "child_age",
        *(["hub_id"] if trial else []),
    ]
    data = frame.assign(primary_missing=frame[outcome.column].isna())
    return try_fit(attrition_model, data, "primary_missing", predictors, {arm: control})


def first_event_tests(
    frame: pd.DataFrame,
    records: Sequence,
    *,
    arm: str,
    treated: object,
    control: object,
    covariates: Sequence[str],
) -> dict[str, dict]:
    """`time_to_first_tests` to the end of follow-up of every record outcome with a time to
    its first event, by outcome id."""
    return {
        o.id: time_to_first_tests(
            frame,
            o.time_to_first["duration"],
            o.time_to_first["event"],
            arm=arm,
            treated=treated,
            control=control,
            covariates=covariates,
            horizon=frame["follow_up_days"].max(),
        )
        for o in records
        if o.time_to_first
    }


def subgroup_analyses(
    frame: pd.DataFrame,
    subgroups: dict[str, str],
    outcome,
    *,
    arm: str,
    treated: object,
    control: object,
    covariates: Sequence[str],
) -> list[tuple[str, str, pd.DataFrame, float | None]]:
    """`subgroup_effects` of `outcome` in each pre-specified subgroup (column -> label): one
    (column, label, effects per level, interaction p) each, in the design's order."""
    rows = []
    for column, label in subgroups.items():
        effects, p_value = subgroup_effects(
            frame, column, outcome, arm=arm, treated=treated, control=control, covariates=covariates
        )
        rows.append((column, label, effects, p_value))
    return rows
