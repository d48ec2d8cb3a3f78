"""Funnel plot control limits, checked against values worked out by hand from the formulas."""

import math

import pandas as pd
import pytest

from psp_eval.analyses.funnel import funnel_points, limit_curves, mean_limits, proportion_limits


def test_normal_limits_for_a_proportion():
    # target ± z·sqrt(p(1-p)/n): p = 0.5, n = 100 gives sqrt(0.25/100) = 0.05;
    # z(95%) = 1.959964, z(99.8%) = 3.090232 (standard normal quantiles 0.975 and 0.999).
    lim95 = proportion_limits([100], 0.5, 0.95, method="normal").iloc[0]
    lim998 = proportion_limits([100], 0.5, 0.998, method="normal").iloc[0]
    assert lim95["low"] == pytest.approx(0.5 - 1.959964 * 0.05, abs=1e-6)
    assert lim95["high"] == pytest.approx(0.5 + 1.959964 * 0.05, abs=1e-6)
    assert lim998["high"] == pytest.approx(0.5 + 3.090232 * 0.05, abs=1e-6)


def test_exact_binomial_limits_by_hand():
    # Spiegelhalter (2005) A.1.1 with n = 10, target 0.5: the cdf of Binomial(10, 0.5) is
    # F(1) = 11/1024, F(2) = 56/1024, F(7) = 968/1024, F(8) = 1013/1024.
    # Upper 95% (p = 0.975): r = 8, alpha = (1013/1024 - 0.975)/(45/1024) = 14.6/45,
    #   limit = (8 - 14.6/45)/10 = 0.7675556.
    # Lower 95% (p = 0.025): r = 2, alpha = (56/1024 - 0.025)/(45/1024) = 30.4/45,
    #   limit = (2 - 30.4/45)/10 = 0.1324444.
    lim = proportion_limits([10], 0.5, 0.95, method="exact").iloc[0]
    assert lim["high"] == pytest.approx((8 - 14.6 / 45) / 10, abs=1e-9)
    assert lim["low"] == pytest.approx((2 - 30.4 / 45) / 10, abs=1e-9)


def test_exact_limits_approach_normal_for_large_volumes():
    exact = proportion_limits([10_000], 0.3, 0.998).iloc[0]
    normal = proportion_limits([10_000], 0.3, 0.998, method="normal").iloc[0]
    assert exact["low"] == pytest.approx(normal["low"], abs=5e-4)
    assert exact["high"] == pytest.approx(normal["high"], abs=5e-4)


def test_limits_clipped_to_zero_and_one():
    lim = proportion_limits([2], 0.95, 0.998).iloc[0]
    assert 0 <= lim["low"] <= lim["high"] <= 1


def test_bad_inputs_refused():
    with pytest.raises(ValueError, match="between 0 and 1"):
        proportion_limits([10], 1.0)
    with pytest.raises(ValueError, match="positive"):
        mean_limits([0], 1, 1)
    with pytest.raises(ValueError, match="method"):
        proportion_limits([10], 0.5, method="poisson")


def test_mean_limits_by_hand():
    # target ± z·sd/sqrt(n): target 10, sd 4, n 16 gives sd/sqrt(n) = 1.
    lim = mean_limits([16], 10.0, 4.0, 0.95).iloc[0]
    assert lim["low"] == pytest.approx(10 - 1.959964, abs=1e-6)
    assert lim["high"] == pytest.approx(10 + 1.959964, abs=1e-6)
    lim = mean_limits([4], 10.0, 4.0, 0.998).iloc[0]  # sd/sqrt(n) = 2
    assert lim["high"] == pytest.approx(10 + 2 * 3.090232, abs=1e-6)


def test_funnel_points_flags_units_outside_the_limits():
    # Overall rate (weighted): (50 + 10 + 90) / 300 = 0.5.
    frame = pd.DataFrame({"la": ["a", "b", "c"], "n": [100, 100, 100], "rate": [0.5, 0.1, 0.9]})
    points = funnel_points(frame, "la", "n", "rate", "proportion")
    assert points["target"].iloc[0] == pytest.approx(0.5)
    assert points["outside"].tolist() == ["", "99.8%", "99.8%"]
    # 0.6 with n = 100 lies between the 95% (0.598) and 99.8% (0.655) normal limits.
    frame = pd.DataFrame({"la": ["a"], "n": [100], "rate": [0.6]})
    assert funnel_points(frame, "la", "n", "rate", "proportion", target=0.5)[
        "outside"
    ].tolist() == ["95%"]


def test_funnel_points_for_means_need_an_sd_and_skip_empty_units():
    frame = pd.DataFrame({"la": ["a", "b"], "n": [16, 0], "mean": [13.0, 1.0]})
    with pytest.raises(ValueError, match="sd"):
        funnel_points(frame, "la", "n", "mean", "mean")
    points = funnel_points(frame, "la", "n", "mean", "mean", target=10.0, sd=4.0)
    assert points["la"].tolist() == ["a"]
    assert points["outside"].tolist() == ["95%"]  # 13 > 11.96 but < 10 + 3.09


def test_limit_curves_cover_every_volume_and_coverage():
    curves = limit_curves("proportion", 20, 0.4)
    assert len(curves) == 40
    assert set(curves["coverage"]) == {0.95, 0.998}
    wide = curves[curves["coverage"] == 0.998].set_index("volume")
    narrow = curves[curves["coverage"] == 0.95].set_index("volume")
    assert (wide["high"] >= narrow["high"]).all()
    assert math.isclose(limit_curves("mean", 4, 10, sd=4)["volume"].max(), 4)


def test_all_or_none_is_not_flagged_unless_improbable():
    # 13 of 13 with target 0.847: P(R = 13) = 0.847**13 = 0.115, far above either tail, so
    # inside, although the interpolated 99.8% limit is just under 1.
    frame = pd.DataFrame({"la": ["a", "b"], "n": [13, 60], "rate": [1.0, 1.0]})
    points = funnel_points(frame, "la", "n", "rate", "proportion", target=0.847)
    assert points.loc[0, "outside"] == ""
    # 60 of 60: P(R = 60) = 0.847**60 = 4.7e-5 < 0.001: outside the 99.8% limits.
    assert points.loc[1, "outside"] == "99.8%"
