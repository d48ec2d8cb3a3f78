"""Process evaluation summaries on small hand-made tables, including disclosure control."""

import math

import numpy as np
import pandas as pd
import pytest

from psp_eval.analyses import process
from psp_eval.present import process as present_process
from psp_eval.present.disclosure import SUPPRESSED

D = pd.Timestamp
INSTRUMENTS = {
    "sdq": {
        "name": "SDQ",
        "bands": {"normal": [0, 13], "borderline": [14, 16], "abnormal": [17, 40]},
    },
    "gad7": {
        "name": "GAD-7",
        "bands": {"minimal": [0, 4], "mild": [5, 9], "moderate": [10, 14], "severe": [15, 21]},
    },
}


def test_age_bands_at_the_boundaries():
    bands = process.age_band(pd.Series([0, 4, 5, 7, 8, 10, 11, 17, np.nan]))
    assert bands.astype(object).tolist()[:8] == [
        "0-4",
        "0-4",
        "5-7",
        "5-7",
        "8-10",
        "8-10",
        "11+",
        "11+",
    ]
    assert pd.isna(bands.iloc[8])


def _families():
    referrals = pd.DataFrame(
        {
            "family_id": ["F1", "F2", "F3", "F4"],
            "la_code": ["A", "A", "B", "B"],
            "referral_date": [D("2024-01-10")] * 4,
            "referral_source": ["health", "police", "health", "self"],
            "referral_group": ["emerging", "edge_of_care", "emerging", "emerging"],
            "n_children": pd.array([1, 5, 2, 3], dtype="Int64"),
        }
    )
    randomisation = pd.DataFrame(
        {
            "family_id": ["F1", "F2", "F3"],
            "randomised_date": [D("2024-01-20")] * 3,
            "arm": ["sffc", "sffc", "usual"],
        }
    )
    support = pd.DataFrame(
        {
            "family_id": ["F1", "F1", "F1", "F3"],
            "support_type": ["hosting", "friendship", "hosting", "resources"],
            "start_date": [D("2024-01-25"), D("2024-02-01"), D("2024-03-01"), D("2024-02-01")],
            "end_date": [D("2024-01-27"), D("2024-04-30"), D("2024-03-04"), D("2024-02-01")],
            "nights": pd.array([2, pd.NA, 3, pd.NA], dtype="Int64"),
            "hours": [np.nan, 20.5, np.nan, np.nan],
        }
    )
    return referrals, randomisation, support


def test_family_profile_groups_ages_sizes_and_bands():
    referrals, randomisation, support = _families()
    children = pd.DataFrame(
        {
            "family_id": ["F1", "F1", "F2", "F3", "F4"],
            "dob": [
                D("2019-01-11"),
                D("2010-01-01"),
                D("2013-01-10"),
                D("2015-06-01"),
                D("2012-01-01"),
            ],
            "index_child": pd.array([True, False, True, True, True], dtype="boolean"),
        }
    )
    outcomes = pd.DataFrame(
        {
            "family_id": ["F1", "F2", "F3"],
            "sdq_total_difficulties_baseline": [13.0, 14.0, np.nan],
            "gad7_total_baseline": [4.0, 15.0, 9.0],
        }
    )
    tables = {
        "referrals": referrals,
        "randomisation": randomisation,
        "support": support,
        "children": children,
        "outcomes": outcomes,
    }
    profile = process.family_profile(tables, INSTRUMENTS, ("sffc", "usual")).set_index("family_id")
    assert profile["group"].to_dict() == {
        "F1": "sffc_supported",
        "F2": "sffc_unsupported",
        "F3": "usual",
        "F4": "not_randomised",
    }
    # F1's index child turns 5 the day after referral: still 4. F2's is 11 on the day.
    assert profile["age_band"].to_dict() == {"F1": "0-4", "F2": "11+", "F3": "8-10", "F4": "11+"}
    assert profile["family_size"].to_dict() == {"F1": "1", "F2": "4+", "F3": "2", "F4": "3"}
    assert profile["sdq_band"].to_dict() == {
        "F1": "normal",
        "F2": "borderline",
        "F3": "not measured",
        "F4": "not measured",
    }
    assert profile["gad7_band"].to_dict() == {
        "F1": "minimal",
        "F2": "severe",
        "F3": "mild",
        "F4": "not measured",
    }
    # Another trial's arm values name the groups: nothing is read from a fixed list.
    renamed = {**tables, "randomisation": randomisation.replace({"sffc": "t", "usual": "c"})}
    groups = process.family_profile(renamed, INSTRUMENTS, ("t", "c")).set_index("family_id")
    assert groups["group"].to_dict() == {
        "F1": "t_supported",
        "F2": "t_unsupported",
        "F3": "c",
        "F4": "not_randomised",
    }


