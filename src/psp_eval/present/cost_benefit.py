"""Sentences of the cost-benefit sections, built from the model's results."""

from __future__ import annotations

import pandas as pd

from psp_eval.analyses import cost_benefit as cba
from psp_eval.present import disclosure
from psp_eval.present.tables import money


def even_chance_sentence(curve: pd.DataFrame) -> str:
    """Where the acceptability curve reaches an even chance, in words for the report."""
    value = cba.wtp_for_chance(curve, 0.5)
    if value is None:
        return "the chance stays below an even one over the whole range"
    return f"the chance reaches an even one at {money(value)} per point"


def delivery_costs_shown(by_category: pd.DataFrame) -> pd.DataFrame:
    """`cba.delivery_costs` for the report: whole pounds, a column per financial year of cash
    prices ("£ 2024-25" ...) and "£ total", the category as the index's name."""
    shown = by_category.round(0).astype(int)

    def name(column: str) -> str:
        year = column.removeprefix("gbp_")
        return "£ total" if column == "total_gbp" else f"£ {cba.financial_year(int(year))}"

    return shown.rename(columns=name).rename_axis("Category")


def delivery_numbers(by_category: pd.DataFrame, per_family: float) -> dict[str, object]:
    """What the report quotes of the delivery costs: the total (cash), per family supported,
    and whether central costs are in them."""
    return {
        "total_delivery_cost_gbp": round(float(by_category["total_gbp"].sum())),
        "cost_per_family_gbp": round(per_family),
        "includes_central_costs": "yes" if "central" in by_category.index else "no",
    }


def acceptability_numbers(curve: pd.DataFrame) -> dict[str, object]:
    """What the report quotes of the acceptability curve: its range and where the chance is
    even."""
    return {
        "wtp_max_gbp": round(float(curve["wtp_per_sdq_point"].max())),
        "wtp_even_chance": even_chance_sentence(curve),
    }


def placement_mix_shown(mix) -> pd.DataFrame:
    """The placement mix per LA and for the scope's LAs pooled (the last row), for the report:
    children of the age profile in the SSDA903 episodes (1-4 hidden, with the next smallest so
    the total reveals nothing; the share of a hidden row is hidden too), the share of their care
    days in children's homes with its 95% interval, and which mix the model uses: the LA's own
    data, or the assumption where it has too few children (`placement.PlacementMix`)."""
    table = mix.table.set_index("la_name")
    total = table.index[-1]
    mask = disclosure.suppression_mask(table[["children"]], ["children"], total_row=total)
    hidden = mask["children"]
    rules = mix.rules
    children = f"Children aged {rules.max_age} or under at entry (SSDA903)"

    def share(value: float, h: bool) -> str:
        return disclosure.SUPPRESSED if h else ("–" if pd.isna(value) else f"{100 * value:.1f}")

    shown = pd.DataFrame(index=table.index)
    shown[children] = table["children"].astype(object).where(~hidden, disclosure.SUPPRESSED)
    shown["Share of care days in children's homes, as used (%)"] = [
        share(v, h) for v, h in zip(table["share"], hidden)
    ]
    shown["95% interval (%)"] = [
        disclosure.SUPPRESSED if h else f"{100 * lo:.1f} to {100 * hi:.1f}"
        for lo, hi, h in zip(table["low"], table["high"], hidden)
    ]
    shown["Placement mix used"] = table["used"]
    return shown.rename_axis("Local authority").reset_index()
