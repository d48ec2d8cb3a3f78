"""The cost-benefit model: discounting, prices, effects, a hand-worked case, Monte Carlo."""

import json
import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from conftest import shipped_settings
from psp_eval.analyses import cost_benefit as cba
from psp_eval.analyses import impact
from psp_eval.analyses.cost_benefit import ModelInputs, Parameter

D = pd.Timestamp


# --- discounting ------------------------------------------------------------------------------
def test_green_book_factors_by_hand():
    f = cba.discount_factors(80)
    assert f[0] == 1.0
    # year 30: 30 years at 3.5%: 1 / 1.035**30 = 1 / 2.806794 = 0.3562784
    assert f[30] == pytest.approx(1 / 1.035**30, rel=1e-12)
    assert f[30] == pytest.approx(0.3562784, abs=1e-7)
    # year 31: one year at 3.0% after 30 at 3.5%: 0.3562784 / 1.03 = 0.3459014
    assert f[31] == pytest.approx(0.3459014, abs=1e-7)
    # year 75: 30 years at 3.5% then 45 at 3.0%: 0.3562784 / 1.03**45 (= 3.781596) = 0.0942138
    assert f[75] == pytest.approx(0.0942138, abs=1e-7)
    # year 76: the first year at 2.5%: 0.0942138 / 1.025 = 0.0919159
    assert f[76] == pytest.approx(0.0919159, abs=1e-7)


def test_flat_rate_and_lengths():
    assert cba.discount_factors(3, 0.05) == pytest.approx([1.0, 1 / 1.05, 1 / 1.05**2])
    assert len(cba.discount_factors(0)) == 0 and cba.discount_factors(1).tolist() == [1.0]
    with pytest.raises(cba.CbaError, match="green_book"):
        cba.discount_factors(3, "treasury")


def test_later_years_use_lower_rates():
    f = cba.discount_factors(400)
    rates = f[:-1] / f[1:] - 1
    # rate applied to reach year t is rates[t-1]
    assert rates[0] == pytest.approx(0.035) and rates[29] == pytest.approx(0.035)
    assert rates[30] == pytest.approx(0.030) and rates[125] == pytest.approx(0.020)
    assert rates[200] == pytest.approx(0.015) and rates[300] == pytest.approx(0.010)


# --- prices -----------------------------------------------------------------------------------
def test_deflator_converts_and_interpolates():
    deflators = pd.Series({2010: 80.0, 2012: 125.0, 2024: 100.0})
    assert cba.to_price_year(100.0, 2010, 2024, deflators) == pytest.approx(125.0)
    # 2011 between 80 and 125, log-linear: sqrt(80 * 125) = 100
    assert cba.deflator_index(2011, deflators) == pytest.approx(100.0)
    with pytest.raises(cba.CbaError, match="outside the deflator table"):
        cba.deflator_index(2030, deflators)


def test_shipped_deflators_are_hm_treasurys_financial_years_all_outturn():
    rows = shipped_settings("cost_benefit")["deflators"]
    deflators = cba.deflators_from_rows(rows)
    # HM Treasury, GDP deflators at market prices (March 2026), financial years (ONS L8GG),
    # 2024-25 = 100: every year 2000-01 to 2024-25 listed, no forecast, no assumed year
    assert list(deflators.index) == list(range(2000, 2025)) and deflators[2024] == 100.0
    assert {row["status"] for row in rows} == {"outturn"}
    # 2020-21: 85.1002, as two independent transcriptions of the release give it (85.10)
    assert deflators[2020] == pytest.approx(85.10, abs=0.005)
    # 2023-24 -> 2024-25 prices: x 100 / 96.1117 = 1.0405
    assert cba.to_price_year(1.0, 2023, 2024, deflators) == pytest.approx(1.0405, abs=1e-4)


def test_shipped_config_loads_with_sources():
    settings = shipped_settings("cost_benefit")
    config, deflators = settings["cost_benefit"], cba.deflators_from_rows(settings["deflators"])
    params = cba.unit_costs(config, deflators)
    # HM Treasury GDP deflators (March 2026), financial years, 2024-25 = 100: 2016-17 76.0754,
    # 2023-24 96.1117.
    # PSSRU 2017 foster care £646/wk at 2016-17 prices -> 2024-25 prices: 646 x 100 / 76.0754
    assert params["foster_care_week"].value == pytest.approx(646 * 100 / 76.0754)
    assert params["foster_care_week"].value == pytest.approx(849.16, abs=0.01)
    # NAO 2024 children's home £318,400 a year (2023-24) = £6,106/wk -> x 100 / 96.1117
    assert params["residential_care_week"].value == pytest.approx(6106 * 100 / 96.1117)
    for entry in config["unit_costs"].values():
        assert entry["source"] and entry["price_year"] and entry["uncertainty"]
    table = cba.unit_cost_table(config, params)
    assert len(table) == len(config["unit_costs"])


