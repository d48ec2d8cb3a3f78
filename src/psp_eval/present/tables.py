"""Report tables: how every value is printed (p-values, "not estimable", rounded values), so
notebooks never format by hand."""

from __future__ import annotations

import numpy as np


def format_p(p_value: float) -> str:
    """A p-value as reports print it: three decimals, or "<0.001"."""
    return "<0.001" if p_value < 0.001 else f"{p_value:.3f}"


# --- presentation helpers ------------------------------------------------------------------------
NOT_ESTIMABLE = "not estimable"


def shown_value(value: object, digits: int = 2) -> object:
    """A number rounded for a report, or "not estimable" when it is missing or not finite."""
    if value is None:
        return NOT_ESTIMABLE
    try:
        number = float(value)
    except (TypeError, ValueError):
        return value
    return round(number, digits) if np.isfinite(number) else NOT_ESTIMABLE
