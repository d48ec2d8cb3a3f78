"""Tables and quoted numbers of the process evaluation as reports show them: counts through
disclosure control, summaries of fewer than the threshold hidden, columns named for readers.

Arm names come from the trial design handed in (`design.labels`, "Arm A" in a blinded run),
hub names from the hub sheet, bands from the instruments: nothing here names a trial's own
arms or hubs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from psp_eval.analyses import process
from psp_eval.analyses.funnel import limit_curves
from psp_eval.analyses.process import (
    DOSE_MEASURES,
    FUNNEL_INDICATORS,
    active_on,
    median_iqr,
)
from psp_eval.present import disclosure
from psp_eval.present.hubs import named
from psp_eval.present.tables import NOT_ESTIMABLE

SUPPRESSED = disclosure.SUPPRESSED


def _pct(part: float, whole: float) -> float | str:
    """100 * part / whole to one decimal, or "not estimable" when there is no whole."""
    return round(100 * part / whole, 1) if whole else NOT_ESTIMABLE


# --- flow of families and recruitment -------------------------------------------------------


def flow_numbers(flow: pd.DataFrame, target: float) -> dict[str, object]:
    """Families referred and randomised, the share randomised and followed up, and recruitment
    against `target` (families to randomise), as the reports quote them."""
    n_randomised = int(flow["arm"].notna().sum())
    n_followed_up = int((flow["stage"] == "followed_up").sum())
    return {
        "n_referred": len(flow),
        "n_randomised": n_randomised,
        "pct_randomised": _pct(n_randomised, len(flow)),
        "pct_followed_up": _pct(n_followed_up, n_randomised),
        "recruitment_target": int(target),
        "pct_of_target": _pct(n_randomised, target),
    }


def flow_shown(counts: pd.DataFrame, design) -> pd.DataFrame:
    """`process.flow_table` for funders: suppressed along rows and down to "All referred",
    columns named by the design's arm labels."""
    labels = {**design.labels, "not_randomised": "Not randomised", "total": "Total"}
    shown = disclosure.suppress(
        counts, [*design.arms, "not_randomised"], row_total="total", total_row="All referred"
    )
    return shown.rename(columns=labels).rename_axis("Stage")


# --- profile of families --------------------------------------------------------------------


def profile_characteristics(instruments: dict) -> dict[str, tuple[str, list]]:
    """The characteristics the profile compares: column -> (label, category order); the SDQ
    and GAD-7 bands in the order the instruments' settings declare them."""
    return {
        "referral_group": ("Referral group", ["emerging", "edge_of_care"]),
        "referral_source": ("Referral source", []),
        "age_band": ("Index child's age at referral (years)", list(process.AGE_BANDS)),
        "family_size": ("Children in the family", list(process.FAMILY_SIZES)),
        "sdq_band": (
            "Baseline SDQ total difficulties band",
            [*instruments["sdq"]["bands"], process.NOT_MEASURED],
        ),
        "gad7_band": (
            "Baseline GAD-7 band (parent)",
            [*instruments["gad7"]["bands"], process.NOT_MEASURED],
        ),
    }


def profile_shown(profile: pd.DataFrame, instruments: dict, design) -> pd.DataFrame:
    """The profile table for the report: `profile_table` over `profile_characteristics`, the
    groups named by the design's arm labels, categories in words."""
    shown = profile_table(
        profile,
        profile_characteristics(instruments),
        groups=process.profile_groups(design.arms, design.labels),
    )
    shown["Category"] = shown["Category"].astype(str).str.replace("_", " ")
    return shown


def profile_numbers(
    profile: pd.DataFrame, design, threshold: int = disclosure.DEFAULT_THRESHOLD
) -> dict[str, object]:
    """Families the treated arm supported, and the share of them referred on the edge of care
    (hidden when fewer than `threshold` families or a count of 1-4 lies behind it)."""
    supported = profile[profile["group"] == f"{design.arms[0]}_supported"]
    edge = int((supported["referral_group"] == "edge_of_care").sum())
    shown = len(supported) >= threshold and disclosure.safe_count(edge, threshold) != SUPPRESSED
    return {
        "n_sffc_supported": disclosure.safe_count(len(supported), threshold),
        "pct_supported_edge_of_care": round(100 * edge / len(supported), 1)
        if shown
        else SUPPRESSED,
    }


