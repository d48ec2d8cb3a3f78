"""The impact evaluation from the design's outcomes to what the report prints: the analyses
over every declared outcome agree with the estimators called one by one, and the tables and
sentences show exactly those numbers."""

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest

from conftest import shipped_config, shipped_settings
from psp_eval.analyses import impact
from psp_eval.data.design import TrialDesign
from psp_eval.present import impact as show
from psp_eval.present import tables

DESIGN = TrialDesign.from_settings(shipped_settings("impact"))
ARMS = dict(arm="arm", treated="sffc", control="usual")


@pytest.fixture(scope="module")
def demo_tables(tmp_path_factory):
    """A small demo trial's clean tables with the scores."""
    from psp_eval.data import contract, scoring
    from psp_eval.data import demo as synth

    raw = tmp_path_factory.mktemp("demo")
    synth.generate(raw, seed=3, n_hubs=2, n_las=4, n_families=300)
    instruments = shipped_config()["instruments"]
    t = contract.load_dir(raw, contract.read_hubs(raw / "hubs.tsv"), instruments)
    t["outcomes"] = scoring.outcomes_wide(scoring.score(t["measures"], instruments), instruments)
    return t


@pytest.fixture(scope="module")
def frame(demo_tables):
    """Its analysis frame, as the impact notebook builds it."""
    return impact.analysis_frame(demo_tables, follow_up_days=DESIGN.follow_up_days)


def test_score_effects_are_the_ancova_of_each_outcome_with_the_primaries_adjusted(frame):
    effects = impact.score_effects(
        frame, DESIGN.scores, **ARMS, covariates=DESIGN.strata, multiplicity="holm"
    )
    assert list(effects["outcome"]) == [o.id for o in DESIGN.scores]
    raw = {}
    for o in DESIGN.scores:
        fit = impact.ancova(
            frame, o.column, "arm", "sffc", "usual", o.baseline_column, DESIGN.strata
        ).iloc[0]
        row = effects.set_index("outcome").loc[o.id]
        assert row["estimate"] == pytest.approx(fit["estimate"]) and row[
            "p_value"
        ] == pytest.approx(fit["p_value"])
        raw[o.id] = fit["p_value"]
    # Holm over the two primaries by hand: the smaller p times 2, the larger at least that
    p1, p2 = sorted([raw["sdq_total_difficulties"], raw["gad7_total"]])
    by_id = effects.set_index("outcome")
    assert sorted(
        by_id.loc[["sdq_total_difficulties", "gad7_total"], "p_adjusted"]
    ) == pytest.approx([min(1, 2 * p1), min(1, max(2 * p1, p2))])
    assert by_id.loc["mspss_total", "p_adjusted"] == pytest.approx(raw["mspss_total"])  # secondary
    assert list(by_id["p_method"]) == ["holm", "holm", "unadjusted"]


def test_an_outcome_that_cannot_be_fitted_is_not_estimable_with_its_counts(frame):
    empty = frame.assign(**{"gad7_total_week8": np.nan})
    effects = impact.score_effects(
        empty, DESIGN.scores, **ARMS, covariates=DESIGN.strata, multiplicity="bonferroni"
    )
    gad = effects.set_index("outcome").loc["gad7_total"]
    assert not gad["estimable"] and math.isnan(gad["estimate"]) and gad["n_treated"] == 0
    sdq = effects.set_index("outcome").loc["sdq_total_difficulties"]
    assert sdq["p_adjusted"] == pytest.approx(sdq["p_value"])  # the only primary left: k = 1
    numbers = show.effect_numbers(effects, DESIGN)
    assert (
        numbers["gad7_total_effect"] == "not estimable"
        and numbers["gad7_total_effect_p"] == "not estimable"
    )
    assert numbers["sdq_total_difficulties_effect_p_words"] == "Bonferroni-adjusted"
    assert "not estimable here" in show.summary_markdown(
        effects, pd.DataFrame(columns=impact.RECORD_COLUMNS), DESIGN, level="95", hub=False
    )


