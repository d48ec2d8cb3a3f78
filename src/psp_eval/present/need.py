"""The need report's trial-design section as readers see it: the power table and its words."""

from __future__ import annotations

import pandas as pd

from psp_eval.analyses import need
from psp_eval.present import disclosure, tables
from psp_eval.present.disclosure import SUPPRESSED

NUMBER_WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five"}


def power_table(rows: list[dict], design) -> pd.DataFrame:
    """`primary_power`'s rows: minimum detectable difference, families needed, power."""
    return pd.DataFrame([{
        "Outcome": f"{design.outcome(r['outcome']).label} ({design.outcome(r['outcome']).range})",
        "SD": r["sd"],
        "Minimum detectable difference": round(r["mde"], 2),
        "Difference of interest": r["effect"],
        "Families to randomise": r["n_total"],
        "Power with the target (%)": round(100 * r["power"], 1),
    } for r in rows])  # fmt: skip


def power_numbers(
    rows: list[dict], power_design, assumptions: dict, target: int, design, multiplicity: str
) -> dict:
    """The numbers and words the need report quotes about the trial's design."""
    numbers: dict[str, object] = {}
    for r in rows:
        numbers[f"power_{r['outcome']}_mde"] = round(r["mde"], 2)
        numbers[f"power_{r['outcome']}_effect"] = r["effect"]
        numbers[f"power_{r['outcome']}_n_total"] = r["n_total"]
    detectable = [
        f"{round(r['mde'], 2)} {design.outcome(r['outcome']).units.split(' (')[0]} in {design.outcome(r['outcome']).label}"
        for r in rows
    ]
    k = len(assumptions["primary"])
    method = "no adjustment" if multiplicity == "none" else tables.adjustment_name(multiplicity)
    numbers |= {
        "power_target": target,
        "power_alpha_each": round(power_design.alpha_per_test, 3),
        "power_rho": assumptions["rho"],
        "power_attrition_pct": round(100 * assumptions["attrition"]),
        "power_icc": assumptions["icc"],
        "power_design_effect": round(power_design.design_effect, 2),
        "power_pct": round(100 * assumptions["power"]),
        "power_mde_words": " and ".join(detectable),
        "power_outcomes_words": " and ".join(design.outcome(r["outcome"]).label for r in rows),
        "power_multiplicity_words": f"{method} over {NUMBER_WORDS.get(k, k)} primary outcome{'s' if k > 1 else ''}",
    }
    return numbers


# --- the need and reach sections ------------------------------------------------------------------

YEAR_LABELS = {
    "year": "Year",
    "children_starting": "Starting care",
    "children_fitting": "Fitting the profile",
    "share_pct": "Share fitting (%)",
    "children_censored": "Censored",
    "complete": "Whole year",
}
PLACE_LABELS = {
    "children_starting": "Children starting care",
    "children_fitting": "Fitting the profile",
    "share_pct": "Share fitting (%)",
    "fitting_per_year": "Fitting per year",
}
REACH_LABELS = {
    "families_supported": "Families supported",
    "supported_per_year": "Supported per year",
    "profile_children_per_year": "Profile children per year",
    "reach_pct": "Reach (%)",
}
ALL_HUBS = "All hubs"


def profile_by_year(classified: pd.DataFrame, rules) -> pd.DataFrame:
    """`count_profile` per year, all LAs, with `complete`: the year lies wholly inside the
    extract (only whole years are averaged); an extract without one cannot be counted."""
    overall = need.count_profile(classified)
    overall["complete"] = need.complete_years(
        overall["year"], classified["start"].min(), classified.attrs["extract_date"],
        rules.year_start_month,
    ).to_numpy()  # fmt: skip
    if not overall["complete"].any():
        raise need.NeedError("the SSDA903 extract holds no complete year: need cannot be counted")
    return overall


