"""The impact evaluation's statistics, checked against published results.

Sources are named at each test: R output shipped in statsmodels' own test suite, R's help
examples, and Borenstein et al. (2009), Introduction to Meta-Analysis, chapter 4.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import shipped_config
from psp_eval.analyses import impact
from psp_eval.present import impact as present_impact
from psp_eval.present import tables


def _kidney() -> pd.DataFrame:
    # The kidney data statsmodels ships in its ANOVA tests (R results alongside).
    from statsmodels.stats.tests.test_anova import kidney_table

    data = kidney_table.copy()
    data["log_days"] = np.log(data["Days"] + 1)
    data["duration"] = data["Duration"].map({1: "short", 2: "long"})
    data["weight"] = data["Weight"].astype(str)
    return data


def test_ancova_reproduces_r_anova_on_the_kidney_data():
    # R (statsmodels/stats/tests/test_anova.py, TestAnovaLM and TestAnovaLMCompare):
    # lm(log(Days+1) ~ Duration + Weight): RSS 29.62486 on 56 df; sequential SS of Duration
    # 2.339693. The design is balanced (10 per cell), so Duration's t^2 in the additive model
    # is 2.339693 / (29.62486 / 56) and its p-value that of F(1, 56).
    from scipy import stats

    result = impact.ancova(
        _kidney(), "log_days", "duration", "long", "short", covariates=("weight",)
    ).iloc[0]
    f = 2.339693 / (29.62486 / 56)
    assert (result["estimate"] / result["se"]) ** 2 == pytest.approx(f, rel=1e-4)
    assert result["p_value"] == pytest.approx(stats.f.sf(f, 1, 56), rel=1e-4)
    assert (result["n"], result["n_treated"], result["n_control"]) == (60, 30, 30)


def test_ancova_without_covariates_is_r_lm_on_dobsons_plant_weights():
    # R's ?lm example (Dobson 1990, p. 9): lm(weight ~ group) gives groupTrt -0.3710,
    # Std. Error 0.3114, Pr(>|t|) 0.249 on 18 df.
    ctl = [4.17, 5.58, 5.18, 6.11, 4.50, 4.61, 5.17, 4.53, 5.33, 5.14]
    trt = [4.81, 4.17, 4.41, 3.59, 5.87, 3.83, 6.03, 4.89, 4.32, 4.69]
    data = pd.DataFrame({"weight": ctl + trt, "group": ["Ctl"] * 10 + ["Trt"] * 10})
    result = impact.ancova(data, "weight", "group", "Trt", "Ctl").iloc[0]
    assert result["estimate"] == pytest.approx(-0.3710, abs=5e-5)
    assert result["se"] == pytest.approx(0.3114, abs=5e-5)
    assert result["p_value"] == pytest.approx(0.249, abs=5e-4)


def test_ancova_leaves_out_other_arms_and_incomplete_rows():
    data = pd.DataFrame(
        {
            "arm": ["a", "a", "a", "b", "b", "b", "c", "a"],
            "y": [1.0, 2.0, 3.5, 2.0, 3.0, 5.0, 9.0, np.nan],
            "y0": [1.0, 1.5, 3.0, 1.0, 2.5, 4.0, 1.0, 2.0],
            "site": ["x", "y", "x", "y", "x", "y", "x", "x"],
        }
    )
    result = impact.ancova(data, "y", "arm", "a", "b", baseline="y0", covariates=("site",))
    assert list(result.columns[:9]) == [
        "estimate",
        "se",
        "ci_low",
        "ci_high",
        "p_value",
        "n",
        "n_treated",
        "n_control",
        "hedges_g",
    ]
    assert (result["n"].iloc[0], result["n_treated"].iloc[0], result["n_control"].iloc[0]) == (
        6,
        3,
        3,
    )
    with pytest.raises(impact.NotEstimable):
        impact.ancova(data[data["arm"] != "b"], "y", "arm", "a", "b")


def test_hedges_g_matches_borenstein_worked_example():
    # Borenstein et al. (2009), Introduction to Meta-Analysis, ch. 4 worked example:
    # means 103 vs 100, SDs 5.5 and 4.5, n 50 each: d = 0.5970, J = 0.9923, g = 0.5924,
    # V_g = 0.0411, SE_g = 0.2028.
    g = impact.hedges_g(103, 5.5, 50, 100, 4.5, 50)
    assert g.d == pytest.approx(0.5970, abs=5e-5)
    assert g.g == pytest.approx(0.5924, abs=5e-5)
    assert g.se**2 == pytest.approx(0.0411, abs=5e-5)
    assert g.se == pytest.approx(0.2028, abs=5e-5)
    assert g.ci_low == pytest.approx(g.g - 1.959964 * g.se)


def test_rubin_pool_by_hand():
    # Hand-worked: estimates 1, 2, 3 with variances 0.5: Q = 2, W = 0.5, B = 1,
    # T = 0.5 + (4/3) 1 = 1.8333, large-sample df = 2 (1 + 0.5 / (4/3))^2 = 3.78125.
    pooled = impact.rubin_pool([1.0, 2.0, 3.0], [0.5, 0.5, 0.5], dfcom=np.inf)
    assert pooled.estimate == 2.0
    assert pooled.within == 0.5 and pooled.between == 1.0
    assert pooled.se**2 == pytest.approx(11 / 6)
    assert pooled.df == pytest.approx(3.78125)
    from scipy import stats

    half = stats.t.ppf(0.975, 3.78125) * np.sqrt(11 / 6)
    assert (pooled.ci_low, pooled.ci_high) == pytest.approx((2 - half, 2 + half))


def test_holm_adjustment_by_hand():
    # Holm (1979): sorted p 0.01, 0.04 -> 2 x 0.01 = 0.02, max(0.02, 1 x 0.04) = 0.04.
    assert impact.adjust_p([0.04, 0.01]) == pytest.approx([0.04, 0.02])
    assert impact.adjust_p([0.04, 0.01], "none") == [0.04, 0.01]


def test_risk_ratio_by_hand():
    # 10/100 vs 20/100: RR 0.5, SE(log RR) = sqrt(1/10 - 1/100 + 1/20 - 1/100) = 0.3606.
    data = pd.DataFrame(
        {
            "arm": ["t"] * 100 + ["c"] * 100,
            "event": [True] * 10 + [False] * 90 + [True] * 20 + [False] * 80,
        }
    )
    r = impact.risk_ratio(data, "event", "arm", "t", "c").iloc[0]
    se = np.sqrt(1 / 10 - 1 / 100 + 1 / 20 - 1 / 100)
    assert r["risk_ratio"] == pytest.approx(0.5)
    assert r["ci_low"] == pytest.approx(0.5 * np.exp(-1.959964 * se))


def test_rate_ratio_recovers_a_poisson_rate_ratio():
    rng = np.random.default_rng(1)
    n = 4000
    arm = np.where(np.arange(n) % 2 == 0, "t", "c")
    years = rng.uniform(0.5, 2, n)
    counts = rng.poisson(np.where(arm == "t", 0.7, 1.0) * 2 * years)
    data = pd.DataFrame({"arm": arm, "years": years, "count": counts})
    r = impact.rate_ratio(data, "count", "years", "arm", "t", "c").iloc[0]
    assert r["ci_low"] < 0.7 < r["ci_high"]


def test_interaction_test_flags_a_planted_interaction():
    rng = np.random.default_rng(2)
    n = 600
    data = pd.DataFrame(
        {"arm": np.where(np.arange(n) % 2 == 0, "t", "c"), "g": np.repeat(["a", "b", "c"], n // 3)}
    )
    effect = data["g"].map({"a": 0.0, "b": 0.0, "c": 2.0}) * (data["arm"] == "t")
    data["y"] = effect + rng.normal(size=n)
    assert impact.interaction_test(data, "g", "y", "arm", "t", "c")["p_value"] < 0.001
    by_group = impact.effects_by_group(data, "g", "y", "arm", "t", "c")
    assert list(by_group["g"]) == ["a", "b", "c"]


def test_baseline_table_hides_small_categories():
    frame = pd.DataFrame(
        {
            "arm": ["sffc"] * 20 + ["usual"] * 20,
            "age": np.arange(40.0),
            "sex": ["female"] * 18 + ["male"] * 2 + ["female"] * 10 + ["male"] * 10,
        }
    )
    table = present_impact.baseline_table(
        frame, "arm", {"sffc": "SFFC", "usual": "Usual"}, {"age": "Age"}, {"sex": "Sex"}
    )
    row = table.set_index("Characteristic").loc["  male"]
    assert row["SFFC"] == "[c]"
    assert (
        table.set_index("Characteristic").loc["  female", "SFFC"] == "[c]"
    )  # else 20 - 18 gives it away


def test_shown_values():
    assert tables.shown_value(None) == "not estimable"
    assert tables.shown_value(float("nan")) == "not estimable"
    assert tables.shown_value(1.2345, 2) == 1.23


@pytest.fixture(scope="module")
def demo_frame(tmp_path_factory):
    """The analysis frame of the demo trial (default seed and size), built as the pipeline does."""
    from psp_eval.data import contract, scoring
    from psp_eval.data import demo as synth

    raw = tmp_path_factory.mktemp("demo")
    synth.generate(raw)
    instruments = shipped_config()["instruments"]
    tables = contract.load_dir(raw, contract.read_hubs(raw / "hubs.tsv"), instruments)
    tables["outcomes"] = scoring.outcomes_wide(
        scoring.score(tables["measures"], instruments), instruments
    )
    return impact.analysis_frame(tables)


@pytest.mark.slow
@pytest.mark.parametrize(
    "outcome, truth", [("sdq_total_difficulties", -2.0), ("gad7_total", -1.5), ("mspss_total", 0.4)]
)
def test_demo_recovers_planted_score_effects(demo_frame, outcome, truth):
    # synth.TRUE_EFFECTS: differences of expected scored totals, adjusted for baseline.
    r = impact.ancova(
        demo_frame,
        f"{outcome}_week8",
        "arm",
        "sffc",
        "usual",
        f"{outcome}_baseline",
        ("hub_id", "referral_group"),
    ).iloc[0]
    assert r["ci_low"] < truth < r["ci_high"]


@pytest.mark.slow
def test_demo_recovers_planted_count_and_time_effects(demo_frame):
    from psp_eval.analyses import survival

    covariates = ("hub_id", "referral_group")
    nights = impact.rate_ratio(
        demo_frame, "away_episodes", "years_followed", "arm", "sffc", "usual", covariates
    ).iloc[0]
    assert nights["ci_low"] < 0.7 < nights["ci_high"]
    cox = survival.cox_by_arm(
        demo_frame, "days_to_re_referral", "re_referred", "arm", "sffc", "usual", covariates
    ).iloc[0]
    assert cox["ci_low"] < 0.75 < cox["ci_high"]
    care = impact.risk_ratio(demo_frame, "care_entry", "arm", "sffc", "usual").iloc[0]
    assert care["ci_low"] < 0.09 / 0.12 < care["ci_high"]


@pytest.mark.slow
def test_ancova_interval_coverage_is_near_95_percent():
    """Coverage of the ANCOVA 95% CI over 2,000 simulated trials (a simple model of the demo:
    baseline-correlated scores, two strata, effect -2): binomial SE of the coverage 0.005."""
    rng = np.random.default_rng(20261123)
    n, hits, runs = 200, 0, 2000
    arm = np.where(np.arange(n) % 2 == 0, "sffc", "usual")
    stratum = np.where(np.arange(n) % 4 < 2, "emerging", "edge_of_care")
    for _ in range(runs):
        base = rng.normal(16, 6, n) + np.where(stratum == "edge_of_care", 1.5, 0)
        y = 7 + 0.55 * base - 2.0 * (arm == "sffc") + rng.normal(0, 5, n)
        data = pd.DataFrame({"arm": arm, "stratum": stratum, "y": y, "y0": base})
        r = impact.ancova(data, "y", "arm", "sffc", "usual", "y0", ("stratum",)).iloc[0]
        hits += r["ci_low"] < -2.0 < r["ci_high"]
    assert 0.935 < hits / runs < 0.965


def test_mice_ancova_is_reproducible_and_near_complete_case():
    rng = np.random.default_rng(4)
    n = 300
    arm = np.where(np.arange(n) % 2 == 0, "t", "c")
    y0 = rng.normal(10, 3, n)
    y = 2 + 0.6 * y0 - 1.0 * (arm == "t") + rng.normal(0, 2, n)
    y[rng.random(n) < 0.15] = np.nan  # missing completely at random
    data = pd.DataFrame(
        {"arm": arm, "y": y, "y0": y0, "g": np.where(np.arange(n) % 3 == 0, "a", "b")}
    )
    first = impact.mice_ancova(data, "y", "arm", "t", "c", "y0", ("g",), m=3, iterations=2, seed=1)
    again = impact.mice_ancova(data, "y", "arm", "t", "c", "y0", ("g",), m=3, iterations=2, seed=1)
    assert first == again
    complete = impact.ancova(data, "y", "arm", "t", "c", "y0", ("g",)).iloc[0]
    assert abs(first.estimate - complete["estimate"]) < complete["se"]


def test_mice_designs_without_patsy_impute_as_statsmodels_does():
    # the imputation models' designs are built from the data, not through patsy's formulas:
    # statsmodels' own MICEData, with the same seed, must draw the very same imputations
    from statsmodels.imputation.mice import MICEData

    rng = np.random.default_rng(7)
    n = 200
    data = pd.DataFrame({"x0": rng.integers(0, 2, n).astype(float), "b": rng.normal(size=n)})
    data["y"] = data["b"] + data["x0"] + rng.normal(size=n)
    data["aux"] = data["y"] + rng.normal(size=n)
    for column, share in (("y", 0.3), ("b", 0.1), ("aux", 0.2)):
        data.loc[rng.random(n) < share, column] = np.nan
    imputed = []
    for kind in (MICEData, impact._MainEffectsMICEData):
        imputer = kind(data, rng=np.random.default_rng(1))
        for name in ("y", "b", "aux"):
            imputer.set_imputer(name, model_class=impact.CrossProductOLS)
        imputer.update_all(3)
        imputed.append(imputer.data)
    pd.testing.assert_frame_equal(imputed[0], imputed[1], check_exact=False, rtol=1e-10)
    with pytest.raises(ValueError, match="default"):
        impact._MainEffectsMICEData(data).set_imputer("y", formula="b")


REFERENCE = Path(__file__).resolve().parents[1] / "reference" / "data"


def _awkward_names(data: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    return data.rename(columns=names)


def test_mixed_and_mice_ancova_accept_any_column_names():
    # Formulas built from unquoted names crashed on dots, spaces and Python keywords.
    rng = np.random.default_rng(5)
    n = 120
    data = pd.DataFrame(
        {
            "arm": np.where(np.arange(n) % 2 == 0, "t", "c"),
            "y0": rng.normal(10, 2, n),
            "site": np.repeat(["a", "b", "c", "d"], n // 4),
            "ward": np.tile(["w1", "w2"], n // 2),
            "sex": np.where(np.arange(n) % 3 == 0, "f", "m"),
        }
    )
    data["y"] = data["y0"] + (data["arm"] == "t") + rng.normal(0, 1, n)
    data.loc[::7, "y"] = np.nan
    names = {
        "y": "post score",
        "y0": "yield",
        "site": "site.id",
        "ward": "class",
        "sex": "sex (f/m)",
    }
    odd = _awkward_names(data, names)
    plain = impact.mixed_ancova(
        data, "y", "arm", "t", "c", "y0", ["sex"], group="site", nested="ward"
    )
    again = impact.mixed_ancova(odd, "post score", "arm", "t", "c", "yield", ["sex (f/m)"], group="site.id", nested="class")  # fmt: skip
    assert again["model"].iloc[0] == "site.id and class random intercepts"
    pd.testing.assert_frame_equal(plain.drop(columns="model"), again.drop(columns="model"))
    kwargs = dict(m=2, iterations=1, seed=3)
    assert impact.mice_ancova(data, "y", "arm", "t", "c", "y0", ["sex"], **kwargs) == (
        impact.mice_ancova(odd, "post score", "arm", "t", "c", "yield", ["sex (f/m)"], **kwargs)
    )


def test_interaction_test_takes_a_numeric_subgroup_as_categories():
    # R: anova(lm(len ~ supp + factor(dose), ToothGrowth), lm(len ~ supp * factor(dose),
    # ToothGrowth)): F = 4.107 on 2 and 54 df, Pr(>F) = 0.02186. dose is numeric (0.5, 1, 2).
    tooth = pd.read_csv(REFERENCE / "ToothGrowth.csv")
    test = impact.interaction_test(tooth, "dose", "len", "supp", "VC", "OJ")
    assert test["f"] == pytest.approx(4.107, abs=5e-4)
    assert (test["df_num"], test["df_den"]) == (2, 54)
    assert test["p_value"] == pytest.approx(0.02186, abs=5e-6)


def test_rubin_pool_uses_barnard_rubin_df_as_mice():
    # R (mice 3.15.0): imp <- mice(nhanes, m = 5, seed = 1); fit <- with(imp, lm(chl ~ age +
    # bmi)); summary(pool(fit), conf.int = TRUE), the bmi row: estimate 5.937297, std.error
    # 2.601135, df 5.443459, p.value 0.06702725, 2.5 % -0.5885702, 97.5 % 12.46316
    # (dfcom = 22). The five estimates and variances are R's, printed by tests/reference.
    estimates = [5.077749035, 8.913539154, 5.342563179, 5.957551872, 4.395079941]
    variances = [2.893148926, 2.796988801, 2.406356320, 3.166127362, 4.072816163]
    pooled = impact.rubin_pool(estimates, variances, dfcom=22)
    assert pooled.estimate == pytest.approx(5.937297, rel=5e-5)
    assert pooled.se == pytest.approx(2.601135, rel=5e-5)
    assert pooled.df == pytest.approx(5.443459, rel=5e-5)
    assert pooled.p_value == pytest.approx(0.06702725, rel=5e-5)
    assert (pooled.ci_low, pooled.ci_high) == pytest.approx((-0.5885702, 12.46316), rel=5e-5)


def test_rubin_pool_of_identical_imputations_is_the_complete_data_t_interval():
    # No between-imputation variance: the interval must not shrink to a normal one.
    from scipy import stats

    pooled = impact.rubin_pool([1.0, 1.0, 1.0], [0.25, 0.25, 0.25], dfcom=10)
    assert pooled.df == pytest.approx(10 * 11 / 13, rel=1e-3)
    assert pooled.ci_high - 1.0 > stats.norm.ppf(0.975) * 0.5


def test_attrition_model_is_not_estimable_where_a_predictor_separates_the_missing():
    # no family of group "a" is missing: its odds ratio has no finite estimate, where the
    # fit stopped at 1.8e10 (its interval 0 to inf) and the report printed that number
    rng = np.random.default_rng(1)
    data = pd.DataFrame({"x": rng.normal(size=200), "g": rng.choice(["a", "b"], 200)})
    data["missing"] = (data["g"] == "b") & (rng.random(200) < 0.3)
    with pytest.raises(impact.NotEstimable, match="did not converge"):
        impact.attrition_model(data, "missing", ["x", "g"])
    assert impact.try_fit(impact.attrition_model, data, "missing", ["x", "g"]) is None
