"""Power: the t test against R's pwr and statsmodels, ANCOVA against a simulation."""

import math

import pytest
from statsmodels.stats.power import TTestIndPower

from psp_eval.analyses import power as pw
from psp_eval.analyses.power import Design, PowerError


@pytest.mark.parametrize(
    ("d", "n", "expected"),
    [
        # R pwr 1.x: pwr.t.test(d=1, n=30, sig.level=0.05, type="two.sample", alternative="two.sided")
        # (quoted in statsmodels/stats/tests/test_power.py, TestTTPowerTwoS1)
        (1.0, 30, 0.967708258242517),
        # R pwr: pwr.t.test(d=0.1, n=20, sig.level=0.05, type="two.sample") (TestTTPowerTwoS2)
        (0.1, 20, 0.06095912465411235),
    ],
)
def test_t_test_power_matches_r_pwr(d, n, expected):
    assert pw.t_test_power(d, n, 0.05) == pytest.approx(expected, abs=1e-10)


@pytest.mark.parametrize(("effect", "n"), [(0.2, 50), (0.5, 64), (0.35, 131.5), (0.8, 12)])
def test_unadjusted_power_matches_statsmodels(effect, n):
    expected = TTestIndPower().power(effect_size=effect, nobs1=n, alpha=0.05, ratio=1.0)
    assert pw.power(effect, n, Design()) == pytest.approx(expected, abs=1e-8)


@pytest.mark.parametrize("effect", [0.2, 0.3, 0.5])
def test_unadjusted_sample_size_matches_statsmodels(effect):
    n = TTestIndPower().solve_power(effect_size=effect, alpha=0.05, power=0.8, ratio=1.0)
    size = pw.sample_size(effect, Design())
    assert size.randomised == math.ceil(n)
    assert size.power >= 0.8


def test_cohens_classic_64_per_group():
    # Cohen (1988), Statistical Power Analysis, Table 2.4.1: d = 0.5, two-sided alpha .05,
    # power .80 needs n = 64 per group.
    assert pw.sample_size(0.5, Design()).randomised == 64


def test_mde_inverts_power():
    design = Design(sd=6, rho=0.55, n_primary=2, attrition=0.15, icc=0.01, cluster_size=100)
    mde = pw.minimum_detectable_effect(400, design)
    assert pw.power(mde, 400, design) == pytest.approx(0.8, abs=1e-6)


def test_each_adjustment_scales_the_sample_as_the_formula_says():
    base = pw.sample_size(0.5, Design()).analysed_unclustered  # effective n of the t test
    ancova = pw.sample_size(0.5 * math.sqrt(1 - 0.6**2), Design(rho=0.6)).analysed_unclustered
    assert ancova == base  # the same standardised effect: 1 - rho^2 absorbed exactly
    n_eff = TTestIndPower().solve_power(effect_size=0.3 / 1.0, alpha=0.05, power=0.8)
    clustered = pw.sample_size(0.3, Design(icc=0.05, cluster_size=21, attrition=0.2))
    assert clustered.analysed == math.ceil(n_eff * 2.0)  # design effect 1 + 20 x 0.05 = 2
    assert clustered.randomised == math.ceil(n_eff * 2.0 / 0.8)


def test_two_primary_outcomes_halve_alpha():
    expected = TTestIndPower().power(effect_size=0.3, nobs1=150, alpha=0.025)
    for method in ("bonferroni", "holm"):
        assert pw.power(0.3, 150, Design(n_primary=2, multiplicity=method)) == pytest.approx(
            expected
        )
    assert Design(n_primary=2, multiplicity="none").alpha_per_test == 0.05


def test_nonsense_designs_are_refused():
    with pytest.raises(PowerError, match="rho"):
        Design(rho=1.2)
    with pytest.raises(PowerError, match="attrition"):
        Design(attrition=1.0)
    with pytest.raises(PowerError, match="too few"):
        pw.minimum_detectable_effect(2, Design())


def test_simulation_unadjusted_agrees_quickly():
    sim, se = pw.simulate_power(0.4, 60, Design(), n_sims=2000, seed=3)
    assert abs(sim - pw.power(0.4, 60, Design())) < 4 * se


@pytest.mark.parametrize(
    ("effect", "n", "design"),
    [
        (2.0, 120, Design(sd=6, rho=0.55)),
        (1.5, 150, Design(sd=5, rho=0.55, n_primary=2, attrition=0.15)),
        (0.25, 100, Design(rho=0.7, attrition=0.1)),
    ],
)
def test_ancova_power_agrees_with_simulation(effect, n, design):
    # about 0.5 s each: quick enough for the default suite
    sim, se = pw.simulate_power(effect, n, design, n_sims=8000, seed=11)
    analytic = pw.power(effect, n, design)
    # within 3.5 Monte Carlo SEs (plus 0.005 for the analytic formula's approximations:
    # ANCOVA loses a df for baseline and attrition makes the analysed n random)
    assert abs(sim - analytic) < 3.5 * se + 0.005, (sim, analytic, se)


def test_cli_prints_sample_size_and_mde(capsys):
    from psp_eval.cli import main

    assert main(["power", "--effect", "0.5", "--outcomes", "1", "--n-per-arm", "64"]) == 0
    out = capsys.readouterr().out
    assert "randomise 64 families per arm (128 in all)" in out
    assert "minimum detectable effect 0.499" in out  # 64 is rounded up from 63.8
    assert main(["power", "--rho", "1.5", "--effect", "1"]) == 1
    assert "rho must be in [0, 1)" in capsys.readouterr().err


def test_primary_power_over_the_designs_outcomes_and_its_report_words():
    from conftest import shipped_settings
    from psp_eval.analyses.power import primary_power
    from psp_eval.data.design import TrialDesign
    from psp_eval.present import need as show_need

    settings = shipped_settings("need")
    design = TrialDesign.from_settings(settings)
    rows, last = primary_power(
        settings["power"],
        list(design.primary),
        alpha=0.05,
        multiplicity="bonferroni",
        target=850,
        n_hubs=5,
    )
    assert [r["outcome"] for r in rows] == ["sdq_total_difficulties", "gad7_total"]
    one = Design(
        sd=6.0,
        rho=0.55,
        alpha=0.05,
        n_primary=2,
        multiplicity="bonferroni",
        attrition=0.15,
        icc=0.01,
        cluster_size=170,
    )
    assert rows[0]["mde"] == pytest.approx(pw.minimum_detectable_effect(425, one, 0.8))
    assert last.alpha_per_test == pytest.approx(0.025)
    numbers = show_need.power_numbers(rows, last, settings["power"], 850, design, "bonferroni")
    assert numbers["power_multiplicity_words"] == "Bonferroni over two primary outcomes"
    assert numbers["power_mde_words"].startswith(
        f"{round(rows[0]['mde'], 2)} points in SDQ total difficulties and "
    )
    assert list(show_need.power_table(rows, design)["Outcome"]) == [
        "SDQ total difficulties (0-40)",
        "GAD-7 (0-21)",
    ]
