"""Score questionnaire instruments (SDQ, GAD-7, MSPSS, ...) from item-level responses.

Instruments are data, not code: `config/instruments.yaml` gives each one's items, response
range, reverse-scored items, subscales, total, how items combine and when a scale with missing
items may still be scored. `load_instruments` reads and checks that file; `score` turns the long
`measures` table into one row per respondent, timepoint and scale; `outcomes_wide` gives the
analysis one row per family; `band` labels scores with the configured bands.

The same rules apply to every instrument:

1. A reverse-scored item is flipped to response_min + response_max - x before anything else.
2. A scale with at least `min_answered` items answered gets a score; with fewer, NA.
   combine=sum: the plain sum when every item is answered, otherwise mean(answered) * n_items
   (prorated), rounded half away from zero when `round_prorated` is true. This matches SPSS RND
   in the SDQ syntax; Python's round() rounds half to even, so 2.5 would become 2 instead of 3.
   combine=mean: the mean of the answered items, not rounded.
3. A total made of subscales is their sum, NA unless every one of them has a score. A total made
   of items is scored like a subscale, with its own `min_answered` when it sets one.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pandas as pd

from psp_eval.data.contract import TIMEPOINTS
from psp_eval.errors import PspEvalError

Instruments = Mapping[str, Mapping[str, Any]]

RESPONDENT = ["family_id", "child_id", "instrument", "timepoint"]
MEASURE_COLUMNS = [*RESPONDENT, "item", "response"]
SCORE_COLUMNS = [*RESPONDENT, "scale", "score", "n_answered", "n_items", "prorated"]

# Instrument and scale names become column names (sdq_total_difficulties_week8).
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_ITEMS = {
    "type": "array",
    "items": {"type": "integer", "minimum": 1},
    "minItems": 1,
    "uniqueItems": True,
}
_BOUNDS = {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2}
# The structure of one instrument. Cross-field rules (items within 1..items, a total made of
# either subscales or items, range and bands that fit the scale) are in _semantic_problems.
INSTRUMENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": [
        "rates",
        "items",
        "response_min",
        "response_max",
        "reverse",
        "combine",
        "min_answered",
        "subscales",
        "total",
        "range",
        "direction",
    ],
    "properties": {
        "name": {"type": "string"},
        "source": {"type": "string"},
        "rates": {"enum": ["child", "parent"]},
        "items": {"type": "integer", "minimum": 1},
        "response_min": {"type": "number"},
        "response_max": {"type": "number"},
        "reverse": {**_ITEMS, "minItems": 0},
        "combine": {"enum": ["sum", "mean"]},
        "min_answered": {"type": "integer", "minimum": 1},
        "round_prorated": {"type": "boolean"},
        "subscales": {
            "type": "object",
            "propertyNames": {"pattern": _NAME.pattern},
            "additionalProperties": _ITEMS,
        },
        "total": {
            "type": "object",
            "additionalProperties": False,
            "required": ["name"],
            "properties": {
                "name": {"type": "string", "pattern": _NAME.pattern},
                "subscales": {
                    "type": "array",
                    "items": {"type": "string"},
                    "minItems": 1,
                    "uniqueItems": True,
                },
                "items": _ITEMS,
                "min_answered": {"type": "integer", "minimum": 1},
            },
        },
        "range": _BOUNDS,
        "direction": {"enum": ["higher_worse", "higher_better"]},
        "bands": {
            "type": "object",
            "minProperties": 1,
            "propertyNames": {"pattern": _NAME.pattern},
            "additionalProperties": _BOUNDS,
        },
    },
}


class ScoringConfigError(PspEvalError, ValueError):
    """The instruments config is malformed; the message names the instrument and the key."""


class ScoringError(PspEvalError, ValueError):
    """The responses cannot be scored as configured (unknown instrument or item, bad response)."""


def load_instruments(path: str | Path) -> dict[str, dict[str, Any]]:
    """The instruments of a config file (config/instruments.yaml) or of the settings the
    pipeline wrote (both hold them under `instruments`), checked, so that a typo fails here,
    not as a wrong score."""
    from psp_eval.engine.settings import ConfigError, load_yaml

    try:
        config = load_yaml(path, "instruments")
    except ConfigError as exc:
        raise ScoringConfigError(str(exc)) from None
    check_instruments(config, source=str(path))
    return config


def check_instruments(instruments: Any, source: str = "instruments config") -> None:
    """Raise ScoringConfigError, naming the instrument and key, unless the config is well formed.

    `score` calls it too, so a config built in code gets the same checks as the file.
    """
    if not isinstance(instruments, Mapping) or not instruments:
        raise ScoringConfigError(f"{source}: expected a mapping of instrument name to definition")
    validator = jsonschema.Draft202012Validator(INSTRUMENT_SCHEMA)
    for name, spec in instruments.items():
        if not isinstance(name, str) or not _NAME.match(name):
            raise ScoringConfigError(
                f"{source}: instrument {name!r}: name must be lower-case letters, digits and _"
            )
        error = jsonschema.exceptions.best_match(validator.iter_errors(spec))
        if error is not None:
            key, problem = _describe_schema_error(error)
            raise ScoringConfigError(f"{source}: instrument {name!r}, key {key!r}: {problem}")
        for key, problem in _semantic_problems(spec):
            raise ScoringConfigError(f"{source}: instrument {name!r}, key {key!r}: {problem}")


def _describe_schema_error(error: jsonschema.ValidationError) -> tuple[str, str]:
    """Turn a jsonschema error into (dotted key, problem), naming a missing or unknown key."""
    path = [str(part) for part in error.absolute_path]
    if error.validator == "required":
        missing = [key for key in error.validator_value if key not in error.instance]
        return ".".join([*path, missing[0]]), "is required but missing"
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = error.schema.get("properties", {})
        unknown = sorted(str(key) for key in error.instance if key not in known)
        return ".".join([*path, unknown[0]]), f"is not a known key (known: {', '.join(known)})"
    return ".".join(path) or "(instrument)", error.message


def _semantic_problems(spec: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """Yield (key, problem) for rules a JSON schema cannot express, once the schema has passed."""
    n_items, low, high = spec["items"], spec["response_min"], spec["response_max"]
    subscales, total = spec["subscales"], spec["total"]
    if low >= high:
        yield "response_max", f"{high} is not above response_min {low}"
    item_lists = {"reverse": spec["reverse"], **{f"subscales.{s}": i for s, i in subscales.items()}}
    if "items" in total:
        item_lists["total.items"] = total["items"]
    for key, items in item_lists.items():
        outside = [item for item in items if item > n_items]
        if outside:
            yield key, f"items {outside} are outside 1..{n_items}"
    for subscale, items in subscales.items():
        if spec["min_answered"] > len(items):
            yield (
                "min_answered",
                (
                    f"{spec['min_answered']} exceeds the {len(items)} items of subscale "
                    f"{subscale!r}, which could then never be scored"
                ),
            )
    if ("subscales" in total) == ("items" in total):
        yield "total", "give exactly one of `subscales` (sum of subscales) or `items`"
        return
    if total["name"] in subscales:
        yield "total.name", f"{total['name']!r} is also a subscale name"
    if "subscales" in total:
        unknown = [s for s in total["subscales"] if s not in subscales]
        if unknown:
            yield "total.subscales", f"{unknown} are not subscales of this instrument"
            return
        if "min_answered" in total:
            yield "total.min_answered", "applies only to a total made of items"
        parts = [len(subscales[s]) for s in total["subscales"]]
    else:
        need = total.get("min_answered", spec["min_answered"])
        if need > len(total["items"]):
            yield "total.min_answered", f"{need} exceeds the total's {len(total['items'])} items"
        parts = [len(total["items"])]
    # Each part runs low..high when items are averaged, n * low..n * high when summed.
    width = sum(parts) if spec["combine"] == "sum" else len(parts)
    possible = [width * low, width * high]
    if list(spec["range"]) != possible:
        yield "range", f"{spec['range']} differs from the total's possible range {possible}"
    bands = _sorted_bands(spec)
    for label, (band_low, band_high) in bands:
        if band_low > band_high:
            yield f"bands.{label}", f"lower bound {band_low} is above upper bound {band_high}"
    for (previous, (_, previous_high)), (label, (band_low, _)) in itertools.pairwise(bands):
        if band_low <= previous_high:
            problem = f"starts at {band_low}, before {previous!r} ends at {previous_high}"
            yield f"bands.{label}", problem
    if bands and [bands[0][1][0], bands[-1][1][1]] != list(spec["range"]):
        yield "bands", f"cover {bands[0][1][0]}..{bands[-1][1][1]}, not the range {spec['range']}"


def _sorted_bands(spec: Mapping[str, Any]) -> list[tuple[str, list[float]]]:
    """The instrument's bands as (label, [low, high]), lowest first whatever the YAML order."""
    return sorted(spec.get("bands", {}).items(), key=lambda band: band[1][0])


