"""Process evaluation: recruitment and the flow of families through the trial."""

from __future__ import annotations

import pandas as pd

from psp_eval.contract import ARMS

# Mutually exclusive fates of a referred family, in CONSORT order; they add up to all referred.
FLOW_STAGES = (
    ("not_eligible", "Not eligible"),
    ("declined", "Eligible, declined consent"),
    ("not_randomised_other", "Consented, not randomised (other reasons)"),
    ("withdrawn", "Randomised, then withdrew"),
    ("no_followup", "Randomised, no week-8 outcome"),
    ("followed_up", "Randomised, week-8 outcome"),
)


def family_flow(
    referrals: pd.DataFrame,
    randomisation: pd.DataFrame,
    withdrawals: pd.DataFrame,
    followed_up: pd.Series,
) -> pd.DataFrame:
    """One row per referred family: its arm (if randomised) and its stage in `FLOW_STAGES`.

    `followed_up` holds the family_ids with a week-8 primary outcome. A withdrawn family
    counts as withdrawn even if it has an outcome (it left the programme).
    """
    fam = referrals[["family_id", "eligible", "consented"]].merge(
        randomisation[["family_id", "arm"]], on="family_id", how="left", validate="1:1"
    )
    randomised = fam["arm"].notna()
    eligible = fam["eligible"].astype("boolean").fillna(False).astype(bool)
    consented = fam["consented"].astype("boolean").fillna(False).astype(bool)
    withdrawn = fam["family_id"].isin(withdrawals["family_id"])
    has_outcome = fam["family_id"].isin(followed_up)
    stage = pd.Series("not_randomised_other", index=fam.index, dtype=object)
    stage[~eligible & ~randomised] = "not_eligible"
    stage[eligible & ~consented & ~randomised] = "declined"
    stage[randomised & has_outcome] = "followed_up"
    stage[randomised & ~has_outcome] = "no_followup"
    stage[randomised & withdrawn] = "withdrawn"
    fam["stage"] = stage
    return fam[["family_id", "arm", "stage"]]


def flow_table(flow: pd.DataFrame) -> pd.DataFrame:
    """Counts of families per stage and arm, with a total column and a total row.

    Rows add up to the families referred, so the table can go through disclosure control
    with both margins.
    """
    labels = dict(FLOW_STAGES)
    arm = flow["arm"].astype(object).where(flow["arm"].notna(), "not_randomised")
    counts = pd.crosstab(pd.Categorical(flow["stage"], categories=list(labels)), arm)
    counts = counts.reindex(columns=[*ARMS, "not_randomised"], fill_value=0)
    counts["total"] = counts.sum(axis=1)
    counts.loc["all"] = counts.sum(axis=0)
    counts.index = [labels.get(stage, "All referred") for stage in counts.index]
    counts.index.name = "stage"
    return counts.astype(int)


def randomised_by_month(randomisation: pd.DataFrame) -> pd.DataFrame:
    """Families randomised per calendar month and arm, with running totals."""
    month = randomisation["randomised_date"].dt.to_period("M").dt.to_timestamp()
    counts = pd.crosstab(month, randomisation["arm"]).reindex(columns=list(ARMS), fill_value=0)
    counts = counts.asfreq("MS", fill_value=0) if len(counts) else counts
    counts.index.name = "month"
    cumulative = counts.cumsum().add_prefix("cumulative_")
    return pd.concat([counts, cumulative], axis=1).reset_index()


def data_cut(tables: dict[str, pd.DataFrame]) -> str:
    """The latest date recorded in referrals, randomisation or measures: the data cut."""
    dates = [
        tables["referrals"]["referral_date"].max(),
        tables["randomisation"]["randomised_date"].max(),
        tables["measures"]["completed_date"].max(),
    ]
    return max(d for d in dates if pd.notna(d)).date().isoformat()
