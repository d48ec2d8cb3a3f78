"""Placement mix from the LAs' own SSDA903 returns: the share of care days that children of the
SFFC age profile spend in children's homes, for the cost of a care entry avoided.

Why: a week in a children's home costs about nine times a week in foster care, so the share of
care weeks in residential care moves the value of every care entry avoided. Where an LA's
return has enough children of the profile's age, that share is estimated from its episodes;
elsewhere the model keeps the assumption of config/cost_benefit.yaml, and the report says which.

* Children: periods of care (`need.periods_of_care`) starting when the child was at most
  `max_age` (completed years), as the need analysis's profile counts age.
* Care days: each episode of those periods from DECOM to DEC (to the extract date while
  open); residential days are those of episodes whose PLACE is in `residential_places`.
* The share is residential days / care days, pooled over the group's children. Its
  uncertainty is a beta distribution with the share's mean and the variance of a ratio
  estimator over children (days of one child are not independent):
  V = sum_i (y_i - R x_i)^2 / (n (n - 1) xbar^2), x_i the child's care days, y_i its
  residential days. Where that cannot be used (no residential days, or a single child), the
  beta of the counts: Beta(R n + 0.5, (1 - R) n + 0.5), n children.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

import pandas as pd

from psp_eval.analyses import need
from psp_eval.analyses.cost_benefit import CbaError, Parameter

OWN_DATA = "own data"
ASSUMPTION = "assumption"


@dataclass(frozen=True)
class MixRules:
    """How the placement mix is read from SSDA903 (config/cost_benefit.yaml, `placement_mix`)."""

    residential_places: tuple[str, ...] = ("K1", "K2")
    max_age: int = 10
    min_children: int = 20

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any] | None) -> MixRules:
        """Rules from a config mapping; unknown keys are an error (a typo must not pass)."""
        values = dict(values or {})
        unknown = sorted(set(values) - {f.name for f in fields(cls)})
        if unknown:
            raise CbaError(f"placement_mix: unknown setting(s) {', '.join(unknown)}")
        if "residential_places" in values:
            values["residential_places"] = tuple(values["residential_places"])
        return cls(**values)


def care_days_by_child(
    episodes: pd.DataFrame,
    header: pd.DataFrame,
    *,
    residential_places: tuple[str, ...],
    max_age: int,
    extract_date: pd.Timestamp | str | None = None,
) -> pd.DataFrame:
    """One row per child (la_code, CHILD) with a period of care starting at `max_age` or
    under: days in care in those periods and days of them in `residential_places`."""
    columns = ["la_code", "CHILD", "days", "residential_days"]
    if episodes.empty:
        return pd.DataFrame(columns=columns)
    periods = need.periods_of_care(episodes)
    classified = need.classify_periods(
        periods, header, need.ProfileRules(max_age=max_age), extract_date
    )
    extract = classified.attrs["extract_date"]
    ep = episodes[["la_code", "CHILD", "DECOM", "DEC", "PLACE"]].astype(
        {"la_code": object, "CHILD": object, "PLACE": object}
    )
    # each episode belongs to the latest period of its child started on or before it
    all_starts = classified[["la_code", "CHILD", "start", "young"]].astype(
        {"la_code": object, "CHILD": object}
    )
    linked = pd.merge_asof(
        ep.sort_values("DECOM"), all_starts.sort_values("start"),
        left_on="DECOM", right_on="start", by=["la_code", "CHILD"], direction="backward",
    )  # fmt: skip
    linked = linked[linked["young"].fillna(False).astype(bool)]
    end = linked["DEC"].fillna(extract)
    days = (end - linked["DECOM"]).dt.days.clip(lower=0).astype(float)
    linked = linked.assign(
        days=days, residential_days=days.where(linked["PLACE"].isin(residential_places), 0.0)
    )
    return linked.groupby(["la_code", "CHILD"], as_index=False)[["days", "residential_days"]].sum()


def share_and_beta(children: pd.DataFrame) -> dict[str, float]:
    """The share of care days in residential care of `children` (days, residential_days per
    child), its ratio-estimator standard error and the beta distribution (a, b) drawn in the
    Monte Carlo."""
    n = len(children)
    x = children["days"].to_numpy(dtype=float)
    y = children["residential_days"].to_numpy(dtype=float)
    if n == 0 or x.sum() <= 0:
        nan = float("nan")
        return {"children": n, "care_days": float(x.sum()), "residential_days": float(y.sum()),
                "share": nan, "se": nan, "a": nan, "b": nan}  # fmt: skip
    share = float(y.sum() / x.sum())
    variance = float(((y - share * x) ** 2).sum() / (n * (n - 1) * x.mean() ** 2)) if n > 1 else 0.0
    concentration = share * (1 - share) / variance - 1 if variance > 0 else 0.0
    if 0 < share < 1 and concentration > 0:
        a, b = share * concentration, (1 - share) * concentration
    else:
        a, b = share * n + 0.5, (1 - share) * n + 0.5
    return {"children": n, "care_days": float(x.sum()), "residential_days": float(y.sum()),
            "share": share, "se": math.sqrt(variance), "a": float(a), "b": float(b)}  # fmt: skip


@dataclass(frozen=True)
class PlacementMix:
    """The share of care weeks in a children's home the model uses: for the scope (its LAs
    pooled) and for each LA, each from its own SSDA903 data or the assumption, and the table
    behind them (la_code, la_name, children, share, low, high, used)."""

    scope: Parameter
    by_la: dict[str, Parameter]
    table: pd.DataFrame
    rules: MixRules

    def numbers(self) -> dict[str, object]:
        """What the report quotes: the scope's mix, where from, and how many LAs use their own."""
        used = self.table.set_index("la_code")["used"]
        scope_row = self.table.iloc[-1]
        return {
            "placement_mix_scope": str(scope_row["used"]),
            "residential_share_pct": round(100 * self.scope.value, 1),
            "placement_mix_min_children": self.rules.min_children,
            "placement_mix_max_age": self.rules.max_age,
            "placement_mix_places": ", ".join(self.rules.residential_places),
            "n_las_own_mix": int((used.iloc[:-1] == OWN_DATA).sum()),
            "n_las_assumed_mix": int((used.iloc[:-1] != OWN_DATA).sum()),
        }