def year_numbers(classified: pd.DataFrame, overall: pd.DataFrame, rules) -> dict[str, object]:
    """What the report quotes about the extract, the years counted and the profile."""
    done = overall[overall["complete"]]
    complete = done["year"].tolist()
    share = 100 * done["children_fitting"].sum() / done["children_starting"].sum()
    extract = classified.attrs["extract_date"].date().isoformat()
    return {
        "extract_date": extract,
        "data_cut": extract,  # the need report (and its index entry) is dated by its extract
        "first_year": complete[0],
        "last_year": complete[-1],
        "n_years": len(complete),
        "n_las": int(classified["la_code"].nunique()),
        "children_starting_per_year": int(round(done["children_starting"].mean())),
        "profile_children_per_year": int(round(done["children_fitting"].mean())),
        "profile_share_pct": round(share, 1),
        "censored_periods": int(classified["censored"].sum()),
        "open_periods": int((classified["status"] != "closed").sum()),
        "profile_max_age": rules.max_age,
        "profile_max_days": rules.max_days,
    }


def years_table(overall: pd.DataFrame) -> pd.DataFrame:
    """Children starting care and fitting the profile per year, safe to show: fitting and
    censored children are each a part of those starting."""
    shown = overall.assign(
        share_pct=overall["share_pct"].round(1),
        complete=overall["complete"].map({True: "yes", False: "no (part year)"}),
    )
    shown = disclosure.suppress_part_of_whole(
        shown, "children_fitting", "children_starting", derived=("share_pct",)
    )
    shown["children_censored"] = disclosure.suppress_part_of_whole(
        overall.assign(share_pct=0), "children_censored", "children_starting"
    )["children_censored"]
    return shown[list(YEAR_LABELS)].rename(columns=YEAR_LABELS)


def hub_trend(classified: pd.DataFrame, las: pd.DataFrame, years: list[str]) -> pd.DataFrame:
    """`count_profile` per hub and year, over `years` only (the trend figure's hub lines)."""
    by_hub_year = need.count_profile(need.with_hub(classified, las), ["hub_id"])
    return by_hub_year[by_hub_year["year"].isin(years)]


def trend_numbers(done: pd.DataFrame) -> dict[str, float]:
    """The linear trends of the profile count and share over the whole years (3 or more;
    none with fewer)."""
    if len(done) < 3:
        return {}
    count, share = need.trend(done["children_fitting"]), need.trend(done["share_pct"])
    return {
        "trend_per_year": round(count.per_year, 1),
        "trend_ci_low": round(count.ci_low, 1),
        "trend_ci_high": round(count.ci_high, 1),
        "share_trend_per_year": round(share.per_year, 2),
        "share_trend_ci_low": round(share.ci_low, 2),
        "share_trend_ci_high": round(share.ci_high, 2),
    }


def _shares(table: pd.DataFrame, n_years: int) -> pd.DataFrame:
    table["share_pct"] = (100 * table["children_fitting"] / table["children_starting"]).round(1)
    table["fitting_per_year"] = (table["children_fitting"] / n_years).round(1)
    return table


def per_hub(
    classified: pd.DataFrame, las: pd.DataFrame, years: list[str], names: dict[str, str]
) -> pd.DataFrame:
    """Children fitting the profile per hub and in all hubs over `years` (each child counted
    once), with the share and the mean per year; `hub` is the hub's name."""
    counted = need.with_hub(classified[classified["year"].isin(years)], las).assign(year="all")
    table = need.count_profile(counted, ["hub_id"])
    totals = ["children_starting", "children_fitting", "children_censored", "periods_starting"]
    table.loc[len(table)] = [ALL_HUBS, "all", *table[totals].sum(), 0.0]
    table = _shares(table, len(years))
    table["hub"] = table["hub_id"].map(names).fillna(table["hub_id"])
    return table


def hubs_table(table: pd.DataFrame) -> pd.DataFrame:
    """`per_hub` safe to show: the all-hubs row is the total the hubs add up to."""
    shown = disclosure.suppress_part_of_whole(
        table.set_index("hub"), "children_fitting", "children_starting",
        total_row=ALL_HUBS, derived=("share_pct", "fitting_per_year"),
    )  # fmt: skip
    return shown[list(PLACE_LABELS)].rename(columns=PLACE_LABELS).rename_axis("Hub")


def per_la(
    classified: pd.DataFrame, las: pd.DataFrame, years: list[str], names: dict[str, str]
) -> pd.DataFrame:
    """Children fitting the profile per LA over `years`, ordered by hub and LA name."""
    table = need.count_profile(
        classified[classified["year"].isin(years)].assign(year="all"), ["la_code"]
    )
    table = table.merge(las[["la_code", "la_name", "hub_id"]], on="la_code")
    table = _shares(table.sort_values(["hub_id", "la_name"]), len(years))
    table["hub"] = table["hub_id"].map(names)
    return table


