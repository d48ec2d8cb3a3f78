"""Disclosure control: small cells hidden, and no hidden cell recoverable from a total."""

import pandas as pd
import pytest

from psp_eval.present import disclosure
from psp_eval.present.disclosure import (
    SUPPRESSED,
    count_table,
    hide_small_groups,
    safe_count,
    suppress,
    suppression_mask,
)


def test_small_counts_hidden_zeros_and_large_shown():
    frame = pd.DataFrame({"stage": ["a", "b", "c"], "n": [0, 3, 12]})
    shown = suppress(frame, ["n"])
    assert shown["n"].tolist() == [0, SUPPRESSED, 12]


def test_threshold_boundary():
    frame = pd.DataFrame({"n": [4, 5, 1]})
    assert suppress(frame, ["n"])["n"].tolist() == [SUPPRESSED, 5, SUPPRESSED]


def test_secondary_suppression_within_a_row_with_total():
    # sffc 3 would be recovered as total 20 - usual 17: so usual is hidden too.
    frame = pd.DataFrame({"sffc": [3, 10], "usual": [17, 12], "total": [20, 22]})
    shown = suppress(frame, ["sffc", "usual"], row_total="total")
    assert shown.loc[0].tolist() == [SUPPRESSED, SUPPRESSED, 20]
    assert shown.loc[1].tolist() == [10, 12, 22]


def test_secondary_suppression_picks_smallest_other_cell():
    frame = pd.DataFrame({"a": [2], "b": [30], "c": [9], "total": [41]})
    mask = suppression_mask(frame, ["a", "b", "c"], row_total="total")
    assert mask.loc[0].tolist() == [True, False, True, False]


def test_secondary_suppression_in_both_directions_reaches_a_fixed_point():
    # Rows are categories, the last row is their total; columns have a row total too.
    frame = pd.DataFrame(
        {"sffc": [3, 40, 43], "usual": [8, 35, 43], "total": [11, 75, 86]},
        index=["withdrawn", "followed_up", "all"],
    )
    mask = suppression_mask(frame, ["sffc", "usual"], row_total="total", total_row="all")
    # Every additive group hides zero or at least two cells.
    for row in frame.index:
        assert mask.loc[row].sum() in (0, 2, 3)
    for col in frame.columns:
        assert mask[col].sum() in (0, 2, 3)
    assert mask.at["withdrawn", "sffc"]
    # Nothing that was hidden can be worked out: the sffc column hides two cells.
    assert mask["sffc"].sum() >= 2


def test_total_that_is_itself_small_is_hidden():
    frame = pd.DataFrame({"a": [2], "b": [1], "total": [3]})
    shown = suppress(frame, ["a", "b"], row_total="total")
    assert shown.loc[0].tolist() == [SUPPRESSED] * 3


def test_missing_counts_refused():
    with pytest.raises(ValueError, match="missing"):
        suppress(pd.DataFrame({"n": [1.0, None]}), ["n"])


def test_means_of_small_groups_hidden():
    frame = pd.DataFrame({"arm": ["sffc", "usual"], "n": [4, 30], "mean": [12.5, 14.0]})
    shown = hide_small_groups(frame, "n", ["mean"])
    assert shown.loc[0, ["n", "mean"]].tolist() == [SUPPRESSED, SUPPRESSED]
    assert shown.loc[1, ["n", "mean"]].tolist() == [30, 14.0]


def _people(**columns):
    return pd.DataFrame(columns)


def test_one_way_count_table_hides_small_cells_and_a_second_one():
    # b has 3 people: hidden; the total would reveal it, so the next smallest (c, 6) goes too.
    data = _people(source=["a"] * 10 + ["b"] * 3 + ["c"] * 6)
    shown = count_table(data, "source", row_order=["a", "b", "c", "d"])
    assert shown["n"].tolist() == [10, SUPPRESSED, SUPPRESSED, 0, 19]
    assert shown.index.tolist() == ["a", "b", "c", "d", "Total"]


def test_one_way_count_table_without_small_cells_is_unchanged():
    shown = count_table(_people(g=["x"] * 5 + ["y"] * 7), "g")
    assert shown["n"].tolist() == [5, 7, 12]


def test_two_way_count_table_with_margins():
    data = _people(
        band=["low"] * 12 + ["mid"] * 2 + ["high"] * 9 + ["low"] * 8 + ["mid"] * 7 + ["high"] * 10,
        arm=["sffc"] * 23 + ["usual"] * 25,
    )
    shown = count_table(
        data, "band", "arm", row_order=["low", "mid", "high"], column_order=["sffc", "usual"]
    )
    assert shown.columns.tolist() == ["sffc", "usual", "Total"]
    assert shown.at["mid", "sffc"] == SUPPRESSED
    # Whatever else is hidden, no row or column has exactly one hidden cell.
    for idx in shown.index:
        assert (shown.loc[idx] == SUPPRESSED).sum() != 1
    for col in shown.columns:
        assert (shown[col] == SUPPRESSED).sum() != 1
    assert shown.at["Total", "Total"] == 48


