"""Disclosure control: small cells hidden, and no hidden cell recoverable from a total."""

import pandas as pd
import pytest

from psp_eval.disclosure import SUPPRESSED, hide_small_groups, suppress, suppression_mask


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
