"""Tables of the process evaluation as reports show them: counts through disclosure control,
summaries of fewer than the threshold hidden."""

from __future__ import annotations

import numpy as np
import pandas as pd

from psp_eval.analyses.process import (
    DOSE_MEASURES,
    FUNNEL_INDICATORS,
    PROFILE_GROUPS,
    active_on,
    median_iqr,
)
from psp_eval.present import disclosure


def profile_table(
    profile: pd.DataFrame,
    characteristics: dict[str, tuple[str, list]],
    group: str = "group",
    groups: tuple[tuple[str, str], ...] = PROFILE_GROUPS,
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
