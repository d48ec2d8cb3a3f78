"""Every public estimator against R on public data sets (tests/reference/data, README.md).

Each R value is quoted to 4 significant figures or more with the R call that gave it; all were
computed by r_reference.R (R 4.2.2, survival 3.5-3, MASS 7.3-58.2, mice 3.15.0, lme4 1.1-31,
nlme 3.1-162; output in r_reference.out), except Hedges' g (a textbook's worked example).
Tolerances: relative 5e-4 (4 s.f.) unless the line says why not.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from reference_data import load

from psp_eval.analyses import impact, power, survival

pytestmark = pytest.mark.reference

S4 = 5e-4  # relative tolerance: agreement to 4 significant figures


def test_welch_t_test_is_r_t_test_on_sleep():
    # R: t.test(extra ~ group, data = sleep): t = -1.8608, df = 17.776, p-value = 0.07939,
    # 95 percent CI -3.3654832 0.2054832 (group 1 minus group 2).
    r = impact.welch_test(load("sleep"), "extra", "group", 1, 2)
    assert r["estimate"] == pytest.approx(0.75 - 2.33, rel=S4)
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((-3.365483, 0.2054832), rel=S4)
    assert r["p_value"] == pytest.approx(0.07939, rel=S4)


def test_means_with_t_interval_are_r_t_test_on_sleep():
    # R: t.test(sleep$extra[sleep$group == "1"])$conf.int: -0.5297804 2.0297804;
    # group 2: 0.8976775 3.7623225.
    r = impact.arm_means(load("sleep"), "extra", "group", [1, 2])
    assert list(r["n"]) == [10, 10]
    assert list(r["ci_low"]) == pytest.approx([-0.5297804, 0.8976775], rel=S4)
    assert list(r["ci_high"]) == pytest.approx([2.0297804, 3.7623225], rel=S4)


def test_hedges_g_is_borenstein_worked_example():
    # Textbook (no R): Borenstein et al. (2009), Introduction to Meta-Analysis, ch. 4: means
    # 103 vs 100, SDs 5.5 and 4.5, n 50 each: d = 0.5970, g = 0.5924, SE_g = 0.2028.
    g = impact.hedges_g(103, 5.5, 50, 100, 4.5, 50)
    assert (g.d, g.g, g.se) == pytest.approx((0.5970, 0.5924, 0.2028), abs=5e-5)


P_EXAMPLE = [0.010, 0.013, 0.014, 0.190, 0.350, 0.500, 0.630, 0.670, 0.750, 0.810]


@pytest.mark.parametrize(
    ("method", "r_adjusted"),
    # R: p.adjust(p, method) with p = c(0.010, 0.013, 0.014, 0.190, 0.350, 0.500, 0.630,
    # 0.670, 0.750, 0.810); holm-sidak has no p.adjust method: the R expression
    # o <- order(p); hs[o] <- cummax(1 - (1 - p[o])^(10:1)) (Holm 1979 with Sidak's steps).
    [
        ("holm", [0.100, 0.117, 0.117] + [1.0] * 7),
        ("bonferroni", [0.10, 0.13, 0.14] + [1.0] * 7),
        ("hommel", [0.080, 0.104, 0.112] + [0.810] * 7),
        ("simes-hochberg", [0.100, 0.112, 0.112] + [0.810] * 7),
        ("fdr_bh", [0.04666667] * 3 + [0.475, 0.700] + [0.810] * 5),
        ("fdr_by", [0.1366852] * 3 + [1.0] * 7),
        ("holm-sidak", [0.09561792, 0.11109700, 0.11109700, 0.77123208, 0.92458111,
                        0.96875000] + [0.98125839] * 4),
        ("none", P_EXAMPLE),
    ],
)  # fmt: skip
def test_p_adjustment_is_r_p_adjust(method, r_adjusted):
    assert impact.adjust_p(P_EXAMPLE, method) == pytest.approx(r_adjusted, rel=S4)


def test_ancova_is_r_lm_on_anorexia():
    # R (MASS::anorexia, family therapy vs control): lm(Postwt ~ Treat + Prewt): TreatFT
    # 9.0335726, Std. Error 2.0314862, Pr(>|t|) 6.76778e-05, confint 4.9277857 13.1393594.
    r = impact.ancova(load("anorexia"), "Postwt", "Treat", "FT", "Cont", "Prewt").iloc[0]
    assert (r["estimate"], r["se"]) == pytest.approx((9.033573, 2.031486), rel=S4)
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((4.927786, 13.13936), rel=S4)
    assert r["p_value"] == pytest.approx(6.76778e-05, rel=S4)
    assert (r["n_treated"], r["n_control"]) == (17, 26)


def test_interaction_test_is_r_anova_on_tooth_growth():
    # R: anova(lm(len ~ supp + factor(dose), ToothGrowth), lm(len ~ supp * factor(dose),
    # ToothGrowth)): F = 4.107 (2, 54 df), Pr(>F) = 0.02186.
    r = impact.interaction_test(load("ToothGrowth"), "dose", "len", "supp", "VC", "OJ")
    assert (r["f"], r["p_value"]) == pytest.approx((4.107, 0.02186), rel=S4)


def test_mixed_ancova_is_r_lmer_on_orthodont():
    # R: lmer(distance ~ Sex + age + (1 | Subject), data = nlme::Orthodont, REML = TRUE):
    # SexFemale -2.3210227, Std. Error 0.76141685.
    data = load("Orthodont")
    r = impact.mixed_ancova(data, "distance", "Sex", "Female", "Male", "age", group="Subject")
    assert (r["estimate"].iloc[0], r["se"].iloc[0]) == pytest.approx((-2.321023, 0.7614169), rel=S4)


def test_nested_mixed_ancova_is_r_lme_on_oats():
    # R: lme(yield ~ Variety + nitro, random = ~ 1 | Block/Variety, data = droplevels(
    # subset(nlme::Oats, Variety != "Victory"))): VarietyMarvellous 5.291667, Std.Error
    # 7.169210. (lme's p-value uses t on 5 df; ours is the normal (Wald) one of statsmodels.)
    oats = load("Oats").query("Variety != 'Victory'")
    r = impact.mixed_ancova(
        oats, "yield", "Variety", "Marvellous", "Golden Rain", "nitro", group="Block",
        nested="Variety",
    ).iloc[0]  # fmt: skip
    assert r["model"] == "Block and Variety random intercepts"
    assert (r["estimate"], r["se"]) == pytest.approx((5.291667, 7.169210), rel=S4)


def test_rubin_pool_is_mice_pool_on_nhanes():
    # R: imp <- mice(nhanes, m = 5, seed = 1); fit <- with(imp, lm(chl ~ age + bmi));
    # the five bmi estimates and variances (printed by r_reference.R), and
    # summary(pool(fit), conf.int = TRUE)["bmi", ]: 5.937297, std.error 2.601135, df 5.443459
    # (dfcom 22), p 0.06702725, 2.5 % -0.5885702, 97.5 % 12.46316.
    pooled = impact.rubin_pool(
        [5.077749035, 8.913539154, 5.342563179, 5.957551872, 4.395079941],
        [2.893148926, 2.796988801, 2.406356320, 3.166127362, 4.072816163],
        dfcom=22,
    )
    assert (pooled.estimate, pooled.se, pooled.df) == pytest.approx(
        (5.937297, 2.601135, 5.443459), rel=S4
    )
    assert (pooled.ci_low, pooled.ci_high, pooled.p_value) == pytest.approx(
        (-0.5885702, 12.46316, 0.06702725), rel=S4
    )


def test_attrition_model_is_r_glm_binomial_on_infert():
    # R: glm(case ~ spontaneous + induced + education, family = binomial, data = infert):
    # spontaneous 1.20357036 (p 1.393374e-08), exp(confint.default) 2.19863568 5.0495730;
    # education6-11yrs 0.10993295. With relevel(education, "6-11yrs"):
    # education12+ yrs -0.1343367, p 0.6546917.
    infert = load("infert")
    r = impact.attrition_model(infert, "case", ["spontaneous", "induced", "education"])
    r = r.set_index("term")
    assert np.log(r.loc["spontaneous", "odds_ratio"]) == pytest.approx(1.203570, rel=S4)
    assert r.loc["spontaneous", "p_value"] == pytest.approx(1.393374e-08, rel=S4)
    assert (r.loc["spontaneous", "ci_low"], r.loc["spontaneous", "ci_high"]) == pytest.approx(
        (2.198636, 5.049573), rel=S4
    )
    assert np.log(r.loc["education_6-11yrs", "odds_ratio"]) == pytest.approx(0.1099330, rel=S4)
    again = impact.attrition_model(
        infert, "case", ["spontaneous", "induced", "education"], {"education": "6-11yrs"}
    ).set_index("term")
    assert np.log(again.loc["education_12+ yrs", "odds_ratio"]) == pytest.approx(-0.1343367, rel=S4)
    assert again.loc["education_12+ yrs", "p_value"] == pytest.approx(0.6546917, rel=S4)


def test_rate_ratio_is_r_glm_nb_on_quine():
    # R: glm.nb(Days ~ Sex + Eth + Age + Lrn, data = MASS::quine): EthN -0.56937170,
    # Std. Error 0.1533334 (theta 1.274893). No exposure: a column of ones (offset 0).
    quine = load("quine").assign(one=1.0)
    r = impact.rate_ratio(
        quine, "Days", "one", "Eth", "N", "A", ["Sex", "Age", "Lrn"], se="expected"
    )
    assert np.log(r["rate_ratio"].iloc[0]) == pytest.approx(-0.5693717, rel=S4)
    se = (np.log(r["ci_high"].iloc[0]) - np.log(r["ci_low"].iloc[0])) / (2 * 1.959964)
    assert se == pytest.approx(0.1533334, rel=S4)
    assert r["model"].iloc[0] == "negative binomial"


def test_rate_ratio_with_exposure_offset_is_r_glm_nb_on_insurance():
    # R: glm.nb(Claims ~ District + Age + offset(log(Holders)), data = droplevels(subset(
    # MASS::Insurance, District %in% c("1", "4")))): District4 0.20600670, Std. Error
    # 0.11075994 (theta 23.30814); Age is ordered (polynomial contrasts in R): the District
    # coefficient does not depend on the coding of Age.
    ins = load("Insurance").query("District in [1, 4]")
    r = impact.rate_ratio(ins, "Claims", "Holders", "District", 4, 1, ["Age"], se="expected")
    assert np.log(r["rate_ratio"].iloc[0]) == pytest.approx(0.2060067, rel=S4)
    se = (np.log(r["ci_high"].iloc[0]) - np.log(r["ci_low"].iloc[0])) / (2 * 1.959964)
    assert se == pytest.approx(0.1107599, rel=S4)


def test_risk_ratio_is_r_log_binomial_glm_on_the_physicians_health_study():
    # Physicians' Health Study (Steering Committee 1989, NEJM 321:129; Agresti, Categorical
    # Data Analysis, table 2.3): myocardial infarction 104 / 11037 on aspirin, 189 / 11034 on
    # placebo. R: glm(cbind(mi, n - mi) ~ arm, family = binomial(link = "log")): armaspirin
    # -0.597628, exp(confint.default) 0.43367312 0.69782166, Pr(>|z|) 8.438621e-07 (the
    # saturated log-binomial model's Wald interval is the Katz log interval).
    arm = ["aspirin"] * 11037 + ["placebo"] * 11034
    mi = [True] * 104 + [False] * (11037 - 104) + [True] * 189 + [False] * (11034 - 189)
    data = pd.DataFrame({"arm": arm, "mi": mi})
    r = impact.risk_ratio(data, "mi", "arm", "aspirin", "placebo").iloc[0]
    assert np.log(r["risk_ratio"]) == pytest.approx(-0.597628, rel=S4)
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((0.4336731, 0.6978217), rel=S4)
    assert r["p_value"] == pytest.approx(8.438621e-07, rel=S4)


def test_logrank_is_r_survdiff_on_veteran():
    # R: survdiff(Surv(time, status) ~ trt, data = veteran): (O-E)^2/V 0.00823; the
    # chi-square to 3 s.f. only (R prints no more).
    r = survival.logrank(load("veteran"), "time", "status", "trt", 2, 1)
    assert r["statistic"] == pytest.approx(0.00823, abs=5e-6)


def test_cox_is_r_coxph_on_veteran():
    # R: summary(coxph(Surv(time, status) ~ trt + karno + celltype, data = veteran)): trt
    # exp(coef) 1.2991940, lower .95 0.8762903, upper .95 1.9261940, Pr(>|z|) 0.1926744.
    r = survival.cox_by_arm(
        load("veteran"), "time", "status", "trt", 2, 1, ["karno", "celltype"]
    ).iloc[0]
    assert r["hazard_ratio"] == pytest.approx(1.299194, rel=S4)
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((0.8762903, 1.926194), rel=S4)
    assert r["p_value"] == pytest.approx(0.1926744, rel=S4)


@pytest.mark.parametrize(
    ("name", "columns", "covariates", "r_chisq"),
    [
        # R: cox.zph(coxph(Surv(time, status) ~ trt, data = veteran))$table: trt 3.536973
        ("veteran", ("time", "status", "trt"), (), 3.536973),
        # R: cox.zph(coxph(Surv(time, status) ~ trt + karno + celltype, data = veteran))
        ("veteran", ("time", "status", "trt"), ("karno", "celltype"), 0.2063074),
        # R: cox.zph(coxph(Surv(futime, fustat) ~ rx + age, data = ovarian)): rx 0.7796069
        ("ovarian", ("futime", "fustat", "rx"), ("age",), 0.7796069),
    ],
)
def test_ph_test_is_r_cox_zph(name, columns, covariates, r_chisq):
    duration, event, arm = columns
    r = survival.ph_test(load(name), duration, event, arm, 2, 1, covariates)
    assert r["statistic"] == pytest.approx(r_chisq, rel=S4)


def test_kaplan_meier_and_rmst_are_r_survfit_on_veteran():
    # R: km <- survfit(Surv(time, status) ~ trt, data = veteran); summary(km, times = c(30,
    # 100, 200))$surv: trt=1 0.72406934 0.50198084 0.19472456; trt=2 0.67647059 0.33264706
    # 0.21622059. summary(km, rmean = 200)$table: rmean 99.623002 and 86.038527,
    # se(rmean) 8.6642599 and 8.7699526.
    from lifelines import KaplanMeierFitter

    veteran = load("veteran")
    for trt, surv, rmean, se in (
        (1, [0.7240693, 0.5019808, 0.1947246], 99.623002, 8.6642599),
        (2, [0.6764706, 0.3326471, 0.2162206], 86.038527, 8.7699526),
    ):
        part = veteran[veteran["trt"] == trt]
        km = KaplanMeierFitter().fit(part["time"], part["status"])
        assert list(km.survival_function_at_times([30, 100, 200])) == pytest.approx(surv, rel=S4)
        mean, var = survival.rmst(part["time"], part["status"], 200)
        assert mean == pytest.approx(rmean, rel=S4)
        assert np.sqrt(var) == pytest.approx(se, rel=S4)


def test_power_and_sample_size_are_r_power_t_test():
    # R: power.t.test(n = 20, delta = 1, sd = 1, strict = TRUE)$power 0.868953;
    # power.t.test(power = 0.9, delta = 1, sd = 1, strict = TRUE)$n 22.02109 (23 per arm);
    # power.t.test(n = 50, power = 0.8, sd = 2, sig.level = 0.025, strict = TRUE)$delta
    # 1.249277. (strict = TRUE counts both tails, as pwr.t.test and statsmodels do.)
    design = power.Design(sd=1.0)
    assert power.power(1.0, 20, design) == pytest.approx(0.868953, rel=S4)
    assert power.sample_size(1.0, design, 0.9).randomised == 23
    wide = power.Design(sd=2.0, alpha=0.025)
    assert power.minimum_detectable_effect(50, wide, 0.8) == pytest.approx(1.249277, rel=S4)