def profile_table(
    profile: pd.DataFrame,
    characteristics: dict[str, tuple[str, list]],
    groups: tuple[tuple[str, str], ...],
    group: str = "group",
    threshold: int = disclosure.DEFAULT_THRESHOLD,
) -> pd.DataFrame:
    """Families by group for each characteristic, "n (column %)", suppressed block by block.

    `characteristics` maps a column of `profile` to (label, category order). Each block is a
    two-way table with its margins and goes through `disclosure.count_table`, so a hidden
    cell cannot be recovered from its block's totals. Families outside `groups` are left out.
    """
    keys = [key for key, _ in groups]
    data = profile[profile[group].isin(keys)]
    blocks = []
    for column, (label, order) in characteristics.items():
        present = [c for c in data[column].dropna().unique() if c not in order]
        shown = disclosure.count_table(
            data,
            column,
            group,
            row_order=[*order, *sorted(present)],
            column_order=keys,
            percent="column",
            threshold=threshold,
            totals_published=True,  # each group's n is in the column header
        )
        shown = shown.drop(index="Total").reset_index().rename(columns={column: "Category"})
        shown.insert(0, "Characteristic", label)
        blocks.append(shown)
    table = pd.concat(blocks, ignore_index=True)
    totals = disclosure.count_table(data, group, row_order=keys, threshold=threshold)["n"]
    table = table.rename(columns={k: f"{lab} (n = {totals[k]})" for k, lab in groups})
    return table.rename(columns={"Total": f"Total (n = {totals['Total']})"})


def delivery_summary(
    per_family: pd.DataFrame, threshold: int = disclosure.DEFAULT_THRESHOLD
) -> pd.DataFrame:
    """Timeliness, dose and duration among SFFC families: median (IQR) per family receiving it.

    The n of each row is the families it describes; rows about fewer than `threshold`
    families are hidden with `disclosure.hide_small_groups`.
    """
    rows = []
    n_sffc = len(per_family)
    received = per_family[per_family["any_support"]]
    rows.append(
        {
            "Measure": "Days from randomisation to first support",
            **median_iqr(received["days_to_first_support"]),
        }
    )
    rows.append(
        {
            "Measure": "Days from referral to first support",
            **median_iqr(received["days_referral_to_first_support"]),
        }
    )
    for _, _, name, label in DOSE_MEASURES:
        got = per_family.loc[per_family[name] > 0, name]
        rows.append({"Measure": f"{label}, per family receiving it", **median_iqr(got)})
    rows.append(
        {
            "Measure": "Duration of support (days, first start to last end)",
            **median_iqr(received["duration_days"]),
        }
    )
    table = pd.DataFrame(rows)
    table["Families"] = table.pop("n")
    table["Median (IQR)"] = [
        "–"
        if pd.isna(r.median)
        else f"{round(r.median, 1):g} ({round(r.q1, 1):g} to {round(r.q3, 1):g})"
        for r in table.itertuples()
    ]
    table["% of SFFC families"] = (100 * table["Families"] / n_sffc).round(1) if n_sffc else np.nan
    table = table[["Measure", "Families", "% of SFFC families", "Median (IQR)"]]
    return disclosure.hide_small_groups(
        table, "Families", ["% of SFFC families", "Median (IQR)"], threshold
    )


