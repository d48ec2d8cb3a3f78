"""Process evaluation: recruitment and flow, who is supported, delivery, variation, views, volunteers.

Functions take clean contract tables and return tidy frames; those meant for funders already
pass through `psp_eval.present.disclosure` (their docstrings say which return raw counts).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from psp_eval.data.scope import isin, table_columns

# Mutually exclusive fates of a referred family, in CONSORT order; they add up to all referred.
FLOW_STAGES = (
    ("not_eligible", "Not eligible"),
    ("declined", "Eligible, declined consent"),
    ("not_randomised_other", "Consented, not randomised (other reasons)"),
    ("withdrawn", "Randomised, then withdrew"),
    ("no_followup", "Randomised, no week-8 outcome"),
    ("followed_up", "Randomised, week-8 outcome"),
)


def family_flow(tables: Mapping[str, pd.DataFrame], followed_up: pd.Series) -> pd.DataFrame:
    """One row per referred family: its arm (if randomised) and its stage in `FLOW_STAGES`.

    Reads the referrals, randomisation and withdrawals of `tables`. `followed_up` holds the
    family_ids with a week-8 primary outcome. A withdrawn family counts as withdrawn even if
    it has an outcome (it left the programme).
    """
    referrals, randomisation = tables["referrals"], tables["randomisation"]
    withdrawals = tables["withdrawals"]
    fam = referrals[["family_id", "eligible", "consented"]].merge(
        randomisation[["family_id", "arm"]], on="family_id", how="left", validate="1:1"
    )
    randomised = fam["arm"].notna()
    eligible = fam["eligible"].astype("boolean").fillna(False).astype(bool)
    consented = fam["consented"].astype("boolean").fillna(False).astype(bool)
    withdrawn = isin(fam["family_id"], withdrawals["family_id"])
    has_outcome = isin(fam["family_id"], followed_up)
    stage = pd.Series("not_randomised_other", index=fam.index, dtype=object)
    stage[~eligible & ~randomised] = "not_eligible"
    stage[eligible & ~consented & ~randomised] = "declined"
    stage[randomised & has_outcome] = "followed_up"
    stage[randomised & ~has_outcome] = "no_followup"
    stage[randomised & withdrawn] = "withdrawn"
    fam["stage"] = stage
    return fam[["family_id", "arm", "stage"]]


def followed_up(outcomes: pd.DataFrame, primary_columns: list[str]) -> pd.Series:
    """The family_ids with any primary outcome at its time point (`primary_columns`)."""
    return outcomes.dropna(subset=primary_columns, how="all")["family_id"]


def flow_table(flow: pd.DataFrame, arms: tuple[str, ...]) -> pd.DataFrame:
    """Counts of families per stage and arm (`arms`: the arm values, treated first), with a
    total column and a total row.

    Rows add up to the families referred, so the table can go through disclosure control
    with both margins.
    """
    labels = dict(FLOW_STAGES)
    arm = flow["arm"].astype(object).where(flow["arm"].notna(), "not_randomised")
    counts = pd.crosstab(pd.Categorical(flow["stage"], categories=list(labels)), arm)
    counts = counts.reindex(columns=[*arms, "not_randomised"], fill_value=0)
    counts["total"] = counts.sum(axis=1)
    counts.loc["all"] = counts.sum(axis=0)
    counts.index = [labels.get(stage, "All referred") for stage in counts.index]
    counts.index.name = "stage"
    return counts.astype(int)


def randomised_by_month(randomisation: pd.DataFrame, arms: tuple[str, ...]) -> pd.DataFrame:
    """Families randomised per calendar month and arm (`arms`: the arm values), with running
    totals."""
    month = randomisation["randomised_date"].dt.to_period("M").dt.to_timestamp()
    counts = pd.crosstab(month, randomisation["arm"]).reindex(columns=list(arms), fill_value=0)
    counts = counts.asfreq("MS", fill_value=0) if len(counts) else counts
    counts.index.name = "month"
    cumulative = counts.cumsum().add_prefix("cumulative_")
    return pd.concat([counts, cumulative], axis=1).reset_index()


def recruitment_target(hubs: pd.DataFrame) -> float:
    """Families to randomise: the hub sheet's targets added up over the hubs of the scope."""
    return float(hubs["recruitment_target"].sum())


