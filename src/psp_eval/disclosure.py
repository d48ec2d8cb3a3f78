"""Statistical disclosure control for every count a funder-facing output shows.

The rule (DfE/ONS practice; shared/REFERENCE.md): a count of 1 to `threshold - 1` people is
hidden (primary suppression), and so is a second cell wherever a total would otherwise let a
reader work a hidden cell out by subtraction (secondary suppression). Zeros are shown: they
reveal no one. Suppressed cells read "[c]" (confidential), as in ONS tables.
"""

from __future__ import annotations

import pandas as pd

SUPPRESSED = "[c]"
DEFAULT_THRESHOLD = 5


def _additive_groups(
    frame: pd.DataFrame, count_columns: list[str], row_total: str | None, total_row: object
) -> list[list[tuple[object, str]]]:
    """Sets of cells where one hidden cell could be recovered from the others by subtraction."""
    groups = []
    if row_total is not None:
        for idx in frame.index:
            groups.append([(idx, c) for c in (*count_columns, row_total)])
    if total_row is not None:
        members = [i for i in frame.index if i != total_row]
        for col in count_columns + ([row_total] if row_total else []):
            groups.append([(i, col) for i in (*members, total_row)])
    return groups


def suppression_mask(
    frame: pd.DataFrame,
    count_columns: list[str],
    *,
    row_total: str | None = None,
    total_row: object = None,
    threshold: int = DEFAULT_THRESHOLD,
) -> pd.DataFrame:
    """Boolean frame: True where a cell must be hidden.

    `row_total` names a column that is the sum of `count_columns` in each row; `total_row`
    is the index label of a row that sums the others. Each additive group (a row with its
    total, or a column with the total row) must hide none or at least two of its cells, so
    the next smallest positive cell is hidden until that holds everywhere.
    """
    columns = count_columns + ([row_total] if row_total else [])
    values = frame[columns]
    if values.isna().any().any():
        raise ValueError("counts to suppress must not be missing")
    mask = (values > 0) & (values < threshold)
    changed = True
    while changed:
        changed = False
        for group in _additive_groups(frame, count_columns, row_total, total_row):
            hidden = [cell for cell in group if mask.at[cell]]
            if len(hidden) != 1:
                continue
            candidates = [cell for cell in group if not mask.at[cell] and values.at[cell] > 0]
            if candidates:
                smallest = min(candidates, key=lambda cell: values.at[cell])
                mask.at[smallest] = True
                changed = True
    return mask


def suppress(
    frame: pd.DataFrame,
    count_columns: list[str],
    *,
    row_total: str | None = None,
    total_row: object = None,
    threshold: int = DEFAULT_THRESHOLD,
) -> pd.DataFrame:
    """A copy of `frame` safe to show funders: small counts and their giveaways read "[c]"."""
    mask = suppression_mask(
        frame, count_columns, row_total=row_total, total_row=total_row, threshold=threshold
    )
    shown = frame.copy()
    for column in mask.columns:
        shown[column] = shown[column].astype(object).where(~mask[column], SUPPRESSED)
    return shown


def hide_small_groups(
    frame: pd.DataFrame, n_column: str, value_columns: list[str], threshold: int = DEFAULT_THRESHOLD
) -> pd.DataFrame:
    """Hide summaries (means, rates) of groups of fewer than `threshold` people, and their n."""
    small = (frame[n_column] > 0) & (frame[n_column] < threshold)
    shown = frame.copy()
    for column in (n_column, *value_columns):
        shown[column] = shown[column].astype(object).where(~small, SUPPRESSED)
    return shown