def test_profile_table_suppresses_each_block():
    profile = pd.DataFrame(
        {
            "group": ["sffc_supported"] * 20 + ["not_randomised"] * 12,
            "referral_group": ["emerging"] * 17
            + ["edge_of_care"] * 3
            + ["emerging"] * 6
            + ["edge_of_care"] * 6,
        }
    )
    table = present_process.profile_table(
        profile,
        {"referral_group": ("Referral group", ["emerging", "edge_of_care"])},
        groups=(("sffc_supported", "SFFC"), ("not_randomised", "Not randomised")),
    )
    assert table.columns.tolist() == [
        "Characteristic",
        "Category",
        "SFFC (n = 20)",
        "Not randomised (n = 12)",
        "Total (n = 32)",
    ]
    row = table.set_index("Category").loc["edge_of_care"]
    assert row["SFFC (n = 20)"] == SUPPRESSED
    # emerging 17 would give edge_of_care away from the column total: hidden too.
    assert table.set_index("Category").at["emerging", "SFFC (n = 20)"] == SUPPRESSED
    # Each row and each column of the block hides none or at least two cells.
    cells = table.set_index("Category").drop(columns="Characteristic")
    assert all((cells.loc[i] == SUPPRESSED).sum() != 1 for i in cells.index)
    assert all((cells[c] == SUPPRESSED).sum() != 1 for c in cells.columns if c != "Total (n = 32)")


def test_delivery_per_family_days_dose_and_duration():
    referrals, randomisation, support = _families()
    families = process.sffc_families(referrals, randomisation, "sffc")
    per = process.delivery_per_family(families, support).set_index("family_id")
    assert per.loc["F1", "days_to_first_support"] == 5  # 20 Jan to 25 Jan
    assert per.loc["F1", "days_referral_to_first_support"] == 15
    assert per.loc["F1", "hosting_nights"] == 5
    assert per.loc["F1", "friendship_hours"] == 20.5
    assert per.loc["F1", "resources_episodes"] == 0
    assert per.loc["F1", "duration_days"] == 96  # 25 Jan to 30 Apr 2024 (leap year)
    assert not per.loc["F2", "any_support"] and math.isnan(per.loc["F2", "days_to_first_support"])
    assert "F3" not in per.index  # services as usual


def test_median_iqr():
    assert process.median_iqr(pd.Series([1, 2, 3, 4, None])) == {
        "n": 4,
        "median": 2.5,
        "q1": 1.75,
        "q3": 3.25,
    }
    assert process.median_iqr(pd.Series([], dtype=float))["n"] == 0


def test_delivery_summary_hides_rows_about_few_families():
    per = pd.DataFrame(
        {
            "any_support": [True] * 8 + [False] * 2,
            "days_to_first_support": [1, 2, 3, 4, 5, 6, 7, 8, np.nan, np.nan],
            "days_referral_to_first_support": [10] * 8 + [np.nan] * 2,
            "hosting_nights": [2, 3, 0, 0, 0, 0, 0, 0, 0, 0],
            "friendship_hours": [5.0] * 6 + [0] * 4,
            "resources_episodes": [0] * 10,
            "duration_days": [30] * 8 + [np.nan] * 2,
        }
    )
    table = present_process.delivery_summary(per).set_index("Measure")
    days = table.loc["Days from randomisation to first support"]
    assert days.tolist() == [8, 80.0, "4.5 (2.8 to 6.2)"]
    assert (
        table.loc["Hosting (nights), per family receiving it"].tolist() == [SUPPRESSED] * 3
    )  # 2 families
    assert table.loc["Friendship (hours), per family receiving it", "Families"] == 6
    assert table.loc["Resources (episodes), per family receiving it", "Median (IQR)"] == "–"