def test_the_primary_table_and_sentences_print_the_effects(frame):
    effects = impact.score_effects(
        frame, DESIGN.scores, **ARMS, covariates=DESIGN.strata, multiplicity="holm"
    )
    table = show.primary_table(effects, DESIGN, "95")
    sdq = effects.iloc[0]
    assert list(table.columns) == [
        "Outcome",
        "Units",
        "n SFFC",
        "n Services as usual",
        "Difference",
        "SE",
        "95% CI",
        "p",
        "p method",
        "Hedges' g (95% CI)",
    ]
    assert table.iloc[0]["Outcome"] == "SDQ total difficulties (primary)"
    assert table.iloc[0]["95% CI"] == f"{sdq['ci_low']:.2f} to {sdq['ci_high']:.2f}"
    text = show.primary_markdown(
        effects, DESIGN, level="95", strata_words="hub, referral group", hub=False
    )
    assert f"was {sdq['estimate']:.2f} points (0-40)" in text and "Holm-adjusted p" in text
    assert "(hub, referral group)" in text
    records = impact.record_effects(frame, DESIGN.records, **ARMS, covariates=DESIGN.strata)
    summary = show.summary_markdown(effects, records, DESIGN, level="95", hub=False)
    assert summary.count("\n- ") == len(DESIGN.scores) + len(DESIGN.records) - 1
    assert "at week 8, SFFC minus services as usual:" in summary
    hub = show.summary_markdown(effects, records, DESIGN, level="95", hub=True)
    assert "exploratory for one hub" in hub and "Holm" not in hub and "Re-referrals" not in hub


def test_record_effects_are_the_rate_risk_and_cox_estimates(frame):
    from psp_eval.analyses import survival

    records = impact.record_effects(frame, DESIGN.records, **ARMS, covariates=DESIGN.strata)
    assert list(zip(records["outcome"], records["measure"])) == [
        ("nights_away", "rate"), ("nights_away_episodes", "rate"), ("re_referral", "rate"),
        ("re_referral", "time_to_first"), ("care_entry", "risk"),
    ]  # fmt: skip
    cox = survival.cox_by_arm(
        frame, "days_to_re_referral", "re_referred", "arm", "sffc", "usual", DESIGN.strata
    ).iloc[0]
    row = records[records["measure"] == "time_to_first"].iloc[0]
    assert row["estimate"] == pytest.approx(cox["hazard_ratio"])
    numbers = show.record_numbers(records, DESIGN)
    assert numbers["re_referral_hazard_ratio"] == round(cox["hazard_ratio"], 3)
    care = frame.groupby("arm")["care_entry"].mean()
    assert numbers["care_entry_pct_usual"] == round(100 * care["usual"], 1)
    table = show.secondary_table(records, DESIGN, "95")
    assert list(table["Outcome"]) == [
        "Nights away from home",
        "Episodes away from home",
        "Re-referrals",
        "Time to first re-referral",
        "Entry to care within 24 months",
    ]


def test_sensitivity_rows_and_numbers(frame, demo_tables):
    t = demo_tables
    effects = impact.score_effects(
        frame, DESIGN.scores[:1], **ARMS, covariates=DESIGN.strata, multiplicity="holm"
    )
    rows = impact.sensitivity_analyses(
        frame, DESIGN.scores[:1], effects, **ARMS, covariates=DESIGN.strata, group="la_code",
        nested=None, mixed_covariates=["referral_group"],
        welch=lambda c: impact.welch_difference(t["outcomes"], t["randomisation"], c), imputations=None,
    )  # fmt: skip
    assert list(rows["analysis"]) == ["ancova", "welch", "mixed"]
    numbers = show.sensitivity_numbers(rows)
    welch = impact.welch_difference(t["outcomes"], t["randomisation"], DESIGN.scores[0].column)
    assert numbers["sdq_total_difficulties_diff_estimate"] == round(welch["estimate"], 2)
    fitted = rows.assign(model=["", "", "hub_id and la_code random intercepts"])
    table = show.sensitivity_table(fitted, DESIGN, "95")
    assert list(table["Analysis"]) == [
        "Primary: ANCOVA, complete cases", "Unadjusted (Welch)", "Mixed model: hub and LA random intercepts",
    ]  # fmt: skip
    assert table.iloc[1]["Difference"] == round(welch["estimate"], 2)


