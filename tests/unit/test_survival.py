"""Time-to-event analyses against R's survival package, on data sets lifelines ships."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from lifelines.datasets import load_leukemia, load_rossi

from psp_eval.analyses import survival
from psp_eval.analyses.impact import NotEstimable


def test_cox_by_arm_matches_r_coxph_on_rossi():
    # R: coxph(Surv(week, arrest) ~ fin + age + race + wexp + mar + paro + prio, data = Rossi)
    # (Fox & Weisberg, "Cox Proportional-Hazards Regression for Survival Data in R", appendix
    # to An R Companion to Applied Regression; the same fit in lifelines' docs):
    # fin exp(coef) 0.6843, lower .95 0.4702, upper .95 0.9957, Pr(>|z|) 0.0474.
    rossi = load_rossi()
    rossi["financial_aid"] = rossi["fin"].map({0: "no", 1: "yes"})
    r = survival.cox_by_arm(
        rossi,
        "week",
        "arrest",
        "financial_aid",
        "yes",
        "no",
        ["age", "race", "wexp", "mar", "paro", "prio"],
    ).iloc[0]
    assert r["hazard_ratio"] == pytest.approx(0.6843, abs=5e-5)
    assert r["ci_low"] == pytest.approx(0.4702, abs=5e-5)
    assert r["ci_high"] == pytest.approx(0.9957, abs=5e-5)
    assert r["p_value"] == pytest.approx(0.0474, abs=5e-5)
    assert (r["n"], r["events"]) == (432, 114)


def test_logrank_and_cox_match_published_results_on_gehan_leukemia():
    # Gehan's remission data (6-MP vs placebo, 21 + 21 patients): log-rank chi-square 16.79
    # on 1 df (Kleinbaum & Klein, Survival Analysis: A Self-Learning Text, ch. 2; R survdiff);
    # Cox with Efron ties, R coxph(Surv(time, cens) ~ treat, data = MASS::gehan):
    # exp(coef) 4.817, lower .95 2.147, upper .95 10.81.
    data = load_leukemia()
    lr = survival.logrank(data, "t", "status", "Rx", 1, 0)
    assert lr["statistic"] == pytest.approx(16.79, abs=5e-3)
    r = survival.cox_by_arm(data, "t", "status", "Rx", 1, 0).iloc[0]
    assert r["hazard_ratio"] == pytest.approx(4.817, abs=5e-4)
    assert r["ci_low"] == pytest.approx(2.147, abs=5e-4)
    assert r["ci_high"] == pytest.approx(10.81, abs=5e-3)
    assert r["logrank_p"] == pytest.approx(lr["p_value"])


def test_rmst_equals_lifelines_and_hand_variance():
    # Hand example: times 1, 2, 3 (all events), horizon 3: KM 1 -> 2/3 -> 1/3 -> 0;
    # area = 1 + 2/3 + 1/3 = 2. Variance: A(1) = 2/3 + 1/3 = 1, A(2) = 1/3, A(3) = 0;
    # 1^2 * 1/(3*2) + (1/3)^2 * 1/(2*1) = 1/6 + 1/18 = 2/9.
    mean, var = survival.rmst(pd.Series([1.0, 2.0, 3.0]), pd.Series([1, 1, 1]), 3.0)
    assert mean == pytest.approx(2.0)
    assert var == pytest.approx(2 / 9)


def test_ph_test_and_rmst_difference_run_on_rossi():
    rossi = load_rossi()
    ph = survival.ph_test(rossi, "week", "arrest", "fin", 1, 0)
    assert 0 <= ph["p_value"] <= 1
    diff = survival.rmst_difference(rossi, "week", "arrest", "fin", 1, 0, 52)
    assert diff["ci_low"] < diff["difference"] < diff["ci_high"]


def test_too_few_events_is_not_estimable():
    data = pd.DataFrame({"t": [1.0, 2, 3, 4], "e": [1, 0, 0, 0], "arm": ["a", "a", "b", "b"]})
    with pytest.raises(NotEstimable):
        survival.cox_by_arm(data, "t", "e", "arm", "a", "b")


REFERENCE = Path(__file__).resolve().parents[1] / "reference" / "data"


@pytest.mark.parametrize(
    ("covariates", "r_chisq"),
    [
        # R: cox.zph(coxph(Surv(time, status) ~ trt, data = veteran))$table["trt", "chisq"]
        ((), 3.536973),
        # R: cox.zph(coxph(Surv(time, status) ~ trt + karno + celltype, data = veteran))
        (("karno", "celltype"), 0.2063074),
    ],
)
def test_ph_test_is_r_cox_zph_and_ignores_row_order(covariates, r_chisq):
    # veteran has many tied death times: lifelines' rank transform numbered them 1, 2, 3 in
    # row order, so shuffling changed the statistic and it missed cox.zph's km transform.
    veteran = pd.read_csv(REFERENCE / "veteran.csv")
    ph = survival.ph_test(veteran, "time", "status", "trt", 2, 1, covariates)
    assert ph["statistic"] == pytest.approx(r_chisq, rel=5e-4)
    for seed in (1, 2):
        shuffled = veteran.sample(frac=1, random_state=seed)
        again = survival.ph_test(shuffled, "time", "status", "trt", 2, 1, covariates)
        assert again["statistic"] == pytest.approx(ph["statistic"], rel=1e-9)


@pytest.mark.parametrize(
    ("transform", "r_chisq"),
    # R: cox.zph(coxph(Surv(time, status) ~ trt, data = veteran), transform = ...)$table
    [("rank", 3.530256), ("identity", 4.913952)],
)
def test_ph_test_other_time_transforms_are_r_cox_zph(transform, r_chisq):
    veteran = pd.read_csv(REFERENCE / "veteran.csv")
    ph = survival.ph_test(veteran, "time", "status", "trt", 2, 1, transform=transform)
    assert ph["statistic"] == pytest.approx(r_chisq, rel=5e-4)