def score(measures: pd.DataFrame, instruments: Instruments) -> pd.DataFrame:
    """Score every subscale and total of every respondent and timepoint in `measures`.

    Returns one row per (family_id, child_id, instrument, timepoint, scale), respondents in the
    sorted order of those keys, subscales in config order then the total, with score (NA when
    too few items were answered), n_answered, n_items and prorated (the score used fewer than
    all the scale's items). Items without a row count as unanswered. Raises ScoringError on an
    unknown instrument or item, a response that is not a whole number within the instrument's
    range, or an item given twice.

    It counts on integer codes with numpy rather than merging the long table: at 50,000
    families `measures` has 3 million rows, and merges copying them held 1.3 GB.
    """
    check_instruments(instruments)
    missing = [column for column in MEASURE_COLUMNS if column not in measures.columns]
    if missing:
        raise ScoringError(f"measures lacks columns {missing}")
    measures = measures[MEASURE_COLUMNS].reset_index(drop=True)
    if measures.empty:
        return _empty_scores()
    unknown = sorted(set(measures["instrument"].unique()) - set(instruments))
    if unknown:
        raise ScoringError(f"measures has instruments {unknown} that the config does not define")
    names, instrument = _sorted_codes(measures["instrument"])
    respondent, first_row = _respondents(measures, instrument)
    scales = _Scales({name: instruments[name] for name in names})
    item = pd.to_numeric(measures["item"]).to_numpy(dtype="float64", na_value=np.nan)
    duplicated = _duplicated(respondent, item)
    if duplicated.any():
        _raise_for_rows(measures[duplicated], "is given more than once for the same respondent")
    value, position = _item_values(measures, instrument, item, scales)

    # items answered, and their sum, per respondent and scale (by its place in the instrument)
    n_respondents = len(first_row)
    answered = ~np.isnan(value)
    n_answered = np.zeros((n_respondents, scales.most), dtype="int64")
    item_sum = np.zeros((n_respondents, scales.most), dtype="float64")
    for place in range(scales.most):
        counted = answered & scales.member[position, place]
        who = respondent[counted]
        n_answered[:, place] = np.bincount(who, minlength=n_respondents)
        item_sum[:, place] = np.bincount(who, weights=value[counted], minlength=n_respondents)

    # the grid: each respondent's instrument's scales, in config order
    per_respondent = scales.count[instrument[first_row]]
    grid_respondent = np.repeat(np.arange(n_respondents), per_respondent)
    first_of_respondent = np.cumsum(per_respondent) - per_respondent
    place = np.arange(len(grid_respondent)) - np.repeat(first_of_respondent, per_respondent)
    scale = scales.offset[instrument[first_row]][grid_respondent] + place
    grid = pd.DataFrame(
        {
            "n_answered": n_answered[grid_respondent, place],
            "item_sum": item_sum[grid_respondent, place],
            **{rule: values[scale] for rule, values in scales.rules.items()},
        }
    )
    scored = _sum_subscales(_combine_items(grid).to_numpy(), grid_respondent, place, scale, scales)
    rows = first_row[grid_respondent]
    keys = [column for column in RESPONDENT if column != "instrument"]
    result = pd.DataFrame({column: measures[column].take(rows) for column in keys})
    result = result.reset_index(drop=True)
    result["instrument"] = scales.instrument[scale]  # as the config names it, plain text
    result["scale"] = scales.name[scale]
    result["score"] = scored
    result["n_answered"] = grid["n_answered"]
    result["n_items"] = grid["n_items"]
    result["prorated"] = result["score"].notna() & (result["n_answered"] < result["n_items"])
    return result[SCORE_COLUMNS]