def test_active_on_includes_open_and_same_day_spells():
    frame = pd.DataFrame(
        {
            "start_date": [D("2024-01-01"), D("2024-01-01"), D("2024-06-01"), D("2024-01-01")],
            "end_date": [pd.NaT, D("2024-03-01"), pd.NaT, D("2024-02-01")],
        }
    )
    assert process.active_on(frame, D("2024-03-01")).tolist() == [True, True, False, False]


def test_volunteer_capacity_suppresses_roles_and_ratio():
    volunteers = pd.DataFrame(
        {
            "hub_id": ["h1"] * 9 + ["h2"] * 3,
            "role": ["host"] * 6 + ["friend"] * 3 + ["host"] * 3,
            "start_date": [D("2024-01-01")] * 12,
            "end_date": [pd.NaT] * 12,
        }
    )
    families = pd.DataFrame(
        {"family_id": [f"F{i}" for i in range(30)], "la_code": ["A"] * 20 + ["B"] * 10}
    )
    las = pd.DataFrame({"la_code": ["A", "B"], "hub_id": ["h1", "h2"]})
    table = present_process.volunteer_capacity(volunteers, families, las, "2024-06-01").set_index(
        "hub_id"
    )
    assert table.loc["h1", "friend"] == SUPPRESSED  # 3 friends
    assert table.loc["h1", "host"] == SUPPRESSED  # else 9 - 6 hosts in h1 gives h2's 3 away
    assert table.loc["h2", "active"] == SUPPRESSED  # 3 volunteers in all
    assert table.loc["h2", "families_per_volunteer"] == SUPPRESSED
    assert table.loc["All hubs", "active"] == 12
    assert table.loc["All hubs", "families_per_volunteer"] == 2.5  # 30 families / 12 volunteers
    # h1's total of 9 would reveal its 3 friends from its 6 hosts: the column keeps >= 2 hidden.
    assert (table["friend"] == SUPPRESSED).sum() != 1


def test_referrals_by_month_fills_empty_months():
    referrals = pd.DataFrame({"referral_date": [D("2024-01-05"), D("2024-03-02"), D("2024-03-09")]})
    randomisation = pd.DataFrame({"randomised_date": [D("2024-03-20")]})
    by_month = process.referrals_by_month(referrals, randomisation)
    assert by_month["referred"].tolist() == [1, 0, 2]
    assert by_month["cumulative_referred"].tolist() == [1, 1, 3]
    assert by_month["cumulative_randomised"].tolist() == [0, 0, 1]


def test_la_indicators_and_hub_totals():
    referrals, randomisation, support = _families()
    las = pd.DataFrame(
        {
            "la_code": ["A", "B"],
            "la_name": ["Ay", "Be"],
            "hub_id": ["h", "h"],
            "child_population": pd.array([20000, 10000], dtype="Int64"),
            "cla_rate_per_10k": [50.0, 60.0],
            "deprivation_rank": pd.array([1, 2], dtype="Int64"),
        }
    )
    tables = {
        "las": las,
        "referrals": referrals,
        "randomisation": randomisation,
        "support": support,
    }
    la = process.la_indicators(tables, pd.Series(["F1", "F3"]), "sffc").set_index("la_code")
    assert la.loc["A", ["referred", "randomised", "sffc", "supported", "followed_up"]].tolist() == [
        2,
        2,
        2,
        1,
        1,
    ]
    assert la.loc["A", "fidelity"] == 0.5
    assert la.loc["A", "supported_per_10k"] == 0.5  # 1 family per 20,000 children
    assert la.loc["A", "mean_days_to_support"] == 5
    assert la.loc["B", "follow_up_rate"] == 1.0
    assert math.isnan(la.loc["B", "fidelity"])  # no SFFC family in B
    hub = process.hub_indicators(la.reset_index()).set_index("hub_id")
    assert hub.loc["h", "follow_up_rate"] == pytest.approx(2 / 3)
    assert hub.loc["h", "mean_days_to_support"] == 5


def test_indicator_funnel_leaves_out_small_units_but_keeps_their_target():
    units = pd.DataFrame(
        {
            "la_code": ["a", "b", "c"],
            "randomised": [100, 100, 2],
            "follow_up_rate": [0.5, 0.7, 0.0],
            "hub_id": ["h"] * 3,
        }
    )
    points = present_process.indicator_funnel(units, "follow_up")
    assert points["la_code"].tolist() == ["a", "b"]
    assert points["target"].iloc[0] == pytest.approx(120 / 202)  # c's two families still count
    assert "hub_id" in points.columns