def test_unit_costs_reproduce_their_sources_figures():
    """Each weekly unit cost (and its range) worked out from the figure its source prints."""
    costs = shipped_settings("cost_benefit")["cost_benefit"]["unit_costs"]
    # NAO, Managing children's residential care (2024): £318,400 a year per place in 2023-24;
    # 52.14 weeks a year (365 / 7): 318,400 x 7 / 365 = 6,106.3 -> £6,106 a week
    home, weeks = costs["residential_care_week"], 365 / 7
    assert "£318,400" in home["source"] and home["price_year"] == 2023
    assert round(318_400 / weeks) == home["value"] == 6106
    # the low end: the same report's 2019-20 figure in 2023-24 real terms, £239,800 / 52.14
    assert round(239_800 / weeks) == home["uncertainty"]["low"] == 4599
    assert round(6106 * 1.2) == home["uncertainty"]["high"] == 7327  # assumption: +20%
    # GMCA/New Economy v1.4: child in need case management £1,416 over 6 months (2008/09)
    at_home = costs["home_services_week"]
    assert "£1,416" in at_home["source"] and at_home["price_year"] == 2008
    assert round(1416 / 26, 2) == at_home["value"] == 54.46
    assert (at_home["uncertainty"]["low"], at_home["uncertainty"]["high"]) == (
        pytest.approx(54.46 * 0.5, abs=0.005), pytest.approx(54.46 * 1.5, abs=0.005))  # fmt: skip
    # PSSRU 2017: foster care £646 a week (2016/17); range +-20% (517 to 775, an assumption)
    foster = costs["foster_care_week"]
    assert "£646" in foster["source"] and foster["value"] == 646 and foster["price_year"] == 2016
    assert (foster["uncertainty"]["low"], foster["uncertainty"]["high"]) == (
        round(646 * 0.8), round(646 * 1.2))  # fmt: skip
    # GMCA/New Economy v1.4 (2009/10): referral £117 (+-25%: 88 to 146), initial assessment £362
    # up to a core assessment £660
    referral, assessment = costs["referral"], costs["assessment"]
    assert "£117" in referral["source"] and referral["value"] == 117
    assert (referral["uncertainty"]["low"], referral["uncertainty"]["high"]) == (
        round(117 * 0.75), round(117 * 1.25))  # fmt: skip
    assert "£362" in assessment["source"] and "£660" in assessment["source"]
    assert (assessment["value"], assessment["uncertainty"]["high"]) == (362, 660)
    # ASHE 2024: median gross hourly earnings (full-time, excl. overtime) £18.64; low end the
    # National Living Wage, £11.44 (April 2024)
    hour = costs["volunteer_hour_value"]
    assert "£18.64" in hour["source"] and "£11.44" in hour["source"]
    assert (hour["value"], hour["uncertainty"]["low"]) == (18.64, 11.44)


def test_real_costs_and_cost_per_sffc_family_share_central_costs():
    deflators = pd.Series({2024: 100.0, 2025: 110.0})
    costs = pd.DataFrame({
        "hub_id": ["a", "a", "b", "central", "a"],
        "category": ["staff", "training", "staff", "central", "usual_services"],
        "amount_gbp": [1000.0, 110.0, 3000.0, 400.0, 500.0],
        "price_year": [2024, 2025, 2024, 2024, 2024],
    })  # fmt: skip
    hub_a = costs[costs["hub_id"] == "a"]
    out = cba.delivery_cost_per_sffc_family(
        hub_a, costs, n_sffc_scope=2, n_sffc_trial=8, price_year=2024, deflators=deflators
    )
    # hub a: 1000 + 110 x 100/110 = 1100; central share 400 x 2/8 = 100; per family 1200 / 2
    assert out["hub_delivery_gbp"] == pytest.approx(1100)
    assert out["central_share_gbp"] == pytest.approx(100)
    assert out["per_family_gbp"] == pytest.approx(600)
    assert cba.usual_services_per_family(hub_a, 5, 2024, deflators) == pytest.approx(100)


def test_spending_after_the_deflator_table_is_taken_at_its_last_year_prices():
    deflators = pd.Series({2023: 90.0, 2024: 100.0})  # no outturn for 2025 yet
    costs = pd.DataFrame({"amount_gbp": [90.0, 200.0, 50.0], "price_year": [2023, 2025, 2026]})
    real = cba.real_costs(costs, 2024, deflators)["amount_real_gbp"]
    # 90 x 100/90 = 100; 2025 and 2026 are not deflated by an invented index: 200 and 50
    assert real.tolist() == pytest.approx([100.0, 200.0, 50.0])
    assert cba.spending_after_deflators(costs, deflators) == pytest.approx(250.0)
    with pytest.raises(cba.CbaError, match="outside the deflator table"):
        cba.real_costs(costs.assign(price_year=[2020, 2024, 2024]), 2024, deflators)


# --- effects ----------------------------------------------------------------------------------
def test_effects_from_new_keys_old_keys_or_not_estimable(tmp_path):
    new = {"sdq_total_difficulties_effect": -2.0, "sdq_total_difficulties_effect_ci_low": -3.96,
           "sdq_total_difficulties_effect_ci_high": -0.04, "care_entry_risk_ratio": 0.8,
           "care_entry_risk_ratio_ci_low": 0.5, "care_entry_risk_ratio_ci_high": 1.28,
           "re_referral_rate_ratio": "not estimable", "re_referral_hazard_ratio": 0.7,
           "re_referral_hazard_ratio_ci_low": 0.5, "re_referral_hazard_ratio_ci_high": 0.98,
           "gad7_total_diff_estimate": -1.0, "gad7_total_diff_ci_low": -2.0, "gad7_total_diff_ci_high": 0.0}  # fmt: skip
    path = tmp_path / "numbers.json"
    path.write_text(json.dumps(new))
    eff = cba.read_effects(path, 100, 100).set_index("effect")
    assert eff.at["sdq_total_difficulties", "source"] == "impact: sdq_total_difficulties_effect"
    assert eff.at["sdq_total_difficulties", "se"] == pytest.approx(3.92 / (2 * 1.959964), rel=1e-5)
    # ratio SE on the log scale: (ln 1.28 - ln 0.5) / (2 x 1.959964)
    assert eff.at["care_entry", "se"] == pytest.approx(
        (math.log(1.28) - math.log(0.5)) / 3.919928, rel=1e-6
    )
    # the rate ratio is not estimable: re-referrals are not estimable, never the hazard ratio
    assert eff.at["re_referral", "source"] == "not estimable: no impact estimate"
    assert eff.at["gad7_total", "source"] == "impact: gad7_total_diff_estimate"  # the old layout
    # missing: not estimable, never a substitute (no demo truth in the analysis)
    assert eff.at["mspss_total", "source"] == "not estimable: no impact estimate"
    assert math.isnan(eff.at["mspss_total", "estimate"])
    assert math.isnan(eff.at["nights_away", "estimate"])
    assert (
        cba.read_effects(tmp_path / "absent.json", 100, 100)["source"]
        .str.startswith("not estimable")
        .all()
    )