def data_cut(tables: dict[str, pd.DataFrame]) -> str:
    """The latest date recorded in referrals, randomisation or measures: the data cut."""
    dates = [
        tables["referrals"]["referral_date"].max(),
        tables["randomisation"]["randomised_date"].max(),
        table_columns(tables, "measures", ["completed_date"])["completed_date"].max(),
    ]
    return max(d for d in dates if pd.notna(d)).date().isoformat()


# ---------------------------------------------------------------------------------------------
# Profile of families
# ---------------------------------------------------------------------------------------------

NOT_RANDOMISED = "not_randomised"


def profile_groups(arms: tuple[str, str], labels: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """The groups compared in the profile, (group value, name): families the treated arm
    supported, the randomised comparison arm, and families referred but never randomised (who
    had no baseline measures). `arms` are the arm values, treated first; `labels` name them."""
    treated, control = arms
    return (
        (f"{treated}_supported", f"{labels.get(treated, treated)}, supported"),
        (control, labels.get(control, control)),
        (NOT_RANDOMISED, "Referred, not randomised"),
    )


AGE_BANDS = ("0-4", "5-7", "8-10", "11+")
FAMILY_SIZES = ("1", "2", "3", "4+")
NOT_MEASURED = "not measured"


def age_band(age_years: pd.Series) -> pd.Series:
    """Whole years of age into the bands 0-4, 5-7, 8-10, 11+ (missing stays missing)."""
    bins = [-np.inf, 4, 7, 10, np.inf]
    return pd.cut(age_years, bins=bins, labels=list(AGE_BANDS), right=True)


def age_in_years(dob: pd.Series, on: pd.Series) -> pd.Series:
    """Whole years of age on a date (a birthday counts on the day itself)."""
    years = on.dt.year - dob.dt.year
    before_birthday = (on.dt.month < dob.dt.month) | (
        (on.dt.month == dob.dt.month) & (on.dt.day < dob.dt.day)
    )
    return (years - before_birthday.astype(int)).where(dob.notna() & on.notna())


def supported_families(support: pd.DataFrame) -> set:
    """Families with at least one support episode."""
    return set(support["family_id"])


def family_profile(
    tables: Mapping[str, pd.DataFrame], instruments: dict, arms: tuple[str, str]
) -> pd.DataFrame:
    """One row per referred family: its profile group and the characteristics compared.

    Reads the referrals, randomisation, support, children and (scored) outcomes of `tables`.
    Age is the index child's age in whole years at referral; family size is the number of
    children referred (4+ grouped); SDQ and GAD-7 bands come from the baseline totals and the
    bands in config/instruments.yaml ("not measured" where there is no baseline score, as for
    every family not randomised). Groups: `<treated>_supported`, `<treated>_unsupported` (no
    support episode), the control arm's value, and "not_randomised" (`arms`: treated first).
    """
    from psp_eval.data.scoring import band

    referrals, randomisation = tables["referrals"], tables["randomisation"]
    support, children, outcomes = tables["support"], tables["children"], tables["outcomes"]
    fam = referrals[
        ["family_id", "referral_date", "referral_source", "referral_group", "n_children"]
    ].merge(randomisation[["family_id", "arm"]], on="family_id", how="left", validate="1:1")
    treated, control = arms
    supported = isin(fam["family_id"], supported_families(support))
    group = pd.Series(NOT_RANDOMISED, index=fam.index, dtype=object)
    group[fam["arm"] == control] = control
    group[(fam["arm"] == treated) & supported] = f"{treated}_supported"
    group[(fam["arm"] == treated) & ~supported] = f"{treated}_unsupported"
    fam["group"] = group
    index_children = children.loc[
        children["index_child"].astype("boolean").fillna(False).astype(bool)
    ]
    index_children = index_children.drop_duplicates("family_id")[["family_id", "dob"]]
    fam = fam.merge(index_children, on="family_id", how="left")
    fam["age_band"] = (
        age_band(age_in_years(fam["dob"], fam["referral_date"]))
        .astype(object)
        .fillna("not recorded")
    )
    size = pd.to_numeric(fam["n_children"]).astype("float")
    fam["family_size"] = np.where(size >= 4, "4+", size.astype("Int64").astype(str))
    fam.loc[size.isna(), "family_size"] = "not recorded"
    base = outcomes[["family_id", "sdq_total_difficulties_baseline", "gad7_total_baseline"]]
    fam = fam.merge(base, on="family_id", how="left")
    fam["sdq_band"] = (
        band(fam["sdq_total_difficulties_baseline"], instruments["sdq"])
        .astype(object)
        .fillna(NOT_MEASURED)
    )
    fam["gad7_band"] = (
        band(fam["gad7_total_baseline"], instruments["gad7"]).astype(object).fillna(NOT_MEASURED)
    )
    return fam[
        [
            "family_id",
            "group",
            "referral_source",
            "referral_group",
            "age_band",
            "family_size",
            "sdq_band",
            "gad7_band",
        ]
    ]


# ---------------------------------------------------------------------------------------------
# Delivery
# ---------------------------------------------------------------------------------------------

DOSE_MEASURES = (
    ("hosting", "nights", "hosting_nights", "Hosting (nights)"),
    ("friendship", "hours", "friendship_hours", "Friendship (hours)"),
    ("resources", None, "resources_episodes", "Resources (episodes)"),
)


def sffc_families(
    referrals: pd.DataFrame, randomisation: pd.DataFrame, treated: str
) -> pd.DataFrame:
    """Families randomised to the treated arm (`treated`: its value), with their LA, referral
    and randomisation dates."""
    sffc = randomisation.loc[randomisation["arm"] == treated, ["family_id", "randomised_date"]]
    return sffc.merge(
        referrals[["family_id", "la_code", "referral_date"]], on="family_id", how="left"
    )


def delivery_per_family(families: pd.DataFrame, support: pd.DataFrame) -> pd.DataFrame:
    """Per SFFC family: days to first support, dose by support type, and duration of support.

    `families` comes from `sffc_families`. Days count from randomisation (and from referral)
    to the first episode's start; duration runs from the first start to the last end (days,
    inclusive of neither end's time of day). Families without support have any_support False,
    zero dose and missing days.
    """
    sup = support[isin(support["family_id"], families["family_id"])]
    per = sup.groupby("family_id").agg(
        first_start=("start_date", "min"), last_end=("end_date", "max")
    )
    for stype, column, name, _ in DOSE_MEASURES:
        part = sup[sup["support_type"] == stype]
        if column is None:
            per[name] = part.groupby("family_id").size()
        else:
            per[name] = pd.to_numeric(part[column]).astype(float).groupby(part["family_id"]).sum()
    out = families.merge(per.reset_index(), on="family_id", how="left")
    out["any_support"] = out["first_start"].notna()
    out["days_to_first_support"] = (out["first_start"] - out["randomised_date"]).dt.days
    out["days_referral_to_first_support"] = (out["first_start"] - out["referral_date"]).dt.days
    out["duration_days"] = (out["last_end"] - out["first_start"]).dt.days
    for _, _, name, _ in DOSE_MEASURES:
        out[name] = out[name].fillna(0).astype(float)
    return out


def median_iqr(values: pd.Series) -> dict[str, float]:
    """n, median and quartiles of the non-missing values (NaN when there are none)."""
    v = pd.to_numeric(values, errors="coerce").dropna().astype(float)
    if v.empty:
        return {"n": 0, "median": np.nan, "q1": np.nan, "q3": np.nan}
    return {
        "n": int(len(v)),
        "median": float(v.median()),
        "q1": float(v.quantile(0.25)),
        "q3": float(v.quantile(0.75)),
    }


def days_to_support_sd(tables: Mapping[str, pd.DataFrame], treated: str) -> float:
    """SD of days from randomisation to first support among supported families of the treated
    arm (`treated`: its value): the individual-level spread the funnel limits of a mean need."""
    families = sffc_families(tables["referrals"], tables["randomisation"], treated)
    per_family = delivery_per_family(families, tables["support"])
    return float(per_family["days_to_first_support"].std())


def active_on(
    frame: pd.DataFrame, when: pd.Timestamp, start: str = "start_date", end: str = "end_date"
) -> pd.Series:
    """True where a spell has started by `when` and not ended before it (no end: still active)."""
    return (frame[start] <= when) & (frame[end].isna() | (frame[end] >= when))


def referrals_by_month(referrals: pd.DataFrame, randomisation: pd.DataFrame) -> pd.DataFrame:
    """Families referred and randomised per calendar month, with running totals."""
    ref = referrals["referral_date"].dt.to_period("M").value_counts().rename("referred")
    ran = randomisation["randomised_date"].dt.to_period("M").value_counts().rename("randomised")
    counts = pd.concat([ref, ran], axis=1).fillna(0).astype(int).sort_index()
    if len(counts):
        full = pd.period_range(counts.index.min(), counts.index.max(), freq="M")
        counts = counts.reindex(full, fill_value=0)
    counts.index = counts.index.to_timestamp()
    counts.index.name = "month"
    counts["cumulative_referred"] = counts["referred"].cumsum()
    counts["cumulative_randomised"] = counts["randomised"].cumsum()
    return counts.reset_index()


# ---------------------------------------------------------------------------------------------
# Variation across LAs and context
# ---------------------------------------------------------------------------------------------


def la_indicators(
    tables: Mapping[str, pd.DataFrame], followed_up: pd.Series, treated: str
) -> pd.DataFrame:
    """Per LA: context (population, looked-after rate, deprivation) beside delivery and follow-up.

    Delivery: families referred, randomised, SFFC families (`treated`: the arm's value), SFFC
    families supported, that per 10,000 children, fidelity (share of SFFC families supported), mean days from randomisation
    to first support. Outcome data: week-8 follow-up rate among randomised families
    (`followed_up` holds the family_ids with a week-8 primary outcome). Raw counts, not for
    funders: pass rates through `disclosure.hide_small_groups` before showing. Reads the las,
    referrals, randomisation and support of `tables`.
    """
    las, referrals = tables["las"], tables["referrals"]
    randomisation, support = tables["randomisation"], tables["support"]
    fam = referrals[["family_id", "la_code"]].merge(
        randomisation[["family_id", "arm"]], on="family_id", how="left"
    )
    fam["randomised"] = fam["arm"].notna()
    fam["sffc"] = fam["arm"] == treated
    fam["supported"] = fam["sffc"] & isin(fam["family_id"], supported_families(support))
    fam["followed_up"] = fam["randomised"] & isin(fam["family_id"], followed_up)
    first = support.groupby("family_id")["start_date"].min().rename("first_start")
    fam = fam.merge(first, on="family_id", how="left").merge(
        randomisation[["family_id", "randomised_date"]], on="family_id", how="left"
    )
    fam["days_to_first_support"] = ((fam["first_start"] - fam["randomised_date"]).dt.days).where(
        fam["supported"]
    )
    per = fam.groupby("la_code").agg(
        referred=("family_id", "size"),
        randomised=("randomised", "sum"),
        sffc=("sffc", "sum"),
        supported=("supported", "sum"),
        followed_up=("followed_up", "sum"),
        mean_days_to_support=("days_to_first_support", "mean"),
        sd_days_to_support=("days_to_first_support", "std"),
    )
    out = las[
        ["la_code", "la_name", "hub_id", "child_population", "cla_rate_per_10k", "deprivation_rank"]
    ].merge(per.reset_index(), on="la_code", how="left")
    for column in ("referred", "randomised", "sffc", "supported", "followed_up"):
        out[column] = out[column].fillna(0).astype(int)
    population = pd.to_numeric(out["child_population"]).astype(float)
    out["supported_per_10k"] = (1e4 * out["supported"] / population).where(population > 0)
    out["fidelity"] = (out["supported"] / out["sffc"]).where(out["sffc"] > 0)
    out["follow_up_rate"] = (out["followed_up"] / out["randomised"]).where(out["randomised"] > 0)
    return out


# ---------------------------------------------------------------------------------------------
# Views of families and volunteers
# ---------------------------------------------------------------------------------------------

LIKERT_LEVELS = (1, 2, 3, 4, 5)
LIKERT_LABELS = {
    1: "Strongly disagree",
    2: "Disagree",
    3: "Neither",
    4: "Agree",
    5: "Strongly agree",
}
# Volunteer surveys are dated from the volunteer's start; month offsets of each timepoint.
VOLUNTEER_TIMEPOINT_MONTHS = {"baseline": 0, "month6": 6, "month12": 12}
# Family surveys are dated from randomisation; every survey timepoint in time order.
FAMILY_TIMEPOINTS = ("week8", "month12")
SURVEY_TIMEPOINTS = ("baseline", "week8", "month6", "month12")


def likert_distribution(surveys: pd.DataFrame, respondent_type: str | None = None) -> pd.DataFrame:
    """Per respondent type, timepoint and question: responses at each level 1-5 and their percent.

    Only answered Likert items count (free-text rows carry a theme and no response). Raw
    counts: show them to funders only through `likert_table` (suppressed).
    """
    data = surveys[surveys["response"].notna()]
    if respondent_type is not None:
        data = data[data["respondent_type"] == respondent_type]
    keys = ["respondent_type", "timepoint", "question_id"]
    counts = pd.crosstab(
        [data[k] for k in keys], pd.to_numeric(data["response"]).astype(int)
    ).reindex(columns=list(LIKERT_LEVELS), fill_value=0)
    counts.columns = [f"n_{c}" for c in LIKERT_LEVELS]
    counts["n"] = counts.sum(axis=1)
    for level in LIKERT_LEVELS:
        counts[f"pct_{level}"] = 100 * counts[f"n_{level}"] / counts["n"]
    return counts.reset_index()


def in_survey_order(distribution: pd.DataFrame) -> pd.DataFrame:
    """Rows by respondent type, question, then timepoint in time order (`SURVEY_TIMEPOINTS`)."""
    order = {timepoint: i for i, timepoint in enumerate(SURVEY_TIMEPOINTS)}
    return distribution.sort_values(
        ["respondent_type", "question_id", "timepoint"],
        key=lambda s: s.map(order) if s.name == "timepoint" else s,
    ).reset_index(drop=True)


def survey_eligible(
    surveys: pd.DataFrame,
    volunteers: pd.DataFrame,
    families: pd.DataFrame,
    data_cut: str | pd.Timestamp,
) -> dict[tuple[str, str], set]:
    """Who could have answered each survey, by (respondent type, timepoint).

    Families: every family of `families` (randomised to the treated arm) at each of
    `FAMILY_TIMEPOINTS`. Volunteers: those still active that long after their start, where
    that date has passed (`eligible_volunteers`). Volunteers' children: the households of such
    volunteers with children, at the timepoints that survey was run.
    """
    eligible = {("family", tp): set(families["family_id"]) for tp in FAMILY_TIMEPOINTS}
    child_timepoints = set(
        surveys.loc[surveys["respondent_type"] == "volunteer_child", "timepoint"]
    )
    for tp in VOLUNTEER_TIMEPOINT_MONTHS:
        eligible[("volunteer", tp)] = set(
            eligible_volunteers(volunteers, tp, data_cut)["volunteer_id"]
        )
    for tp in VOLUNTEER_TIMEPOINT_MONTHS:
        if tp in child_timepoints:
            active = eligible_volunteers(volunteers, tp, data_cut)
            parents = active["has_children"].fillna(False).astype(bool)
            eligible[("volunteer_child", tp)] = set(active.loc[parents, "volunteer_id"])
    return eligible


def eligible_volunteers(
    volunteers: pd.DataFrame, timepoint: str, data_cut: str | pd.Timestamp
) -> pd.DataFrame:
    """Volunteers still active `timepoint` months after their start, where that date has passed."""
    months = VOLUNTEER_TIMEPOINT_MONTHS[timepoint]
    due = volunteers["start_date"] + pd.DateOffset(months=months)
    keep = (due <= pd.Timestamp(data_cut)) & (
        volunteers["end_date"].isna() | (volunteers["end_date"] >= due)
    )
    return volunteers[keep]


# ---------------------------------------------------------------------------------------------
# Volunteers
# ---------------------------------------------------------------------------------------------


def volunteer_spells(volunteers: pd.DataFrame, data_cut: str | pd.Timestamp) -> pd.DataFrame:
    """Time as a volunteer (months) from start to end, censored at the data cut if still active.

    `ended` is True when the volunteer has an end date on or before the data cut. Volunteers
    starting after the data cut are left out. A month is 365.25 / 12 days.
    """
    cut = pd.Timestamp(data_cut)
    vol = volunteers[volunteers["start_date"] <= cut].copy()
    ended = vol["end_date"].notna() & (vol["end_date"] <= cut)
    stop = vol["end_date"].where(ended, cut)
    vol["months"] = (stop - vol["start_date"]).dt.days / (365.25 / 12)
    vol["ended"] = ended.astype(bool)
    return vol[["volunteer_id", "hub_id", "role", "has_children", "months", "ended"]].reset_index(
        drop=True
    )


def median_retention(spells: pd.DataFrame) -> float:
    """Kaplan-Meier median months as a volunteer (inf when over half are still active)."""
    from lifelines import KaplanMeierFitter

    return float(
        KaplanMeierFitter()
        .fit(spells["months"], event_observed=spells["ended"])
        .median_survival_time_
    )


# Indicators compared across LAs and hubs on funnel plots: (kind, volume column, value column).
FUNNEL_INDICATORS = {
    "follow_up": ("proportion", "randomised", "follow_up_rate"),
    "fidelity": ("proportion", "sffc", "fidelity"),
    "days_to_support": ("mean", "supported", "mean_days_to_support"),
}


def hub_indicators(la: pd.DataFrame) -> pd.DataFrame:
    """`la_indicators` added up per hub (rates recomputed from the summed counts)."""
    la = la.assign(_days_sum=la["mean_days_to_support"].fillna(0) * la["supported"])
    hub = (
        la.groupby("hub_id")
        .agg(
            child_population=("child_population", "sum"),
            referred=("referred", "sum"),
            randomised=("randomised", "sum"),
            sffc=("sffc", "sum"),
            supported=("supported", "sum"),
            followed_up=("followed_up", "sum"),
            _days_sum=("_days_sum", "sum"),
        )
        .reset_index()
    )
    hub["mean_days_to_support"] = (hub.pop("_days_sum") / hub["supported"]).where(
        hub["supported"] > 0
    )
    hub["supported_per_10k"] = 1e4 * hub["supported"] / hub["child_population"].astype(float)
    hub["fidelity"] = (hub["supported"] / hub["sffc"]).where(hub["sffc"] > 0)
    hub["follow_up_rate"] = (hub["followed_up"] / hub["randomised"]).where(hub["randomised"] > 0)
    return hub
