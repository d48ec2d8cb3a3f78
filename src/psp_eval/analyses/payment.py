"""The PSP payment decision: targets met or not, with their evidence, and the decision rule.

config/payment.yaml states each target (what is measured, the agreed level, the rule)
and the decision rule for the further years of LA-funded delivery; config/contract.yaml the
contract's periods (the trial years the investor pays for, the further years the LAs would)
and who the investor is. The evidence comes from the other analyses of the same scope
(process, impact, cost_benefit numbers.json); effect targets need the agreed size AND a 95%
interval on the good side of no effect. Expected cashable savings to each LA (its share of
SFFC families times its cashable savings per family from the cost-benefit model, with its own
placement mix where its SSDA903 data allow) are set against the price of continued delivery,
year by year: which budget pays and which saves.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from psp_eval.data.scope import TRIAL_SCOPE
from psp_eval.errors import PspEvalError

COMPARISONS = {"at_least": ">=", "at_most": "<="}


class PaymentError(PspEvalError, ValueError):
    """The targets file is incomplete or names evidence that does not exist."""


def check_targets(config: Mapping[str, Any]) -> dict:
    """The payment settings (config/payment.yaml), checked: rules the schema cannot state."""
    ids = [t.get("id") for t in config.get("targets", [])]
    for target in config.get("targets", []):
        if target.get("comparison") not in COMPARISONS:
            raise PaymentError(
                f"payment: target {target.get('id')!r}: comparison must be at_least or at_most"
            )
        if not any(k in target for k in ("measure", "effect", "any_of_effects")):
            raise PaymentError(
                f"payment: target {target.get('id')!r} needs measure, effect or any_of_effects"
            )
    for required in config.get("decision", {}).get("required", []):
        if required not in ids:
            raise PaymentError(f"payment: decision requires {required!r}, which is not a target")
    return dict(config)


@dataclass(frozen=True)
class Evidence:
    """One estimate behind a target: value, 95% interval (may be NaN) and where it is from."""

    estimate: float
    ci_low: float = float("nan")
    ci_high: float = float("nan")
    source: str = ""


def _compare(value: float, comparison: str, level: float) -> bool:
    return value >= level if comparison == "at_least" else value <= level


def _fmt(x: float) -> str:
    if not isinstance(x, int | float) or not math.isfinite(x):
        return "–"
    return f"{x:,.0f}" if abs(x) >= 100 else f"{round(x, 2):g}"


NOT_ASSESSABLE = "not assessable"


def judge(target: Mapping[str, Any], evidence: Evidence) -> bool:
    """Met when the estimate reaches the level and, for effects, the whole 95% interval lies on
    the good side of `interval_must_exclude`."""
    if not math.isfinite(evidence.estimate):
        return False
    met = _compare(evidence.estimate, target["comparison"], float(target["level"]))
    null = target.get("interval_must_exclude")
    if null is not None:
        bound = evidence.ci_high if target["comparison"] == "at_most" else evidence.ci_low
        met = (
            met
            and math.isfinite(bound)
            and (bound < null if target["comparison"] == "at_most" else bound > null)
        )
    return bool(met)


def assessable(target: Mapping[str, Any], evidence: Evidence) -> bool:
    """Whether the evidence can judge the target: an estimate, and for effects its interval."""
    if not math.isfinite(evidence.estimate):
        return False
    if target.get("interval_must_exclude") is None:
        return True
    return math.isfinite(evidence.ci_low) and math.isfinite(evidence.ci_high)


def evaluate_targets(
    config: Mapping[str, Any],
    numbers: Mapping[str, Mapping[str, object]],
    effects: pd.DataFrame,
    *,
    n_hubs: int = 1,
    effects_scope: str = "this scope",
) -> pd.DataFrame:
    """One row per target: the evidence (estimate, interval, source table), the level, met or not.

    `numbers` maps an analysis (process, cost_benefit) to its numbers.json; `effects` is
    `psp_eval.analyses.cost_benefit.read_effects(...)` (effect, estimate, ci_low, ci_high, source); `n_hubs`
    scales per-hub levels for the trial.
    """
    eff = effects.set_index("effect")
    rows = []
    for target in config["targets"]:
        level = float(target["level"]) * (n_hubs if target.get("per_hub") else 1)
        t = {**target, "level": level}
        candidates: list[tuple[str, Evidence]] = []
        if "measure" in target:
            value = numbers.get(target["source"], {}).get(target["measure"])
            if isinstance(value, bool) or not isinstance(value, int | float):
                value = float("nan")  # missing, or suppressed ("[c]")
            candidates.append(
                (
                    target["measure"],
                    Evidence(float(value), source=f"{target['source']}: {target['measure']}"),
                )
            )
        for name in [target["effect"]] if "effect" in target else target.get("any_of_effects", []):
            if name not in eff.index:
                raise PaymentError(f"target {target['id']!r}: no effect called {name!r}")
            r = eff.loc[name]
            candidates.append((name, Evidence(float(r["estimate"]), float(r["ci_low"]), float(r["ci_high"]),
                                              f"{r['source']} ({effects_scope})")))  # fmt: skip
        judged = [(name, ev, judge(t, ev)) for name, ev in candidates]
        name, ev, met = next((j for j in judged if j[2]), judged[0])
        # not met on what exists, and some evidence is missing: the target cannot be judged
        missing = not met and not all(assessable(t, e) for _, e in candidates)
        if missing:
            name, ev = next((n, e) for n, e in candidates if not assessable(t, e))
        status = NOT_ASSESSABLE if missing else ("met" if met else "not met")
        rows.append({
            "target": target["id"],
            "label": target["label"],
            "measure": name,
            "estimate": ev.estimate,
            "ci_low": ev.ci_low,
            "ci_high": ev.ci_high,
            "rule": f"{COMPARISONS[target['comparison']]} {_fmt(level)}"
            + (f", 95% CI excludes {target['interval_must_exclude']}" if target.get("interval_must_exclude") is not None else ""),
            "met": met,
            "status": status,
            "source": ev.source,
        })  # fmt: skip
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class Decision:
    """The payment decision: outcome (continue / review / stop / not assessable), its wording
    and why."""

    outcome: str
    wording: str
    n_met: int
    n_targets: int
    required_met: bool
    reason: str
    n_not_assessable: int = 0


def _rule_outcome(met: pd.Series, rule: Mapping[str, Any]) -> str:
    n_met = int(met.sum())
    required_met = all(bool(met.get(r, False)) for r in rule.get("required", []))
    min_met = int(rule.get("min_met", len(met)))
    if required_met and n_met >= min_met:
        return "continue"
    if required_met and n_met >= int(rule.get("min_met_for_review", min_met)):
        return "review"
    return "stop"


def decide(
    results: pd.DataFrame, rule: Mapping[str, Any], further_years: int | None = None
) -> Decision:
    """Apply the decision rule: required targets met and at least `min_met` met -> continue;
    required met and at least `min_met_for_review` -> review; otherwise stop. Targets whose
    evidence is missing (status "not assessable") are never counted as met or not met: if
    the outcome would differ between the two, the decision is "not assessable". A wording's
    "{further_years}" is the contract's `further_years`."""
    table = results.set_index("target")
    met = table["met"].astype(bool)
    status = table["status"] if "status" in table else met.map({True: "met", False: "not met"})
    unknown = status == NOT_ASSESSABLE
    optimistic = _rule_outcome(met | unknown, rule)
    pessimistic = _rule_outcome(met & ~unknown, rule)
    outcome = pessimistic if optimistic == pessimistic else NOT_ASSESSABLE
    n_met, n = int((met & ~unknown).sum()), len(met)
    required = list(rule.get("required", []))
    required_met = all(bool(met.get(r, False)) and not unknown.get(r, False) for r in required)
    missing = [r for r in required if not bool(met.get(r, False)) or unknown.get(r, False)]
    # The reason is read by a funder: targets by their labels, not their ids.
    labels = table["label"] if "label" in table else pd.Series(table.index, index=table.index)

    def named(ids) -> str:
        return "; ".join(str(labels.get(i, i)) for i in ids)

    reason = f"{n_met} of {n} targets met" + (
        f"; required target(s) not met: {named(missing)}" if missing else "; required targets met"
    )
    if unknown.any():
        reason += f"; {int(unknown.sum())} not assessable: {named(table.index[unknown])}"
    wording = rule.get("wording", {}).get(outcome, outcome)
    if further_years is not None:  # the contract's further years, where the wording names them
        wording = wording.replace("{further_years}", str(further_years))
    return Decision(outcome, wording, n_met, n, required_met, reason, int(unknown.sum()))