def likert_table(
    distribution: pd.DataFrame, threshold: int = disclosure.DEFAULT_THRESHOLD
) -> pd.DataFrame:
    """Disagree (1-2) / neither (3) / agree (4-5) per question, "n (row %)", suppressed by row."""
    frame = distribution[["respondent_type", "timepoint", "question_id"]].copy()
    frame["disagree"] = distribution["n_1"] + distribution["n_2"]
    frame["neither"] = distribution["n_3"]
    frame["agree"] = distribution["n_4"] + distribution["n_5"]
    frame["responses"] = distribution["n"]
    cols = ["disagree", "neither", "agree"]
    shown = disclosure.suppress(frame, cols, row_total="responses", threshold=threshold)
    for col in cols:
        pct = (100 * frame[col] / frame["responses"]).round(1)
        ok = (shown[col] != disclosure.SUPPRESSED) & (shown["responses"] != disclosure.SUPPRESSED)
        shown[col] = [
            f"{n} ({p}%)" if keep else disclosure.SUPPRESSED
            for n, p, keep in zip(frame[col], pct, ok)
        ]
    return shown


def volunteer_capacity(
    volunteers: pd.DataFrame,
    families: pd.DataFrame,
    las: pd.DataFrame,
    as_of: str | pd.Timestamp,
    hubs: list[str] | None = None,
    threshold: int = disclosure.DEFAULT_THRESHOLD,
) -> pd.DataFrame:
    """Per hub: volunteers active at `as_of` by role, SFFC families, families per active volunteer.

    Volunteer counts go through `disclosure.suppress` with a total row (volunteers are
    people); a ratio is hidden where its hub's active volunteers are hidden.
    """
    when = pd.Timestamp(as_of)
    active = volunteers[active_on(volunteers, when)]
    roles = pd.crosstab(active["hub_id"], active["role"]).reindex(
        columns=["host", "friend", "resources"], fill_value=0
    )
    fam_hub = families.merge(las[["la_code", "hub_id"]], on="la_code", how="left")
    n_fam = fam_hub.groupby("hub_id").size()
    hubs = hubs if hubs is not None else sorted(set(volunteers["hub_id"]) | set(n_fam.index))
    table = roles.reindex(hubs, fill_value=0).astype(int)
    table["active"] = table.sum(axis=1)
    table["sffc_families"] = n_fam.reindex(hubs, fill_value=0).astype(int)
    table.loc["All hubs"] = table.sum(axis=0)
    ratio = (table["sffc_families"] / table["active"].where(table["active"] > 0)).round(1)
    shown = disclosure.suppress(
        table,
        ["host", "friend", "resources"],
        row_total="active",
        total_row="All hubs",
        threshold=threshold,
    )
    shown["sffc_families"] = disclosure.suppress(
        table, ["sffc_families"], total_row="All hubs", threshold=threshold
    )["sffc_families"]
    shown["families_per_volunteer"] = ratio.astype(object).where(
        shown["active"] != disclosure.SUPPRESSED, disclosure.SUPPRESSED
    )
    shown.index.name = "hub_id"
    return shown.reset_index()


def response_rates(
    surveys: pd.DataFrame,
    eligible: dict[tuple[str, str], set],
    threshold: int = disclosure.DEFAULT_THRESHOLD,
) -> pd.DataFrame:
    """Respondents / eligible per (respondent type, timepoint), suppressed for funders.

    `eligible` maps (respondent_type, timepoint) to the ids who could have answered. A
    respondent counts once per timepoint whatever they answered; only eligible ids count (a
    volunteer child is counted by household: the volunteer id before "-C"). The rate is hidden
    when either count is 1-4.
    """
    rows = []
    for (rtype, timepoint), ids in eligible.items():
        part = surveys[(surveys["respondent_type"] == rtype) & (surveys["timepoint"] == timepoint)]
        resp = set(part["respondent_id"].astype(str).str.split("-C").str[0]) & set(map(str, ids))
        rows.append(
            {
                "respondent_type": rtype,
                "timepoint": timepoint,
                "respondents": len(resp),
                "eligible": len(ids),
            }
        )
    table = pd.DataFrame(rows, columns=["respondent_type", "timepoint", "respondents", "eligible"])
    table["rate_pct"] = (
        100 * table["respondents"] / table["eligible"].where(table["eligible"] > 0)
    ).round(1)
    small = (
        table[["respondents", "eligible"]].apply(lambda c: (c > 0) & (c < threshold)).any(axis=1)
    )
    shown = table.astype(object)
    for column in ("respondents", "eligible", "rate_pct"):
        shown.loc[small, column] = disclosure.SUPPRESSED
    return shown


