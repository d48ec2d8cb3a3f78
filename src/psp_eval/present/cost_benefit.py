"""Sentences of the cost-benefit sections, built from the model's results."""

from __future__ import annotations

import pandas as pd

from psp_eval.analyses import cost_benefit as cba
from psp_eval.present.tables import money


def even_chance_sentence(curve: pd.DataFrame) -> str:
    """Where the acceptability curve reaches an even chance, in words for the report."""
    value = cba.wtp_for_chance(curve, 0.5)
    if value is None:
        return "the chance stays below an even one over the whole range"
    return f"the chance reaches an even one at {money(value)} per point"
