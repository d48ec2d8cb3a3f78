"""Instrument scoring against hand-worked examples (rules: shared/REFERENCE.md, Instruments).

Every expected score below is worked out by hand in the comment beside it, from the scoring
rules of config/instruments.yaml: SDQ (Goodman 1997; sdqinfo.org), GAD-7 (Spitzer et al. 2006),
MSPSS (Zimet et al. 1988).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from psp_eval.data.scoring import (
    ScoringConfigError,
    ScoringError,
    band,
    load_instruments,
    outcomes_wide,
    score,
)

CONFIG = Path(__file__).resolve().parents[2] / "config" / "instruments.yaml"
NA = np.nan


@pytest.fixture(scope="module")
def instruments() -> dict[str, dict[str, Any]]:
    return load_instruments(CONFIG)


def answers(
    instrument: str,
    responses: dict[int, float],
    family: str = "F1",
    child: str | None = None,
    timepoint: str = "baseline",
) -> pd.DataFrame:
    """Item-level rows of the measures table for one respondent ({item: response})."""
    return pd.DataFrame(
        {
            "family_id": family,
            "child_id": child,
            "instrument": instrument,
            "timepoint": timepoint,
            "item": list(responses),
            "response": list(responses.values()),
            "completed_date": pd.Timestamp("2024-03-01"),
        }
    )


def scales(scored: pd.DataFrame) -> dict[str, float]:
    """{scale: score} for a single respondent."""
    return dict(zip(scored["scale"], scored["score"]))


def row(scored: pd.DataFrame, scale: str) -> pd.Series:
    return scored.set_index("scale").loc[scale]


# An SDQ respondent answering all 25 items. Reverse-scored items (7, 11, 14, 21, 25) count
# 2 - x, so the values used are: 7: 2 -> 0, 11: 2 -> 0, 14: 0 -> 2, 21: 0 -> 2, 25: 0 -> 2.
SDQ_ALL = {
    1: 2, 2: 1, 3: 0, 4: 2, 5: 1, 6: 0, 7: 2, 8: 1, 9: 2, 10: 2, 11: 2, 12: 0, 13: 1,
    14: 0, 15: 2, 16: 2, 17: 1, 18: 0, 19: 1, 20: 2, 21: 0, 22: 1, 23: 0, 24: 1, 25: 0,
}  # fmt: skip
# emotional     3, 8, 13, 16, 24     0 + 1 + 1 + 2 + 1              = 5
# conduct       5, 7r, 12, 18, 22    1 + (2->0) + 0 + 0 + 1         = 2
# hyperactivity 2, 10, 15, 21r, 25r  1 + 2 + 2 + (0->2) + (0->2)    = 9
# peer          6, 11r, 14r, 19, 23  0 + (2->0) + (0->2) + 1 + 0    = 3
# prosocial     1, 4, 9, 17, 20      2 + 2 + 2 + 1 + 2              = 9
# total difficulties = 5 + 2 + 9 + 3 = 19 (prosocial excluded); without reversing it would be
# 5 + 4 + 5 + 3 = 17, so the test catches a missed reversal.
SDQ_ALL_SCORES = {
    "emotional": 5.0, "conduct": 2.0, "hyperactivity": 9.0, "peer": 3.0, "prosocial": 9.0,
    "total_difficulties": 19.0,
}  # fmt: skip
EMOTIONAL = [3, 8, 13, 16, 24]


def test_sdq_all_items_answered(instruments):
    scored = score(answers("sdq", SDQ_ALL, child="C1"), instruments)
    assert list(scored["scale"]) == list(SDQ_ALL_SCORES)
    assert scales(scored) == SDQ_ALL_SCORES
    assert list(scored["n_answered"]) == [5, 5, 5, 5, 5, 20]
    assert list(scored["n_items"]) == [5, 5, 5, 5, 5, 20]
    assert not scored["prorated"].any()
    assert (scored["family_id"] == "F1").all() and (scored["child_id"] == "C1").all()


@pytest.mark.parametrize(
    ("emotional_answers", "expected"),
    [
        # 4 of 5 answered: 2 + 1 + 1 + 1 = 5, mean 1.25, * 5 = 6.25 -> 6
        ([2, 1, 1, 1], 6.0),
        # 2 + 2 + 1 + 1 = 6, mean 1.5, * 5 = 7.5 -> 8 (half away from zero)
        ([2, 2, 1, 1], 8.0),
        # 1 + 1 + 0 + 0 = 2, mean 0.5, * 5 = 2.5 -> 3 (Python's round(2.5) would give 2)
        ([1, 1, 0, 0], 3.0),
        # 3 of 5: 2 + 2 + 1 = 5, mean 1.667, * 5 = 8.33 -> 8
        ([2, 2, 1, NA], 8.0),
    ],
)
def test_sdq_prorates_a_subscale_rounding_half_away_from_zero(
    instruments, emotional_answers, expected
):
    responses = {**SDQ_ALL, **dict(zip(EMOTIONAL, [*emotional_answers, NA]))}
    scored = score(answers("sdq", responses, child="C1"), instruments)
    emotional = row(scored, "emotional")
    assert emotional["score"] == expected
    assert emotional["prorated"]
    assert emotional["n_answered"] == sum(not math.isnan(x) for x in emotional_answers)
    # total difficulties = prorated emotional + 2 + 9 + 3, prorated because an item is missing
    total = row(scored, "total_difficulties")
    assert total["score"] == expected + 14
    assert total["prorated"]
    assert total["n_answered"] == 20 - (5 - emotional["n_answered"])


def test_sdq_subscale_with_two_of_five_answered_is_na_and_so_is_the_total(instruments):
    responses = {**SDQ_ALL, 3: NA, 8: NA, 13: NA}  # emotional: only items 16 and 24 answered
    scored = score(answers("sdq", responses, child="C1"), instruments)
    assert math.isnan(row(scored, "emotional")["score"])
    assert row(scored, "emotional")["n_answered"] == 2
    assert not row(scored, "emotional")["prorated"]
    assert math.isnan(row(scored, "total_difficulties")["score"])
    assert row(scored, "conduct")["score"] == 2.0  # the other subscales are unaffected


def test_sdq_missing_prosocial_does_not_stop_total_difficulties(instruments):
    # Prosocial items have no rows at all: a missing row counts as unanswered.
    responses = {item: x for item, x in SDQ_ALL.items() if item not in (1, 4, 9, 17, 20)}
    scored = score(answers("sdq", responses, child="C1"), instruments)
    assert math.isnan(row(scored, "prosocial")["score"])
    assert row(scored, "prosocial")["n_answered"] == 0
    assert row(scored, "total_difficulties")["score"] == 19.0
    assert not row(scored, "total_difficulties")["prorated"]


@pytest.mark.parametrize(
    ("responses", "expected", "prorated"),
    [
        # all 7 answered: 1 + 2 + 0 + 3 + 1 + 2 + 1 = 10
        ([1, 2, 0, 3, 1, 2, 1], 10.0, False),
        # item 7 missing: 2 + 2 + 1 + 1 + 0 + 1 = 7 over 6, * 7 = 8.17 -> 8
        ([2, 2, 1, 1, 0, 1, NA], 8.0, True),
        # item 1 missing: 3 + 2 + 1 + 1 + 1 + 1 = 9 over 6, * 7 = 10.5 -> 11 (round() gives 10)
        ([NA, 3, 2, 1, 1, 1, 1], 11.0, True),
        # two missing: fewer than min_answered 6 -> NA
        ([3, 3, 3, 3, 3, NA, NA], NA, False),
    ],
)
def test_gad7_total(instruments, responses, expected, prorated):
    scored = score(answers("gad7", dict(zip(range(1, 8), responses))), instruments)
    assert list(scored["scale"]) == ["total"]
    total = scored.iloc[0]
    assert total["score"] == expected or (math.isnan(expected) and math.isnan(total["score"]))
    assert total["prorated"] == prorated
    assert total["n_items"] == 7
    assert pd.isna(total["child_id"])


@pytest.mark.parametrize(
    ("value", "label"),
    [(0, "minimal"), (4, "minimal"), (5, "mild"), (9, "mild"), (10, "moderate"),
     (14, "moderate"), (15, "severe"), (21, "severe")],
)  # fmt: skip
def test_gad7_severity_bands(instruments, value, label):
    # Spitzer et al. (2006): cut-offs 5 / 10 / 15 for mild / moderate / severe
    assert band(pd.Series([value]), instruments["gad7"]).iloc[0] == label


def test_bands_are_ordered_categories_keeping_na_and_index(instruments):
    # SDQ parent bands (Goodman 1997): 0-13 normal, 14-16 borderline, 17-40 abnormal
    scores = pd.Series([13, 14, 16, 17, NA, 40, 13.5], index=list("abcdefg"))
    labels = band(scores, instruments["sdq"])
    assert list(labels.cat.categories) == ["normal", "borderline", "abnormal"]
    assert labels.cat.ordered
    assert list(labels.index) == list("abcdefg")
    # 13.5 (an unrounded prorated score) is below the next cut-off, 14, so it stays normal
    assert labels.astype(object).where(labels.notna(), None).tolist() == [
        "normal", "borderline", "borderline", "abnormal", None, "abnormal", "normal",
    ]  # fmt: skip


def test_band_order_comes_from_the_bounds_not_the_yaml_order(instruments):
    gad7 = {**instruments["gad7"], "bands": dict(reversed(instruments["gad7"]["bands"].items()))}
    labels = band(pd.Series([4, 5]), gad7)
    assert list(labels.cat.categories) == ["minimal", "mild", "moderate", "severe"]
    assert list(labels) == ["minimal", "mild"]


def test_band_rejects_scores_outside_the_range_and_instruments_without_bands(instruments):
    with pytest.raises(ScoringError, match="22 is outside the banded range 0..21"):
        band(pd.Series([3, 22]), instruments["gad7"])
    with pytest.raises(ScoringConfigError, match="no `bands`"):
        band(pd.Series([3.0]), instruments["mspss"])


# An MSPSS respondent with item 8 (family) missing. Subscales, mean of answered items:
# significant other 1, 2, 5, 10:  7 + 6 + 7 + 6 = 26 / 4 = 6.5
# family 3, 4, 8, 11:             5 + 4 + 7 = 16 / 3 = 5.333 (3 of 4 answered: prorated)
# friends 6, 7, 9, 12:            3 + 4 + 5 + 2 = 14 / 4 = 3.5
# total: mean of the 11 answered items = (26 + 16 + 14) / 11 = 56 / 11 = 5.0909, which is not
# the mean of the subscale means (5.111).
MSPSS_ONE_MISSING = {1: 7, 2: 6, 3: 5, 4: 4, 5: 7, 6: 3, 7: 4, 8: NA, 9: 5, 10: 6, 11: 7, 12: 2}


def test_mspss_means_with_one_missing_item(instruments):
    scored = score(answers("mspss", MSPSS_ONE_MISSING), instruments)
    assert list(scored["scale"]) == ["significant_other", "family", "friends", "total"]
    assert scales(scored) == pytest.approx(
        {"significant_other": 6.5, "family": 16 / 3, "friends": 3.5, "total": 56 / 11}
    )
    assert list(scored["prorated"]) == [False, True, False, True]
    assert list(scored["n_answered"]) == [4, 3, 4, 11]


def test_mspss_minimum_answers_for_subscale_and_total(instruments):
    # family: items 3 and 8 missing -> 2 of 4 < 3 -> NA; total still has 10 of 12 >= 9:
    # (7 + 6 + 4 + 7 + 3 + 4 + 5 + 6 + 7 + 2) / 10 = 51 / 10 = 5.1
    scored = score(answers("mspss", {**MSPSS_ONE_MISSING, 3: NA}), instruments)
    assert math.isnan(row(scored, "family")["score"])
    assert row(scored, "total")["score"] == pytest.approx(5.1)
    # two more missing (items 1 and 6) leave 8 of 12 < 9 -> total NA
    scored = score(answers("mspss", {**MSPSS_ONE_MISSING, 3: NA, 1: NA, 6: NA}), instruments)
    assert math.isnan(row(scored, "total")["score"])


def test_score_keeps_respondents_and_timepoints_apart(instruments):
    measures = pd.concat(
        [
            answers("sdq", SDQ_ALL, family="F1", child="C1", timepoint="baseline"),
            answers("sdq", {**SDQ_ALL, 3: 2}, family="F1", child="C1", timepoint="week8"),
            answers("gad7", dict(zip(range(1, 8), [1] * 7)), family="F2"),
        ],
        ignore_index=True,
    )
    scored = score(measures.sample(frac=1, random_state=1), instruments)  # order must not matter
    totals = scored[scored["scale"].isin(["total_difficulties", "total"])]
    assert totals[["family_id", "timepoint", "score"]].values.tolist() == [
        ["F1", "baseline", 19.0],
        ["F1", "week8", 21.0],  # item 3 (emotional) 0 -> 2
        ["F2", "baseline", 7.0],
    ]


def test_score_orders_categorical_keys_by_value_as_for_text(instruments):
    # `psp-eval score` reads the keys as Parquet stores them, as dictionaries whose categories
    # are in order of appearance; respondents must still come in the order of the values
    measures = pd.concat(
        [
            answers("gad7", dict(zip(range(1, 8), [2] * 7)), family="F9", timepoint="week8"),
            answers("sdq", SDQ_ALL, family="F10", child="F10-C1"),
            answers("gad7", dict(zip(range(1, 8), [1] * 7)), family="F10"),
            answers("gad7", dict(zip(range(1, 8), [0] * 7)), family="F9"),
        ],
        ignore_index=True,
    )
    keys = ["family_id", "child_id", "instrument", "timepoint"]
    as_text = score(measures.astype({key: "string" for key in keys}), instruments)
    in_appearance = measures.assign(
        **{key: pd.Categorical(measures[key], pd.unique(measures[key].dropna())) for key in keys}
    )
    assert list(in_appearance["family_id"].cat.categories) == ["F9", "F10"]
    as_categories = score(in_appearance, instruments)
    pd.testing.assert_frame_equal(
        as_categories.astype({key: "string" for key in keys}), as_text, check_dtype=False
    )
    totals = as_text[as_text["scale"].isin(["total", "total_difficulties"])]
    assert totals[["family_id", "instrument", "timepoint", "score"]].values.tolist() == [
        ["F10", "sdq", "baseline", 19.0],  # a child's row before the family's (NA child last)
        ["F10", "gad7", "baseline", 7.0],
        ["F9", "gad7", "baseline", 0.0],
        ["F9", "gad7", "week8", 14.0],
    ]


def test_score_accepts_nullable_dtypes(instruments):
    # as a cleaner may write them: string ids with <NA> child, Int64 items, Float64 responses
    measures = answers("gad7", dict(zip(range(1, 8), [1, 1, 1, 1, 1, NA, 1]))).astype(
        {"family_id": "string", "child_id": "string", "item": "Int64", "response": "Float64"}
    )
    scored = score(measures, instruments)
    assert scored["score"].tolist() == [7.0]  # 6 over 6 answered, * 7 = 7
    assert pd.isna(scored["child_id"].iloc[0])


def test_empty_measures_give_empty_scores(instruments):
    scored = score(answers("gad7", {}), instruments)
    assert scored.empty
    assert list(scored.columns) == [
        "family_id", "child_id", "instrument", "timepoint", "scale", "score", "n_answered",
        "n_items", "prorated",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("measures", "message"),
    [
        (answers("sdq", {**SDQ_ALL, 5: 3}, child="C1"), r"sdq item 5, response 3: .*0 to 2"),
        (answers("mspss", {**MSPSS_ONE_MISSING, 2: 0}), r"mspss item 2, response 0: .*1 to 7"),
        (answers("gad7", {1: 1.5}), r"gad7 item 1, response 1.5: is not a whole number"),
        (answers("gad7", {8: 1}), r"gad7 item 8, response 1: is not an item .*1..7"),
        (answers("phq9", {1: 1}), r"instruments \['phq9'\]"),
        (answers("gad7", {1: 1}).pipe(lambda m: pd.concat([m, m])), r"gad7 item 1.*more than once"),
    ],
    ids=["sdq-out-of-range", "mspss-out-of-range", "not-whole", "unknown-item",
         "unknown-instrument", "duplicate"],
)  # fmt: skip
def test_bad_responses_are_never_scored(instruments, measures, message):
    with pytest.raises(ScoringError, match=message):
        score(measures, instruments)


def _broken(spec: dict[str, Any], instrument: str, key: str, value: Any) -> dict[str, Any]:
    """Set a dotted key of one instrument; value None deletes the key."""
    *parents, last = key.split(".")
    target = spec[instrument]
    for part in parents:
        target = target[part]
    if value is None:
        del target[last]
    else:
        target[last] = value
    return spec


@pytest.mark.parametrize(
    ("instrument", "key", "value", "message"),
    [
        ("sdq", "subscales.emotional", [3, 8, 13, 16, 26], r"'subscales.emotional'.*\[26\]"),
        ("gad7", "combine", None, r"'combine': is required"),
        ("gad7", "combine", "median", r"'combine'"),
        ("mspss", "min_answerd", 3, r"'min_answerd': is not a known key"),
        ("sdq", "reverse", [7, 0], r"'reverse.1'"),
        ("sdq", "total.subscales", ["emotional", "conduckt"], r"'total.subscales'.*conduckt"),
        ("sdq", "total.items", [1, 2], r"'total': give exactly one"),
        ("mspss", "total.min_answered", 13, r"'total.min_answered'"),
        ("sdq", "min_answered", 6, r"'min_answered': 6 exceeds"),
        ("gad7", "range", [0, 27], r"'range'.*\[0, 21\]"),
        ("gad7", "bands.mild", [4, 9], r"'bands.mild': starts at 4, before 'minimal' ends"),
        ("sdq", "bands.abnormal", [17, 39], r"'bands': cover 0..39"),
        ("sdq", "response_max", 0, r"'response_max'"),
    ],
)
def test_bad_config_names_instrument_and_key(tmp_path, instrument, key, value, message):
    spec = _broken(yaml.safe_load(CONFIG.read_text())["instruments"], instrument, key, value)
    path = tmp_path / "instruments.yaml"
    path.write_text(yaml.safe_dump({"instruments": spec}, sort_keys=False))
    with pytest.raises(ScoringConfigError, match=rf"instrument '{instrument}', key {message}"):
        load_instruments(path)


def test_unparseable_config(tmp_path):
    path = tmp_path / "instruments.yaml"
    path.write_text("sdq: [unclosed\n")
    with pytest.raises(ScoringConfigError, match="not valid YAML"):
        load_instruments(path)


def test_score_checks_a_config_built_in_code(instruments):
    with pytest.raises(ScoringConfigError, match="instrument 'gad7', key 'items'"):
        score(answers("gad7", {1: 1}), {"gad7": {**instruments["gad7"], "items": "seven"}})


def test_outcomes_wide_has_one_row_per_family(instruments):
    measures = pd.concat(
        [
            answers("sdq", SDQ_ALL, family="F1", child="C1"),  # 19
            answers("sdq", {**SDQ_ALL, 24: NA}, family="F1", child="C1", timepoint="week8"),
            # week8 emotional 0 + 1 + 1 + 2 = 4 over 4, * 5 = 5 -> total still 19
            answers("gad7", dict(zip(range(1, 8), [1, 2, 0, 3, 1, 2, 1])), family="F1"),  # 10
            answers("mspss", MSPSS_ONE_MISSING, family="F1"),  # 56 / 11
            answers("gad7", dict(zip(range(1, 8), [3] * 5 + [NA] * 2)), family="F2"),  # NA
            answers("gad7", dict(zip(range(1, 8), [0] * 7)), family="F2", timepoint="week8"),
        ],
        ignore_index=True,
    )
    wide = outcomes_wide(score(measures, instruments), instruments)
    assert list(wide.columns) == [
        "family_id",
        "sdq_total_difficulties_baseline", "sdq_total_difficulties_week8",
        "gad7_total_baseline", "gad7_total_week8",
        "mspss_total_baseline", "mspss_total_week8",
    ]  # fmt: skip
    assert list(wide["family_id"]) == ["F1", "F2"]
    f1, f2 = wide.set_index("family_id").to_dict("index").values()
    assert f1 == pytest.approx(
        {
            "sdq_total_difficulties_baseline": 19.0, "sdq_total_difficulties_week8": 19.0,
            "gad7_total_baseline": 10.0, "gad7_total_week8": NA,
            "mspss_total_baseline": 56 / 11, "mspss_total_week8": NA,
        },
        nan_ok=True,
    )  # fmt: skip
    assert math.isnan(f2["gad7_total_baseline"]) and f2["gad7_total_week8"] == 0.0
    assert math.isnan(f2["sdq_total_difficulties_baseline"])


def test_outcomes_wide_needs_one_rated_child_per_family(instruments):
    measures = pd.concat(
        [answers("sdq", SDQ_ALL, child="C1"), answers("sdq", SDQ_ALL, child="C2")],
        ignore_index=True,
    )
    with pytest.raises(ScoringError, match="sdq rates more than one child of family F1"):
        outcomes_wide(score(measures, instruments), instruments)