def theme_counts(
    surveys: pd.DataFrame,
    respondent_types: list[str] | None = None,
    threshold: int = disclosure.DEFAULT_THRESHOLD,
) -> pd.DataFrame:
    """Coded free-text themes: respondents mentioning each theme, by respondent type, suppressed.

    A respondent mentioning a theme at two timepoints counts once. Respondents may mention
    several themes, so there is no total row to protect; each cell of 1-4 is hidden.
    """
    data = surveys[surveys["theme"].notna()].drop_duplicates(
        ["respondent_type", "respondent_id", "theme"]
    )
    types = respondent_types or sorted(data["respondent_type"].unique())
    counts = pd.crosstab(data["theme"], data["respondent_type"]).reindex(
        columns=types, fill_value=0
    )
    counts = counts.loc[counts.sum(axis=1).sort_values(ascending=False, kind="stable").index]
    counts.columns.name = None
    return disclosure.suppress(counts.astype(int), types, threshold=threshold).reset_index()


def survey_change(
    surveys: pd.DataFrame,
    respondent_type: str,
    first: str,
    later: str,
    threshold: int = disclosure.DEFAULT_THRESHOLD,
) -> pd.DataFrame:
    """Mean Likert score per question at two timepoints, paired by respondent.

    Columns: question_id, n_pairs (respondents answering at both), mean_first, mean_later,
    mean_change with its 95% CI (paired t), and the unpaired means of everyone who answered
    (n_first, n_later). Groups of fewer than `threshold` pairs are hidden.
    """
    from scipy import stats

    data = surveys[(surveys["respondent_type"] == respondent_type) & surveys["response"].notna()]
    data = data.assign(response=pd.to_numeric(data["response"]).astype(float))
    rows = []
    for question, part in data.groupby("question_id", sort=True):
        a = part[part["timepoint"] == first].set_index("respondent_id")["response"]
        b = part[part["timepoint"] == later].set_index("respondent_id")["response"]
        both = a.index.intersection(b.index)
        diff = b[both] - a[both]
        n = len(diff)
        se = diff.std(ddof=1) / np.sqrt(n) if n > 1 else np.nan
        t = stats.t.ppf(0.975, n - 1) if n > 1 else np.nan
        rows.append(
            {
                "question_id": question,
                "n_first": len(a),
                "n_later": len(b),
                "all_mean_first": a.mean() if len(a) else np.nan,
                "all_mean_later": b.mean() if len(b) else np.nan,
                "n_pairs": n,
                "mean_first": a[both].mean() if n else np.nan,
                "mean_later": b[both].mean() if n else np.nan,
                "mean_change": diff.mean() if n else np.nan,
                "ci_low": diff.mean() - t * se if n > 1 else np.nan,
                "ci_high": diff.mean() + t * se if n > 1 else np.nan,
            }
        )
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    table = disclosure.hide_small_groups(table, "n_first", ["all_mean_first"], threshold)
    table = disclosure.hide_small_groups(table, "n_later", ["all_mean_later"], threshold)
    return disclosure.hide_small_groups(
        table,
        "n_pairs",
        ["mean_first", "mean_later", "mean_change", "ci_low", "ci_high"],
        threshold,
    )


def retention_at(
    spells: pd.DataFrame,
    times: list[float],
    group: str | None = None,
    threshold: int = disclosure.DEFAULT_THRESHOLD,
) -> pd.DataFrame:
    """Kaplan-Meier share of volunteers still volunteering at `times` (months), with numbers at risk.

    Uses lifelines' KaplanMeierFitter. Numbers at risk of 1-4 and the estimate beside them are
    hidden (a small risk set identifies volunteers).
    """
    from lifelines import KaplanMeierFitter

    groups = (
        [("All", spells)]
        if group is None
        else [(str(k), g) for k, g in spells.groupby(group, sort=True)]
    )
    rows = []
    for name, part in groups:
        if part.empty:
            continue
        kmf = KaplanMeierFitter().fit(part["months"], event_observed=part["ended"])
        for t in times:
            at_risk = int((part["months"] >= t).sum())
            rows.append(
                {
                    "group": name,
                    "months": t,
                    "at_risk": at_risk,
                    "retained_pct": round(100 * float(kmf.predict(t)), 1),
                }
            )
    table = pd.DataFrame(rows)
    return disclosure.hide_small_groups(table, "at_risk", ["retained_pct"], threshold)