def test_attrition_counts_and_the_disclosure_controlled_table(frame):
    first = DESIGN.primary[0]
    counts, pct = show.attrition_counts(frame, first, DESIGN)
    assert list(counts.columns) == ["With week-8 SDQ", "Missing week-8 SDQ", "Randomised"]
    assert counts.at["All", "Randomised"] == len(frame)
    numbers = show.attrition_numbers(counts, pct, first, DESIGN)
    assert numbers["missing_sdq_pct_sffc"] == round(
        100 * frame.loc[frame.arm == "sffc", first.column].isna().mean(), 1
    )
    shown = show.attrition_table(counts, pct, DESIGN)
    assert list(shown.index) == ["SFFC", "Services as usual", "All"]


def test_small_groups_are_hidden_and_words_are_the_reports():
    by_group = pd.DataFrame(
        {
            "hub_id": ["london_east", "leeds"],
            "n": [9, 10],
            "estimate": [1.0, 2.0],
            "ci_low": [0.0, 1.0],
            "ci_high": [2.0, 3.0],
        }
    )
    shown = show.hide_small_groups(by_group)
    assert math.isnan(shown.at[0, "estimate"]) and shown.at[1, "estimate"] == 2.0
    assert list(show.group_names(by_group["hub_id"], titled=True)) == ["London East", "Leeds"]
    rows = show.subgroup_rows(by_group.rename(columns={"hub_id": "g"}), "g", "Group", 0.0123)
    assert [r["Difference (95% CI)"] for r in rows] == ["not estimable", "2.00 (1.00 to 3.00)"]
    assert rows[0]["Interaction p"] == "0.012"
    assert show.odds_ratio_table(None, "95", DESIGN, trial=False)["Term"].tolist() == [
        "not estimable"
    ]


@pytest.mark.parametrize(
    ("method", "words"),
    [("holm", "Holm-adjusted"), ("bonferroni", "Bonferroni-adjusted"), ("none", "unadjusted"),
     ("fdr_bh", "Benjamini-Hochberg-adjusted (false discovery rate)")],
)  # fmt: skip
def test_adjustment_words(method, words):
    assert tables.adjustment_words(method) == words


def test_table_text_helpers():
    assert tables.fixed(-1.8, 2) == "-1.80" and tables.fixed(float("nan")) == "not estimable"
    assert tables.p_number(0.01234) == 0.0123 and tables.p_number(0.000123) == 0.00012
    assert tables.p_text(None) == "not estimable" and tables.interval(1, None) == "not estimable"
    assert tables.level_pct(0.05) == "95" and tables.level_pct(0.1) == "90"
    assert tables.in_text("Services as usual") == "services as usual"
    assert tables.in_text("SFFC") == "SFFC" and tables.in_text("Arm B") == "Arm B"


