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

    Returns one row per (family_id, child_id, instrument, timepoint, scale), subscales in config
    order then the total, with score (NA when too few items were answered), n_answered, n_items
    and prorated (the score used fewer than all the scale's items). Items without a row count as
    unanswered. Raises ScoringError on an unknown instrument or item, a response that is not a
    whole number within the instrument's range, or an item given twice.
    """
    check_instruments(instruments)
    missing = [column for column in MEASURE_COLUMNS if column not in measures.columns]
    if missing:
        raise ScoringError(f"measures lacks columns {missing}")
    measures = measures[MEASURE_COLUMNS].reset_index(drop=True)
    if measures.empty:
        return _empty_scores()
    measures["respondent"] = measures.groupby(RESPONDENT, dropna=False).ngroup()
    values = _item_values(measures, instruments)
    scales, members, composites = _scale_tables(instruments)

    answered = (
        values.merge(members, on=["instrument", "item"])
        .groupby(["respondent", "scale"])["value"]
        .agg(n_answered="count", item_sum="sum")
        .reset_index()
    )
    respondents = measures.drop_duplicates("respondent")[["respondent", *RESPONDENT]]
    grid = (
        respondents.merge(scales, on="instrument")
        .merge(answered, on=["respondent", "scale"], how="left")
        .fillna({"n_answered": 0, "item_sum": 0.0})
    )
    grid["score"] = _combine_items(grid)
    grid = _sum_subscales(grid, composites)
    grid["n_answered"] = grid["n_answered"].astype("int64")
    grid["prorated"] = grid["score"].notna() & (grid["n_answered"] < grid["n_items"])
    return grid.sort_values(["respondent", "order"])[SCORE_COLUMNS].reset_index(drop=True)


def _empty_scores() -> pd.DataFrame:
    """The result of scoring no responses, with the usual columns and types."""
    types = {"score": "float64", "n_answered": "int64", "n_items": "int64", "prorated": "bool"}
    return pd.DataFrame({c: pd.Series(dtype=types.get(c, "object")) for c in SCORE_COLUMNS})


def _item_values(measures: pd.DataFrame, instruments: Instruments) -> pd.DataFrame:
    """Check every response against its instrument and return them reverse-scored.

    Returns respondent, instrument, item and value (NA when unanswered). Nothing unknown or out
    of range may reach a score, even though the validator upstream should have caught it.
    """
    unknown = sorted(set(measures["instrument"].unique()) - set(instruments))
    if unknown:
        raise ScoringError(f"measures has instruments {unknown} that the config does not define")
    duplicated = measures.duplicated(["respondent", "item"], keep=False)
    if duplicated.any():
        _raise_for_rows(measures[duplicated], "is given more than once for the same respondent")

    items = pd.DataFrame(
        [
            (name, item, item in spec["reverse"], spec["response_min"], spec["response_max"])
            for name, spec in instruments.items()
            for item in range(1, spec["items"] + 1)
        ],
        columns=["instrument", "item", "reverse", "low", "high"],
    )
    # only the columns the checks need (the merge copies what it carries: 3 million rows at
    # 50,000 families); a problem's rows are looked up in `measures` for its message
    checked = measures[["respondent", "instrument", "item", "response"]].merge(
        items, on=["instrument", "item"], how="left", indicator=True
    )
    not_an_item = checked["_merge"] == "left_only"
    if not_an_item.any():
        rows = measures[not_an_item.to_numpy()]
        n_items = instruments[rows["instrument"].iloc[0]]["items"]
        _raise_for_rows(rows, f"is not an item of the instrument (items 1..{n_items})")
    response = checked["response"].astype("float64")
    bad = response.notna() & (
        (response < checked["low"]) | (response > checked["high"]) | (response % 1 != 0)
    )
    if bad.any():
        first = checked[bad].iloc[0]
        _raise_for_rows(
            measures[bad.to_numpy()],
            f"is not a whole number from {first['low']:g} to {first['high']:g}",
        )
    checked["value"] = response.where(
        ~checked["reverse"], checked["low"] + checked["high"] - response
    )
    return checked[["respondent", "instrument", "item", "value"]]


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


def _scale_tables(instruments: Instruments) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Flatten the config into tables that merges can use.

    scales: one row per (instrument, scale) with its rules; members: the items of each scale
    (a total made of subscales gets the union of their items, for n_answered and n_items);
    composites: which subscales each such total sums.
    """
    scales, members, composites = [], [], []
    for name, spec in instruments.items():
        total = spec["total"]
        if "subscales" in total:
            parts = total["subscales"]
            total_items = sorted({item for part in parts for item in spec["subscales"][part]})
            composites += [(name, total["name"], part) for part in parts]
        else:
            total_items = total["items"]
        scale_items = {**spec["subscales"], total["name"]: total_items}
        for order, (scale, items) in enumerate(scale_items.items()):
            is_total = scale == total["name"]
            # A total made of items may set its own minimum (MSPSS: 9 of 12).
            need = total.get("min_answered", spec["min_answered"]) if is_total else None
            scales.append(
                {
                    "instrument": name,
                    "scale": scale,
                    "order": order,
                    "n_items": len(items),
                    "min_answered": spec["min_answered"] if need is None else need,
                    "combine": spec["combine"],
                    "round_prorated": spec.get("round_prorated", False),
                    "from_subscales": is_total and "subscales" in total,
                }
            )
            members += [(name, scale, item) for item in items]
    return (
        pd.DataFrame(scales),
        pd.DataFrame(members, columns=["instrument", "scale", "item"]),
        pd.DataFrame(composites, columns=["instrument", "scale", "part"]),
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


def _sum_subscales(grid: pd.DataFrame, composites: pd.DataFrame) -> pd.DataFrame:
    """Score totals made of subscales as their sum, NA unless every subscale has a score."""
    parts = grid[["respondent", "instrument", "scale", "score"]].rename(columns={"scale": "part"})
    # Every respondent has a row for every scale of its instrument, so size counts the parts.
    sums = (
        composites.merge(parts, on=["instrument", "part"])
        .groupby(["respondent", "scale"])["score"]
        .agg(part_sum="sum", n_scored="count", n_parts="size")
    )
    total = sums["part_sum"].where(sums["n_scored"] == sums["n_parts"]).rename("total")
    grid = grid.merge(total.reset_index(), on=["respondent", "scale"], how="left")
    grid["score"] = grid["score"].mask(grid["from_subscales"], grid["total"])
    return grid.drop(columns="total")


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