def indicator_funnel(
    units: pd.DataFrame,
    indicator: str,
    unit: str = "la_code",
    sd: float | None = None,
    target: float | None = None,
    threshold: int = disclosure.DEFAULT_THRESHOLD,
) -> pd.DataFrame:
    """Funnel points for one of `FUNNEL_INDICATORS`, over units (LAs or hubs).

    The target is the overall value across every unit (volume-weighted, so the trial-wide
    rate); units with a volume of fewer than `threshold` families are then left out (a rate
    of 1-4 families would show who they are). Means need the individual-level `sd`.
    """
    from psp_eval.analyses.funnel import funnel_points

    kind, volume, value = FUNNEL_INDICATORS[indicator]
    data = units[units[volume] > 0]
    if target is None:
        target = (
            float(np.average(data[value].fillna(0), weights=data[volume])) if len(data) else np.nan
        )
    shown = units[units[volume] >= threshold]
    keep = [c for c in units.columns if c not in (unit, volume, value)]
    points = funnel_points(shown, unit, volume, value, kind, target=target, sd=sd)
    return points.merge(shown[[unit, *keep]], on=unit, how="left")


def la_table(
    la: pd.DataFrame,
    counts: dict[str, list[str]],
    labels: list[str],
    total_label: str = "All LAs shown",
    threshold: int = disclosure.DEFAULT_THRESHOLD,
) -> pd.DataFrame:
    """LA rows for funders: counts suppressed with a total row, rates hidden with their count.

    `counts` maps each count column (families) to the rate or mean columns computed from it;
    `labels` are descriptive columns kept as they are. The total row adds the LAs shown, so
    secondary suppression stops a hidden LA being worked out from the hub or trial total.
    Rates of the total row are left blank, as are missing values (e.g. no SFFC family).
    """
    order = [*labels, *[c for count, rates in counts.items() for c in (count, *rates)]]
    table = la[order].copy()
    total = {c: int(table[c].sum()) for c in counts}
    table = pd.concat([table, pd.DataFrame([{labels[0]: total_label, **total}])], ignore_index=True)
    for column in labels[1:]:
        if pd.api.types.is_numeric_dtype(table[column]) and (table[column].dropna() % 1 == 0).all():
            table[column] = table[column].astype("Int64")
    table = table.set_index(labels[0])
    count_cols = list(counts)
    mask = pd.concat(
        [
            disclosure.suppression_mask(
                table[[c]].astype(int), [c], total_row=total_label, threshold=threshold
            )
            for c in count_cols
        ],
        axis=1,
    )
    shown = table.astype(object)
    for count, rates in counts.items():
        hide = mask[count]
        shown.loc[hide, count] = disclosure.SUPPRESSED
        for rate in rates:
            shown.loc[hide, rate] = disclosure.SUPPRESSED
            shown.loc[total_label, rate] = ""
    shown = shown.reset_index()
    return shown.where(shown.notna(), "")


# --- delivery and volunteer capacity ----------------------------------------------------------


def delivery_numbers(
    per_family: pd.DataFrame, threshold: int = disclosure.DEFAULT_THRESHOLD
) -> dict[str, object]:
    """Families randomised to the treated arm, the share with any support (fidelity) and the
    median (quartiles) of days to first support; each hidden when it describes fewer than
    `threshold` families."""
    n_sffc = len(per_family)
    n_any = int(per_family["any_support"].sum())
    days = median_iqr(per_family.loc[per_family["any_support"], "days_to_first_support"])
    numbers: dict[str, object] = {
        "n_sffc": disclosure.safe_count(n_sffc, threshold),
        "pct_sffc_supported": round(100 * n_any / n_sffc, 1) if n_sffc >= threshold else SUPPRESSED,
    }
    for key in ("median", "q1", "q3"):
        numbers[f"days_to_support_{key}"] = (
            round(days[key], 1) if days["n"] >= threshold else SUPPRESSED
        )
    return numbers