@dataclass(frozen=True)
class ValueForMoney:
    """The value-for-money test of the payment rule: its estimate, level, and whether met
    (None when it cannot be assessed)."""

    criterion: str
    estimate: float
    level: float
    met: bool | None
    text: str


def value_for_money(
    rule: Mapping[str, Any],
    *,
    cashable_draws: np.ndarray | None,
    price_per_family: float | None,
    bcr: float | None = None,
) -> ValueForMoney:
    """The value-for-money test (config payment.value_for_money), on one base: cashable
    savings per family allocated to SFFC and the price per family allocated, both at the
    report's price year.

    `cashable_covers_price`: the chance (share of Monte Carlo draws) that the LAs' cashable
    savings per family reach the price is at least `level`; `bcr_at_least`: the
    benefit-cost ratio is at least `level`. Missing draws, price or ratio: not assessable.
    """
    criterion, level = rule["criterion"], float(rule["level"])
    if criterion == "cashable_covers_price":
        price_ok = price_per_family is not None and math.isfinite(float(price_per_family))
        if cashable_draws is None or len(cashable_draws) == 0 or not price_ok:
            return ValueForMoney(criterion, float("nan"), level, None, NOT_ASSESSABLE)
        p = float((np.asarray(cashable_draws, dtype=float) >= float(price_per_family)).mean())
        met = p >= level
        text = (f"{100 * p:.0f}% chance that the LAs' cashable savings cover the price "
                f"(at least {100 * level:.0f}% needed)")  # fmt: skip
        return ValueForMoney(criterion, p, level, met, text)
    if criterion == "bcr_at_least":
        if bcr is None or not math.isfinite(float(bcr)):
            return ValueForMoney(criterion, float("nan"), level, None, NOT_ASSESSABLE)
        met = float(bcr) >= level
        text = f"benefit-cost ratio {float(bcr):.2f} (at least {level:.2f} needed)"
        return ValueForMoney(criterion, float(bcr), level, met, text)
    raise PaymentError(
        f"payment: value_for_money criterion {criterion!r}: use cashable_covers_price or bcr_at_least"
    )


