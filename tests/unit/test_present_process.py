"""What the process notebook calls to turn results into report tables, numbers and figures:
values, suppression and names checked on small hand-made frames, with arm values and names
that are not the demo's (so nothing can come from a fixed list)."""

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pytest

from psp_eval.analyses import process
from psp_eval.present import hubs as present_hubs
from psp_eval.present import process as present
from psp_eval.present.disclosure import SUPPRESSED
from psp_eval.present.figures import process as figures

D = pd.Timestamp


@dataclass
class Design:
    """The two things presentation reads from a TrialDesign: arm values and their names."""

    arms: tuple[str, str] = ("t", "c")
    labels: dict = field(default_factory=lambda: {"t": "Treat", "c": "Control"})

    def label(self, arm):
        return self.labels.get(arm, arm)


DESIGN = Design()
NAMES = {"h1": "Hub One", "h2": "Hub Two"}


def test_hub_names_come_from_the_sheet_and_unknown_ids_stay():
    sheet = pd.DataFrame({"hub_id": ["h1", "h2"], "hub_name": ["Hub One", "Hub Two"]})
    names = present_hubs.hub_names(sheet)
    assert names == NAMES
    assert present_hubs.named(pd.Series(["h2", "All hubs"]), names).tolist() == [
        "Hub Two",
        "All hubs",
    ]


def test_followed_up_needs_any_primary_outcome_and_target_adds_hubs():
    outcomes = pd.DataFrame(
        {
            "family_id": ["F1", "F2", "F3"],
            "a_w8": [1.0, np.nan, np.nan],
            "b_w8": [np.nan, 2, np.nan],
        }
    )
    assert process.followed_up(outcomes, ["a_w8", "b_w8"]).tolist() == ["F1", "F2"]
    assert process.recruitment_target(pd.DataFrame({"recruitment_target": [40, 60]})) == 100.0


def _flow(n_t=6, n_c=6, n_out=3, followed=4):
    arms = ["t"] * n_t + ["c"] * n_c + [None] * n_out
    stages = ["followed_up"] * followed + ["no_followup"] * (n_t + n_c - followed)
    stages += ["not_eligible"] * n_out
    return pd.DataFrame({"family_id": range(len(arms)), "arm": arms, "stage": stages})


def test_flow_numbers_and_a_zero_denominator():
    numbers = present.flow_numbers(_flow(), target=24)
    assert numbers == {
        "n_referred": 15,
        "n_randomised": 12,
        "pct_randomised": 80.0,
        "pct_followed_up": 33.3,
        "recruitment_target": 24,
        "pct_of_target": 50.0,
    }
    none = present.flow_numbers(_flow(0, 0, 3, 0), target=0)
    assert none["pct_followed_up"] == "not estimable"
    assert none["pct_of_target"] == "not estimable"


def test_flow_shown_names_arms_from_the_design_and_suppresses():
    counts = process.flow_table(_flow(n_t=6, n_c=7, n_out=8, followed=0), DESIGN.arms)
    shown = present.flow_shown(counts, DESIGN)
    assert shown.columns.tolist() == ["Treat", "Control", "Not randomised", "Total"]
    assert shown.index.name == "Stage"
    assert shown.loc["Randomised, no week-8 outcome"].tolist() == [6, 7, 0, 13]
    assert shown.loc["All referred", "Total"] == 21
    few = present.flow_shown(process.flow_table(_flow(n_out=3), DESIGN.arms), DESIGN)
    assert few.loc["Not eligible", "Not randomised"] == SUPPRESSED  # 3 families


def _profile():
    return pd.DataFrame(
        {
            "group": ["t_supported"] * 10 + ["c"] * 8 + ["not_randomised"] * 6,
            "referral_group": ["edge_of_care"] * 6 + ["emerging"] * 12 + ["edge_of_care"] * 6,
            "referral_source": ["health"] * 24,
            "age_band": ["0-4"] * 24,
            "family_size": ["1"] * 24,
            "sdq_band": ["normal"] * 18 + ["not measured"] * 6,
            "gad7_band": ["mild"] * 18 + ["not measured"] * 6,
        }
    )


INSTRUMENTS = {
    "sdq": {"bands": {"normal": [0, 13], "high": [14, 40]}},
    "gad7": {"bands": {"mild": [0, 9]}},
}