def capacity_numbers(capacity: pd.DataFrame) -> dict[str, object]:
    """The total row of `volunteer_capacity` as the reports quote it: active volunteers, active
    hosts (each a count or already "[c]") and SFFC families per active volunteer."""
    total = capacity.iloc[-1]
    numbers = {
        key: total[column] if total[column] == SUPPRESSED else disclosure.safe_count(total[column])
        for key, column in (("n_active_volunteers", "active"), ("n_active_hosts", "host"))
    }
    return {**numbers, "families_per_volunteer": total["families_per_volunteer"]}


def capacity_shown(capacity: pd.DataFrame, names: dict[str, str], design) -> pd.DataFrame:
    """`volunteer_capacity` for the report: hubs by name, columns in words."""
    treated = design.label(design.arms[0])
    shown = capacity.assign(hub_id=named(capacity["hub_id"], names))
    return shown.rename(
        columns={
            "hub_id": "Hub",
            "host": "Hosts",
            "friend": "Friends",
            "resources": "Resources volunteers",
            "active": "Active volunteers",
            "sffc_families": f"{treated} families",
            "families_per_volunteer": f"{treated} families per active volunteer",
        }
    )


# --- variation across LAs and context ---------------------------------------------------------


@dataclass(frozen=True)
class Funnel:
    """One indicator's funnel plot: LA points, hub points and the control-limit curves."""

    indicator: str
    points: pd.DataFrame  # from `indicator_funnel` over LAs (target = trial-wide value)
    hubs: pd.DataFrame  # the same over hubs, against the LAs' target
    curves: pd.DataFrame  # `funnel.limit_curves` to just past the largest unit drawn

    @property
    def kind(self) -> str:
        return FUNNEL_INDICATORS[self.indicator][0]

    @property
    def volume(self) -> str:
        return FUNNEL_INDICATORS[self.indicator][1]

    @property
    def value(self) -> str:
        return FUNNEL_INDICATORS[self.indicator][2]


def indicator_funnels(
    la: pd.DataFrame, hubs: pd.DataFrame, sd: float, *, with_hubs: bool
) -> dict[str, Funnel]:
    """A `Funnel` for each of `FUNNEL_INDICATORS` over every LA of the trial (`la` from
    `process.la_indicators`, `hubs` from `process.hub_indicators`, `sd` the individual SD of
    days to support). The limits reach the largest LA, or hub when hubs are drawn too."""
    funnels = {}
    for name, (kind, volume, _) in FUNNEL_INDICATORS.items():
        points = indicator_funnel(la, name, sd=sd)
        target = float(points["target"].iloc[0])
        hub_points = indicator_funnel(hubs, name, unit="hub_id", sd=sd, target=target)
        max_volume = max(la[volume].max(), hubs[volume].max() if with_hubs else 0) * 1.05
        curves = limit_curves(kind, max_volume, target, sd)
        funnels[name] = Funnel(name, points, hub_points, curves)
    return funnels


def funnel_numbers(funnels: dict[str, Funnel], la_codes: pd.Series) -> dict[str, object]:
    """Per indicator, the LAs of this scope (`la_codes`) outside the 99.8% and the 95% limits;
    the scope's LAs, and how many of them have enough families to be drawn."""
    numbers: dict[str, object] = {}
    for name, funnel in funnels.items():
        mine = funnel.points[funnel.points["la_code"].isin(la_codes)]
        numbers[f"n_las_outside_998_{name}"] = int((mine["outside"] == "99.8%").sum())
        numbers[f"n_las_outside_95_{name}"] = int((mine["outside"] != "").sum())
    numbers["n_las"] = int(pd.Series(la_codes).nunique())
    first = next(iter(funnels.values()))
    numbers["n_las_in_funnels"] = int(first.points["la_code"].isin(la_codes).sum())
    return numbers