def _empty_scores() -> pd.DataFrame:
    """The result of scoring no responses, with the usual columns and types."""
    types = {"score": "float64", "n_answered": "int64", "n_items": "int64", "prorated": "bool"}
    return pd.DataFrame({c: pd.Series(dtype=types.get(c, "object")) for c in SCORE_COLUMNS})


def _sorted_codes(values: pd.Series) -> tuple[list, np.ndarray]:
    """The distinct values in sorted order, and each row's place among them (NA after all of
    them), as groupby orders its keys (a categorical's by value, not by its categories' order)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        values = values.cat.set_categories(sorted(values.cat.categories))
    codes, uniques = pd.factorize(values, sort=True)
    codes = codes.astype("int64")
    codes[codes < 0] = len(uniques)
    return list(uniques), codes


def _respondents(measures: pd.DataFrame, instrument: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's respondent (family, child, instrument and timepoint), numbered in the sorted
    order of those keys, and each respondent's first row (`instrument`: its codes, made once)."""
    key = np.zeros(len(measures), dtype="int64")
    for column in RESPONDENT:
        codes = instrument if column == "instrument" else _sorted_codes(measures[column])[1]
        # dense codes again after each column, so the next product stays within int64
        key = pd.factorize(key * (codes.max() + 1) + codes, sort=True)[0]
    _, first_row, respondent = np.unique(key, return_index=True, return_inverse=True)
    return respondent.reshape(-1), first_row