def test_profile_groups_and_shown_table_use_the_design_labels():
    assert process.profile_groups(DESIGN.arms, DESIGN.labels) == (
        ("t_supported", "Treat, supported"),
        ("c", "Control"),
        ("not_randomised", "Referred, not randomised"),
    )
    shown = present.profile_shown(_profile(), INSTRUMENTS, DESIGN)
    assert shown.columns.tolist()[2:] == [
        "Treat, supported (n = 10)",
        "Control (n = 8)",
        "Referred, not randomised (n = 6)",
        "Total (n = 24)",
    ]
    sdq = shown[shown["Characteristic"] == "Baseline SDQ total difficulties band"]
    assert sdq["Category"].tolist() == ["normal", "high", "not measured"]  # band order kept
    assert "edge of care" in set(shown["Category"])  # categories in words


def test_profile_numbers_hide_a_share_resting_on_few_families():
    assert present.profile_numbers(_profile(), DESIGN) == {
        "n_sffc_supported": 10,
        "pct_supported_edge_of_care": 60.0,
    }
    few = _profile().iloc[6:]  # 4 supported families, none on the edge of care
    assert present.profile_numbers(few, DESIGN) == {
        "n_sffc_supported": SUPPRESSED,
        "pct_supported_edge_of_care": SUPPRESSED,
    }


def test_delivery_numbers_median_days_and_small_groups():
    per_family = pd.DataFrame(
        {
            "any_support": [True] * 5 + [False] * 3,
            "days_to_first_support": [2, 4, 6, 8, 10] + [np.nan] * 3,
        }
    )
    assert present.delivery_numbers(per_family) == {
        "n_sffc": 8,
        "pct_sffc_supported": 62.5,
        "days_to_support_median": 6.0,
        "days_to_support_q1": 4.0,
        "days_to_support_q3": 8.0,
    }
    small = present.delivery_numbers(per_family.iloc[1:7])
    assert small["days_to_support_median"] == SUPPRESSED  # 4 families supported
    assert small["pct_sffc_supported"] == 66.7


def test_capacity_numbers_and_names():
    capacity = pd.DataFrame(
        {
            "hub_id": ["h1", "All hubs"],
            "host": [SUPPRESSED, 7],
            "friend": [6, 9],
            "resources": [0, 0],
            "active": [8, 16],
            "sffc_families": [12, 20],
            "families_per_volunteer": [1.5, 1.2],
        }
    )
    assert present.capacity_numbers(capacity) == {
        "n_active_volunteers": 16,
        "n_active_hosts": 7,
        "families_per_volunteer": 1.2,
    }
    shown = present.capacity_shown(capacity, NAMES, DESIGN)
    assert shown["Hub"].tolist() == ["Hub One", "All hubs"]
    assert "Treat families per active volunteer" in shown.columns
    assert present.capacity_numbers(capacity.iloc[[1, 0]])["n_active_hosts"] == SUPPRESSED


def _la():
    return pd.DataFrame(
        {
            "la_code": ["A", "B", "C", "D"],
            "la_name": ["Ay", "Be", "Ce", "De"],
            "hub_id": ["h1", "h1", "h2", "h2"],
            "child_population": [20000, 10000, 30000, 5000],
            "cla_rate_per_10k": [50.0, 60.0, 70.0, 80.0],
            "deprivation_rank": [1, 2, 3, 4],
            "referred": [40, 40, 40, 3],
            "randomised": [30, 30, 30, 3],
            "sffc": [15, 15, 15, 2],
            "supported": [14, 8, 15, 2],
            "followed_up": [27, 12, 24, 3],
            "mean_days_to_support": [10.0, 30.0, 12.0, 9.0],
            "supported_per_10k": [7.0, 8.0, 5.0, 4.0],
            "fidelity": [14 / 15, 8 / 15, 1.0, 1.0],
            "follow_up_rate": [0.9, 0.4, 0.8, 1.0],
        }
    )