def test_la_table_suppresses_with_a_total_row():
    la = pd.DataFrame(
        {"la_name": ["A", "B", "C"], "randomised": [3, 20, 30], "rate": [0.5, 0.6, 0.7]}
    )
    table = present_process.la_table(la, {"randomised": ["rate"]}, ["la_name"]).set_index("la_name")
    assert table.loc["A", "randomised"] == SUPPRESSED and table.loc["A", "rate"] == SUPPRESSED
    assert table.loc["B", "randomised"] == SUPPRESSED  # else 53 - 20 - 30 gives A away
    assert table.loc["C", "randomised"] == 30
    assert table.loc["All LAs shown", "randomised"] == 53


def _surveys():
    rows = []
    for i in range(6):
        rows.append(("family", f"F{i}", "week8", "q1", [5, 5, 4, 4, 3, 1][i], None))
    rows.append(("family", "F0", "week8", "q2", 4, None))
    rows.append(("family", "F0", "week8", "q7", None, "respite"))
    rows.append(("family", "F1", "week8", "q7", None, "respite"))
    for i in range(6):
        rows.append(("volunteer", f"V{i}", "baseline", "v1", 3, None))
        rows.append(("volunteer", f"V{i}", "month12", "v1", 3 + (i % 3), None))
    rows.append(("volunteer_child", "V0-C1", "baseline", "c1", 4, None))
    rows.append(("volunteer_child", "V0-C2", "baseline", "c1", 4, None))
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
    ).assign(response=lambda d: pd.array(d["response"], dtype="Int64"))


def test_likert_distribution_and_table():
    dist = process.likert_distribution(_surveys(), "family").set_index("question_id")
    assert dist.loc["q1", ["n_1", "n_2", "n_3", "n_4", "n_5", "n"]].tolist() == [1, 0, 1, 2, 2, 6]
    assert dist.loc["q1", "pct_5"] == pytest.approx(100 * 2 / 6)
    table = present_process.likert_table(dist.reset_index()).set_index("question_id")
    # disagree 1, neither 1, agree 4: every cell is small, so all three are hidden; n = 6 shown.
    assert table.loc["q1", ["disagree", "neither", "agree"]].tolist() == [SUPPRESSED] * 3
    assert table.loc["q1", "responses"] == 6
    assert table.loc["q2", "responses"] == SUPPRESSED  # one response


def test_likert_table_shows_large_cells_with_percent():
    dist = pd.DataFrame(
        {
            "respondent_type": ["family"],
            "timepoint": ["week8"],
            "question_id": ["q"],
            "n_1": [0],
            "n_2": [0],
            "n_3": [10],
            "n_4": [10],
            "n_5": [20],
            "n": [40],
        }
    )
    table = present_process.likert_table(dist)
    assert table.loc[0, ["disagree", "neither", "agree"]].tolist() == [
        "0 (0.0%)",
        "10 (25.0%)",
        "30 (75.0%)",
    ]


def test_eligible_volunteers_at_each_timepoint():
    volunteers = pd.DataFrame(
        {
            "volunteer_id": ["V1", "V2", "V3"],
            "start_date": [D("2023-01-01"), D("2023-01-01"), D("2024-01-01")],
            "end_date": [pd.NaT, D("2023-05-01"), pd.NaT],
        }
    )
    cut = "2024-03-01"
    assert process.eligible_volunteers(volunteers, "baseline", cut)["volunteer_id"].tolist() == [
        "V1",
        "V2",
        "V3",
    ]
    assert process.eligible_volunteers(volunteers, "month6", cut)["volunteer_id"].tolist() == [
        "V1"
    ]  # V2 left, V3 not due
    assert process.eligible_volunteers(volunteers, "month12", cut)["volunteer_id"].tolist() == [
        "V1"
    ]


def test_response_rates_count_households_and_suppress():
    surveys = _surveys()
    eligible = {
        ("family", "week8"): {f"F{i}" for i in range(10)},
        ("volunteer", "baseline"): {f"V{i}" for i in range(6)} | {"V9"},
        ("volunteer_child", "baseline"): {"V0", "V1"},
    }
    rates = present_process.response_rates(surveys, eligible).set_index(
        ["respondent_type", "timepoint"]
    )
    assert rates.loc[("family", "week8")].tolist() == [6, 10, 60.0]
    assert rates.loc[("volunteer", "baseline")].tolist() == [6, 7, 85.7]
    # one household (two children) of two eligible: hidden.
    assert rates.loc[("volunteer_child", "baseline")].tolist() == [SUPPRESSED] * 3


