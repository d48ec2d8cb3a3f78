"""Need and reach: how many children entering care fit the SFFC profile, and how many the
programme reaches.

Why: a Public Social Partnership is worth setting up only where enough children fit the
profile SFFC serves (the seed study: about 15% of children entering care in England are aged
10 or under, accommodated under section 20, and in care for under 14 days). The count comes
from the DfE SSDA903 return (see shared/REFERENCE.md):

* Episodes are linked into **periods of care**. A period starts with an episode whose RNE is
  "S", or whose previous episode (same LA and CHILD) did not end with REC "X1" on the day this
  one starts; it runs to the DEC of its last episode (empty while open).
* A period **fits the profile** when the child was at most `max_age` completed years old at
  its start, its legal status was in `legal_status` (at entry, or throughout with
  `legal_status_rule: throughout`) and it lasted under `max_days` days (DEC - DECOM of the
  period).
* **Open periods** at the extract date lasted at least extract - start days: if that is
  `max_days` or more they are known not to be short. If the period started under `max_days`
  days before the extract, its length is unknown (censored): such periods are counted apart
  ("censored") and by default not as fitting (`open_short: exclude`), so the profile count is
  a lower bound; `open_short: include` gives the upper bound.
* **Years**: periods are counted in the (financial, April-March, as the DfE counts) year in
  which they start, even when they cross a year end. Children are counted once per year: a
  child starting two periods in a year is one child starting care (as the DfE counts), and
  fits the profile that year when any of the periods starting that year fits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from psp_eval.errors import PspEvalError


class NeedError(PspEvalError, ValueError):
    """Episodes or rules that cannot be used to count need."""


@dataclass(frozen=True)
class ProfileRules:
    """The SFFC profile and how to count it (config/need.yaml, `profile:`)."""

    max_age: int = 10  # completed years at the start of the period, inclusive
    legal_status: tuple[str, ...] = ("V2",)  # s20 single period of accommodation
    legal_status_rule: str = "entry"  # "entry": first episode's LS; "throughout": every episode
    max_days: int = 14  # the period lasted under this many days
    open_short: str = "exclude"  # censored open periods: "exclude" (lower bound) or "include"
    year_start_month: int = 4  # 4 = financial year April-March (DfE); 1 = calendar year

    def __post_init__(self) -> None:
        if self.legal_status_rule not in ("entry", "throughout"):
            raise NeedError(
                f"legal_status_rule must be entry or throughout, not {self.legal_status_rule!r}"
            )
        if self.open_short not in ("exclude", "include"):
            raise NeedError(f"open_short must be exclude or include, not {self.open_short!r}")
        if not 1 <= self.year_start_month <= 12:
            raise NeedError(f"year_start_month must be 1-12, not {self.year_start_month}")

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any] | None) -> ProfileRules:
        """Rules from a config mapping; unknown keys are an error (a typo must not pass)."""
        values = dict(values or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise NeedError(
                f"unknown profile rule(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        if "legal_status" in values:
            ls = values["legal_status"]
            values["legal_status"] = (ls,) if isinstance(ls, str) else tuple(ls)
        return cls(**values)


def need_settings(config: Mapping[str, Any]) -> dict[str, Any]:
    """The need settings (config/need.yaml) as a dict, with `profile` turned into ProfileRules."""
    settings = dict(config)
    settings["profile"] = ProfileRules.from_mapping(settings.get("profile"))
    return settings


# --- periods of care --------------------------------------------------------------------------

EPISODE_COLUMNS = ("la_code", "CHILD", "DECOM", "DEC", "RNE", "REC", "LS")
"""The SSDA903 episode columns periods_of_care reads (its default names): a national extract
need not be read whole."""
HEADER_COLUMNS = ("la_code", "CHILD", "DOB")
"""The SSDA903 header columns classify_periods reads (its default names)."""


def periods_of_care(
    episodes: pd.DataFrame,
    *,
    la: str = "la_code",
    child: str = "CHILD",
    start: str = "DECOM",
    end: str = "DEC",
    rne: str = "RNE",
    rec: str = "REC",
    legal_status: str = "LS",
) -> pd.DataFrame:
    """One row per period of care: la_code, CHILD, period (1, 2, ... per child), start, end
    (NaT while open), n_episodes, ls_entry (legal status of the first episode) and ls_all
    (the distinct legal statuses of its episodes, "|"-joined, in order of appearance)."""
    missing = [c for c in (la, child, start, end, rne, rec, legal_status) if c not in episodes]
    if missing:
        raise NeedError(f"episodes lack column(s) {', '.join(missing)}")
    if episodes[start].isna().any():
        raise NeedError(f"{start} is empty on {int(episodes[start].isna().sum())} episode(s)")
    used = list(dict.fromkeys([la, child, start, end, rne, rec, legal_status]))
    ep = episodes[used].sort_values([la, child, start], kind="stable").reset_index(drop=True)
    same_child = _true(ep[la].eq(ep[la].shift())) & _true(ep[child].eq(ep[child].shift()))
    linked = _true(ep[rec].shift().eq("X1")) & _true(ep[end].shift().eq(ep[start]))
    new = ~same_child | _true(ep[rne].eq("S")) | ~linked
    ep["_period"] = np.cumsum(new)
    grouped = ep.groupby("_period", sort=True)
    periods = grouped.agg(
        la_code=(la, "first"),
        CHILD=(child, "first"),
        start=(start, "first"),
        n_episodes=(start, "size"),
        ls_entry=(legal_status, "first"),
    )
    # the DEC of the last episode, empty while it is open (groupby "last" would skip NaT)
    periods.insert(3, "end", ep.drop_duplicates("_period", keep="last").set_index("_period")[end])
    statuses = ep[["_period", legal_status]].drop_duplicates().astype({legal_status: str})
    periods["ls_all"] = _join_in_order(statuses["_period"].to_numpy(), statuses[legal_status])
    periods.insert(2, "period", periods.groupby(["la_code", "CHILD"]).cumcount() + 1)
    return periods.reset_index(drop=True)


def _true(mask: pd.Series) -> np.ndarray:
    """A comparison's result as NumPy booleans, unknown (NA) as False: the same whether the
    text is NumPy, Python- or Arrow-backed (the contract's tables hold Arrow-backed text,
    whose comparisons give Arrow booleans, which cannot be summed cumulatively)."""
    return mask.fillna(False).to_numpy(dtype=bool)


def _join_in_order(group: np.ndarray, text: pd.Series, sep: str = "|") -> pd.Series:
    """`text` "|"-joined per `group` (sorted, as `_period` is), in order: one vectorised step
    per position within a group (a few), not one Python call per group (a million)."""
    values = text.to_numpy(dtype=object)
    first = np.ones(len(group), dtype=bool)
    first[1:] = group[1:] != group[:-1]
    position = np.arange(len(group)) - np.maximum.accumulate(
        np.where(first, np.arange(len(group)), 0)
    )
    owner = np.cumsum(first) - 1  # the group of each row, 0, 1, ...
    joined = values[first].copy()
    for k in range(1, int(position.max(initial=0)) + 1):
        at = position == k
        joined[owner[at]] = joined[owner[at]] + sep + values[at]
    return pd.Series(joined, index=pd.Index(group[first], name=text.index.name), dtype=object)


def _age_years(dob: pd.Series, on: pd.Series) -> pd.Series:
    """Completed years of age on a date (a birthday counts on the day itself)."""
    years = on.dt.year - dob.dt.year
    before_birthday = (on.dt.month < dob.dt.month) | (
        (on.dt.month == dob.dt.month) & (on.dt.day < dob.dt.day)
    )
    return (years - before_birthday.astype(int)).astype("Int64")


def year_label(dates: pd.Series, year_start_month: int = 4) -> pd.Series:
    """The year a date falls in: "2019-20" for financial years (April-March), "2019" for
    calendar years (year_start_month 1)."""
    first = dates.dt.year - (dates.dt.month < year_start_month).astype(int)
    if year_start_month == 1:
        return first.astype(str)
    return first.astype(str) + "-" + ((first + 1) % 100).astype(str).str.zfill(2)


def classify_periods(
    periods: pd.DataFrame,
    header: pd.DataFrame,
    rules: ProfileRules = ProfileRules(),
    extract_date: pd.Timestamp | str | None = None,
    *,
    dob: str = "DOB",
) -> pd.DataFrame:
    """Periods with the profile tests: age_at_start, days (NaN while open), days_so_far,
    status ("closed", "open" or "open_censored"), and the flags young, legal, short, fits,
    censored; plus the year the period starts in.

    `extract_date` is the date the 903 extract was taken (default: the latest DECOM or DEC in
    the periods), needed to tell open periods that are already long from censored ones.
    """
    heads = header[["la_code", "CHILD", dob]].drop_duplicates(["la_code", "CHILD"])
    out = periods.merge(heads, on=["la_code", "CHILD"], how="left", validate="m:1")
    if out[dob].isna().any():
        raise NeedError(f"{int(out[dob].isna().sum())} period(s) have no {dob} in the header")
    if extract_date is None:
        extract = max(out["start"].max(), out["end"].max())
    else:
        extract = pd.Timestamp(extract_date)
    if (out["start"] > extract).any():
        raise NeedError(f"periods start after the extract date {extract.date()}")
    out["age_at_start"] = _age_years(out[dob], out["start"])
    out["days"] = (out["end"] - out["start"]).dt.days
    is_open = out["end"].isna()
    out["days_so_far"] = np.where(is_open, (extract - out["start"]).dt.days, out["days"])
    censored = is_open & (out["days_so_far"] < rules.max_days)
    out["status"] = np.select([~is_open, censored], ["closed", "open_censored"], "open")
    out["young"] = out["age_at_start"].le(rules.max_age).astype(bool)
    if rules.legal_status_rule == "entry":
        out["legal"] = _true(out["ls_entry"].isin(rules.legal_status))
    else:
        allowed = set(rules.legal_status)
        codes, combinations = pd.factorize(out["ls_all"])  # a few distinct, not one a period
        within = np.array([set(c.split("|")) <= allowed for c in combinations], dtype=bool)
        out["legal"] = within[codes]
    out["short"] = ~is_open & (out["days"] < rules.max_days)
    if rules.open_short == "include":
        out["short"] = out["short"] | censored
    out["censored"] = censored & out["young"] & out["legal"]
    out["fits"] = out["young"] & out["legal"] & out["short"]
    out["year"] = year_label(out["start"], rules.year_start_month)
    out.attrs["extract_date"] = extract
    return out.drop(columns=[dob])


def count_profile(
    classified: pd.DataFrame, by: list[str] | None = None, *, child: str = "CHILD"
) -> pd.DataFrame:
    """Per group in `by` (e.g. ["la_code"]) and year: children starting care, children fitting
    the profile, children with a censored (too recent to tell) young s20 period that does not
    already fit, periods starting, and the profile share of children starting (%)."""
    by = list(by or [])
    keys = [*by, "year"]
    person = ["la_code", child]  # CHILD ids are per LA
    c = classified.assign(
        _fits=classified["fits"], _cens=classified["censored"] & ~classified["fits"]
    )
    per_child = c.groupby([*keys, *person], sort=True).agg(
        fits=("_fits", "any"), censored=("_cens", "any"), periods=("start", "size")
    )
    per_child["censored"] &= ~per_child["fits"]
    table = per_child.groupby(keys, sort=True).agg(
        children_starting=("fits", "size"),
        children_fitting=("fits", "sum"),
        children_censored=("censored", "sum"),
        periods_starting=("periods", "sum"),
    )
    table = table.astype(int).reset_index()
    table["share_pct"] = 100 * table["children_fitting"] / table["children_starting"]
    return table


def complete_years(
    years: pd.Series, start: pd.Timestamp, extract: pd.Timestamp, year_start_month: int = 4
) -> pd.Series:
    """True for years wholly inside the extract window [start, extract]."""
    first = years.str[:4].astype(int)
    begins = pd.to_datetime(first.astype(str) + f"-{year_start_month:02d}-01")
    ends = begins + pd.DateOffset(years=1) - pd.Timedelta(days=1)
    return (begins >= pd.Timestamp(start)) & (ends <= pd.Timestamp(extract))


def with_hub(table: pd.DataFrame, las: pd.DataFrame) -> pd.DataFrame:
    """`table` (with la_code) with the hub_id of each LA."""
    return table.merge(las[["la_code", "hub_id"]], on="la_code", how="left", validate="m:1")


@dataclass(frozen=True)
class Trend:
    """Linear trend of a yearly series: change per year with a 95% CI (OLS on year index)."""

    per_year: float
    ci_low: float
    ci_high: float
    first: float
    last: float
    n_years: int


def trend(values: pd.Series) -> Trend:
    """OLS slope of `values` (one per year, in order) on 0, 1, 2, ...; needs 3 or more years."""
    y = values.astype(float).to_numpy()
    if len(y) < 3:
        raise NeedError("a trend needs at least 3 years")
    # imported here: the monitoring notebook uses this module but never a trend, and
    # statsmodels is a second of import for every job that loads it
    import statsmodels.api as sm

    x = sm.add_constant(np.arange(len(y), dtype=float))
    fit = sm.OLS(y, x).fit()
    low, high = fit.conf_int(0.05)[1]
    return Trend(float(fit.params[1]), float(low), float(high), float(y[0]), float(y[-1]), len(y))


# --- reach --------------------------------------------------------------------------------------


def families_supported_by_hub(
    referrals: pd.DataFrame,
    randomisation: pd.DataFrame,
    support: pd.DataFrame,
    las: pd.DataFrame,
    *,
    treated,
) -> pd.DataFrame:
    """Per hub: families of the `treated` arm (its value in the randomisation table) with at
    least one support episode, and the span of their randomisation dates in years (the
    delivery period the count covers)."""
    sffc = randomisation.loc[randomisation["arm"] == treated, ["family_id", "randomised_date"]]
    fam = sffc.merge(referrals[["family_id", "la_code"]], on="family_id", how="left")
    fam = with_hub(fam, las)
    fam["supported"] = fam["family_id"].isin(support["family_id"])
    span = (randomisation["randomised_date"].max() - randomisation["randomised_date"].min()).days
    years = max(span, 1) / 365.25
    out = fam.groupby("hub_id").agg(families_supported=("supported", "sum")).astype(int)
    out["delivery_years"] = years
    return out.reset_index()


def reach(supported: pd.DataFrame, need_by_hub: pd.DataFrame, *, years: list[str]) -> pd.DataFrame:
    """Per hub and overall: families supported a year against children fitting the profile a
    year (mean over `years`), and reach as a percentage.

    Families and children are different units (a family may have several children in the
    profile), so reach is an indicator of scale, not a coverage rate.
    """
    need = (
        need_by_hub[need_by_hub["year"].isin(years)]
        .groupby("hub_id")["children_fitting"]
        .mean()
        .rename("profile_children_per_year")
    )
    out = supported.set_index("hub_id").join(need, how="outer")
    out["families_supported"] = out["families_supported"].fillna(0).astype(int)
    out["delivery_years"] = out["delivery_years"].fillna(out["delivery_years"].max())
    total = pd.DataFrame(
        {
            "families_supported": [int(out["families_supported"].sum())],
            "delivery_years": [float(out["delivery_years"].max())],
            "profile_children_per_year": [float(out["profile_children_per_year"].sum())],
        },
        index=pd.Index(["all"], name="hub_id"),
    )
    out = pd.concat([out, total])
    out["supported_per_year"] = out["families_supported"] / out["delivery_years"]
    out["reach_pct"] = 100 * out["supported_per_year"] / out["profile_children_per_year"]
    out.index.name = "hub_id"
    return out.reset_index()


# --- Scotland -------------------------------------------------------------------------------------

SCOTLAND_COLUMNS = ("la_code", "year", "starts", "s25_share", "short_share", "young_share")


def scotland_feasibility(
    cla: pd.DataFrame,
    *,
    min_profile_per_year: float,
    years: int = 3,
) -> pd.DataFrame:
    """Feasibility of a PSP per Scottish LA from a simple children-looked-after table.

    `cla` has one row per LA and year (Scottish years run August-July): starts (children
    starting to be looked after), s25_share (share accommodated voluntarily under section 25,
    the analogue of England's s20), short_share (share of those s25 starts ending within 14
    days) and young_share (share aged 10 or under; 1 when unknown). The estimated profile
    count is starts x s25_share x short_share x young_share, averaged over the latest `years`
    years; an LA is feasible when that reaches `min_profile_per_year`.
    """
    missing = [c for c in SCOTLAND_COLUMNS if c not in cla and c != "young_share"]
    if missing:
        raise NeedError(f"the Scotland table lacks column(s) {', '.join(missing)}")
    data = cla.copy()
    if "young_share" not in data:
        data["young_share"] = 1.0
    for share in ("s25_share", "short_share", "young_share"):
        bad = ~data[share].between(0, 1)
        if bad.any():
            raise NeedError(f"{share} must be between 0 and 1 ({int(bad.sum())} row(s) are not)")
    data["profile_estimate"] = (
        data["starts"] * data["s25_share"] * data["short_share"] * data["young_share"]
    )
    data = data.sort_values(["la_code", "year"])
    recent = data.groupby("la_code").tail(years)
    out = recent.groupby("la_code").agg(
        years=("year", "size"),
        first_year=("year", "first"),
        last_year=("year", "last"),
        starts_per_year=("starts", "mean"),
        s25_share=("s25_share", "mean"),
        profile_per_year=("profile_estimate", "mean"),
    )
    out["feasible"] = out["profile_per_year"] >= min_profile_per_year
    return out.reset_index()


# --- disclosure ---------------------------------------------------------------------------------


# --- figures --------------------------------------------------------------------------------------


def read_scotland(data_dir: str | Path) -> pd.DataFrame:
    """The Scottish looked-after children table of the clean data (its columns and LA names),
    or an empty table when the trial has none: the feasibility section then says so."""
    path = Path(data_dir) / "scotland_cla.parquet"
    if not path.exists():
        return pd.DataFrame()
    return pd.read_parquet(path, columns=[*SCOTLAND_COLUMNS, "la_name"])
