"""The PSP payment decision: targets judged with their evidence, the decision rule, LA savings."""

import math

import numpy as np
import pandas as pd
import pytest

from conftest import shipped_config
from psp_eval.analyses import payment as targets
from psp_eval.present import payment as present_payment

CONFIG = {
    "targets": [
        {"id": "families", "label": "Families supported", "source": "cost_benefit", "measure": "n_supported",
         "comparison": "at_least", "level": 60, "per_hub": True},
        {"id": "primary", "label": "SDQ", "source": "impact", "effect": "sdq", "comparison": "at_most",
         "level": -1.0, "interval_must_exclude": 0},
        {"id": "care", "label": "Care or re-referral", "source": "impact", "any_of_effects": ["care", "reref"],
         "comparison": "at_most", "level": 0.9, "interval_must_exclude": 1},
        {"id": "cost", "label": "Cost", "source": "cost_benefit", "measure": "cost_per_family_gbp",
         "comparison": "at_most", "level": 3000},
    ],
    "decision": {"required": ["primary"], "min_met": 4, "min_met_for_review": 3,
                 "wording": {"continue": "Continue", "review": "Review", "stop": "Stop"}},
}  # fmt: skip


def _effects(sdq=(-1.5, -2.5, -0.5), care=(0.8, 0.6, 1.1), reref=(0.7, 0.55, 0.89)):
    rows = []
    for name, (est, lo, hi) in {"sdq": sdq, "care": care, "reref": reref}.items():
        rows.append(
            {
                "effect": name,
                "estimate": est,
                "ci_low": lo,
                "ci_high": hi,
                "source": f"impact: {name}",
            }
        )
    return pd.DataFrame(rows)


def test_effect_targets_need_the_level_and_the_interval():
    target = CONFIG["targets"][1]
    assert targets.judge(target, targets.Evidence(-1.5, -2.5, -0.5))
    assert not targets.judge(target, targets.Evidence(-1.5, -2.5, 0.1))  # CI crosses 0
    assert not targets.judge(target, targets.Evidence(-0.8, -1.0, -0.6))  # too small
    assert not targets.judge(target, targets.Evidence(float("nan")))


def test_evaluate_reads_evidence_and_scales_per_hub_levels():
    numbers = {"cost_benefit": {"n_supported": 250, "cost_per_family_gbp": 2900}}
    results = targets.evaluate_targets(CONFIG, numbers, _effects(), n_hubs=5).set_index("target")
    assert results.at["families", "rule"] == ">= 300" and not results.at["families", "met"]
    assert (
        results.at["primary", "met"]
        and results.at["primary", "source"] == "impact: sdq (this scope)"
    )
    # care entry CI crosses 1, re-referral does not: the target is met on re-referral
    assert results.at["care", "met"] and results.at["care", "measure"] == "reref"
    assert results.at["cost", "met"]
    decision = targets.decide(results.reset_index(), CONFIG["decision"])
    assert (decision.outcome, decision.n_met, decision.wording) == ("review", 3, "Review")


def test_decision_rule_outcomes():
    def results(**met):
        return pd.DataFrame({"target": list(met), "met": list(met.values())})

    rule = CONFIG["decision"]
    assert (
        targets.decide(results(families=True, primary=True, care=True, cost=True), rule).outcome
        == "continue"
    )
    stop = targets.decide(results(families=True, primary=False, care=True, cost=True), rule)
    assert stop.outcome == "stop" and "primary" in stop.reason
    assert (
        targets.decide(results(families=False, primary=True, care=False, cost=True), rule).outcome
        == "stop"
    )


def test_suppressed_or_missing_evidence_is_not_assessable_never_substituted():
    numbers = {"cost_benefit": {"n_supported": "[c]"}}
    nan = float("nan")
    effects = _effects(sdq=(nan, nan, nan))
    results = targets.evaluate_targets(CONFIG, numbers, effects).set_index("target")
    assert not results.at["families", "met"] and math.isnan(results.at["families", "estimate"])
    assert results.at["families", "status"] == "not assessable"
    assert results.at["cost", "status"] == "not assessable"
    assert results.at["primary", "status"] == "not assessable"
    assert math.isnan(results.at["primary", "estimate"])  # no planted or other number put in
    # the required target cannot be judged: the decision is not assessable, not "stop"
    decision = targets.decide(results.reset_index(), CONFIG["decision"])
    assert decision.outcome == "not assessable" and "not assessable" in decision.reason
    primary = next(t["label"] for t in CONFIG["targets"] if t["id"] == "primary")
    assert f"required target(s) not met: {primary}" in decision.reason  # by label, for funders