def test_means_consort_and_baseline_rows(frame, demo_tables):
    means = impact.score_means(demo_tables["outcomes"], demo_tables["randomisation"], DESIGN)
    assert len(means) == len(DESIGN.scores) * 2 * 2  # outcomes x time points x arms
    table = show.means_table(means, DESIGN, "95")
    assert list(table.columns) == [
        "Outcome",
        "Time",
        "Arm",
        "n",
        "Mean",
        "SD",
        "95% CI low",
        "95% CI high",
    ]
    assert set(table["Time"]) == {"Baseline", "Week 8"} and set(table["Arm"]) == {
        "SFFC",
        "Services as usual",
    }
    from psp_eval.analyses import consort

    flow = consort.consort_counts(demo_tables["referrals"], demo_tables["randomisation"], demo_tables["support"],
                                  demo_tables["withdrawals"], demo_tables["outcomes"], DESIGN.primary[0].column,
                                  DESIGN.primary[0].baseline_column)  # fmt: skip
    numbers = show.consort_numbers(flow, DESIGN)
    assert numbers["consort_randomised"] == len(demo_tables["randomisation"])
    assert set(numbers) == {"consort_referred", "consort_randomised", "consort_sffc_allocated",
                            "consort_usual_allocated", "consort_sffc_analysed", "consort_usual_analysed"}  # fmt: skip
    continuous, categorical = show.baseline_characteristics(DESIGN, trial=False)
    assert continuous["sdq_total_difficulties_baseline"] == "SDQ total difficulties (0-40)"
    assert (
        "hub_id" not in categorical
        and "hub_id" in show.baseline_characteristics(DESIGN, trial=True)[1]
    )


def test_time_to_first_tests_and_their_table(frame):
    o = DESIGN.outcome("re_referral")
    tests = impact.time_to_first_tests(frame, "days_to_re_referral", "re_referred", **ARMS,
                                       covariates=DESIGN.strata, horizon=730)  # fmt: skip
    assert set(tests) == {"logrank", "ph", "rmst"}
    numbers = show.survival_numbers(o, tests)
    assert numbers["re_referral_logrank_p"] == tables.format_p(tests["logrank"]["p_value"])
    records = impact.record_effects(frame, DESIGN.records, **ARMS, covariates=DESIGN.strata)
    table = show.survival_table(records, o, tests, DESIGN, "95")
    assert table["Statistic"].tolist()[-1] == "RMST difference to 24 months, days (95% CI)"
    empty = show.survival_numbers(o, {"logrank": None, "ph": None, "rmst": None})
    assert set(empty.values()) == {"not estimable"}


def test_subgroup_effects_and_interaction(frame):
    effects, p = impact.subgroup_effects(
        frame, "referral_group", DESIGN.primary[0], **ARMS, covariates=DESIGN.strata
    )
    assert set(effects["referral_group"]) == {"emerging", "edge_of_care"} and 0 <= p <= 1


# --- the impact notebook's steps ------------------------------------------------------------------

SAP = {"alpha": 0.05, "multiplicity": "bonferroni", "imputations": 3, "mice_iterations": 2}


def test_trial_frame_adds_the_design_age_bands(demo_tables, frame):
    built = impact.trial_frame(demo_tables, DESIGN)
    pd.testing.assert_frame_equal(built.drop(columns="age_band"), frame)
    expected = impact.age_band(frame["child_age"], DESIGN.age_bands)
    assert built["age_band"].astype(str).tolist() == expected.astype(str).tolist()


def test_scope_sensitivity_gives_a_hub_la_intercepts_and_mice_only_when_asked(frame, demo_tables):
    t, scores = demo_tables, DESIGN.scores[:1]
    effects = impact.score_effects(
        frame, scores, **ARMS, covariates=DESIGN.strata, multiplicity="holm"
    )
    hub = impact.scope_sensitivity(
        frame, t, scores, effects, **ARMS, covariates=DESIGN.strata,
        sap=SAP | {"mice_scopes": "trial", "seed": 1}, trial=False,
    )  # fmt: skip
    direct = impact.sensitivity_analyses(
        frame, scores, effects, **ARMS, covariates=DESIGN.strata, group="la_code", nested=None,
        mixed_covariates=["referral_group"], imputations=None,
        welch=lambda c: impact.welch_difference(t["outcomes"], t["randomisation"], c),
    )  # fmt: skip
    pd.testing.assert_frame_equal(hub, direct)
    with_mice = impact.scope_sensitivity(
        frame, t, scores, effects, **ARMS, covariates=DESIGN.strata,
        sap=SAP | {"mice_scopes": "all", "seed": 1}, trial=False,
    )  # fmt: skip
    assert list(with_mice["analysis"]) == ["ancova", "welch", "mixed", "mice"]


