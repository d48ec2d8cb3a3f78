"""Timely, blinded monitoring of the trial while it runs.

Why: the trial team, hubs and funders need to see at any time whether recruitment will reach
its target, whether week-8 questionnaires come back and support starts, and what is wrong with
the data, without waiting for clean data and without unblinding: nothing here summarises an
outcome by arm.

The monitor reads the RAW trial folder through the contract's validator (`validate_dir`),
which returns the typed tables even when some rules are broken (cells that failed their type
are empty; a table missing a column is absent). Every function copes with absent tables, so a
folder that fails validation still gives a report, with its problems listed as data-quality
issues. The folder is `<raw_dir>/<trial>` of config/config.yaml (`raw_folder`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from psp_eval.data import contract
from psp_eval.data.contract import ARMS, Problem

ALL_HUBS = "All hubs"
# Words that mark an outcome in a column name or number key; the blinding check refuses any
# output that splits such a thing by arm.
OUTCOME_WORDS = (
    "sdq",
    "gad7",
    "mspss",
    "score",
    "response",
    "outcome",
    "re_referral",
    "care_entry",
    "nights",
    "difference",
    "effect",
)


class BlindingError(AssertionError):
    """A monitoring output splits an outcome by arm."""


@dataclass(frozen=True)
class MonitoringConfig:
    """config/monitoring.yaml."""

    target_date: pd.Timestamp
    recent_weeks: int = 12  # recruitment rate for the projection: the latest weeks
    week8_due_days: int = 70  # week 8 (56 days) plus the 14-day window: due by then
    support_due_days: int = 42  # support should have started within this many days
    as_of: pd.Timestamp | None = None  # monitor the data as they stood on this date

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> MonitoringConfig:
        """The monitoring settings (config/monitoring.yaml, through the run's settings)."""
        values: dict[str, Any] = dict(settings)
        values["target_date"] = pd.Timestamp(values["target_date"])
        if values.get("as_of") is not None:
            values["as_of"] = pd.Timestamp(values["as_of"])
        return cls(**values)


def read_raw(
    raw_dir: str | Path, hubs: pd.DataFrame, instruments: Mapping[str, Any]
) -> contract.ValidationResult:
    """Validate the raw folder with the hub sheet and instruments the rule hands over; the
    result holds the typed tables and every problem, whether or not the data pass."""
    return contract.validate_dir(raw_dir, hubs, instruments)


DATE_COLUMNS = {
    "referrals": "referral_date",
    "randomisation": "randomised_date",
    "measures": "completed_date",
    "support": "start_date",
    "withdrawals": "withdrawal_date",
}


def as_of(tables: Mapping[str, pd.DataFrame], date: pd.Timestamp | None) -> dict[str, pd.DataFrame]:
    """The tables as they stood on `date` (rows dated later dropped); unchanged when None."""
    if date is None:
        return dict(tables)
    out = dict(tables)
    for name, column in DATE_COLUMNS.items():
        if name in out:
            frame = out[name]
            out[name] = frame[~(frame[column] > date)].reset_index(drop=True)
    return out


CUT_TABLES = ("referrals", "randomisation", "measures", "support")


def data_cut(tables: Mapping[str, pd.DataFrame]) -> pd.Timestamp | None:
    """The latest date of a referral, randomisation, questionnaire or support episode (None
    when there is none); withdrawals are recorded to the end of follow-up, so they do not
    date the data."""
    dates = [tables[n][DATE_COLUMNS[n]].max() for n in CUT_TABLES if n in tables and len(tables[n])]
    dates = [d for d in dates if pd.notna(d)]
    return max(dates) if dates else None


def data_quality(problems: tuple[Problem, ...] | list[Problem]) -> pd.DataFrame:
    """One row per problem: table file, column, rule, level and the number of rows affected.
    The offending values are left out: they may be identifiers (family_id, CHILD)."""
    rows = [
        {
            "file": p.file,
            "column": p.column or "(whole file)",
            "rule": p.rule,
            "level": p.level,
            "rows": len(p.rows) if p.rows else "whole file",
        }
        for p in problems
    ]
    return pd.DataFrame(rows, columns=["file", "column", "rule", "level", "rows"])


def family_hubs(tables: Mapping[str, pd.DataFrame]) -> pd.Series:
    """hub_id per randomised family_id: from its referring LA, else from its stratum."""
    rand = tables.get("randomisation")
    if rand is None:
        return pd.Series(dtype=object)
    hub = pd.Series(
        rand["stratum"].astype(object).str.split("|").str[0].to_numpy(),
        index=rand["family_id"].to_numpy(),
    )
    if "referrals" in tables and "las" in tables:
        la_hub = tables["las"].set_index("la_code")["hub_id"]
        ref = (
            tables["referrals"]
            .drop_duplicates("family_id")
            .set_index("family_id")["la_code"]
            .map(la_hub)
        )
        hub = ref.reindex(hub.index).astype(object).fillna(hub)
    return hub.astype(object)


def recruitment(
    tables: Mapping[str, pd.DataFrame],
    hubs: pd.DataFrame,
    *,
    cut: pd.Timestamp,
    target_date: pd.Timestamp,
    recent_weeks: int = 12,
) -> pd.DataFrame:
    """Per hub and for all hubs: families randomised, target, % of target, families a week over
    the latest `recent_weeks`, the projection at `target_date` at that rate, and the date the
    target is reached at that rate (NaT when reached already or when the rate is 0)."""
    hub_ids = hubs["hub_id"].tolist()
    rand = tables.get("randomisation", pd.DataFrame(columns=["family_id", "randomised_date"]))
    hub = family_hubs(tables)
    dates = pd.Series(rand["randomised_date"].to_numpy(), index=rand["family_id"].to_numpy())
    recent_start = cut - pd.Timedelta(weeks=recent_weeks)
    weeks_left = max((target_date - cut).days, 0) / 7
    rows = []
    for name, members in [*((h, [h]) for h in hub_ids), (ALL_HUBS, hub_ids)]:
        mine = dates[hub.reindex(dates.index).isin(members).to_numpy()]
        n = int(mine.notna().sum())
        target = int(hubs.loc[hubs["hub_id"].isin(members), "recruitment_target"].sum())
        rate = float(((mine > recent_start) & (mine <= cut)).sum()) / recent_weeks
        projected = n + rate * weeks_left
        if n >= target:
            reached = pd.NaT
        elif rate > 0:
            reached = cut + pd.Timedelta(weeks=(target - n) / rate)
        else:
            reached = pd.NaT
        rows.append(
            {
                "hub_id": name,
                "randomised": n,
                "target": target,
                "pct_of_target": 100 * n / target if target else np.nan,
                "per_week_recent": rate,
                "projected_at_target_date": projected,
                "projected_pct": 100 * projected / target if target else np.nan,
                "on_track": bool(projected >= target),
                "target_reached_by": reached,
            }
        )
    return pd.DataFrame(rows)


def cumulative_by_week(tables: Mapping[str, pd.DataFrame], hubs: pd.DataFrame) -> pd.DataFrame:
    """Families randomised to date per hub, by week (both arms together: blinded)."""
    rand = tables.get("randomisation")
    if rand is None or rand.empty:
        return pd.DataFrame(columns=["week", *hubs["hub_id"]])
    hub = family_hubs(tables).reindex(rand["family_id"]).to_numpy()
    week = rand["randomised_date"].dt.to_period("W").dt.start_time
    counts = pd.crosstab(week, hub).reindex(columns=hubs["hub_id"], fill_value=0)
    counts = counts.asfreq("W-MON", fill_value=0) if len(counts) > 1 else counts
    counts.index.name = "week"
    return counts.cumsum().reset_index()


def _per_hub(frame: pd.DataFrame, hubs: pd.DataFrame, due: str, done: str) -> pd.DataFrame:
    """Counts per hub with an all-hubs row and the percentage done of due."""
    table = frame.groupby("hub_id")[[due, done]].sum().reindex(hubs["hub_id"], fill_value=0)
    table.loc[ALL_HUBS] = table.sum()
    table = table.astype(int)
    table["pct"] = 100 * table[done] / table[due].where(table[due] > 0)
    table.index.name = "hub_id"
    return table.reset_index()


def followup_completion(
    tables: Mapping[str, pd.DataFrame], hubs: pd.DataFrame, *, cut: pd.Timestamp, due_days: int = 70
) -> pd.DataFrame:
    """Per hub: families whose week-8 questionnaires are due (randomised `due_days` or more
    before the cut, not withdrawn), and those with any week-8 questionnaire back (arms pooled)."""
    rand = tables.get("randomisation")
    if rand is None:
        return _per_hub(
            pd.DataFrame(columns=["hub_id", "due", "returned"]), hubs, "due", "returned"
        )
    fam = rand[["family_id", "randomised_date"]].copy()
    fam["hub_id"] = family_hubs(tables).reindex(fam["family_id"]).to_numpy()
    withdrawn = (
        tables["withdrawals"]["family_id"] if "withdrawals" in tables else pd.Series(dtype=object)
    )
    fam["due"] = (fam["randomised_date"] <= cut - pd.Timedelta(days=due_days)) & ~fam[
        "family_id"
    ].isin(withdrawn)
    returned = pd.Series(dtype=object)
    if "measures" in tables:
        m = tables["measures"]
        # each family once: isin on Arrow text converts every value it is given, one by one
        returned = m.loc[m["timepoint"] == "week8", "family_id"].drop_duplicates()
    fam["returned"] = fam["due"] & fam["family_id"].isin(returned)
    return _per_hub(fam, hubs, "due", "returned")


def support_started(
    tables: Mapping[str, pd.DataFrame], hubs: pd.DataFrame, *, cut: pd.Timestamp, due_days: int = 42
) -> pd.DataFrame:
    """Per hub: SFFC families randomised `due_days` or more before the cut, those with support
    started, and the median days from randomisation to first support (delivery, not outcome:
    the delivery team knows who is in the SFFC arm)."""
    rand = tables.get("randomisation")
    columns = ["hub_id", "sffc_due", "support_started"]
    if rand is None:
        table = _per_hub(pd.DataFrame(columns=columns), hubs, "sffc_due", "support_started")
        return table.assign(median_days_to_support=np.nan)
    fam = rand.loc[rand["arm"] == ARMS[0], ["family_id", "randomised_date"]].copy()
    fam["hub_id"] = family_hubs(tables).reindex(fam["family_id"]).to_numpy()
    fam["sffc_due"] = fam["randomised_date"] <= cut - pd.Timedelta(days=due_days)
    first = pd.Series(dtype="datetime64[ns]")
    if "support" in tables:
        first = tables["support"].groupby("family_id")["start_date"].min()
    fam["first_support"] = fam["family_id"].map(first)
    fam["support_started"] = fam["sffc_due"] & fam["first_support"].notna()
    fam["days"] = (fam["first_support"] - fam["randomised_date"]).dt.days.where(
        fam["support_started"]
    )
    table = _per_hub(fam, hubs, "sffc_due", "support_started")
    medians = fam.groupby("hub_id")["days"].median()
    medians.loc[ALL_HUBS] = fam["days"].median()
    table["median_days_to_support"] = table["hub_id"].map(medians)
    return table


def check_blinded(frames: Mapping[str, pd.DataFrame], numbers: Mapping[str, object] = {}) -> None:
    """Raise BlindingError if a table or number splits an outcome by arm: a table with an
    `arm` column, or with an arm name among its columns or first-column values, that also
    names an outcome; or a number whose key names both an arm and an outcome."""

    def has_outcome(text: str) -> bool:
        return any(word in text.lower() for word in OUTCOME_WORDS)

    def has_arm(text: str) -> bool:
        return any(arm in text.lower().split("_") or text.lower() == arm for arm in ARMS)

    for name, frame in frames.items():
        labels = [str(c) for c in frame.columns]
        if len(frame.columns):
            labels += [str(v) for v in frame.iloc[:, 0].astype(str)]
        by_arm = any(label.lower() == "arm" for label in labels) or any(
            has_arm(label) for label in labels
        )
        if by_arm and (has_outcome(name) or any(has_outcome(label) for label in labels)):
            raise BlindingError(f"monitoring table {name!r} splits an outcome by arm")
    for key in numbers:
        if has_arm(key) and has_outcome(key):
            raise BlindingError(f"monitoring number {key!r} splits an outcome by arm")


def summaries(
    tables: Mapping[str, pd.DataFrame], hubs: pd.DataFrame, config: MonitoringConfig
) -> dict[str, pd.DataFrame]:
    """Every monitoring table for the data as of `config.as_of` (or all data): recruitment,
    cumulative (by week), followup and support; checked for blinding before they are returned."""
    tables = as_of(tables, config.as_of)
    cut = data_cut(tables) or config.target_date
    out = {
        "recruitment": recruitment(
            tables, hubs, cut=cut, target_date=config.target_date, recent_weeks=config.recent_weeks
        ),
        "cumulative": cumulative_by_week(tables, hubs),
        "followup": followup_completion(tables, hubs, cut=cut, due_days=config.week8_due_days),
        "support": support_started(tables, hubs, cut=cut, due_days=config.support_due_days),
    }
    check_blinded(out)
    for frame in out.values():
        frame.attrs["data_cut"] = cut
    return out