# Short names of the indicators in the "Outside limits" column.
FUNNEL_SHORT = {"follow_up": "follow-up", "fidelity": "fidelity", "days_to_support": "days"}


def _la_rates(la: pd.DataFrame, la_codes: pd.Series) -> pd.DataFrame:
    """The LAs of this scope with their rates in percent and days rounded for the report."""
    mine = la[la["la_code"].isin(la_codes)].copy()
    mine["follow_up_pct"] = (100 * mine["follow_up_rate"]).round(1)
    mine["fidelity_pct"] = (100 * mine["fidelity"]).round(1)
    mine["mean_days"] = mine["mean_days_to_support"].round(1)
    return mine


def variation_table(
    la: pd.DataFrame,
    funnels: dict[str, Funnel],
    la_codes: pd.Series,
    names: dict[str, str],
    design,
    *,
    with_hubs: bool,
) -> pd.DataFrame:
    """The indicators of this scope's LAs for funders (`la_table`), each with the limits it
    lies outside on the funnel plots; the hub of each LA (by name) when `with_hubs`."""
    mine = _la_rates(la, la_codes)
    flags = {name: f.points.set_index("la_code")["outside"] for name, f in funnels.items()}
    mine["outside"] = [
        "; ".join(
            f"{FUNNEL_SHORT[name]} {flags[name].get(code)}"
            for name in funnels
            if flags[name].get(code)
        )
        for code in mine["la_code"]
    ]
    labels = ["la_name", "hub_id", "outside"] if with_hubs else ["la_name", "outside"]
    table = la_table(
        mine,
        {"randomised": ["follow_up_pct"], "sffc": ["fidelity_pct"], "supported": ["mean_days"]},
        labels,
    )
    if with_hubs:
        table["hub_id"] = named(table["hub_id"], names)
    table = table[[c for c in table.columns if c != "outside"] + ["outside"]]
    return table.rename(
        columns={
            "la_name": "LA",
            "hub_id": "Hub",
            "randomised": "Randomised",
            "follow_up_pct": "Follow-up (%)",
            "sffc": f"{design.label(design.arms[0])} families",
            "fidelity_pct": "Supported (%)",
            "supported": "Supported",
            "mean_days": "Mean days to support",
            "outside": "Outside limits",
        }
    )


def context_table(la: pd.DataFrame, la_codes: pd.Series, design) -> pd.DataFrame:
    """Each LA's context (children, looked-after rate, deprivation) beside the families the
    treated arm supported (and per 10,000 children) and follow-up, through `la_table`."""
    mine = _la_rates(la, la_codes)
    mine = mine.assign(
        supported_per_10k=mine["supported_per_10k"].round(2),
        child_population=mine["child_population"].astype(int),
    )
    table = la_table(
        mine,
        {"supported": ["supported_per_10k"], "randomised": ["follow_up_pct"]},
        ["la_name", "child_population", "cla_rate_per_10k", "deprivation_rank"],
    )
    return table.rename(
        columns={
            "la_name": "LA",
            "child_population": "Children (0-17)",
            "cla_rate_per_10k": "Looked after per 10,000",
            "deprivation_rank": "Deprivation rank",
            "supported": f"{design.label(design.arms[0])} families supported",
            "supported_per_10k": "Supported per 10,000 children",
            "randomised": "Randomised",
            "follow_up_pct": "Week-8 follow-up (%)",
        }
    )


# --- views of families and volunteers ---------------------------------------------------------

RESPONDENTS = {
    "family": "Families",
    "volunteer": "Volunteers",
    "volunteer_child": "Volunteers' children",
}


def response_numbers(rates: pd.DataFrame) -> dict[str, object]:
    """`response_rate_<respondent>_<timepoint>` for each row of `response_rates`."""
    return {
        f"response_rate_{row.respondent_type}_{row.timepoint}": row.rate_pct
        for row in rates.itertuples()
    }