def test_missing_outcome_model_is_the_attrition_model_of_the_first_primary(frame):
    first = DESIGN.primary[0]
    model = impact.missing_outcome_model(
        frame, first, arm="arm", control="usual", covariates=DESIGN.strata, trial=True
    )
    data = frame.assign(primary_missing=frame[first.column].isna())
    predictors = ["arm", "referral_group", first.baseline_column, "child_age", "hub_id"]
    pd.testing.assert_frame_equal(
        model, impact.attrition_model(data, "primary_missing", predictors, {"arm": "usual"})
    )
    assert "primary_missing" not in frame
    hub = impact.missing_outcome_model(
        frame, first, arm="arm", control="usual", covariates=DESIGN.strata, trial=False
    )
    assert not hub["term"].str.contains("hub_id").any()


def test_the_attrition_table_names_the_arms_as_shown_whatever_their_values_sort_as(frame):
    # the arms' values renamed so that the control sorts first: the same odds ratio, treated
    # over control, and the report names the arms by their labels (a blinded run's "Arm A")
    first = DESIGN.primary[0]
    fit = dict(covariates=DESIGN.strata, trial=False)
    plain = impact.missing_outcome_model(frame, first, arm="arm", control="usual", **fit)
    renamed = frame.assign(arm=frame["arm"].map({"sffc": "z_sffc", "usual": "a_usual"}))
    other = impact.missing_outcome_model(renamed, first, arm="arm", control="a_usual", **fit)
    assert plain["term"][0] == "arm_sffc" and other["term"][0] == "arm_z_sffc"
    assert other["odds_ratio"][0] == pytest.approx(plain["odds_ratio"][0], rel=1e-9)
    blinded = dataclasses.replace(DESIGN, labels={"z_sffc": "Arm A", "a_usual": "Arm B"})
    shown = show.odds_ratio_table(other, "95", blinded, trial=False)
    assert shown["Term"][0] == "Arm A (vs Arm B)"
    assert not shown["Term"].str.contains("sffc|usual").any()
    assert "Referral group: emerging (vs edge of care)" in set(shown["Term"])
    assert "Index child's age (years)" in set(shown["Term"])


def test_first_event_tests_run_to_the_end_of_follow_up(frame):
    tests = impact.first_event_tests(frame, DESIGN.records, **ARMS, covariates=DESIGN.strata)
    assert list(tests) == ["re_referral"]
    direct = impact.time_to_first_tests(
        frame, "days_to_re_referral", "re_referred", **ARMS, covariates=DESIGN.strata,
        horizon=frame["follow_up_days"].max(),
    )  # fmt: skip
    assert tests["re_referral"]["rmst"] == pytest.approx(direct["rmst"])
    numbers = show.first_event_numbers(DESIGN, tests)
    assert numbers == show.survival_numbers(DESIGN.outcome("re_referral"), direct)
    assert show.first_event(DESIGN).id == "re_referral"


def test_subgroup_analyses_table_and_numbers(demo_tables):
    first, frame = DESIGN.primary[0], impact.trial_frame(demo_tables, DESIGN)
    subgroups = impact.subgroup_analyses(
        frame, DESIGN.subgroups, first, **ARMS, covariates=DESIGN.strata
    )
    assert [s[:2] for s in subgroups] == list(DESIGN.subgroups.items())
    _, p = impact.subgroup_effects(frame, "referral_group", first, **ARMS, covariates=DESIGN.strata)
    assert dict((s[0], s[3]) for s in subgroups)["referral_group"] == p
    numbers = show.subgroup_numbers(first, subgroups)
    assert numbers[f"{first.id}_referral_group_interaction_p"] == tables.p_text(p)
    table = show.subgroups_table(subgroups)
    assert len(table) == sum(len(s[2]) for s in subgroups)
    assert table["Subgroup"].drop_duplicates().tolist() == list(DESIGN.subgroups.values())