def test_indicator_funnels_targets_limits_and_counts_outside():
    la = _la()
    funnels = present.indicator_funnels(la, process.hub_indicators(la), sd=8.0, with_hubs=True)
    follow = funnels["follow_up"]
    assert follow.points["target"].iloc[0] == pytest.approx(66 / 93)  # D's 3 families count
    assert follow.points["la_code"].tolist() == ["A", "B", "C"]  # D (3 families) not drawn
    assert follow.hubs["target"].iloc[0] == pytest.approx(66 / 93)  # hubs judged the same way
    assert follow.curves["volume"].max() == pytest.approx(60 * 1.05)  # the largest hub
    assert (follow.kind, follow.volume, follow.value) == (
        "proportion",
        "randomised",
        "follow_up_rate",
    )
    numbers = present.funnel_numbers(funnels, pd.Series(["A", "B", "D"]))
    assert numbers["n_las"] == 3 and numbers["n_las_in_funnels"] == 2
    assert numbers["n_las_outside_95_follow_up"] == 2  # A high, B low
    assert numbers["n_las_outside_998_follow_up"] == 1  # only B beyond 99.8%
    only_las = present.indicator_funnels(la, process.hub_indicators(la), sd=8.0, with_hubs=False)
    # Without hubs the limits stop just past the largest LA (30 * 1.05, on a whole-family grid).
    assert 31.5 <= only_las["follow_up"].curves["volume"].max() < 33


def test_variation_and_context_tables():
    la = _la()
    funnels = present.indicator_funnels(la, process.hub_indicators(la), sd=8.0, with_hubs=True)
    codes = pd.Series(["A", "B", "D"])
    table = present.variation_table(la, funnels, codes, NAMES, DESIGN, with_hubs=True)
    assert table.columns.tolist() == [
        "LA",
        "Hub",
        "Randomised",
        "Follow-up (%)",
        "Treat families",
        "Supported (%)",
        "Supported",
        "Mean days to support",
        "Outside limits",
    ]
    rows = table.set_index("LA")
    assert rows.loc["Be", "Hub"] == "Hub One" and rows.loc["Be", "Follow-up (%)"] == 40.0
    assert rows.loc["Be", "Outside limits"] == "follow-up 99.8%; fidelity 95%; days 99.8%"
    assert rows.loc["De", "Randomised"] == SUPPRESSED  # 3 families
    assert rows.loc["Ay", "Randomised"] == SUPPRESSED  # else 63 - 30 gives De away
    assert rows.loc["Ay", "Follow-up (%)"] == SUPPRESSED  # hidden with its count
    assert rows.loc["All LAs shown", "Randomised"] == 63
    hub_view = present.variation_table(la, funnels, codes, NAMES, DESIGN, with_hubs=False)
    assert "Hub" not in hub_view.columns
    context = present.context_table(la, codes, DESIGN).set_index("LA")
    assert context.loc["Ay", "Children (0-17)"] == 20000
    assert context.loc["Ay", "Supported per 10,000 children"] == 7.0
    assert context.loc["Be", "Supported per 10,000 children"] == SUPPRESSED  # with its count
    assert context.loc["De", "Treat families supported"] == SUPPRESSED


def _surveys():
    rows = [("family", f"F{i}", tp, "q1", 4, None) for i in range(6) for tp in ("month12", "week8")]
    rows += [("volunteer", f"V{i}", "baseline", "v1", 3, None) for i in range(6)]
    rows += [("volunteer", f"V{i}", "month12", "v1", 4 + (i % 2), None) for i in range(6)]
    rows += [("volunteer_child", "V0-C1", "baseline", "c1", 4, None)]
    rows += [("family", f"F{i}", "week8", "free", None, "respite") for i in range(5)]
    return pd.DataFrame(
        rows,
        columns=[
            "respondent_type",
            "respondent_id",
            "timepoint",
            "question_id",
            "response",
            "theme",
        ],
    )


def test_surveys_in_time_order_and_who_could_answer():
    ordered = process.in_survey_order(process.likert_distribution(_surveys()))
    family = ordered[ordered["respondent_type"] == "family"]
    assert family["timepoint"].tolist() == ["week8", "month12"]  # time order, not alphabetical
    volunteers = pd.DataFrame(
        {
            "volunteer_id": ["V0", "V1", "V2"],
            "start_date": [D("2023-01-01"), D("2023-01-01"), D("2024-05-01")],
            "end_date": [pd.NaT, D("2023-03-01"), pd.NaT],
            "has_children": [True, False, True],
        }
    )
    families = pd.DataFrame({"family_id": ["F0", "F1"]})
    eligible = process.survey_eligible(_surveys(), volunteers, families, "2024-06-01")
    assert eligible[("family", "week8")] == {"F0", "F1"}
    assert eligible[("volunteer", "baseline")] == {"V0", "V1", "V2"}
    assert eligible[("volunteer", "month6")] == {"V0"}  # V1 left, V2 not yet 6 months in
    assert eligible[("volunteer_child", "baseline")] == {"V0", "V2"}  # households with children
    assert ("volunteer_child", "month12") not in eligible  # that survey was not run then