def _duplicated(respondent: np.ndarray, item: np.ndarray) -> np.ndarray:
    """Rows whose respondent gives the same item (NA counting as one item) more than once."""
    item_code = pd.factorize(item, use_na_sentinel=False)[0]
    key = respondent * (item_code.max() + 1) + item_code
    return pd.Series(key).duplicated(keep=False).to_numpy()


class _Scales:
    """The config of the instruments in `measures` flattened into arrays, indexed by an
    instrument's code (its place in `instruments`), by a scale's global number (`offset` of its
    instrument + its place there) or by an item's `position` (`item_offset` + item - 1).

    A total made of subscales counts the union of their items (for n_answered and n_items) and
    is scored from their scores (`parts`, places within the instrument)."""

    def __init__(self, instruments: Instruments) -> None:
        specs = list(instruments.values())
        scale_items = [
            {**spec["subscales"], spec["total"]["name"]: _total_items(spec)} for spec in specs
        ]
        self.count = np.array([len(scales) for scales in scale_items])
        self.offset = np.cumsum(self.count) - self.count
        self.most = int(self.count.max())
        self.n_items = np.array([spec["items"] for spec in specs])
        self.item_offset = np.cumsum(self.n_items) - self.n_items
        self.low = np.array([spec["response_min"] for spec in specs], dtype="float64")
        self.high = np.array([spec["response_max"] for spec in specs], dtype="float64")
        self.reverse = np.zeros(self.n_items.sum(), dtype=bool)
        self.member = np.zeros((self.n_items.sum(), self.most), dtype=bool)
        rules, self.parts = [], {}
        for code, (name, spec) in enumerate(instruments.items()):
            self.reverse[self.item_offset[code] + np.array(spec["reverse"], dtype=int) - 1] = True
            total = spec["total"]
            for place, (scale, items) in enumerate(scale_items[code].items()):
                self.member[self.item_offset[code] + np.array(items) - 1, place] = True
                is_total = scale == total["name"]
                # A total made of items may set its own minimum (MSPSS: 9 of 12).
                need = total.get("min_answered", spec["min_answered"]) if is_total else None
                rules.append(
                    {
                        "instrument": name,
                        "scale": scale,
                        "n_items": len(items),
                        "min_answered": spec["min_answered"] if need is None else need,
                        "combine": spec["combine"],
                        "round_prorated": spec.get("round_prorated", False),
                    }
                )
                if is_total and "subscales" in total:
                    places = list(spec["subscales"])
                    parts = [places.index(part) for part in total["subscales"]]
                    self.parts[self.offset[code] + place] = parts
        table = pd.DataFrame(rules)
        self.instrument = table.pop("instrument").to_numpy(dtype=object)
        self.name = table.pop("scale").to_numpy(dtype=object)
        self.rules = {rule: table[rule].to_numpy() for rule in table.columns}