def placement_mix(
    episodes: pd.DataFrame,
    header: pd.DataFrame,
    las: pd.DataFrame,
    rules: MixRules,
    assumption: Parameter,
    *,
    scope_label: str = "All LAs",
    extract_date: pd.Timestamp | str | None = None,
) -> PlacementMix:
    """The placement mix of each LA of `las` and of them pooled: the share of care days in
    residential places from the SSDA903 `episodes` (with the `header`'s dates of birth) where
    at least `rules.min_children` children of the age profile are in them, else the
    `assumption` (the config's residential_share). Open episodes run to `extract_date`
    (default: the latest date in the episodes)."""
    children = care_days_by_child(
        episodes, header, residential_places=rules.residential_places, max_age=rules.max_age,
        extract_date=extract_date,
    )  # fmt: skip
    rows, by_la = [], {}
    groups = [(str(r.la_code), str(r.la_name), children[children["la_code"] == r.la_code])
              for r in las.itertuples()]  # fmt: skip
    groups.append(("", scope_label, children[children["la_code"].isin(las["la_code"])]))
    for code, name, part in groups:
        stats = share_and_beta(part)
        enough = stats["children"] >= rules.min_children and math.isfinite(stats["share"])
        if enough:
            parameter = Parameter(
                "residential_share", stats["share"], "beta", a=stats["a"], b=stats["b"],
                label=assumption.label,
                source=f"own data: SSDA903 care days of {stats['children']} children aged "
                f"{rules.max_age} or under at entry ({name}), PLACE {', '.join(rules.residential_places)}",
            )  # fmt: skip
        else:
            parameter = replace(
                assumption,
                source=f"{ASSUMPTION} (fewer than {rules.min_children} children in {name}'s "
                f"SSDA903 episodes): {assumption.source}",
            )
        low, high = parameter.interval()
        rows.append({"la_code": code, "la_name": name, "children": int(stats["children"]),
                     "share": parameter.value, "low": low, "high": high,
                     "used": OWN_DATA if enough else ASSUMPTION})  # fmt: skip
        if code:
            by_la[code] = parameter
        else:
            scope = parameter
    return PlacementMix(scope, by_la, pd.DataFrame(rows), rules)


def scope_placement_mix(
    tables: Mapping[str, pd.DataFrame],
    config: Mapping[str, Any],
    unit_params: Mapping[str, Parameter],
) -> PlacementMix:
    """`placement_mix` of a scope's tables (its LAs and their SSDA903 episodes and header),
    with the model's settings (`config`: cost_benefit, its `placement_mix`) and the assumption
    among the model's parameters (`unit_params["residential_share"]`)."""
    return placement_mix(
        tables["ssda903_episodes"],
        tables["ssda903_header"],
        tables["las"],
        MixRules.from_mapping(config.get("placement_mix")),
        unit_params["residential_share"],
    )