def test_response_numbers_and_shown_tables():
    rates = pd.DataFrame(
        {
            "respondent_type": ["family", "volunteer"],
            "timepoint": ["week8", "baseline"],
            "respondents": [6, SUPPRESSED],
            "eligible": [10, SUPPRESSED],
            "rate_pct": [60.0, SUPPRESSED],
        }
    )
    assert present.response_numbers(rates) == {
        "response_rate_family_week8": 60.0,
        "response_rate_volunteer_baseline": SUPPRESSED,
    }
    assert present.response_shown(rates).columns.tolist() == [
        "Respondent",
        "Timepoint",
        "Respondents",
        "Eligible",
        "Response rate (%)",
    ]
    likert = present.likert_shown(process.likert_distribution(_surveys())).set_index("Question")
    assert likert.loc["v1", "Agree"].tolist() == ["0 (0.0%)", "6 (100.0%)"]  # baseline, month12
    themes = present.themes_shown(_surveys())
    assert themes.columns.tolist() == ["Theme", "Families", "Volunteers", "Volunteers' children"]
    assert themes.set_index("Theme").loc["respite", "Families"] == 5


def test_retention_numbers_and_table():
    spells = pd.DataFrame(
        {
            "role": ["host"] * 6 + ["friend"] * 4,
            "months": [2.0, 6.0, 14.0, 20.0, 30.0, 40.0, 5.0, 13.0, 13.0, 13.0],
            "ended": [True, True, True, False, False, False, True, False, False, False],
        }
    )
    numbers = present.retention_numbers(spells)
    assert numbers["n_volunteers"] == 10
    assert numbers["pct_volunteers_retained_12m"] == 70.0  # (1 - 1/10)(1 - 1/9)(1 - 1/8)
    assert numbers["median_volunteer_months"] == "not reached"
    few = present.retention_numbers(spells.iloc[:4])
    assert few == {
        "n_volunteers": SUPPRESSED,
        "pct_volunteers_retained_12m": SUPPRESSED,
        "median_volunteer_months": SUPPRESSED,
    }
    table = present.retention_shown(spells, [0], "role").set_index("Role")
    assert table.loc["host", "At risk"] == 6 and table.loc["host", "Still volunteering (%)"] == 100
    assert table.loc["friend", "At risk"] == SUPPRESSED  # 4 friends


def test_volunteer_change_table_formats_means_and_interval():
    table = present.volunteer_change_table(_surveys(), "baseline", "month12")
    assert table.columns.tolist() == [
        "Respondent",
        "Question",
        "n baseline",
        "Mean baseline",
        "n month 12",
        "Mean month 12",
        "Pairs",
        "Paired change",
        "95% CI",
    ]
    row = table.set_index("Question").loc["v1"]
    assert row["Respondent"] == "Volunteers"
    assert (row["Mean baseline"], row["Mean month 12"], row["Paired change"]) == (
        "3.00",
        "4.50",
        "1.50",
    )
    # paired t: mean 1.5, sd 0.5477, n 6 -> 1.5 ± 2.5706 * 0.2236
    assert row["95% CI"] == "0.93 to 2.07"
    child = table.set_index("Question").loc["c1"]
    assert child["Respondent"] == "Volunteers' children" and child["Mean baseline"] == SUPPRESSED
    unpaired = present.volunteer_change_table(_surveys(), "week8", "month12").set_index("Question")
    assert unpaired.loc["v1", "n week 8"] == 0 and unpaired.loc["v1", "Paired change"] == "–"