CASES = ("targets_met_value", "targets_met_no_value", "targets_not_met_value",
         "targets_not_met_no_value")  # fmt: skip


def payment_case(decision: Decision, vfm: ValueForMoney) -> str:
    """Which of the four cases applies (targets met or not x value for money or not), or
    "not assessable" when either side cannot be judged. Targets count as met when the rule
    says continue or review."""
    if decision.outcome == NOT_ASSESSABLE or vfm.met is None:
        return NOT_ASSESSABLE
    targets_met = decision.outcome in ("continue", "review")
    return f"targets_{'met' if targets_met else 'not_met'}_{'value' if vfm.met else 'no_value'}"


def cases_table(cases_wording: Mapping[str, str], applies: str) -> pd.DataFrame:
    """The four cases in words, with the one that applies marked."""
    names = {"targets_met_value": ("met", "yes"), "targets_met_no_value": ("met", "no"),
             "targets_not_met_value": ("not met", "yes"), "targets_not_met_no_value": ("not met", "no")}  # fmt: skip
    return pd.DataFrame([
        {"Targets": names[c][0], "Value for money": names[c][1], "Decision": cases_wording[c],
         "Applies": "this case" if c == applies else ""}
        for c in CASES
    ])  # fmt: skip


LA_BUDGET = "LA children's services"
PLACEMENT_BUDGET = "LA children's services: placements (cashable)"