def _total_items(spec: Mapping[str, Any]) -> list[int]:
    """The items of an instrument's total: its own, or those of the subscales it sums."""
    total = spec["total"]
    if "subscales" in total:
        return sorted({item for part in total["subscales"] for item in spec["subscales"][part]})
    return total["items"]


def _item_values(
    measures: pd.DataFrame, instrument: np.ndarray, item: np.ndarray, scales: _Scales
) -> tuple[np.ndarray, np.ndarray]:
    """Check every response against its instrument and return them reverse-scored (NA when
    unanswered), with each row's item `position` in `scales`. Nothing unknown or out of range
    may reach a score, even though the validator upstream should have caught it."""
    n_items = scales.n_items[instrument]
    not_an_item = ~((item >= 1) & (item <= n_items) & (item % 1 == 0))
    if not_an_item.any():
        first = np.flatnonzero(not_an_item)[0]
        items = f"items 1..{n_items[first]}"
        _raise_for_rows(measures[not_an_item], f"is not an item of the instrument ({items})")
    response = pd.to_numeric(measures["response"]).to_numpy(dtype="float64", na_value=np.nan)
    low, high = scales.low[instrument], scales.high[instrument]
    bad = ~np.isnan(response) & ((response < low) | (response > high) | (response % 1 != 0))
    if bad.any():
        first = np.flatnonzero(bad)[0]
        problem = f"is not a whole number from {low[first]:g} to {high[first]:g}"
        _raise_for_rows(measures[bad], problem)
    position = scales.item_offset[instrument] + item.astype("int64") - 1
    return np.where(scales.reverse[position], low + high - response, response), position


def _raise_for_rows(rows: pd.DataFrame, problem: str) -> None:
    """Raise ScoringError about the first offending row, saying how many rows share a problem."""
    first = rows.iloc[0]
    where = f"family {first['family_id']}, timepoint {first['timepoint']}"
    if pd.notna(first["child_id"]):
        where += f", child {first['child_id']}"
    response = "unanswered" if pd.isna(first["response"]) else f"{first['response']:g}"
    more = f"; {len(rows) - 1} more rows like it" if len(rows) > 1 else ""
    raise ScoringError(
        f"{first['instrument']} item {first['item']}, response {response}: "
        f"{problem} ({where}){more}"
    )


def _combine_items(grid: pd.DataFrame) -> pd.Series:
    """Score each scale from its answered items: sum (prorated if need be) or mean."""
    n_answered = grid["n_answered"].where(grid["n_answered"] > 0)
    mean = grid["item_sum"] / n_answered
    # item_sum * n_items is a whole number, so an exact .5 stays exact after the division.
    prorated = grid["item_sum"] * grid["n_items"] / n_answered
    prorated = prorated.where(~grid["round_prorated"], _round_half_away(prorated))
    summed = grid["item_sum"].where(grid["n_answered"] == grid["n_items"], prorated)
    scored = summed.where(grid["combine"] == "sum", mean)
    return scored.where(grid["n_answered"] >= grid["min_answered"])


def _round_half_away(values: pd.Series) -> pd.Series:
    """Round to whole numbers with halves away from zero (SPSS RND), unlike Python's round()."""
    return np.sign(values) * np.floor(np.abs(values) + 0.5)