def test_method_and_label_words():
    numbers = show.method_numbers(DESIGN, SAP)
    assert numbers == {
        "ci_level_pct": "95",
        "multiplicity_words": tables.adjustment_words("bonferroni"),
        "imputations": 3,
        "first_primary": DESIGN.primary[0].label,
    }
    assert show.strata_words(["hub_id", "referral_group"]) == "hub, referral group"
    assert show.outcome_label(DESIGN.primary[0], DESIGN) == "week-8 SDQ"
    first = DESIGN.primary[0]
    assert show.heterogeneity_numbers(first, 0.0123, trial=True) == {
        f"{first.id}_hub_interaction_p": "0.012",
        "heterogeneity_interaction_p": "0.012",
    }
    assert f"{first.id}_la_interaction_p" in show.heterogeneity_numbers(first, None, trial=False)


def test_forest_inputs_hide_small_groups_and_name_hubs():
    first = DESIGN.primary[0]
    by_group = pd.DataFrame({
        "hub_id": ["london_east", "leeds"], "n": [9, 40],
        "estimate": [1.0, -2.0], "ci_low": [0.0, -3.0], "ci_high": [2.0, -1.0],
    })  # fmt: skip
    effects = pd.DataFrame({"outcome": [first.id], "estimate": [-1.5], "estimable": [True]})
    parts = show.forest_inputs(effects, by_group, "hub_id", first, level="95", trial=True)
    assert parts["effects"]["name"].tolist() == ["London East", "Leeds"]
    assert math.isnan(parts["effects"].at[0, "estimate"])
    assert parts["pooled"]["estimate"] == -1.5 and parts["pooled_label"] == "All hubs (pooled)"
    assert parts["xlabel"] == f"{first.short} difference, points (95% CI)"
    hub = show.forest_inputs(
        effects.assign(estimable=False), by_group, "hub_id", first, level="90", trial=False
    )
    assert hub["pooled"] is None and hub["pooled_label"] == "This hub (pooled)"
    assert hub["effects"]["name"].tolist() == ["london_east", "leeds"]


def test_first_event_km_is_in_months_with_the_outcome_in_words(frame):
    import matplotlib.pyplot as plt

    from psp_eval.present.figures import impact as impact_figures
    from psp_eval.present.figures.style import ARM_COLOURS

    fig = impact_figures.first_event_km(frame, show.first_event(DESIGN), DESIGN, ARM_COLOURS)
    ax = fig.axes[0]
    assert ax.get_ylabel() == "Proportion not re-referred"
    months = max(line.get_xdata().max() for line in ax.get_lines() if len(line.get_xdata()))
    assert months <= DESIGN.follow_up_months + 1e-9
    plt.close(fig)


def test_forest_draws_each_group_and_the_pooled_diamond():
    import matplotlib.pyplot as plt

    from psp_eval.present.figures import impact as impact_figures

    first = DESIGN.primary[0]
    by_group = pd.DataFrame({
        "hub_id": ["london_east", "leeds"], "n": [9, 40],
        "estimate": [1.0, -2.0], "ci_low": [0.0, -3.0], "ci_high": [2.0, -1.0],
    })  # fmt: skip
    effects = pd.DataFrame({
        "outcome": [first.id], "estimate": [-1.5], "ci_low": [-2.5], "ci_high": [-0.5],
        "estimable": [True],
    })  # fmt: skip
    parts = show.forest_inputs(effects, by_group, "hub_id", first, level="95", trial=True)
    fig = impact_figures.forest(**parts)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "London East",
        "Leeds",
        "All hubs (pooled)",
    ]
    assert [t.get_text() for t in ax.texts] == ["not estimable"]  # London East: 9 families
    assert ax.get_xlabel() == parts["xlabel"]
    plt.close(fig)