def test_base_rates_from_the_usual_arm():
    randomisation = pd.DataFrame({"family_id": ["A", "B", "C", "D"], "arm": ["usual", "usual", "usual", "sffc"],
                                  "randomised_date": [D("2024-01-01")] * 4})  # fmt: skip
    events = pd.DataFrame({
        "family_id": ["A", "A", "A", "B", "D", "D"],
        "child_id": ["A1", "A1", "A1", "B1", "D1", "D1"],
        "event_type": ["care_entry", "care_exit", "re_referral", "re_referral", "care_entry", "care_exit"],
        "event_date": [D("2024-02-01"), D("2024-02-15"), D("2024-03-01"), D("2024-04-01"), D("2024-05-01"), D("2024-05-29")],
    })  # fmt: skip
    base = cba.base_rates(randomisation, events, arms=("sffc", "usual"))
    relabelled = randomisation.assign(arm=randomisation["arm"].map({"usual": "B", "sffc": "A"}))
    assert cba.base_rates(relabelled, events, arms=("A", "B")) == base  # any arm values
    assert base["care_entry_risk"] == pytest.approx(1 / 3)
    assert base["re_referrals_per_family"] == pytest.approx(2 / 3)
    # stays of 14 and 28 days: mean 21 days = 3 weeks
    assert base["weeks_in_care_per_entry"] == pytest.approx(3.0)


# --- a deterministic case worked by hand ---------------------------------------------------------
def _fixed_inputs(**overrides) -> ModelInputs:
    values = {
        "delivery_cost": 2000.0, "cost_multiplier": 1.0, "usual_services_cost": 500.0,
        "care_entry_risk": 0.10, "children_per_entry_family": 1.0, "care_entry_ratio": 0.75,
        "weeks_in_care": 20.0, "weeks_in_care_multiplier": 1.0, "residential_share": 0.0,
        "foster_care_week": 1000.0, "residential_care_week": 4000.0,
        "re_referrals_per_family": 0.4, "re_referral_ratio": 0.75, "assessments_per_re_referral": 0.5,
        "referral": 100.0, "assessment": 400.0, "sdq_effect": -2.0,
    }  # fmt: skip
    values.update(overrides)
    return ModelInputs(
        {k: Parameter(k, v) for k, v in values.items()}, effect_adjustment=1.0, benefit_weight=1.0
    )


def test_deterministic_npv_and_bcr_by_hand():
    inputs = _fixed_inputs()
    draws = cba.simulate(inputs, draws=5, seed=1)
    # care: 0.10 x 1 x (1 - 0.75) = 0.025 entries avoided x 20 weeks x £1,000 = £500
    # re-referrals avoided: 0.4 x 0.25 = 0.1; x £100 = £10; assessments 0.1 x 0.5 x £400 = £20
    # benefits £530; costs £2,000; NPV -£1,470; BCR 0.265
    summary = cba.summarise(draws).set_index("perspective")
    assert summary.at["total", "benefits"] == pytest.approx(530.0)
    assert summary.at["total", "costs"] == pytest.approx(2000.0)
    assert summary.at["total", "npv"] == pytest.approx(-1470.0)
    assert summary.at["total", "bcr"] == pytest.approx(0.265)
    assert summary.at["total", "return_per_pound"] == pytest.approx(-0.735)
    assert summary.at["total", "p_benefits_exceed_costs"] == 0.0
    assert summary.at["taxpayers", "benefits"] == pytest.approx(530.0)
    assert summary.at["participants", "benefits"] == 0.0
    assert list(summary.index) == ["taxpayers", "participants", "others", "indirect", "total"]


def test_adjustment_weight_and_replaced_services_by_hand():
    base = _fixed_inputs()
    inputs = ModelInputs(
        base.parameters,
        effect_adjustment=0.5,
        benefit_weight=1.9,
        usual_services_replaced_share=0.5,
    )
    out = cba.evaluate(inputs, inputs.base_values())
    # benefits 530 x 0.5 x 1.9 = 503.5; costs 2000 - 0.5 x 500 = 1750
    assert out["benefits_total"][0] == pytest.approx(503.5)
    assert out["costs_total"][0] == pytest.approx(1750.0)


def test_benefit_weight_by_hand():
    # horizon 2 = follow-up 2: half the events in each year, year 1 discounted at 3.5%:
    # 0.5 x 1 + 0.5 / 1.035 = 0.983092
    assert cba.benefit_weight(2, 2, 0.5, 0.5) == pytest.approx(0.5 + 0.5 / 1.035)
    # horizon 3 adds year 2: base share 0.5 / 2, effect halved, factor 1 / 1.035**2
    assert cba.benefit_weight(3, 2, 0.5, 0.5) == pytest.approx(
        0.5 + 0.5 / 1.035 + 0.25 * 0.5 / 1.035**2
    )