def test_count_table_percentages_only_for_shown_cells():
    data = _people(g=["a"] * 10 + ["b"] * 10 + ["c"] * 2 + ["d"] * 3)
    shown = count_table(data, "g", percent="column")
    assert shown["n"].tolist() == [
        "10 (40.0%)",
        "10 (40.0%)",
        SUPPRESSED,
        SUPPRESSED,
        "25 (100.0%)",
    ]
    with pytest.raises(ValueError, match="percent"):
        count_table(data, "g", percent="diagonal")


def test_count_table_row_percentages():
    data = _people(g=["a"] * 20, arm=["sffc"] * 5 + ["usual"] * 15)
    shown = count_table(data, "g", "arm", percent="row")
    assert shown.loc["a"].tolist() == ["5 (25.0%)", "15 (75.0%)", "20 (100.0%)"]


def test_safe_count():
    assert [safe_count(n) for n in (0, 1, 4, 5, 120)] == [0, SUPPRESSED, SUPPRESSED, 5, 120]


def _unrecoverable_with_published_column_totals(mask, total_row="all", row_total="total"):
    """No column (its total known) and no row (with its total) hides exactly one cell."""
    inner_rows = [i for i in mask.index if i != total_row]
    for col in mask.columns:
        assert mask.loc[inner_rows, col].sum() != 1, col
    for idx in inner_rows:
        assert mask.loc[idx].sum() != 1, idx


def test_published_totals_do_not_count_as_protection():
    # Profile blocks print each group's n in the header. Here "not measured" has sffc 1 and
    # not_randomised 9 (every family of that group): hiding the 9 would not help, since the
    # header gives it back; the row total must go instead.
    frame = pd.DataFrame(
        {"sffc": [2, 6, 10, 3, 1], "usual": [3, 9, 5, 3, 0], "nr": [0, 0, 0, 0, 9]},
        index=["minimal", "mild", "moderate", "severe", "not_measured"],
    )
    frame.loc["all"] = frame.sum()
    frame["total"] = frame.sum(axis=1)
    mask = suppression_mask(
        frame, ["sffc", "usual", "nr"], row_total="total", total_row="all", totals_published=True
    )
    _unrecoverable_with_published_column_totals(mask)
    assert mask.at["not_measured", "sffc"] and mask.at["not_measured", "total"]
    assert not mask.at["not_measured", "nr"]
    assert not mask.loc["all"].any()


def test_count_table_with_published_margins():
    data = _people(g=["x"] * 3 + ["y"] * 2 + ["z"] * 40, arm=["a"] * 45)
    data = pd.concat(
        [data, _people(g=["x"] * 30 + ["y"] * 2 + ["z"] * 30, arm=["b"] * 62)], ignore_index=True
    )
    shown = count_table(data, "g", "arm", totals_published=True)
    _unrecoverable_with_published_column_totals(
        shown == SUPPRESSED, total_row="Total", row_total="Total"
    )


def test_numbers_at_risk_hide_small_counts_and_small_drops():
    counts = pd.DataFrame(
        [[40, 38, 30, 12, 3, 0], [40, 31, 29, 20, 9, 0]],
        index=["a", "b"],
        columns=[0, 6, 12, 18, 24, 30],
    )
    shown = disclosure.suppress_at_risk(counts)
    # a: 38 is 2 below 40 (hidden), 30 is 10 below the last shown 40; 3 is small
    assert shown.loc["a"].tolist() == ["40", "[c]", "30", "12", "[c]", "0"]
    # b: 29 is 2 below 31; 20 is 11 below the last shown 31
    assert shown.loc["b"].tolist() == ["40", "31", "[c]", "20", "9", "0"]


def test_numbers_at_risk_at_the_start_protect_the_published_total():
    counts = pd.DataFrame([[37, 30], [3, 0]], index=["a", "b"], columns=[0, 12])
    shown = disclosure.suppress_at_risk(counts)
    assert shown[0].tolist() == ["[c]", "[c]"]  # 40 randomised is published: 37 would give 3
    assert shown[12].tolist() == ["30", "0"]
    with pytest.raises(ValueError, match="must not rise"):
        disclosure.suppress_at_risk(pd.DataFrame([[3, 8]], columns=[0, 1]))
