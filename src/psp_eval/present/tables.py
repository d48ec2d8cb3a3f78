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


ADJUSTMENT_NAMES = {
    "holm": "Holm",
    "bonferroni": "Bonferroni",
    "hommel": "Hommel",
    "holm-sidak": "Holm-Šidák",
    "fdr_bh": "Benjamini-Hochberg",
}


def adjustment_name(method: str) -> str:
    """A multiplicity method as reports name it: "holm" -> "Holm"."""
    return ADJUSTMENT_NAMES.get(method, method)


def adjustment_words(method: str) -> str:
    """A p-value's adjustment in words: "holm" -> "Holm-adjusted", "none" -> "unadjusted"."""
    if method in ("none", "unadjusted"):
        return "unadjusted"
    words = f"{adjustment_name(method)}-adjusted"
    return f"{words} (false discovery rate)" if method == "fdr_bh" else words


def fixed(value: float | None, digits: int = 2) -> str:
    """A number for a sentence with exactly `digits` decimals ("-1.80"), or "not estimable"."""
    if value is None or not np.isfinite(value):
        return NOT_ESTIMABLE
    return f"{value:.{digits}f}"


def p_number(p_value: float | None) -> object:
    """A p-value as a quoted number: 4 decimals, or 2 significant figures below 0.001; "not
    estimable" when there is none."""
    if p_value is None or not np.isfinite(p_value):
        return NOT_ESTIMABLE
    return round(p_value, 4) if p_value >= 0.001 else float(f"{p_value:.2g}")


def p_text(p_value: float | None) -> str:
    """`format_p`, or "not estimable" when there is no p-value."""
    if p_value is None or not np.isfinite(p_value):
        return NOT_ESTIMABLE
    return format_p(p_value)


def interval(low: float | None, high: float | None, digits: int = 2) -> str:
    """ "low to high" with `digits` decimals, or "not estimable" when either end is missing."""
    if low is None or high is None or not (np.isfinite(low) and np.isfinite(high)):
        return NOT_ESTIMABLE
    return f"{low:.{digits}f} to {high:.{digits}f}"


def level_pct(alpha: float) -> str:
    """The confidence level of intervals at `alpha`, as reports print it: 0.05 -> "95"."""
    return f"{100 * (1 - alpha):g}"


def in_text(label: str) -> str:
    """A name as it reads inside a sentence: "Services as usual" -> "services as usual"; names
    that start with an acronym ("SFFC", "Arm A") keep their capitals."""
    first = label.split(" ", 1)[0]
    if first.isupper() or first in ("Arm",) or len(first) == 1:
        return label
    return label[:1].lower() + label[1:]


MINUS = "\u2212"  # the minus sign: "−£2,495", never "£-2,495"
# Where a long name in a table cell may wrap (report.outputs puts it after each "_"); the
# audit removes it before it reads a page, so a wrapped identifier is still seen whole.
WRAP_POINT = "\u200b"  # zero-width space


def money(value: float, digits: int = 0) -> str:
    """Pounds as the reports print them: "£2,495", "−£2,495" (the sign before the £, a true
    minus sign), thousands separated; `digits` after the point."""
    text = f"£{abs(value):,.{digits}f}"
    return MINUS + text if round(value, digits) < 0 else text