def test_break_even_effect_by_hand():
    inputs = _fixed_inputs()
    be = cba.break_even(inputs)
    # NPV = 0 when care savings = 2000 - 30 = 1970 = 0.10 x (1 - r) x 20,000 -> 1 - r = 0.985
    assert be["care_entry_ratio"] == pytest.approx(0.015)
    assert be["effect_share"] == pytest.approx(2000 / 530)
    # Cox d: p1 = 0.0015, OR = (0.0015 / 0.9985) / (0.1 / 0.9), d = ln(OR) / 1.65
    assert be["cox_d"] == pytest.approx(math.log((0.0015 / 0.9985) / (0.1 / 0.9)) / 1.65)
    cheap = cba.break_even(_fixed_inputs(delivery_cost=20.0))
    assert cheap["care_entry_ratio"] == 1.0  # the other savings (£30) already pay
    dear = cba.break_even(_fixed_inputs(delivery_cost=1e6))
    assert math.isnan(dear["care_entry_ratio"])
    assert "none" in cba.break_even_text(dear)


# --- Monte Carlo ---------------------------------------------------------------------------------
def _uncertain_inputs() -> ModelInputs:
    inputs = _fixed_inputs()
    params = dict(inputs.parameters)
    params["care_entry_ratio"] = Parameter("care_entry_ratio", 0.75, "lognormal", sd=0.15)
    params["foster_care_week"] = Parameter(
        "foster_care_week", 1000, "triangular", low=800, high=1300
    )
    params["care_entry_risk"] = Parameter("care_entry_risk", 0.1, "beta", a=10.5, b=90.5)
    params["re_referrals_per_family"] = Parameter(
        "re_referrals_per_family", 0.4, "gamma", a=40.5, b=0.01
    )
    params["sdq_effect"] = Parameter("sdq_effect", -2.0, "normal", sd=0.5)
    return ModelInputs(params)


def test_same_seed_same_draws_other_seed_other_draws():
    inputs = _uncertain_inputs()
    a = cba.simulate(inputs, draws=2000, seed=11)
    b = cba.simulate(inputs, draws=2000, seed=11)
    c = cba.simulate(inputs, draws=2000, seed=12)
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["npv"], c["npv"])
    assert len(a) == 2000 and {"npv", "benefits_total", "costs_total", "p_care_entry_ratio"} <= set(
        a.columns
    )


def test_draws_follow_their_distributions():
    draws = cba.simulate(_uncertain_inputs(), draws=20_000, seed=3)
    # triangular(800, 1000, 1300) has mean (800 + 1000 + 1300) / 3
    assert draws["p_foster_care_week"].mean() == pytest.approx(3100 / 3, rel=0.01)
    assert draws["p_care_entry_risk"].mean() == pytest.approx(10.5 / 101, rel=0.02)
    assert np.median(draws["p_care_entry_ratio"]) == pytest.approx(0.75, rel=0.02)
    p = cba.summarise(draws).set_index("perspective").at["total", "p_benefits_exceed_costs"]
    assert p == pytest.approx((draws["benefits_total"] > draws["costs_total"]).mean())


def test_tornado_orders_by_swing_and_skips_fixed_inputs():
    table = cba.tornado(_uncertain_inputs())
    assert list(table["swing"]) == sorted(table["swing"], reverse=True)
    assert "delivery_cost" not in set(table["parameter"]) and "sdq_effect" not in set(
        table["parameter"]
    )
    row = table.set_index("parameter").loc["foster_care_week"]
    # on the Monte Carlo basis (mean NPV over the same draws), care savings scale with the weekly
    # cost: d mean NPV / d cost = mean care entries avoided x 20 weeks
    slope = cba.simulate(_uncertain_inputs())["care_entries_avoided"].mean() * 20
    assert row["npv_at_high"] - row["npv_at_low"] == pytest.approx(
        slope * (row["high"] - row["low"])
    )


def test_wsipp_table_has_every_perspective_and_outcome():
    draws = cba.simulate(_fixed_inputs(), draws=10)
    not_monetised = [
        {"perspective": "participants", "label": "Child difficulties", "why": "no mapping"}
    ]
    table = cba.wsipp_table(
        cba.summarise(draws), draws, not_monetised, cba.break_even(_fixed_inputs())
    )
    text = table.to_string()
    for word in ("taxpayers", "participants", "others", "Indirect", "Care placements avoided",
                 "not monetised: no mapping", "Benefit-cost ratio", "0.27", "-1,470", "0%",
                 "Chance of a loss", "100%"):  # fmt: skip
        assert word in text


def test_indirect_volunteer_time_and_home_services_by_hand():
    inputs = _fixed_inputs(deadweight_cost_of_taxation=0.5, volunteer_hours=10.0,
                           volunteer_hour_value=18.0, home_services_week=50.0)  # fmt: skip
    out = cba.evaluate(inputs, inputs.base_values())
    # care net of services at home: 0.025 entries x 20 weeks x (£1,000 - £50) = £475
    assert out["benefits_care_placements"][0] == pytest.approx(475.0)
    # taxpayers £475 + £30 = £505; indirect 0.5 x (505 - 2,000) = -£747.50 (WSIPP's deadweight)
    assert out["benefits_indirect"][0] == pytest.approx(-747.5)
    assert out["benefits_total"][0] == pytest.approx(505 - 747.5)
    # volunteers' time: 10 h x £18 = £180, a cost to others; total costs £2,180
    assert out["costs_others"][0] == pytest.approx(180.0)
    assert out["costs_total"][0] == pytest.approx(2180.0)
    assert out["npv"][0] == pytest.approx(505 - 747.5 - 2180)


