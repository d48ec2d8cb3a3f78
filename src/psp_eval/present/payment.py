"""Tables of the PSP payment decision as reports show them (disclosure-controlled)."""

from __future__ import annotations

import math

import pandas as pd

from psp_eval.analyses.payment import _fmt
from psp_eval.present import disclosure


def _range(low: float, high: float) -> str:
    """A 5th-95th percentile range in whole pounds (never "-0")."""
    return " to ".join(f"{(x if abs(x) >= 0.5 else 0.0):,.0f}" for x in (low, high))


def la_savings_shown(table: pd.DataFrame, further_years: int) -> pd.DataFrame:
    """`la_savings` rounded and disclosure-controlled for the report, over the contract's
    `further_years`: each LA's families, cashable savings per family (with its own placement
    mix where its SSDA903 data allow, else the assumption), expected savings with their
    5th-95th percentile range, the price, the net and the placement mix used."""
    body = table.set_index("la_name")
    counts = body[["families"]].astype(int)
    mask = disclosure.suppression_mask(counts, ["families"], total_row="All LAs")
    shown = pd.DataFrame(index=body.index)
    hidden = mask["families"]
    shown["SFFC families in the trial"] = (
        counts["families"].astype(object).where(~hidden, disclosure.SUPPRESSED)
    )
    # in words: a bare small number in a header reads (and is audited) as a count of people
    words = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
    number = words[further_years - 1] if 1 <= further_years <= len(words) else str(further_years)
    years = f"{number} further year{'' if further_years == 1 else 's'}"
    for column, label in (("expected_families", f"Families expected, {years}"),
                          ("cashable_per_family", "Cashable savings per family (£)"),
                          ("savings", "Expected cashable savings (£)"),
                          ("price", "Price of delivery (£)"), ("net", "Savings minus price (£)")):  # fmt: skip
        values = body[column].astype(float).round(0).astype(int).map(lambda x: f"{x:,}")
        shown[label] = values.where(~hidden, disclosure.SUPPRESSED)
    shown["Savings, 5th-95th percentile (£)"] = [
        disclosure.SUPPRESSED if h else _range(lo, hi)
        for h, lo, hi in zip(hidden, body["savings_low"], body["savings_high"])
    ]
    if "placement_mix" in body:
        shown["Placement mix"] = body["placement_mix"]
    return shown.rename_axis("Local authority").reset_index()


def results_shown(results: pd.DataFrame) -> pd.DataFrame:
    """The target table for the report: target, rule, estimate with interval, met, source."""

    def interval(r: pd.Series) -> str:
        if not (math.isfinite(r["ci_low"]) and math.isfinite(r["ci_high"])):
            return "–"
        return f"{_fmt(r['ci_low'])} to {_fmt(r['ci_high'])}"

    return pd.DataFrame({
        "Target": results["label"],
        "Agreed level": results["rule"],
        "Estimate": results["estimate"].map(_fmt),
        "95% CI": results.apply(interval, axis=1),
        "Met": results["status"],
        "Evidence (source table)": results["source"],
    })  # fmt: skip


def cash_flow_shown(flow: pd.DataFrame, savings_shown: pd.DataFrame) -> pd.DataFrame:
    """The per-LA yearly cash flow for the report (£, rounded): money of an LA whose family
    count is suppressed in `savings_shown` is suppressed too."""
    hidden = set(
        savings_shown.loc[
            savings_shown["SFFC families in the trial"] == disclosure.SUPPRESSED, "Local authority"
        ]
    )

    def money(value: float, la: str) -> str:
        return disclosure.SUPPRESSED if la in hidden else f"{value:,.0f}"

    return pd.DataFrame({
        "Local authority": flow["la_name"],
        "Contract year": [f"year {y} (further year {k})" if paid != "–" else f"year {y} (after the contract)"
                          for y, k, paid in zip(flow["year"], flow["further_year"], flow["paid_by"])],
        "Delivery paid by": flow["paid_by"],
        "Price paid (£)": [money(v, la) for v, la in zip(flow["price"], flow["la_name"])],
        "Cashable savings to its placement budget (£)": [money(v, la) for v, la in zip(flow["cashable_savings"], flow["la_name"])],
        "Cumulative net (£)": [money(v, la) for v, la in zip(flow["cumulative_net"], flow["la_name"])],
        "Payback": [disclosure.SUPPRESSED if la in hidden else p for p, la in zip(flow["payback"], flow["la_name"])],
        "Net over the period, 5th-95th percentile (£)": [
            disclosure.SUPPRESSED if la in hidden else _range(lo, hi)
            for lo, hi, la in zip(flow["net_p5"], flow["net_p95"], flow["la_name"])
        ],
    })  # fmt: skip
