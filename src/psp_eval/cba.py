"""Cost-benefit: the cost side first: what delivering SFFC cost, per family supported."""

from __future__ import annotations

import pandas as pd

# Categories that make up the cost of delivering SFFC (usual_services is the comparator's cost).
DELIVERY_CATEGORIES = ("staff", "volunteer_expenses", "training", "overheads", "central")


def families_supported(randomisation: pd.DataFrame, support: pd.DataFrame) -> int:
    """SFFC-arm families with at least one support episode."""
    sffc = randomisation.loc[randomisation["arm"] == "sffc", "family_id"]
    return int(sffc.isin(support["family_id"]).sum())


def delivery_costs(costs: pd.DataFrame) -> pd.DataFrame:
    """Delivery cost by category and price year (cash prices, before deflating)."""
    delivery = costs[costs["category"].isin(DELIVERY_CATEGORIES)]
    table = (
        delivery.groupby(["category", "price_year"], observed=True)["amount_gbp"]
        .sum()
        .unstack("price_year", fill_value=0.0)
        .reindex([c for c in DELIVERY_CATEGORIES if c in set(delivery["category"])])
    )
    table.columns = [f"gbp_{year}" for year in table.columns]
    table["total_gbp"] = table.sum(axis=1)
    return table


def cost_per_family(costs: pd.DataFrame, n_supported: int) -> float:
    """Delivery cost divided by the families supported (NaN when none were)."""
    total = costs.loc[costs["category"].isin(DELIVERY_CATEGORIES), "amount_gbp"].sum()
    return float(total / n_supported) if n_supported else float("nan")


def costs_by_quarter(costs: pd.DataFrame) -> pd.DataFrame:
    """Delivery cost per quarter and category, for the spending profile figure."""
    delivery = costs[costs["category"].isin(DELIVERY_CATEGORIES)]
    quarter = delivery["period_start"].dt.to_period("Q").astype(str)
    return (
        delivery.assign(quarter=quarter)
        .pivot_table(index="quarter", columns="category", values="amount_gbp", aggfunc="sum", fill_value=0.0)
        .sort_index()
    )