def test_evpi_by_hand_and_ceac():
    draws = pd.DataFrame({"npv": [-100.0, 300.0], "p_care_entry_ratio": [1.0, 0.5],
                          "sdq_effect": [-1.0, -3.0], "costs_total": [100.0, 100.0],
                          "benefits_total": [0.0, 400.0]})  # fmt: skip
    # E[max(NPV, 0)] = 150; max(E[NPV], 0) = 100: perfect information is worth £50 per family
    value = cba.evpi(draws, ["p_care_entry_ratio"])
    assert value["total"] == pytest.approx(50.0) and value["effects"] == pytest.approx(50.0)
    # net costs 100 and -300; at £0 per point only the second pays, at £200 both do
    curve = cba.ceac(draws, [0.0, 200.0])
    assert curve["p_cost_effective"].tolist() == [0.5, 1.0]
    grid = cba.acceptability_grid({"max_gbp_per_point": 200, "step_gbp": 100})
    assert grid == [0.0, 100.0, 200.0]
    # improvement 1 and 3 points, net cost 100 and -300: at £100 a point the first breaks even
    # (not more than its cost), at £200 it pays
    curve = cba.ceac(draws, grid)
    assert curve["p_cost_effective"].tolist() == [0.5, 0.5, 1.0]
    assert cba.wtp_for_chance(curve, 0.5) == 0.0 and cba.wtp_for_chance(curve, 0.9) == 200.0
    assert cba.wtp_for_chance(curve.iloc[:2], 0.9) is None  # not reached on the grid


def test_rr_draws_are_common_random_numbers():
    inputs = _uncertain_inputs()
    a = cba.simulate(inputs, draws=100, seed=5)
    b = cba.simulate(inputs.with_value("foster_care_week", 900.0), draws=100, seed=5)
    np.testing.assert_array_equal(a["p_care_entry_ratio"], b["p_care_entry_ratio"])


# --- end to end through the public API, worked by hand ------------------------------------------
def _hand_config() -> dict:
    """A two-year model with fixed unit costs at the report's price year (no deflating)."""
    fixed = {"distribution": "fixed"}
    cost = lambda value, cashable: {"value": value, "price_year": 2024, "source": "test", "uncertainty": fixed,  # noqa: E731
                                    "perspective": "taxpayers", "cashable": cashable}  # fmt: skip
    return {
        "price_year": 2024,
        "discounting": {"schedule": "green_book"},
        "cautious": {"design_adjustment": 1.0, "implementation_adjustment": 1.0, "horizon_years": 2,
                     "follow_up_years": 2, "decay_per_year": 0.5, "base_rate_after_follow_up": 0.5},
        "programme": {"cost_uncertainty": fixed, "usual_services_replaced_share": 0.0},
        "unit_costs": {"foster_care_week": cost(1000, True), "residential_care_week": cost(4000, True),
                       "referral": cost(100, False), "assessment": cost(400, False)},
        "assumptions": {name: {"value": v, "uncertainty": fixed, "source": "test"} for name, v in
                        (("residential_share", 0.0), ("assessments_per_re_referral", 0.5),
                         ("weeks_in_care_multiplier", 1.0), ("weeks_in_care_default", 16))},
    }  # fmt: skip


def _hand_effects() -> pd.DataFrame:
    numbers = {"care_entry_risk_ratio": 0.75, "care_entry_risk_ratio_ci_low": 0.75,
               "care_entry_risk_ratio_ci_high": 0.75, "re_referral_rate_ratio": 0.75,
               "re_referral_rate_ratio_ci_low": 0.75, "re_referral_rate_ratio_ci_high": 0.75,
               "sdq_total_difficulties_effect": -2.0, "sdq_total_difficulties_effect_ci_low": -2.0,
               "sdq_total_difficulties_effect_ci_high": -2.0}  # fmt: skip
    return cba.read_effects(numbers, 100, 100)


# 100 usual-care families over 24 months: 10 with a care entry (one child each), 20 stays of 20
# weeks, 40 re-referrals.
HAND_BASE = {"n_usual": 100, "n_sffc": 100, "families_with_care_entry": 10, "care_entry_risk": 0.10,
             "children_per_entry_family": 1.0, "re_referrals": 40, "re_referrals_per_family": 0.4,
             "care_entries_observed": 20, "weeks_in_care_per_entry": 20.0}  # fmt: skip


def test_end_to_end_benefits_npv_and_bcr_by_hand():
    config = _hand_config()
    deflators = pd.Series({2023: 100.0, 2024: 100.0})
    inputs = cba.build_inputs(
        config, cba.unit_costs(config, deflators), _hand_effects(), HAND_BASE,
        delivery_cost_per_family=2000.0,
    )  # fmt: skip
    # The base rates are events over the whole 24 months: half fall in year 0 (not discounted)
    # and half in year 1 (discounted at 3.5%), so each event counts 0.5 + 0.5 / 1.035 = 0.983092.
    # Counting them twice (weight x follow-up years = 1.966) would double every benefit.
    weight = 0.5 + 0.5 / 1.035
    assert inputs.benefit_weight == pytest.approx(weight)
    out = cba.evaluate(inputs, inputs.base_values())
    # care: 0.10 risk x 1 child x (1 - 0.75) = 0.025 entries avoided per family
    #       x 20 weeks x £1,000 = £500 over 24 months; x 0.983092 = £491.55
    assert out["benefits_care_placements"][0] == pytest.approx(491.546, abs=0.01)
    # re-referrals: 0.4 x (1 - 0.75) = 0.1 avoided: referral £100 -> £10, assessments
    #       0.1 x 0.5 x £400 = £20; together £30 x 0.983092 = £29.49
    assert (out["benefits_re_referrals"][0] + out["benefits_assessments"][0]) == pytest.approx(
        29.493, abs=0.01
    )
    # total £530 x 0.983092 = £521.04; costs £2,000; NPV -£1,478.96; BCR 521.04 / 2000 = 0.2605
    assert out["benefits_total"][0] == pytest.approx(521.039, abs=0.01)
    assert out["costs_total"][0] == pytest.approx(2000.0)
    assert out["npv"][0] == pytest.approx(-1478.961, abs=0.01)
    assert out["benefits_total"][0] / out["costs_total"][0] == pytest.approx(0.26052, abs=1e-4)
    # the cashable part: care placements only (£491.55)
    assert out["cashable_savings"][0] == pytest.approx(491.546, abs=0.01)


