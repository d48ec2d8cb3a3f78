"""The need report's trial-design section as readers see it: the power table and its words."""

from __future__ import annotations

import pandas as pd

from psp_eval.present import tables

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
