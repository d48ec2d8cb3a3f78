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
    totals_published: bool = False,
) -> pd.DataFrame:
    """Boolean frame: True where a cell must be hidden.

    `row_total` names a column that is the sum of `count_columns` in each row; `total_row`
    is the index label of a row that sums the others. Each additive group (a row with its
    total, or a column with the total row) must hide none or at least two of its cells, so
    the next smallest positive cell is hidden until that holds everywhere. With
    `totals_published` (the total row is shown elsewhere too, e.g. each group's n in a column
    header), a hidden cell of the total row protects nothing: it does not count as hidden, and
    a row protects a hidden cell by hiding its own total first.
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
            if totals_published:
                group = [cell for cell in group if cell[0] != total_row]
            hidden = [cell for cell in group if mask.at[cell]]
            if len(hidden) != 1:
                continue
            candidates = [cell for cell in group if not mask.at[cell] and values.at[cell] > 0]
            if candidates:
                # With published column totals, a row's own total is hidden first: an inner
                # cell might be alone in a column whose total everyone can read.
                smallest = min(
                    candidates,
                    key=lambda cell: (
                        not (totals_published and cell[1] == row_total),
                        values.at[cell],
                    ),
                )
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
    totals_published: bool = False,
) -> pd.DataFrame:
    """A copy of `frame` safe to show funders: small counts and their giveaways read "[c]"."""
    mask = suppression_mask(
        frame,
        count_columns,
        row_total=row_total,
        total_row=total_row,
        threshold=threshold,
        totals_published=totals_published,
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


def count_table(
    data: pd.DataFrame,
    rows: str,
    columns: str | None = None,
    *,
    row_order: list | None = None,
    column_order: list | None = None,
    total: str = "Total",
    percent: str | None = None,
    threshold: int = DEFAULT_THRESHOLD,
    totals_published: bool = False,
) -> pd.DataFrame:
    """People counted by `rows` (and `columns`), with margins, ready for funders.

    One row of `data` is one person (family, volunteer, respondent). The table gets a total
    row (and, for two-way tables, a total column), then goes through `suppress` with both
    margins, so no hidden cell can be recovered by subtraction. Categories in `row_order` /
    `column_order` are shown even when empty (zeros reveal no one). `percent` ("column" or
    "row") appends the share of the column or row total to each shown cell: "12 (40.0%)".
    `totals_published`: the margins appear elsewhere too (see `suppression_mask`).
    """
    one_way = columns is None
    col = pd.Series("n", index=data.index) if one_way else data[columns]
    counts = pd.crosstab(data[rows], col)
    if row_order is not None:
        counts = counts.reindex(row_order, fill_value=0)
    if column_order is not None and not one_way:
        counts = counts.reindex(columns=column_order, fill_value=0)
    counts = counts.astype(int)
    count_columns = [c for c in counts.columns]
    if not one_way:
        counts[total] = counts.sum(axis=1)
    counts.loc[total] = counts.sum(axis=0)
    counts.index.name = rows
    counts.columns.name = None
    shown = suppress(
        counts,
        count_columns,
        row_total=None if one_way else total,
        total_row=total,
        threshold=threshold,
        totals_published=totals_published,
    )
    if percent is not None:
        shown = _with_percent(shown, counts, percent, total if not one_way else count_columns[0])
    return shown


def _with_percent(
    shown: pd.DataFrame, counts: pd.DataFrame, along: str, total_column: str
) -> pd.DataFrame:
    """Shown counts as "n (p%)"; suppressed cells stay "[c]"; a suppressed total gives no percent."""
    if along not in ("column", "row"):
        raise ValueError(f"percent must be 'column' or 'row', got {along!r}")
    out = shown.copy().astype(object)
    for idx in counts.index:
        for col in counts.columns:
            if shown.at[idx, col] == SUPPRESSED:
                continue
            base_shown = (
                shown.at[counts.index[-1], col]
                if along == "column"
                else shown.at[idx, total_column]
            )
            base = (
                counts.at[counts.index[-1], col]
                if along == "column"
                else counts.at[idx, total_column]
            )
            if base_shown == SUPPRESSED or base == 0:
                out.at[idx, col] = f"{counts.at[idx, col]:,}"
            else:
                out.at[idx, col] = (
                    f"{counts.at[idx, col]:,} ({100 * counts.at[idx, col] / base:.1f}%)"
                )
    return out


def safe_count(n: int, threshold: int = DEFAULT_THRESHOLD) -> int | str:
    """A single count quoted in text: shown when 0 or at least `threshold`, else "[c]"."""
    n = int(n)
    return n if n == 0 or n >= threshold else SUPPRESSED


def suppress_part_of_whole(
    frame: pd.DataFrame,
    part: str,
    whole: str,
    *,
    total_row: object = None,
    derived: tuple[str, ...] = (),
    threshold: int = 5,
) -> pd.DataFrame:
    """`frame` safe to show: counts `part` of `whole` (children fitting of children starting,
    questionnaires returned of due) where neither the part, nor the rest (whole - part) may
    reveal 1-4 people, directly or by subtraction along rows or down to `total_row`.
    Columns in `derived` (a percentage, a mean) are hidden in every row where a count is."""
    from psp_eval.present import disclosure

    rest = f"_{part}_rest"
    work = frame.copy()
    work[rest] = work[whole] - work[part]
    mask = disclosure.suppression_mask(
        work, [part, rest], row_total=whole, total_row=total_row, threshold=threshold
    )
    shown = frame.copy()
    for column in (part, whole):
        shown[column] = shown[column].astype(object).where(~mask[column], disclosure.SUPPRESSED)
    hidden = mask.any(axis=1)
    for column in derived:
        shown[column] = shown[column].astype(object).where(~hidden, disclosure.SUPPRESSED)
    return shown


def suppress_at_risk(counts: pd.DataFrame, threshold: int = DEFAULT_THRESHOLD) -> pd.DataFrame:
    """Numbers at risk safe to print below a survival curve: one row per group, one column
    per time, in time order; text out ("[c]" hidden, others with thousands separators).

    A number at risk only falls, so the drop between two shown numbers counts the people who
    had the event or left follow-up in between: it too must be 0 or at least `threshold`,
    and a number is hidden when it is small or when its drop from the last shown number of
    its row is (the part-of-whole rule of `suppress_part_of_whole`, along time). The first
    column's total over the groups is published elsewhere (everyone randomised, in the
    CONSORT diagram), so when one group's first number is hidden, all of that column is.
    """
    values = counts.astype(int)
    if (values.diff(axis=1).iloc[:, 1:] > 0).any().any():
        raise ValueError("numbers at risk must not rise over time")
    hidden = pd.DataFrame(False, index=values.index, columns=values.columns)
    first = values.columns[0]
    small_start = (values[first] > 0) & (values[first] < threshold)
    if small_start.any():
        hidden[first] = values[first] > 0
    for group in values.index:
        last_shown = None if hidden.at[group, first] else values.at[group, first]
        for column in values.columns[1:]:
            n = values.at[group, column]
            drop = None if last_shown is None else last_shown - n
            if 0 < n < threshold or (drop is not None and 0 < drop < threshold):
                hidden.at[group, column] = True
            else:
                last_shown = n
    return values.map(lambda n: f"{n:,}").where(~hidden, SUPPRESSED)


# --- counts a figure prints: checked when drawn, recorded for the audit -------------------
PRINTED_COUNTS = "psp_printed_counts"  # the attribute of a matplotlib Figure holding them


class SmallCountError(ValueError):
    """A figure was about to print a count that disclosure control should have hidden."""


def record_printed(
    fig: object, what: str, shown: object, threshold: int = DEFAULT_THRESHOLD
) -> str:
    """Note that `fig` prints `shown` as the count `what` ("at risk, SFFC, 12 months"), and
    return its text; a count of 1 to `threshold - 1` is refused, so a figure that forgot
    suppression fails where it is drawn. `report.outputs` writes the notes beside the figure
    (`<name>.counts.json`) and `psp-eval audit` checks them like table cells."""
    text = shown if isinstance(shown, str) else f"{int(shown):,}"
    digits = text.replace(",", "")
    if digits.isdigit() and 0 < int(digits) < threshold:
        raise SmallCountError(f"a figure would print {what} = {text}: suppress it first")
    if not hasattr(fig, PRINTED_COUNTS):
        setattr(fig, PRINTED_COUNTS, [])
    getattr(fig, PRINTED_COUNTS).append({"what": what, "shown": text})
    return text


def printed_counts(fig: object) -> list[dict[str, str]]:
    """The counts `record_printed` noted for `fig`, in the order it printed them."""
    return list(getattr(fig, PRINTED_COUNTS, []))