def las_table(table: pd.DataFrame) -> pd.DataFrame:
    """`per_la` safe to show, with each LA's hub."""
    shown = disclosure.suppress_part_of_whole(
        table.set_index("la_name"), "children_fitting", "children_starting",
        derived=("share_pct", "fitting_per_year"),
    )  # fmt: skip
    labels = {"hub": "Hub", **PLACE_LABELS}
    return shown[list(labels)].rename(columns=labels).rename_axis("Local authority")


def la_numbers(table: pd.DataFrame) -> dict[str, float]:
    """The range of the LAs' profile shares (%)."""
    return {
        "la_share_min": float(table["share_pct"].min()),
        "la_share_max": float(table["share_pct"].max()),
    }


def reach_table(reach: pd.DataFrame, names: dict[str, str], threshold: int = 5) -> pd.DataFrame:
    """`need.reach` per hub safe to show: a row where the families supported or the profile
    children a year are 1-4 reads [c] throughout (0 families supported stays 0)."""
    small = (reach["families_supported"] < threshold) | (
        reach["profile_children_per_year"] < threshold
    )

    def whole(column: str) -> pd.Series:
        return reach[column].round(0).astype(int).astype(object).where(~small, SUPPRESSED)

    shown = reach.assign(
        hub=reach["hub_id"].map(names).fillna(ALL_HUBS),
        families_supported=reach["families_supported"]
        .astype(object)
        .where(~small | (reach["families_supported"] == 0), SUPPRESSED),
        supported_per_year=whole("supported_per_year"),
        profile_children_per_year=whole("profile_children_per_year"),
        reach_pct=reach["reach_pct"].round(1).astype(object).where(~small, SUPPRESSED),
    )
    return (
        shown.set_index("hub")[list(REACH_LABELS)].rename(columns=REACH_LABELS).rename_axis("Hub")
    )


def reach_numbers(reach: pd.DataFrame, years: list[str]) -> dict[str, object]:
    """What the report quotes about reach: the all-hubs row and the years it averages."""
    total = reach.set_index("hub_id").loc["all"]
    return {
        "reach_years": f"{years[0]} to {years[-1]}",
        "families_supported": int(total["families_supported"]),
        "delivery_years": round(float(total["delivery_years"]), 1),
        "supported_per_year": int(round(total["supported_per_year"])),
        "reach_profile_per_year": int(round(total["profile_children_per_year"])),
        "reach_pct": round(float(total["reach_pct"]), 1),
    }


NO_SCOTLAND = "no Scottish children-looked-after table in this trial's data"


def scotland(cla: pd.DataFrame, settings: dict) -> tuple[pd.DataFrame, dict[str, object]]:
    """The Scotland feasibility table per LA and its numbers (`settings`: need's `scotland`
    part); a trial without the optional table gets a one-line table saying so."""
    threshold = settings["min_profile_per_year"]
    numbers: dict[str, object] = {"scotland_threshold": threshold}
    if cla.empty:
        numbers |= {"scotland_n_las": 0, "scotland_n_feasible": 0}
        return pd.DataFrame([{"Local authority": NO_SCOTLAND}]), numbers
    feas = need.scotland_feasibility(cla, min_profile_per_year=threshold, years=settings["years"])
    names = cla.drop_duplicates("la_code").set_index("la_code")["la_name"]
    numbers |= {
        "scotland_n_las": len(feas),
        "scotland_n_feasible": int(feas["feasible"].sum()),
        "scotland_years": f"{feas['first_year'].min()} to {feas['last_year'].max()}",
    }
    shown = pd.DataFrame({
        "Local authority": feas["la_code"].map(names),
        "Years": feas["first_year"] + " to " + feas["last_year"],
        "Starting care a year": feas["starts_per_year"].round(0).astype(int),
        "Voluntary s25 (%)": (100 * feas["s25_share"]).round(1),
        "Fitting the profile a year (estimate)": feas["profile_per_year"].round(1),
        "Enough for a hub": feas["feasible"].map({True: "yes", False: "no"}),
    })  # fmt: skip
    return shown, numbers