def la_cashable(draws: pd.DataFrame, mix: pd.DataFrame) -> pd.DataFrame:
    """Per LA (a column of `draws`, the cost-benefit model's cashable savings per family with
    the LA's own placement mix): the mean, 5th and 95th percentiles, and the placement mix
    used (`mix`: la_code, used: own data / assumption)."""
    used = mix.set_index("la_code")["used"]
    return pd.DataFrame({
        "la_code": list(draws.columns),
        "cashable": [float(draws[c].mean()) for c in draws],
        "cashable_low": [float(draws[c].quantile(0.05)) for c in draws],
        "cashable_high": [float(draws[c].quantile(0.95)) for c in draws],
        "placement_mix": [str(used.get(c, "assumption")) for c in draws],
    })  # fmt: skip


def la_savings(
    las: pd.DataFrame,
    referrals: pd.DataFrame,
    randomisation: pd.DataFrame,
    *,
    cashable_per_family: float,
    cashable_low: float,
    cashable_high: float,
    price_per_family: float,
    treated: object,
    further_years: int,
    trial_years: int,
    per_la: pd.DataFrame | None = None,
    la_draws: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Per LA: the families randomised to the `treated` arm over the `trial_years`, the
    families expected over the `further_years` at the same rate (both the contract's periods),
    the cashable savings per family (the LA's own from `per_la`, `la_cashable`'s table, where
    given; else the scope's), expected cashable savings (with the 5th-95th percentile range),
    the price of delivery, and the placement mix behind the savings.

    The total row's range is the 5th-95th percentile of the LAs' savings summed draw by draw
    when `la_draws` (a column of cashable savings per family per la_code) are given: the sum of
    the LAs' own percentiles would overstate it.

    Counts of families go through disclosure control (`suppress`, with the total row); where
    an LA's count is hidden, so are the money cells derived from it.
    """
    sffc = randomisation.loc[randomisation["arm"] == treated, ["family_id"]].merge(
        referrals[["family_id", "la_code"]]
    )
    per_la_families = sffc.groupby("la_code").size()
    table = las[["la_code", "la_name"]].copy()
    table["families"] = table["la_code"].map(per_la_families).fillna(0).astype(int)
    table["expected_families"] = table["families"] * further_years / trial_years
    own = (per_la.set_index("la_code") if per_la is not None else pd.DataFrame()).reindex(
        table["la_code"]
    )
    scope = {"cashable": cashable_per_family, "cashable_low": cashable_low,
             "cashable_high": cashable_high, "placement_mix": "assumption"}  # fmt: skip
    for column, default in scope.items():
        values = own[column] if column in own else pd.Series(index=own.index, dtype=object)
        table[f"{column}_per_family" if column == "cashable" else column] = values.where(
            values.notna(), default
        ).to_numpy()
    table["savings"] = table["expected_families"] * table["cashable_per_family"].astype(float)
    table["savings_low"] = table["expected_families"] * table["cashable_low"].astype(float)
    table["savings_high"] = table["expected_families"] * table["cashable_high"].astype(float)
    table["price"] = table["expected_families"] * price_per_family
    table["net"] = table["savings"] - table["price"]
    table = table.drop(columns=["cashable_low", "cashable_high"])
    money = [
        "families",
        "expected_families",
        "savings",
        "savings_low",
        "savings_high",
        "price",
        "net",
    ]
    total = {"la_code": "", "la_name": "All LAs", **table[money].sum().to_dict()}
    if la_draws is not None:
        weights = table.set_index("la_code")["expected_families"]
        summed = sum(
            w * la_draws[c].to_numpy(dtype=float) for c, w in weights.items() if c in la_draws
        )
        if not isinstance(summed, int):  # some LA had draws
            total["savings_low"] = float(np.percentile(summed, 5))
            total["savings_high"] = float(np.percentile(summed, 95))
    n = total["expected_families"]
    total["cashable_per_family"] = total["savings"] / n if n else cashable_per_family
    mixes = set(table["placement_mix"])
    total["placement_mix"] = mixes.pop() if len(mixes) == 1 else "mixed"
    return pd.concat([table, pd.DataFrame([total])], ignore_index=True)


def la_cash_flow(
    savings: pd.DataFrame,
    cashable_draws: np.ndarray | pd.DataFrame,
    cashable_per_family: float,
    price_per_family: float,
    *,
    further_years: int,
    follow_up_years: int,
    trial_years: int,
) -> pd.DataFrame:
    """Year by year from the first further year of the contract (contract year trial_years + 1)
    through the years its families still save: per LA (rows of `la_savings`, the total row
    included), who pays for delivery (the LA's children's services budget), the price paid
    (families starting that year x the price), the cashable savings falling in that year in the
    LA's children's services placement budget (each cohort's savings spread evenly over its
    follow-up years, as the base rates are), cumulative net, the payback year, and the 5th-95th
    percentile of the net over all years from the Monte Carlo draws of cashable savings per
    family: `cashable_draws` one array for every LA, or a frame with a column per la_code (the
    LA's own placement mix; the total row sums the LAs draw by draw). Each LA's savings per
    family are its `cashable_per_family` in `savings` where given. Cash, not discounted: what
    an LA budget sees."""
    rows = []
    n_years = further_years + follow_up_years - 1
    for _, la in savings.iterrows():
        per_family = (
            float(la["cashable_per_family"]) if "cashable_per_family" in la else cashable_per_family
        )
        per_year = la["expected_families"] / further_years
        cumulative, payback = 0.0, "not within the period"
        for k in range(1, n_years + 1):
            year = trial_years + k
            starting = per_year if k <= further_years else 0.0
            cohorts = sum(
                1 for start in range(1, further_years + 1) if 0 <= k - start < follow_up_years
            )
            saved = cohorts * per_year * per_family / follow_up_years
            cumulative += saved - starting * price_per_family
            if cumulative >= 0 and payback == "not within the period" and saved > 0:
                payback = f"year {year}"
            rows.append({"la_name": la["la_name"], "year": year, "further_year": k,
                         "paid_by": LA_BUDGET if k <= further_years else "–",
                         "price": starting * price_per_family, "cashable_savings": saved,
                         "saves_in": PLACEMENT_BUDGET, "cumulative_net": cumulative})  # fmt: skip
        total_net = _net_draws(savings, la, cashable_draws, price_per_family)
        for row in rows[-n_years:]:
            row.update({"payback": payback, "net_p5": float(np.percentile(total_net, 5)),
                        "net_p95": float(np.percentile(total_net, 95))})  # fmt: skip
    return pd.DataFrame(rows)


def _net_draws(
    savings: pd.DataFrame, la: pd.Series, draws: np.ndarray | pd.DataFrame, price: float
) -> np.ndarray:
    """An LA's net over the further years' families, per draw (the total row: the LAs summed)."""
    if not isinstance(draws, pd.DataFrame):
        return la["expected_families"] * (np.asarray(draws, dtype=float) - price)
    if la.get("la_code", "") == "":
        body = savings[savings["la_code"] != ""]
        return sum(_net_draws(savings, r, draws, price) for _, r in body.iterrows())
    column = draws[la["la_code"]] if la["la_code"] in draws else draws.mean(axis=1)
    return la["expected_families"] * (column.to_numpy(dtype=float) - price)


def contract_years(contract: Mapping[str, Any]) -> dict[str, int]:
    """The contract's periods as `la_savings` and `la_cash_flow` take them: trial_years (the
    investor pays) and further_years (the LAs pay)."""
    return {"further_years": int(contract["further_years"]),
            "trial_years": int(contract["trial_years"])}  # fmt: skip


def contract_periods(payers: Mapping[str, Any]) -> pd.DataFrame:
    """Who pays in which contract years and where the savings fall, for the report (from the
    run's `contract` settings: the investor, trial_years and further_years)."""
    t, f = int(payers["trial_years"]), int(payers["further_years"])
    investor = payers["investor"]
    span = lambda a, b: f"year {a}" if a == b else f"years {a}-{b}"  # noqa: E731
    saves = ("LA children's services: placements avoided (cashable) and social-work time "
             "released by fewer re-referrals and assessments (not cashable)")  # fmt: skip
    return pd.DataFrame([
        {"Contract years": f"{span(1, t)} (trial)", "Delivery paid by": investor["name"],
         "Whose money": "public: taxpayers" if investor["public_money"] else "private: others in society",
         "Savings fall in": saves},
        {"Contract years": f"{span(t + 1, t + f)} (further years, if the targets are met)",
         "Delivery paid by": f"the LAs ({LA_BUDGET} budgets)", "Whose money": "public: taxpayers",
         "Savings fall in": saves},
    ])  # fmt: skip


# --- the notebook's steps -------------------------------------------------------------------
def read_numbers(folder: Path, analyses: Sequence[str]) -> dict[str, dict]:
    """Each analysis's numbers.json in a scope's results `folder` ({} where it has none)."""
    found = {}
    for name in analyses:
        path = Path(folder) / name / "numbers.json"
        found[name] = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    return found


def effect_evidence(
    scope: str, config: Mapping[str, Any], results_dir: Path, own_impact: Mapping[str, Any]
) -> tuple[str, Mapping[str, Any], bool]:
    """Which impact estimates a scope's targets are judged on: (where from, in words; the
    impact numbers; whether they are the trial's). The trial uses its own; a hub the trial's
    when `effect_evidence_for_hubs` is "trial" (the default) and they exist, else its own
    (exploratory)."""
    if scope == TRIAL_SCOPE:
        return "all hubs", own_impact, True
    if config.get("effect_evidence_for_hubs", "trial") != "trial":
        return "this hub (exploratory)", own_impact, False
    trial_impact = read_numbers(Path(results_dir).parent / TRIAL_SCOPE, ["impact"])["impact"]
    if not trial_impact:
        return "this hub (exploratory; the trial's estimates were not available)", own_impact, False
    return "trial, all hubs", trial_impact, True


@dataclass(frozen=True)
class PriceAndValue:
    """The price per family allocated, the value-for-money test on it, the case that applies
    and the numbers the report quotes of them."""

    price: float
    value: ValueForMoney
    case: str
    numbers: dict[str, object]


def price_and_value(
    config: Mapping[str, Any],
    decision: Decision,
    cost_benefit: Mapping[str, Any],
    cashable_draws: np.ndarray | None,
) -> PriceAndValue:
    """The price per family allocated (config, else the delivery cost the cost-benefit
    analysis measured) and the value-for-money test on it; no price is an error."""
    price = config.get("price_per_family_gbp") or cost_benefit.get(
        "delivery_cost_per_sffc_family_gbp"
    )
    if price is None:
        raise PaymentError(
            "payment: no price per family: set payment.price_per_family_gbp, or run the"
            " cost_benefit analysis (its delivery_cost_per_sffc_family_gbp)"
        )
    vfm = value_for_money(
        config["value_for_money"],
        price_per_family=price,
        bcr=cost_benefit.get("bcr"),
        cashable_draws=cashable_draws,
    )
    case = payment_case(decision, vfm)
    rule = config["decision"]
    numbers = {
        "value_for_money": vfm.text,
        "payment_case_text": rule["cases"].get(case, rule["wording"].get(case, case)),
        "price_per_family_gbp": round(float(price)),
    }
    return PriceAndValue(float(price), vfm, case, numbers)


def savings_numbers(savings: pd.DataFrame, further_years: int) -> dict[str, object]:
    """What the report quotes of `la_savings`: all LAs' expected savings against the price."""
    total = savings.iloc[-1]
    return {
        "further_years": further_years,
        "expected_savings_gbp": round(float(total["savings"])),
        "price_of_delivery_gbp": round(float(total["price"])),
        "savings_cover_pct": round(100 * float(total["savings"]) / float(total["price"])),
    }
