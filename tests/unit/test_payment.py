"""The PSP payment decision: targets judged with their evidence, the decision rule, LA savings."""

import math

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


def test_suppressed_or_missing_evidence_is_not_met():
    numbers = {"cost_benefit": {"n_supported": "[c]"}}
    results = targets.evaluate_targets(CONFIG, numbers, _effects()).set_index("target")
    assert not results.at["families", "met"] and math.isnan(results.at["families", "estimate"])
    assert not results.at["cost", "met"]


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
                               cashable_high=300.0, price_per_family=1000.0)  # fmt: skip
    ash = table.set_index("la_name").loc["Ash"]
    # 12 families over 2 years -> 12 more over 2 further years: savings 1,200, price 12,000
    assert (ash["expected_families"], ash["savings"], ash["price"], ash["net"]) == (
        12,
        1200,
        12000,
        -10800,
    )
    assert table.iloc[-1]["savings"] == pytest.approx(2000)
    shown = present_payment.la_savings_shown(table).set_index("Local authority")
    # Bram has 3 families: hidden, with the next smallest (Cal, 5) so the total reveals nothing
    assert shown.at["Bram", "SFFC families in the trial"] == "[c]"
    assert shown.at["Cal", "SFFC families in the trial"] == "[c]"
    assert shown.at["Bram", "Expected cashable savings (£)"] == "[c]"
    assert shown.at["All LAs", "SFFC families in the trial"] == 20


def test_shipped_targets_are_valid():
    config = targets.check_targets(shipped_config()["payment"])
    assert config["further_years"] == 2 and config["decision"]["required"]


def test_bad_targets_are_explained():
    bad = {
        "targets": [{"id": "a", "label": "A", "measure": "x", "comparison": "above", "level": 1}]
    }
    with pytest.raises(targets.PaymentError, match="at_least or at_most"):
        targets.check_targets(bad)