def likert_shown(distribution: pd.DataFrame) -> pd.DataFrame:
    """`likert_table` with its columns in words."""
    return likert_table(distribution).rename(
        columns={
            "respondent_type": "Respondent",
            "timepoint": "Timepoint",
            "question_id": "Question",
            "disagree": "Disagree",
            "neither": "Neither",
            "agree": "Agree",
            "responses": "Responses",
        }
    )


def response_shown(rates: pd.DataFrame) -> pd.DataFrame:
    """`response_rates` with its columns in words."""
    return rates.rename(
        columns={
            "respondent_type": "Respondent",
            "timepoint": "Timepoint",
            "respondents": "Respondents",
            "eligible": "Eligible",
            "rate_pct": "Response rate (%)",
        }
    )


def themes_shown(surveys: pd.DataFrame) -> pd.DataFrame:
    """`theme_counts` of the three surveys, their columns named for readers."""
    themes = theme_counts(surveys, list(RESPONDENTS))
    return themes.rename(columns={"theme": "Theme", **RESPONDENTS})


# --- volunteers and their children ------------------------------------------------------------


def retention_numbers(
    spells: pd.DataFrame, threshold: int = disclosure.DEFAULT_THRESHOLD
) -> dict[str, object]:
    """Volunteers, the share still volunteering a year after starting (Kaplan-Meier) and the
    median months as a volunteer ("not reached" while over half are still active); hidden
    when fewer than `threshold` volunteers lie behind them."""
    overall = retention_at(spells, [12], None, threshold)
    enough = len(spells) >= threshold
    median = process.median_retention(spells) if enough else float("nan")
    return {
        "n_volunteers": disclosure.safe_count(len(spells), threshold),
        "pct_volunteers_retained_12m": overall["retained_pct"].iloc[0]
        if len(overall)
        else SUPPRESSED,
        "median_volunteer_months": round(median, 1)
        if np.isfinite(median)
        else "not reached"
        if enough
        else SUPPRESSED,
    }


def retention_shown(spells: pd.DataFrame, times: list[float], group: str) -> pd.DataFrame:
    """`retention_at` by `group` at `times` months, its columns named for readers."""
    return retention_at(spells, times, group).rename(
        columns={
            "group": "Role",
            "months": "Months",
            "at_risk": "At risk",
            "retained_pct": "Still volunteering (%)",
        }
    )


def _two_decimals(value: object) -> object:
    """A mean for the table: two decimals, a dash when missing, "[c]" kept."""
    if isinstance(value, str):
        return value
    return "–" if pd.isna(value) else f"{value:.2f}"


# Survey timepoints as a column header names them.
TIMEPOINT_WORDS = {
    "baseline": "baseline",
    "week8": "week 8",
    "month6": "month 6",
    "month12": "month 12",
}


def volunteer_change_table(surveys: pd.DataFrame, first: str, later: str) -> pd.DataFrame:
    """`survey_change` of volunteers and of their children between two timepoints, in one
    table: means to two decimals, the paired change with its 95% CI as "low to high"."""
    parts = [
        change.assign(respondent=RESPONDENTS[respondent])
        for respondent in ("volunteer", "volunteer_child")
        if len(change := survey_change(surveys, respondent, first, later))
    ]
    columns = {
        "respondent": "Respondent",
        "question_id": "Question",
        "n_first": f"n {TIMEPOINT_WORDS[first]}",
        "all_mean_first": f"Mean {TIMEPOINT_WORDS[first]}",
        "n_later": f"n {TIMEPOINT_WORDS[later]}",
        "all_mean_later": f"Mean {TIMEPOINT_WORDS[later]}",
        "n_pairs": "Pairs",
        "mean_change": "Paired change",
        "ci": "95% CI",
    }
    if not parts:
        return pd.DataFrame()
    change = pd.concat(parts, ignore_index=True)
    change["ci"] = [
        low if isinstance(low, str) else ("–" if pd.isna(low) else f"{low:.2f} to {high:.2f}")
        for low, high in zip(change["ci_low"], change["ci_high"])
    ]
    for column in ("all_mean_first", "all_mean_later", "mean_change"):
        change[column] = change[column].map(_two_decimals)
    return change[list(columns)].rename(columns=columns)