# --- helpers the notebook calls -------------------------------------------------------------------
def test_volunteer_hours_draws_round_trip_and_horizon(tmp_path):
    support = pd.DataFrame({"hours": [10.0, None, 5.0], "nights": [None, 2, None]})
    assert cba.volunteer_hours_per_family(support, 5) == pytest.approx(3.0)  # 15 h / 5 families
    assert cba.volunteer_hours_per_family(support, 0) == 0.0
    draws = cba.simulate(_uncertain_inputs(), draws=50, seed=2)
    path = cba.write_draws(tmp_path / "draws.parquet", draws, ("cashable_savings", "npv"))
    back = cba.read_draws(path)
    np.testing.assert_array_equal(back["npv"], draws["npv"])
    assert cba.read_draws(tmp_path / "absent.parquet") is None
    config = _hand_config()
    assert cba.with_horizon(config, 5)["cautious"]["horizon_years"] == 5
    assert config["cautious"]["horizon_years"] == 2  # the settings themselves unchanged


def test_headline_numbers_sensitivity_and_effects_table():
    config = _hand_config()
    config["cautious"]["sensitivity_horizon_years"] = 3
    params = cba.unit_costs(config, pd.Series({2023: 100.0, 2024: 100.0}))
    costs = {"delivery_cost_per_family": 2000.0}
    inputs = cba.build_inputs(config, params, _hand_effects(), HAND_BASE, **costs)
    draws = cba.simulate(inputs, draws=200, seed=1)
    numbers = cba.headline_numbers(
        cba.summarise(draws), draws, cba.break_even(inputs), cba.evpi(draws)
    )
    # every input fixed but the beta/gamma base rates: the mean BCR is near the hand-worked 0.2605
    assert numbers["bcr"] == pytest.approx(0.26, abs=0.02) and numbers["p_loss_pct"] == 100
    assert numbers["evpi_gbp"] == 0  # never pays: nothing to learn for this decision
    sens = cba.sensitivity_numbers(
        config, params, _hand_effects(), _hand_effects(), HAND_BASE, costs, 200, 1
    )
    # year 2 adds events at half the base rate with the effect halved: a longer horizon gains
    assert sens["bcr_long_horizon"] > numbers["bcr"] and sens["sensitivity_horizon_years"] == 3
    table = cba.effects_table(_hand_effects())
    assert table.columns.tolist() == ["Effect", "Estimate", "95% CI", "Source"]


# --- correlated draws ---------------------------------------------------------------------------
def test_correlated_draws_keep_margins_and_correlation():
    inputs = _uncertain_inputs()
    params = dict(inputs.parameters)
    params["residential_care_week"] = Parameter(
        "residential_care_week", 4000, "triangular", low=3000, high=6000
    )
    correlated = replace(inputs, parameters=params,
                         correlations={("foster_care_week", "residential_care_week"): 0.8})  # fmt: skip
    draws = cba.simulate(correlated, draws=20_000, seed=4)
    rho = np.corrcoef(draws["p_foster_care_week"], draws["p_residential_care_week"])[0, 1]
    assert rho == pytest.approx(0.8, abs=0.03)  # rank-preserving copula: close to the normal's rho
    assert draws["p_foster_care_week"].mean() == pytest.approx(3100 / 3, rel=0.01)  # margin kept
    independent = cba.simulate(replace(correlated, correlations={}), draws=20_000, seed=4)
    assert (
        abs(
            np.corrcoef(independent["p_foster_care_week"], independent["p_residential_care_week"])[
                0, 1
            ]
        )
        < 0.03
    )
    # fixing one correlated input (the tornado) leaves the other's draws unchanged
    fixed = cba.simulate(correlated.with_value("foster_care_week", 900.0), draws=20_000, seed=4)
    np.testing.assert_array_equal(
        fixed["p_residential_care_week"], draws["p_residential_care_week"]
    )


def test_tornado_is_the_mean_npv_of_a_simulation_with_each_input_fixed():
    # The tornado draws the parameters once and replaces one column per end: exactly what
    # simulating with that input fixed gives, correlated inputs included.
    inputs = _uncertain_inputs()
    params = dict(inputs.parameters)
    params["residential_care_week"] = Parameter(
        "residential_care_week", 4000, "triangular", low=3000, high=6000
    )
    correlated = replace(inputs, parameters=params,
                         correlations={("foster_care_week", "residential_care_week"): 0.8})  # fmt: skip
    table = cba.tornado(correlated, draws=3000, seed=9).set_index("parameter")
    assert {"foster_care_week", "residential_care_week"} <= set(table.index)
    for name, row in table.iterrows():
        for end in ("low", "high"):
            fixed = cba.simulate(correlated.with_value(name, row[end]), draws=3000, seed=9)
            assert row[f"npv_at_{end}"] == fixed["npv"].mean(), (name, end)
    base = cba.simulate(correlated, draws=3000, seed=9)["npv"].mean()
    assert table.attrs["base_npv"] == base