def test_recruitment_figure_colours_arms_by_position_and_names_them():
    by_month = process.randomised_by_month(
        pd.DataFrame({"randomised_date": [D("2024-01-05"), D("2024-02-05")], "arm": ["c", "t"]}),
        DESIGN.arms,
    )
    fig = figures.cumulative_recruitment(by_month, DESIGN.labels, target=10)
    ax = fig.axes[0]
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["Treat", "Control", "Target per arm"]
    assert ax.get_lines()[2].get_ydata()[0] == 5  # half the target


def test_funnel_plot_marks_a_hubs_las_or_draws_hubs():
    la = _la()
    funnels = present.indicator_funnels(la, process.hub_indicators(la), sd=8.0, with_hubs=True)
    trial = figures.indicator_funnel_plot(funnels["fidelity"], NAMES, "Treat")
    ax = trial.axes[0]
    assert ax.get_xlabel() == "Families randomised to Treat"
    texts = {t.get_text() for t in ax.texts}
    assert {"Hub One", "Hub Two"} <= texts  # hubs drawn and named in the trial's report
    hub = figures.indicator_funnel_plot(funnels["fidelity"], NAMES, "Treat", hub="h1")
    assert {t.get_text() for t in hub.axes[0].texts} == {"Ay", "Be"}  # this hub's LAs only


def test_context_grid_draws_las_with_enough_families():
    fig = figures.context_grid(_la(), hub="h2")
    assert len(fig.axes) == 4
    top_left = fig.axes[0]
    # Supported per 10,000: D has 2 families supported, so only A, B, C are drawn.
    drawn = sum(int(np.ma.count(c.get_offsets(), axis=0)[0]) for c in top_left.collections)
    assert drawn == 3
    assert top_left.get_xlabel() == "Looked-after children per 10,000"


def test_days_to_support_sd_over_supported_treated_families():
    tables = {
        "referrals": pd.DataFrame(
            {
                "family_id": ["F1", "F2", "F3", "F4"],
                "la_code": "A",
                "referral_date": D("2024-01-01"),
            }
        ),
        "randomisation": pd.DataFrame(
            {
                "family_id": ["F1", "F2", "F3", "F4"],
                "randomised_date": D("2024-01-10"),
                "arm": ["t", "t", "t", "c"],
            }
        ),
        "support": pd.DataFrame(
            {
                "family_id": ["F1", "F2", "F4"],
                "support_type": "resources",
                "start_date": [D("2024-01-12"), D("2024-01-16"), D("2024-03-01")],
                "end_date": [D("2024-01-12"), D("2024-01-16"), D("2024-03-01")],
                "nights": pd.NA,
                "hours": np.nan,
            }
        ),
    }
    # Days 2 and 6 (F3 unsupported, F4 in the other arm): SD = sqrt(8).
    assert process.days_to_support_sd(tables, "t") == pytest.approx(np.sqrt(8))


def test_referrals_likert_and_retention_figures_draw_what_they_are_given():
    months = pd.DataFrame(
        {
            "month": pd.to_datetime(["2024-01-01", "2024-02-01"]),
            "cumulative_referred": [5, 9],
            "cumulative_randomised": [3, 7],
        }
    )
    fig = figures.referrals_against_target(months, 20)
    lines = fig.axes[0].get_lines()
    assert [line.get_label() for line in lines] == [
        "Referred",
        "Randomised",
        "Recruitment target (randomised)",
    ]
    assert lines[2].get_ydata()[0] == 20
    distribution = process.likert_distribution(_surveys())
    likert = figures.diverging_likert(distribution[distribution["respondent_type"] == "volunteer"])
    ticks = [t.get_text() for t in likert.axes[0].get_yticklabels()]
    assert ticks == ["v1 (baseline, n = 6)", "v1 (month12, n = 6)"]
    spells = pd.DataFrame(
        {
            "role": ["host"] * 6 + ["friend"] * 4,
            "months": [2.0, 6.0, 14.0, 20.0, 30.0, 40.0, 5.0, 13.0, 13.0, 13.0],
            "ended": [True, True, True, False, False, False, True, False, False, False],
        }
    )
    at_risk = present.retention_at(spells, [0, 12], "role")
    curves = figures.retention_curves(spells, at_risk, "role")
    legend = [t.get_text() for t in curves.axes[0].get_legend().get_texts()]
    assert legend == ["host"]  # 4 friends: too few to draw
    assert "6" in {t.get_text() for t in curves.axes[0].texts}  # hosts at risk at 0 months