def test_theme_counts_suppressed():
    surveys = _surveys()
    more = pd.DataFrame(
        {
            "respondent_type": "family",
            "respondent_id": [f"G{i}" for i in range(5)],
            "timepoint": "week8",
            "question_id": "q7",
            "response": pd.array([pd.NA] * 5, dtype="Int64"),
            "theme": "practical help",
        }
    )
    themes = present_process.theme_counts(
        pd.concat([surveys, more]), ["family", "volunteer"]
    ).set_index("theme")
    assert themes.loc["practical help"].tolist() == [5, 0]
    assert themes.loc["respite", "family"] == SUPPRESSED  # two families
    assert themes.index.tolist() == ["practical help", "respite"]


def test_survey_change_pairs_respondents():
    surveys = _surveys()
    change = present_process.survey_change(surveys, "volunteer", "baseline", "month12").set_index(
        "question_id"
    )
    # baseline all 3; month 12: 3, 4, 5, 3, 4, 5: change 0, 1, 2, 0, 1, 2 -> mean 1, sd 0.894427,
    # se 0.365148, t(0.975, 5) = 2.570582: CI 1 ± 0.938650.
    assert change.loc["v1", "n_pairs"] == 6
    assert change.loc["v1", "mean_change"] == pytest.approx(1.0)
    assert change.loc["v1", "ci_low"] == pytest.approx(1 - 2.570582 * 0.894427 / 6**0.5, abs=1e-5)
    # Children: 2 at baseline and none later: hidden.
    kids = present_process.survey_change(surveys, "volunteer_child", "baseline", "month12")
    assert kids.loc[0, "n_first"] == SUPPRESSED


def test_volunteer_spells_censor_at_the_data_cut():
    volunteers = pd.DataFrame(
        {
            "volunteer_id": ["V1", "V2", "V3", "V4"],
            "hub_id": "h",
            "role": "host",
            "has_children": False,
            "start_date": [D("2024-01-01"), D("2024-01-01"), D("2024-01-01"), D("2025-01-01")],
            "end_date": [D("2024-07-01"), pd.NaT, D("2024-12-31"), pd.NaT],
        }
    )
    spells = process.volunteer_spells(volunteers, "2024-10-01").set_index("volunteer_id")
    assert spells.index.tolist() == ["V1", "V2", "V3"]  # V4 starts after the cut
    assert spells["ended"].tolist() == [True, False, False]  # V3 ends after the cut: censored
    assert spells.loc["V1", "months"] == pytest.approx(182 / (365.25 / 12))


def test_retention_matches_kaplan_meier_by_hand_and_hides_small_risk_sets():
    # Six volunteers: ends at 2, 4, 6 months; censored at 3, 5, 8.
    # S(2) = 5/6; at 4 the risk set is 4 (4, 5, 6, 8): S = 5/6 * 3/4 = 0.625;
    # at 6 the risk set is 2: S = 0.625 * 1/2 = 0.3125.
    spells = pd.DataFrame(
        {
            "months": [2, 3, 4, 5, 6, 8],
            "ended": [True, False, True, False, True, False],
            "role": "host",
        }
    )
    table = present_process.retention_at(spells, [1, 4.5, 7], threshold=2)
    assert table["retained_pct"].tolist() == [100.0, 62.5, SUPPRESSED]  # 1 at risk at 7 months
    assert table["at_risk"].tolist() == [6, 3, SUPPRESSED]
    unhidden = present_process.retention_at(spells, [7], threshold=1)
    assert unhidden.loc[0, "retained_pct"] == pytest.approx(31.25, abs=0.06)  # rounded to 1 decimal
    assert process.median_retention(spells) == 6
    default = present_process.retention_at(spells, [4.5])
    assert default.loc[0, "at_risk"] == SUPPRESSED  # 3 < 5


def test_age_in_years_counts_birthdays_on_the_day():
    dob = pd.Series([D("2013-01-10"), D("2012-02-29"), D("2019-01-11")])
    on = pd.Series([D("2024-01-10"), D("2024-02-28"), D("2024-01-10")])
    assert process.age_in_years(dob, on).tolist() == [11, 11, 4]