def test_effect_correlation_from_a_bootstrap_over_families():
    rng = np.random.default_rng(0)
    n = 400
    arm = np.repeat(["t", "c"], n // 2)
    entry = rng.random(n) < np.where(arm == "t", 0.15, 0.25)
    # re-referrals and poor scores go with care entry in the same families: effects co-move
    frame = pd.DataFrame({"group": arm, "entered": entry, "refs": entry * 2 + (rng.random(n) < 0.2),
                          "years": 2.0, "sdq": 10 + 5 * entry + rng.normal(0, 1, n)})  # fmt: skip
    corr = impact.effect_correlation(frame, arm="group", treated="t", control="c", care_entry="entered",
                                     count="refs", exposure="years", score="sdq", resamples=300)  # fmt: skip
    assert corr.at["care_entry_ratio", "re_referral_ratio"] > 0.5
    assert corr.at["care_entry_ratio", "sdq_effect"] > 0.5
    with pytest.raises(impact.NotEstimable, match="two families"):
        impact.effect_correlation(frame.head(1), arm="group", treated="t", control="c", care_entry="entered",
                                  count="refs", exposure="years", score="sdq")  # fmt: skip


def test_every_scope_reads_the_effect_correlation_the_trials_impact_job_recorded(tmp_path):
    hub_dir = tmp_path / "demo" / "leeds"
    with pytest.raises(cba.CbaError, match="trial's impact notebook"):
        cba.read_effect_correlation(hub_dir)
    rho = {("care_entry_ratio", "re_referral_ratio"): -0.1256404995098729,
           ("care_entry_ratio", "sdq_effect"): 0.012271590768493185,
           ("re_referral_ratio", "sdq_effect"): -0.03111950878942865}  # fmt: skip
    folder = tmp_path / "demo" / "trial" / "impact"
    folder.mkdir(parents=True)
    numbers = {impact.correlation_key(*pair): value for pair, value in rho.items()}
    (folder / "numbers.json").write_text(json.dumps(numbers))  # as Outputs.save writes them
    matrix = cba.read_effect_correlation(hub_dir)
    for (first, second), value in rho.items():
        assert matrix.at[first, second] == matrix.at[second, first] == value  # exact
    assert (np.diag(matrix) == 1).all()
    assert list(matrix.columns) == list(impact.CORRELATED_EFFECTS)


def test_a_hub_records_no_effect_correlation_of_its_own():
    assert impact.effect_correlation_numbers(pd.DataFrame(), design=None, trial=False) == {}


def test_even_chance_sentence_names_the_value_or_says_it_is_not_reached():
    from psp_eval.present.cost_benefit import even_chance_sentence

    curve = pd.DataFrame({"wtp_per_sdq_point": [0.0, 250.0, 500.0],
                          "p_cost_effective": [0.2, 0.6, 0.9]})  # fmt: skip
    assert even_chance_sentence(curve) == "the chance reaches an even one at £250 per point"
    assert "stays below" in even_chance_sentence(curve.iloc[:1])


def test_scope_costs_count_the_arms_by_their_values_and_quote_money_rounded():
    deflators = pd.Series({2024: 100.0})
    randomisation = pd.DataFrame({"family_id": list("abcde"), "arm": ["T", "T", "C", "C", "C"]})
    costs = pd.DataFrame({
        "hub_id": ["h", "h", "central"], "category": ["staff", "usual_services", "central"],
        "amount_gbp": [1000.0, 300.0, 500.0], "price_year": [2024, 2025, 2024],
    })  # fmt: skip
    tables = {"randomisation": randomisation, "costs": costs}
    scoped = cba.scope_costs(tables, tables, ("T", "C"), 2024, deflators)
    assert (scoped.n_sffc, scoped.n_usual) == (2, 3)
    # 1000 + all 500 central over 2 families; usual services 300 (2025-26, at 2024-25 prices) / 3
    assert scoped.numbers() == {
        "delivery_cost_per_sffc_family_gbp": 750, "central_share_gbp": 500,
        "usual_services_per_family_gbp": 100, "spending_after_deflators_gbp": 300,
        "deflators_last_year": "2024-25",
    }  # fmt: skip


def test_financial_years_are_written_by_both_years():
    assert cba.financial_year(2024) == "2024-25" and cba.financial_year(1999) == "1999-00"
    settings = shipped_settings("cost_benefit")
    config, deflators = settings["cost_benefit"], cba.deflators_from_rows(settings["deflators"])
    table = cba.unit_cost_table(config, cba.unit_costs(config, deflators))
    assert "£ at 2024-25 prices" in table.columns
    assert table["Source value (£)"].iloc[0] == "646 (2016-17)"


def test_effects_numbers_say_how_many_are_not_estimable():
    effects = pd.DataFrame({"estimate": [0.8, float("nan"), -1.2]})
    assert cba.effects_numbers(effects) == {
        "n_effects_not_estimable": 1,
        "effects_source": "trial-wide impact estimates (1 of 3 effects not estimable)",
    }
    assert (
        cba.effects_numbers(effects.fillna(1.0))["effects_source"] == "trial-wide impact estimates"
    )


def test_delivery_costs_shown_and_quoted():
    from psp_eval.present.cost_benefit import delivery_costs_shown, delivery_numbers

    by_category = pd.DataFrame(
        {"gbp_2024": [100.4, 50.6], "total_gbp": [100.4, 50.6]}, index=["staff", "central"]
    )
    shown = delivery_costs_shown(by_category)
    assert list(shown.columns) == ["£ 2024-25", "£ total"] and shown.index.name == "Category"
    assert shown["£ total"].tolist() == [100, 51]
    assert delivery_numbers(by_category, 75.4) == {
        "total_delivery_cost_gbp": 151,
        "cost_per_family_gbp": 75,
        "includes_central_costs": "yes",
    }


def test_the_headline_uses_the_trials_effects_and_the_scopes_own_are_kept_apart(tmp_path):
    for scope, effect in (("trial", -2.0), ("north", -0.5)):
        numbers = {
            "sdq_total_difficulties_effect": effect,
            "sdq_total_difficulties_effect_ci_low": effect - 1,
            "sdq_total_difficulties_effect_ci_high": effect + 1,
        }
        (tmp_path / scope / "impact").mkdir(parents=True)
        (tmp_path / scope / "impact" / "numbers.json").write_text(json.dumps(numbers))
    trial, own = cba.headline_and_own_effects(tmp_path / "north", 50, 50, {})
    assert trial.set_index("effect").at["sdq_total_difficulties", "estimate"] == -2.0
    assert own.set_index("effect").at["sdq_total_difficulties", "estimate"] == -0.5


def test_acceptability_numbers_give_the_range_and_the_even_chance():
    from psp_eval.present.cost_benefit import acceptability_numbers

    curve = pd.DataFrame({"wtp_per_sdq_point": [0.0, 500.0], "p_cost_effective": [0.3, 0.7]})
    assert acceptability_numbers(curve) == {
        "wtp_max_gbp": 500,
        "wtp_even_chance": "the chance reaches an even one at £500 per point",
    }


# --- costs by payer, worked by hand ---------------------------------------------------------------
def test_costs_by_payer_sum_to_the_total_and_private_money_carries_no_deadweight():
    from dataclasses import replace

    from psp_eval.analyses.cost_benefit import Payers

    base = _fixed_inputs(deadweight_cost_of_taxation=0.5, volunteer_hours=10.0,
                         volunteer_hour_value=18.0)  # fmt: skip
    # A contract of 2 trial years (the investor pays) and 2 further years (the LAs pay), families
    # at one rate: the investor pays 2 / (2 + 2) = half the £2,000 delivery cost per family.
    public = Payers("DfE", True, trial_years=2, further_years=2)
    out = cba.evaluate(replace(base, payers=public), base.base_values())
    # investor £1,000 + LAs £1,000 = £2,000, all taxpayers' money; volunteers' time
    # 10 h x £18 = £180 to others; total costs £2,180
    assert (out["costs_investor"][0], out["costs_las"][0]) == (1000.0, 1000.0)
    assert out["costs_taxpayers"][0] == 2000.0 and out["costs_others"][0] == 180.0
    assert out["costs_total"][0] == pytest.approx(2180.0)
    # benefits to taxpayers £530 (care £500 + re-referrals £10 + assessments £20); indirect
    # 0.5 x (530 - 2,000) = -£735; total benefits -£205; NPV -205 - 2,180 = -£2,385
    assert out["benefits_indirect"][0] == pytest.approx(-735.0)
    assert out["npv"][0] == pytest.approx(-2385.0)
    # A philanthropist: its £1,000 is a cost to others (£180 + £1,000 = £1,180), taxpayers pay
    # the LAs' £1,000 only; total costs still £2,180. Indirect 0.5 x (530 - 1,000) = -£235, so
    # total benefits £295 and NPV 295 - 2,180 = -£1,885.
    private = Payers("A trust", False, trial_years=2, further_years=2)
    out = cba.evaluate(replace(base, payers=private), base.base_values())
    assert out["costs_taxpayers"][0] == 1000.0 and out["costs_others"][0] == 1180.0
    assert out["costs_total"][0] == pytest.approx(2180.0)
    assert out["benefits_indirect"][0] == pytest.approx(-235.0)
    assert out["npv"][0] == pytest.approx(-1885.0)
    # services as usual replaced (half of £500) are the LAs' own: £1,000 - £250 = £750
    replaced = replace(base, payers=public, usual_services_replaced_share=0.5)
    out = cba.evaluate(replaced, replaced.base_values())
    assert (out["costs_investor"][0], out["costs_las"][0]) == (1000.0, 750.0)
    assert out["costs_investor"][0] + out["costs_las"][0] == pytest.approx(1750.0)


def test_wsipp_table_splits_costs_by_payer():
    from dataclasses import replace

    from psp_eval.analyses.cost_benefit import Payers

    base = _fixed_inputs(volunteer_hours=10.0, volunteer_hour_value=18.0)
    private = Payers("A trust", False, trial_years=2, further_years=3)
    draws = cba.simulate(replace(base, payers=private), draws=10)
    table = cba.wsipp_table(cba.summarise(draws), draws, payers=private).set_index(
        "Per family allocated to SFFC"
    )["£ (present value)"]
    # 2 of 5 contract years: the trust pays 2 / 5 x £2,000 = £800, the LAs £1,200
    assert table["Costs to taxpayers"] == "1,200"
    assert (
        table[
            "  Delivery paid by the LAs in the further years (years 3-5), net of services as usual replaced"
        ]
        == "1,200"
    )
    assert table["Costs to others"] == "980"  # £180 volunteers' time + £800
    assert table["  Delivery paid by A trust in the trial (years 1-2), private money"] == "800"
    assert table["Total costs"] == "2,180"
    assert private.numbers()["investor_share_pct"] == 40
    contract = {
        "investor": {"name": "DfE", "public_money": True},
        "trial_years": 2,
        "further_years": 2,
    }
    assert Payers.from_contract(contract) == Payers("DfE", True, 2, 2)