def test_missing_evidence_that_cannot_change_the_outcome_still_decides():
    # primary not met: stop whatever the missing targets would show
    numbers = {"cost_benefit": {"n_supported": 400}}
    effects = _effects(sdq=(-0.5, -1.5, 0.5))
    results = targets.evaluate_targets(CONFIG, numbers, effects, n_hubs=5)
    assert results.set_index("target").at["cost", "status"] == "not assessable"
    assert targets.decide(results, CONFIG["decision"]).outcome == "stop"


def test_value_for_money_by_hand_and_the_four_cases():
    rule = {"criterion": "cashable_covers_price", "level": 0.5}
    draws = np.array([500.0, 900.0, 1000.0, 1500.0])  # 2 of 4 draws reach a price of 1000
    vfm = targets.value_for_money(rule, cashable_draws=draws, price_per_family=1000.0)
    assert vfm.estimate == 0.5 and vfm.met and "50% chance" in vfm.text
    dear = targets.value_for_money(rule, cashable_draws=draws, price_per_family=1200.0)
    assert dear.estimate == 0.25 and not dear.met
    missing = targets.value_for_money(rule, cashable_draws=None, price_per_family=1000.0)
    assert missing.met is None and missing.text == "not assessable"
    bcr = targets.value_for_money({"criterion": "bcr_at_least", "level": 1.0}, cashable_draws=None,
                                  price_per_family=None, bcr=0.4)  # fmt: skip
    assert bcr.met is False
    go = targets.Decision("continue", "Continue", 4, 5, True, "")
    stop = targets.Decision("stop", "Stop", 2, 5, False, "")
    assert targets.payment_case(go, vfm) == "targets_met_value"
    assert targets.payment_case(go, dear) == "targets_met_no_value"
    assert targets.payment_case(stop, vfm) == "targets_not_met_value"
    assert targets.payment_case(stop, dear) == "targets_not_met_no_value"
    assert targets.payment_case(go, missing) == "not assessable"
    wording = {case: case.replace("_", " ") for case in targets.CASES}
    table = targets.cases_table(wording, "targets_met_no_value")
    assert len(table) == 4 and table["Applies"].tolist() == ["", "this case", "", ""]


def test_la_savings_by_share_of_families_with_disclosure():
    las = pd.DataFrame({"la_code": ["E1", "E2", "E3"], "la_name": ["Ash", "Bram", "Cal"]})
    referrals = pd.DataFrame(
        {
            "family_id": [f"F{i}" for i in range(20)],
            "la_code": ["E1"] * 12 + ["E2"] * 3 + ["E3"] * 5,
        }
    )
    randomisation = pd.DataFrame({"family_id": [f"F{i}" for i in range(20)], "arm": ["sffc"] * 20})
    table = targets.la_savings(las, referrals, randomisation, cashable_per_family=100.0, cashable_low=-10.0,
                               cashable_high=300.0, price_per_family=1000.0, treated="sffc",
                               further_years=2, trial_years=2)  # fmt: skip
    ash = table.set_index("la_name").loc["Ash"]
    # 12 families over 2 years -> 12 more over 2 further years: savings 1,200, price 12,000
    assert (ash["expected_families"], ash["savings"], ash["price"], ash["net"]) == (
        12,
        1200,
        12000,
        -10800,
    )
    assert table.iloc[-1]["savings"] == pytest.approx(2000)
    shown = present_payment.la_savings_shown(table, 2).set_index("Local authority")
    # Bram has 3 families: hidden, with the next smallest (Cal, 5) so the total reveals nothing
    assert shown.at["Bram", "SFFC families in the trial"] == "[c]"
    assert shown.at["Cal", "SFFC families in the trial"] == "[c]"
    assert shown.at["Bram", "Expected cashable savings (£)"] == "[c]"
    assert shown.at["All LAs", "SFFC families in the trial"] == 20


def test_shipped_targets_are_valid():
    config = targets.check_targets(shipped_config()["payment"])
    assert shipped_config()["contract"]["further_years"] == 2 and config["decision"]["required"]
    assert set(config["decision"]["cases"]) == set(targets.CASES)
    # the cost target is on the price's base: per family allocated, at the report's price year
    cost = next(t for t in config["targets"] if t["id"] == "cost_per_family")
    assert cost["measure"] == "delivery_cost_per_sffc_family_gbp"


def test_bad_targets_are_explained():
    bad = {
        "targets": [{"id": "a", "label": "A", "measure": "x", "comparison": "above", "level": 1}]
    }
    with pytest.raises(targets.PaymentError, match="at_least or at_most"):
        targets.check_targets(bad)


