"""Tables and quoted numbers of the blinded monitoring report: hubs by name, counts through
disclosure control (`[c]`), dates and projections in words.

Nothing here splits anything by arm: the tables come from `analyses.monitoring.summaries`,
which checks that before they arrive.
"""

from __future__ import annotations

import pandas as pd

from psp_eval.analyses.monitoring import ALL_HUBS, MonitoringConfig, data_quality
from psp_eval.data import contract
from psp_eval.present import disclosure
from psp_eval.present.hubs import named


def _totals(table: pd.DataFrame) -> pd.Series:
    """The all-hubs row of a monitoring table."""
    return table.set_index("hub_id").loc[ALL_HUBS]


def _by_hub(table: pd.DataFrame, names: dict[str, str], **columns) -> pd.DataFrame:
    """`table` indexed by hub name (the all-hubs row keeps its label), `columns` replaced."""
    return table.assign(hub=named(table["hub_id"], names), **columns).set_index("hub")


def status_numbers(
    result: contract.ValidationResult, cut: pd.Timestamp, config: MonitoringConfig
) -> dict[str, object]:
    """What the report says about the data: the data cut, the target date, the problems the
    data contract found, and the tables read of those the contract defines."""
    return {
        "data_cut": cut.date().isoformat(),
        "target_date": config.target_date.date().isoformat(),
        "n_errors": len(result.errors),
        "n_warnings": len(result.warnings),
        "n_tables": len(result.tables),
        "n_tables_expected": len(contract.TABLES),
        "data_status": "passes every rule of the data contract"
        if result.ok
        else "breaks rules of the data contract (see the data-quality issues)",
    }


def recruitment_numbers(
    recruitment: pd.DataFrame, cut: pd.Timestamp, config: MonitoringConfig
) -> dict[str, object]:
    """Families randomised against the target over all hubs, the recent rate, the projection
    at the target date in words (or, once it has passed, the share reached) and the hubs on
    track."""
    total = _totals(recruitment)
    target_day = config.target_date.date().isoformat()
    pct = round(float(total["pct_of_target"]), 1)
    hubs = recruitment[recruitment["hub_id"] != ALL_HUBS]
    return {
        "n_randomised": int(total["randomised"]),
        "target": int(total["target"]),
        "pct_of_target": pct,
        "per_week_recent": round(float(total["per_week_recent"]), 1),
        "recent_weeks": config.recent_weeks,
        "projection": f"would reach {round(float(total['projected_pct']), 1)}% of the target"
        f" by {target_day}"
        if cut < config.target_date
        else f"the target date ({target_day}) has passed with {pct}% of the target",
        "hubs_on_track": int(hubs["on_track"].sum()),
        "n_hubs": len(hubs),
    }


RECRUITMENT_COLUMNS = {
    "randomised": "Randomised",
    "target": "Target",
    "pct_of_target": "% of target",
    "per_week_recent": "Per week (recent)",
    "projected_at_target_date": "Projected at target date",
    "on_track": "On track",
    "target_reached_by": "Target reached by",
}


def recruitment_table(recruitment: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    """Recruitment per hub for the report: rates rounded, on track in words, the month the
    target is reached at the recent rate ("reached" once it is, "not at this rate" when the
    rate is 0), and the counts of randomised families suppressed down to the all-hubs row."""
    reached_by = recruitment["target_reached_by"].dt.strftime("%b %Y")
    reached = recruitment["randomised"] >= recruitment["target"]
    shown = _by_hub(
        recruitment,
        names,
        pct_of_target=recruitment["pct_of_target"].round(1),
        per_week_recent=recruitment["per_week_recent"].round(1),
        projected_at_target_date=recruitment["projected_at_target_date"].round(0).astype(int),
        on_track=recruitment["on_track"].map({True: "yes", False: "no"}),
        target_reached_by=reached_by.fillna("reached").where(
            reached, reached_by.fillna("not at this rate")
        ),
    )
    shown = disclosure.suppress_part_of_whole(
        shown.assign(_all=shown["randomised"]),
        "randomised",
        "_all",
        total_row=ALL_HUBS,
        derived=("pct_of_target",),
    )
    return shown[list(RECRUITMENT_COLUMNS)].rename(columns=RECRUITMENT_COLUMNS).rename_axis("Hub")


def followup_numbers(followup: pd.DataFrame, config: MonitoringConfig) -> dict[str, object]:
    """Week-8 questionnaires due and the share returned over all hubs, and when they fall due."""
    total = _totals(followup)
    return {
        "followup_due": int(total["due"]),
        "followup_pct": round(float(total["pct"]), 1)
        if pd.notna(total["pct"])
        else "no family due yet",
        "week8_due_days": config.week8_due_days,
    }


def followup_table(followup: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    """Questionnaires due and returned per hub, returned (neither returned nor missing may
    reveal 1-4 families) and the percentage hidden with them."""
    shown = _by_hub(followup, names, pct=followup["pct"].round(1))
    shown = disclosure.suppress_part_of_whole(
        shown, "returned", "due", total_row=ALL_HUBS, derived=("pct",)
    )
    columns = {"due": "Due", "returned": "Returned", "pct": "Returned (%)"}
    return shown[list(columns)].rename(columns=columns).rename_axis("Hub")


def support_numbers(support: pd.DataFrame, config: MonitoringConfig) -> dict[str, object]:
    """The share of due families whose support has started and their median days to it, over
    all hubs, and when support is due."""
    total = _totals(support)
    median = total["median_days_to_support"]
    return {
        "support_due_days": config.support_due_days,
        "support_pct": round(float(total["pct"]), 1)
        if pd.notna(total["pct"])
        else "no family due yet",
        "support_median_days": float(median) if pd.notna(median) else "not yet known",
    }


SUPPORT_COLUMNS = {
    "sffc_due": "SFFC families due",
    "support_started": "Support started",
    "pct": "Started (%)",
    "median_days_to_support": "Median days to support",
}


def support_table(support: pd.DataFrame, names: dict[str, str], treated: str) -> pd.DataFrame:
    """Support started per hub (`treated`: the treated arm's name), counts suppressed as part
    of the families due, the percentage and median hidden with them."""
    shown = _by_hub(support, names, pct=support["pct"].round(1))
    shown = disclosure.suppress_part_of_whole(
        shown,
        "support_started",
        "sffc_due",
        total_row=ALL_HUBS,
        derived=("pct", "median_days_to_support"),
    )
    columns = {**SUPPORT_COLUMNS, "sffc_due": f"{treated} families due"}
    return shown[list(columns)].rename(columns=columns).rename_axis("Hub")


def quality_table(problems) -> pd.DataFrame:
    """`data_quality` of the contract's problems with its columns capitalised, or one row
    saying every rule passed."""
    issues = data_quality(problems)
    if issues.empty:
        issues = pd.DataFrame(
            [
                {
                    "file": "all files",
                    "column": "",
                    "rule": "every rule of the data contract",
                    "level": "passed",
                    "rows": 0,
                }
            ]
        )
    return issues.rename(columns=str.capitalize)