def _sum_subscales(
    scored: np.ndarray,
    respondent: np.ndarray,
    place: np.ndarray,
    scale: np.ndarray,
    scales: _Scales,
) -> np.ndarray:
    """Score totals made of subscales as their sum, NA unless every subscale has a score."""
    by_place = np.full((respondent.max() + 1, scales.most), np.nan)
    by_place[respondent, place] = scored
    scored = scored.copy()
    for total, parts in scales.parts.items():
        rows = np.flatnonzero(scale == total)
        of = respondent[rows]
        summed = by_place[of, parts[0]]
        for part in parts[1:]:
            summed = summed + by_place[of, part]  # NaN unless every part is scored
        scored[rows] = summed
    return scored


def outcomes_wide(scores: pd.DataFrame, instruments: Instruments) -> pd.DataFrame:
    """One row per family with each instrument's total at each timepoint, for the analysis.

    Columns: family_id, then f"{instrument}_{total name}_{timepoint}" for every configured
    instrument and every timepoint of the contract (plus any other timepoint in `scores`), NA
    where not scored. A child instrument must rate one child per family; families are those
    present in `scores`, so merge onto the randomised families to keep the ones with no scores.
    """
    total_names = {name: spec["total"]["name"] for name, spec in instruments.items()}
    unknown = sorted(set(scores["instrument"]) - set(total_names))
    if unknown:
        raise ScoringError(f"scores has instruments {unknown} that the config does not define")
    totals = scores[scores["scale"] == scores["instrument"].map(total_names)].copy()
    child_rated = [name for name, spec in instruments.items() if spec["rates"] == "child"]
    children = (
        totals[totals["instrument"].isin(child_rated)]
        .groupby(["family_id", "instrument"])["child_id"]
        .nunique()
    )
    if (children > 1).any():
        family, instrument = children[children > 1].index[0]
        raise ScoringError(
            f"{instrument} rates more than one child of family {family}; "
            "keep the index child's responses only"
        )
    totals["column"] = totals["instrument"] + "_" + totals["scale"] + "_" + totals["timepoint"]
    repeated = totals.duplicated(["family_id", "column"])
    if repeated.any():
        first = totals[repeated].iloc[0]
        raise ScoringError(f"family {first['family_id']} has more than one {first['column']}")
    extra = sorted(set(totals["timepoint"]) - set(TIMEPOINTS))
    columns = [
        f"{name}_{total}_{timepoint}"
        for name, total in total_names.items()
        for timepoint in [*TIMEPOINTS, *extra]
    ]
    wide = totals.pivot(index="family_id", columns="column", values="score")
    wide = wide.reindex(index=sorted(scores["family_id"].unique()), columns=columns)
    return wide.astype("float64").rename_axis(index="family_id", columns=None).reset_index()


def band(scores: pd.Series, instrument: Mapping[str, Any]) -> pd.Series:
    """Label scores with the instrument's `bands`, as a categorical ordered low to high.

    Band lower bounds are the cut-offs: a band runs from its lower bound up to the next band's,
    so an unrounded prorated score between two bands (13.5 with bands 0-13, 14-16) falls in the
    lower one. NA stays NA; a score outside the banded range raises ScoringError.
    """
    bands = _sorted_bands(instrument)
    if not bands:
        raise ScoringConfigError(f"instrument {instrument.get('name', '')!r} has no `bands`")
    labels = [label for label, _ in bands]
    lows = np.array([low for _, (low, _) in bands], dtype="float64")
    top = bands[-1][1][1]
    values = pd.to_numeric(scores).astype("float64")
    outside = values.notna() & ((values < lows[0]) | (values > top))
    if outside.any():
        raise ScoringError(
            f"score {values[outside].iloc[0]:g} is outside the banded range {lows[0]:g}..{top:g}"
        )
    codes = np.searchsorted(lows, values.to_numpy(), side="right") - 1
    codes = np.where(values.isna().to_numpy(), -1, codes)
    categories = pd.Categorical.from_codes(codes, categories=labels, ordered=True)
    return pd.Series(categories, index=scores.index, name=scores.name)