def test_la_cash_flow_by_hand():
    savings = pd.DataFrame({"la_name": ["Ash"], "expected_families": [10.0]})
    flow = targets.la_cash_flow(savings, np.array([0.0, 500.0, 1000.0, 3000.0]), 1200.0, 1000.0,
                                further_years=2, follow_up_years=2, trial_years=2)  # fmt: skip
    # After 2 trial years (the investor's), 5 families start in each of contract years 3 and 4
    # at £1,000, paid by the LA: price 5,000 in years 3 and 4.
    # Each cohort saves 5 x 1,200 = 6,000 over its 2 years: 3,000 a year.
    # year 3: 3,000 - 5,000 = -2,000; year 4: 6,000 - 5,000 -> cum -1,000; year 5: +3,000 -> 2,000
    assert flow["year"].tolist() == [3, 4, 5]
    assert flow["paid_by"].tolist() == ["LA children's services", "LA children's services", "–"]
    assert set(flow["saves_in"]) == {"LA children's services: placements (cashable)"}
    assert flow["price"].tolist() == [5000.0, 5000.0, 0.0]
    assert flow["cashable_savings"].tolist() == [3000.0, 6000.0, 3000.0]
    assert flow["cumulative_net"].tolist() == [-2000.0, -1000.0, 2000.0]
    assert set(flow["payback"]) == {"year 5"}
    # net over all years per draw: 10 x (draw - 1,000) = -10,000 ... 20,000
    assert flow["net_p5"].iloc[0] == pytest.approx(np.percentile([-10000, -5000, 0, 20000], 5))


def test_cash_flow_shown_hides_suppressed_las():
    savings = pd.DataFrame({"la_name": ["Ash", "Bram"], "expected_families": [10.0, 2.0]})
    flow = targets.la_cash_flow(savings, np.array([1000.0, 2000.0]), 1200.0, 1000.0,
                                further_years=2, follow_up_years=2, trial_years=2)  # fmt: skip
    shown_savings = pd.DataFrame(
        {"Local authority": ["Ash", "Bram"], "SFFC families in the trial": [10, "[c]"]}
    )
    shown = present_payment.cash_flow_shown(flow, shown_savings)
    bram = shown[shown["Local authority"] == "Bram"]
    assert (bram["Price paid (£)"] == "[c]").all() and (bram["Payback"] == "[c]").all()
    assert shown.loc[shown["Local authority"] == "Ash", "Price paid (£)"].iloc[0] == "5,000"


def test_la_savings_count_the_treated_arm_by_its_own_label():
    las = pd.DataFrame({"la_code": ["E1"], "la_name": ["Ash"]})
    referrals = pd.DataFrame({"family_id": ["a", "b", "c"], "la_code": ["E1"] * 3})
    randomisation = pd.DataFrame({"family_id": ["a", "b", "c"], "arm": ["int", "int", "ctl"]})
    table = targets.la_savings(las, referrals, randomisation, cashable_per_family=10.0,
                               cashable_low=0.0, cashable_high=20.0, price_per_family=100.0,
                               treated="int", further_years=2, trial_years=2)  # fmt: skip
    assert table.iloc[0]["families"] == 2  # another trial's arm values, not "sffc"
    assert targets.savings_numbers(table, 2) == {
        "further_years": 2, "expected_savings_gbp": 20, "price_of_delivery_gbp": 200,
        "savings_cover_pct": 10,
    }  # fmt: skip


def test_a_hub_judges_its_targets_on_the_trials_effects_when_there_are_some(tmp_path):
    hub, trial = tmp_path / "demo" / "north", tmp_path / "demo" / "trial"
    (hub / "impact").mkdir(parents=True)
    (hub / "impact" / "numbers.json").write_text('{"sdq_total_difficulties_effect": -0.5}')
    own = targets.read_numbers(hub, ["impact", "cost_benefit"])
    assert own == {"impact": {"sdq_total_difficulties_effect": -0.5}, "cost_benefit": {}}
    where, numbers, trial_wide = targets.effect_evidence("north", {}, hub, own["impact"])
    assert (numbers, trial_wide) == (own["impact"], False) and "not available" in where
    (trial / "impact").mkdir(parents=True)
    (trial / "impact" / "numbers.json").write_text('{"sdq_total_difficulties_effect": -1.5}')
    where, numbers, trial_wide = targets.effect_evidence("north", {}, hub, own["impact"])
    assert (where, numbers["sdq_total_difficulties_effect"], trial_wide) == (
        "trial, all hubs",
        -1.5,
        True,
    )
    hub_own = targets.effect_evidence(
        "north", {"effect_evidence_for_hubs": "hub"}, hub, own["impact"]
    )
    assert hub_own == ("this hub (exploratory)", own["impact"], False)
    assert targets.effect_evidence("trial", {}, trial, {"x": 1}) == ("all hubs", {"x": 1}, True)


