"""What the monitoring notebook calls to turn the blinded summaries into report numbers and
tables: hub names from the sheet, disclosure control, dates and projections in words."""

from pathlib import Path

import pandas as pd

from psp_eval.analyses.monitoring import ALL_HUBS, MonitoringConfig
from psp_eval.data import contract
from psp_eval.present import monitoring as present
from psp_eval.present.disclosure import SUPPRESSED

NAMES = {"n1": "North", "s1": "South"}
CONFIG = MonitoringConfig(target_date=pd.Timestamp("2026-01-01"), recent_weeks=8)


def _recruitment():
    return pd.DataFrame(
        {
            "hub_id": ["n1", "s1", ALL_HUBS],
            "randomised": [30, 20, 50],
            "target": [30, 40, 70],
            "pct_of_target": [100.0, 50.0, 100 * 50 / 70],
            "per_week_recent": [0.0, 0.25, 0.25],
            "projected_at_target_date": [30.0, 26.6, 56.6],
            "projected_pct": [100.0, 66.5, 80.857],
            "on_track": [True, False, False],
            "target_reached_by": [pd.NaT, pd.NaT, pd.Timestamp("2027-03-10")],
        }
    )


def test_recruitment_numbers_project_before_and_report_after_the_target_date():
    numbers = present.recruitment_numbers(_recruitment(), pd.Timestamp("2025-06-01"), CONFIG)
    assert numbers == {
        "n_randomised": 50,
        "target": 70,
        "pct_of_target": 71.4,
        "per_week_recent": 0.2,  # 0.25 rounds half to even
        "recent_weeks": 8,
        "projection": "would reach 80.9% of the target by 2026-01-01",
        "hubs_on_track": 1,
        "n_hubs": 2,
    }
    late = present.recruitment_numbers(_recruitment(), pd.Timestamp("2026-02-01"), CONFIG)
    assert late["projection"] == "the target date (2026-01-01) has passed with 71.4% of the target"


def test_recruitment_table_names_hubs_and_says_when_the_target_is_reached():
    table = present.recruitment_table(_recruitment(), NAMES)
    assert table.index.tolist() == ["North", "South", ALL_HUBS]
    assert table.index.name == "Hub"
    assert table["Target reached by"].tolist() == ["reached", "not at this rate", "Mar 2027"]
    assert table["On track"].tolist() == ["yes", "no", "no"]
    assert table.loc["South", "Projected at target date"] == 27
    small = _recruitment().assign(randomised=[3, 47, 50])
    shown = present.recruitment_table(small, NAMES)
    assert shown.loc["North", "Randomised"] == SUPPRESSED
    assert shown.loc["North", "% of target"] == SUPPRESSED
    assert shown.loc["South", "Randomised"] == SUPPRESSED  # else 50 - 47 gives North away


def test_followup_numbers_and_table():
    followup = pd.DataFrame(
        {
            "hub_id": ["n1", "s1", ALL_HUBS],
            "due": [10, 12, 22],
            "returned": [8, 12, 20],
            "pct": [80.0, 100.0, 100 * 20 / 22],
        }
    )
    assert present.followup_numbers(followup, CONFIG) == {
        "followup_due": 22,
        "followup_pct": 90.9,
        "week8_due_days": 70,
    }
    table = present.followup_table(followup, NAMES)
    assert table.columns.tolist() == ["Due", "Returned", "Returned (%)"]
    # North's 2 missing questionnaires would show: its counts, and South's to protect them.
    assert table.loc["North", "Returned"] == SUPPRESSED
    assert table.loc["North", "Returned (%)"] == SUPPRESSED
    none_due = followup.assign(due=0, returned=0, pct=float("nan"))
    assert present.followup_numbers(none_due, CONFIG)["followup_pct"] == "no family due yet"


def test_support_numbers_and_table_name_the_programme():
    support = pd.DataFrame(
        {
            "hub_id": ["n1", "s1", ALL_HUBS],
            "sffc_due": [10, 0, 10],
            "support_started": [10, 0, 10],
            "pct": [100.0, float("nan"), 100.0],
            "median_days_to_support": [12.5, float("nan"), 12.5],
        }
    )
    assert present.support_numbers(support, CONFIG) == {
        "support_due_days": 42,
        "support_pct": 100.0,
        "support_median_days": 12.5,
    }
    table = present.support_table(support, NAMES, "Homes for Good")
    assert table.columns.tolist() == [
        "Homes for Good families due",
        "Support started",
        "Started (%)",
        "Median days to support",
    ]
    assert table.loc["North", "Median days to support"] == 12.5
    unknown = support.assign(median_days_to_support=float("nan"))
    assert present.support_numbers(unknown, CONFIG)["support_median_days"] == "not yet known"


def test_quality_table_lists_problems_or_says_all_passed():
    passed = present.quality_table(())
    assert passed.to_dict("records") == [
        {
            "File": "all files",
            "Column": "",
            "Rule": "every rule of the data contract",
            "Level": "passed",
            "Rows": 0,
        }
    ]
    problem = contract.Problem(
        file="referrals.csv", column="la_code", rule="known LA", level="error", rows=(2, 5)
    )
    table = present.quality_table((problem,))
    assert table.to_dict("records") == [
        {
            "File": "referrals.csv",
            "Column": "la_code",
            "Rule": "known LA",
            "Level": "error",
            "Rows": 2,
        }
    ]


def test_status_numbers_count_problems_and_tables():
    problem = contract.Problem(file="a.csv", column=None, rule="missing", level="error", rows=())
    result = contract.ValidationResult(
        folder=Path("raw"), tables={"referrals": pd.DataFrame()}, problems=(problem,)
    )
    numbers = present.status_numbers(result, pd.Timestamp("2025-06-01 00:00"), CONFIG)
    assert numbers["data_cut"] == "2025-06-01" and numbers["target_date"] == "2026-01-01"
    assert (numbers["n_errors"], numbers["n_warnings"], numbers["n_tables"]) == (1, 0, 1)
    assert numbers["n_tables_expected"] == len(contract.TABLES)
    assert numbers["data_status"].startswith("breaks rules")