def test_price_and_value_on_one_base_and_no_price_is_an_error():
    decision = targets.Decision("continue", "Continue", 4, 5, True, "4 of 5 targets met", 0)
    config = {"price_per_family_gbp": None, "value_for_money": {"criterion": "cashable_covers_price", "level": 0.5},
              "decision": {"wording": {}, "cases": {"targets_met_value": "Pay at the price"}}}  # fmt: skip
    cb = {"delivery_cost_per_sffc_family_gbp": 1000, "bcr": 1.2}
    priced = targets.price_and_value(config, decision, cb, np.array([900.0, 1100.0, 1200.0]))
    # no price set: the delivery cost; 2 of 3 draws of cashable savings reach it
    assert (priced.price, priced.case) == (1000.0, "targets_met_value")
    assert priced.value.estimate == pytest.approx(2 / 3)
    assert priced.numbers["payment_case_text"] == "Pay at the price"
    with pytest.raises(targets.PaymentError, match="no price per family"):
        targets.price_and_value(config, decision, {}, None)


def test_each_la_saves_with_its_own_placement_mix_and_the_periods_come_from_the_contract():
    las = pd.DataFrame({"la_code": ["E1", "E2"], "la_name": ["Ash", "Bram"]})
    referrals = pd.DataFrame({"family_id": [f"F{i}" for i in range(30)],
                              "la_code": ["E1"] * 20 + ["E2"] * 10})  # fmt: skip
    randomisation = pd.DataFrame({"family_id": [f"F{i}" for i in range(30)], "arm": "sffc"})
    # cashable savings per family by LA: Ash (own placement mix) 300 or 500, Bram (assumption) 100
    draws = pd.DataFrame({"E1": [300.0, 500.0], "E2": [100.0, 100.0]})
    mix = pd.DataFrame(
        {"la_code": ["E1", "E2", ""], "used": ["own data", "assumption", "own data"]}
    )
    per_la = targets.la_cashable(draws, mix)
    assert per_la.set_index("la_code").loc["E1", "cashable"] == 400.0
    # 3 trial years, 2 further: Ash expects 20 x 2 / 3 = 13.33 families, Bram 6.67
    table = targets.la_savings(las, referrals, randomisation, cashable_per_family=0.0,
                               cashable_low=0.0, cashable_high=0.0, price_per_family=1000.0,
                               treated="sffc", further_years=2, trial_years=3, per_la=per_la,
                               la_draws=draws)  # fmt: skip
    rows = table.set_index("la_name")
    # the total's range sums the LAs draw by draw: 13.33 x 300 + 6.67 x 100 = 4,667 and
    # 13.33 x 500 + 667 = 7,333 (the 5th percentile of the two, interpolated: 4,800)
    assert rows.at["All LAs", "savings_low"] == pytest.approx(
        np.percentile([14000 / 3, 22000 / 3], 5)
    )
    assert rows.at["Ash", "expected_families"] == pytest.approx(40 / 3)
    # Ash: 13.33 x 400 = 5,333; Bram: 6.67 x 100 = 667; all LAs 6,000, i.e. 300 per family
    assert rows.at["Ash", "savings"] == pytest.approx(16000 / 3)
    assert rows.at["Bram", "savings"] == pytest.approx(2000 / 3)
    assert rows.at["All LAs", "savings"] == pytest.approx(6000.0)
    assert rows.at["All LAs", "cashable_per_family"] == pytest.approx(300.0)
    assert rows["placement_mix"].tolist() == ["own data", "assumption", "mixed"]
    shown = present_payment.la_savings_shown(table, 2)
    assert "Families expected, two further years" in shown.columns
    assert shown["Placement mix"].tolist() == ["own data", "assumption", "mixed"]
    flow = targets.la_cash_flow(table, draws, 0.0, 1000.0, further_years=2, follow_up_years=2,
                                trial_years=3)  # fmt: skip
    # contract years 4 and 5 are the further years (after 3 trial years), 6 the last savings
    assert sorted(set(flow["year"])) == [4, 5, 6]
    # the total row's net sums the LAs draw by draw: draw 1: 13.33 x (300 - 1,000) + 6.67 x
    # (100 - 1,000) = -9,333 - 6,000 = -15,333; draw 2: 13.33 x (500 - 1,000) - 6,000 = -12,667
    total = flow[flow["la_name"] == "All LAs"].iloc[0]
    assert total["net_p5"] == pytest.approx(np.percentile([-46000 / 3, -38000 / 3], 5))
    periods = targets.contract_periods(
        {
            "investor": {"name": "A trust", "public_money": False},
            "trial_years": 3,
            "further_years": 2,
        }
    )
    assert periods["Contract years"].tolist() == [
        "years 1-3 (trial)",
        "years 4-5 (further years, if the targets are met)",
    ]
    assert periods["Whose money"].tolist() == ["private: others in society", "public: taxpayers"]
