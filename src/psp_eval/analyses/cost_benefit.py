"""Cost-benefit of SFFC: what delivery cost, and what it returns (the WSIPP method).

The cost side counts delivery cost per family from the `costs` table in one price year (GDP
deflator, config/deflators.csv). The model values the outcomes SFFC changes (care entries,
re-referrals and the assessments that follow them) with the unit costs of
config/cost_benefit.yaml, each with its source, price year and uncertainty, as Investing in
Children did with WSIPP's model: cautious effects (design and implementation adjustments),
benefits only over the horizon, Green Book discounting, and Monte Carlo draws of effects and
unit costs giving NPV, benefit-cost ratio and the chance that benefits exceed costs, by
perspective (taxpayers, participants, others).
"""

from __future__ import annotations

import itertools
import json
import math
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from psp_eval.data.scope import TRIAL_SCOPE, isin
from psp_eval.errors import PspEvalError

# Categories that make up the cost of delivering SFFC (usual_services is the comparator's cost).
DELIVERY_CATEGORIES = ("staff", "volunteer_expenses", "training", "overheads", "central")


def families_supported(randomisation: pd.DataFrame, support: pd.DataFrame, *, treated) -> int:
    """Families of the `treated` arm (its value in the randomisation table) with at least one
    support episode."""
    sffc = randomisation.loc[randomisation["arm"] == treated, "family_id"]
    return int(isin(sffc, support["family_id"]).sum())


def delivery_costs(costs: pd.DataFrame) -> pd.DataFrame:
    """Delivery cost by category and price year (cash prices, before deflating)."""
    delivery = costs[costs["category"].isin(DELIVERY_CATEGORIES)]
    table = (
        delivery.groupby(["category", "price_year"], observed=True)["amount_gbp"]
        .sum()
        .unstack("price_year", fill_value=0.0)
        .reindex([c for c in DELIVERY_CATEGORIES if c in set(delivery["category"])])
    )
    table.columns = [f"gbp_{year}" for year in table.columns]
    table["total_gbp"] = table.sum(axis=1)
    return table


def cost_per_family(costs: pd.DataFrame, n_supported: int) -> float:
    """Delivery cost divided by the families supported (NaN when none were)."""
    total = costs.loc[costs["category"].isin(DELIVERY_CATEGORIES), "amount_gbp"].sum()
    return float(total / n_supported) if n_supported else float("nan")


def costs_by_quarter(costs: pd.DataFrame) -> pd.DataFrame:
    """Delivery cost per quarter and category, for the spending profile figure."""
    delivery = costs[costs["category"].isin(DELIVERY_CATEGORIES)]
    quarter = delivery["period_start"].dt.to_period("Q").astype(str)
    return (
        delivery.assign(quarter=quarter)
        .pivot_table(
            index="quarter", columns="category", values="amount_gbp", aggfunc="sum", fill_value=0.0
        )
        .sort_index()
    )


# =========================================================================================
# The cost-benefit model (WSIPP method, as Investing in Children applied it to UK data)
# =========================================================================================
PERSPECTIVES = ("taxpayers", "participants", "others", "indirect")
Z95 = 1.959963984540054

# HM Treasury Green Book (2022), declining long-term discount rates: (last year, rate).
GREEN_BOOK_SCHEDULE = (
    (30, 0.035),
    (75, 0.030),
    (125, 0.025),
    (200, 0.020),
    (300, 0.015),
    (math.inf, 0.010),
)


class CbaError(PspEvalError, ValueError):
    """A model input is missing or impossible; the message says which and how to fix it."""


def discount_factors(n_years: int, schedule: str | float = "green_book") -> np.ndarray:
    """Discount factors for years 0..n_years-1: year 0 is 1.0.

    "green_book" compounds 3.5% a year for years 1-30, then 3.0% for 31-75, 2.5% for
    76-125, 2.0% for 126-200, 1.5% for 201-300 and 1.0% after (HM Treasury Green Book); a
    float is a flat rate for every year.
    """
    if n_years < 0:
        raise CbaError(f"n_years must be 0 or more, not {n_years}")
    years = np.arange(1, n_years)
    if schedule == "green_book":
        limits = np.array([limit for limit, _ in GREEN_BOOK_SCHEDULE])
        rates = np.array([rate for _, rate in GREEN_BOOK_SCHEDULE])
        year_rates = rates[np.searchsorted(limits, years, side="left")]
    elif isinstance(schedule, int | float) and not isinstance(schedule, bool) and schedule > -1:
        year_rates = np.full(len(years), float(schedule))
    else:
        raise CbaError(
            f"discount schedule {schedule!r}: use 'green_book' or a flat rate such as 0.035"
        )
    return np.concatenate([[1.0], np.cumprod(1.0 / (1.0 + year_rates))])[:n_years]


# --- prices ---------------------------------------------------------------------------------
def deflators_from_rows(rows: list[Mapping[str, Any]]) -> pd.Series:
    """The GDP deflator table (rows of year, index, status, as the run's settings hold it):
    the index by year."""
    table = pd.DataFrame(list(rows), columns=["year", "index", "status"])
    return table.set_index("year")["index"].astype(float).sort_index()


def financial_year(year: int) -> str:
    """A financial year (April-March) as the reports write it, from its first year:
    2024 -> "2024-25" (the deflator table's years and every price year are written this way)."""
    return f"{int(year)}-{(int(year) + 1) % 100:02d}"


def deflator_index(year: int, deflators: pd.Series) -> float:
    """The deflator for `year`, interpolated log-linearly between listed years."""
    years = deflators.index.to_numpy(dtype=float)
    if not years[0] <= year <= years[-1]:
        raise CbaError(
            f"price year {year} is outside the deflator table ({int(years[0])}-{int(years[-1])}): "
            "add the year to the deflator table (cost_benefit.deflators)"
        )
    return float(np.exp(np.interp(year, years, np.log(deflators.to_numpy()))))


def to_price_year(amount: float | np.ndarray, from_year: int, to_year: int, deflators: pd.Series):
    """`amount` in `from_year` prices re-expressed in `to_year` prices (GDP deflator)."""
    return amount * deflator_index(to_year, deflators) / deflator_index(from_year, deflators)


def real_costs(costs: pd.DataFrame, price_year: int, deflators: pd.Series) -> pd.DataFrame:
    """The costs table with `amount_real_gbp`: each line in `price_year` prices.

    Spending in a year after the deflator table's last (no outturn published yet) is taken at
    that last year's prices, not deflated by an invented index: it slightly overstates the
    real cost, the cautious side. `spending_after_deflators` says how much that is.
    """
    last = int(deflators.index.max())
    factor = {int(y): deflator_index(price_year, deflators) / deflator_index(min(int(y), last), deflators)
              for y in costs["price_year"].dropna().unique()}  # fmt: skip
    return costs.assign(
        amount_real_gbp=costs["amount_gbp"] * costs["price_year"].astype(int).map(factor)
    )


def spending_after_deflators(costs: pd.DataFrame, deflators: pd.Series) -> float:
    """Cash spent in years after the deflator table's last, which `real_costs` leaves
    undeflated (taken at that last year's prices)."""
    later = costs["price_year"].astype(int) > int(deflators.index.max())
    return float(costs.loc[later, "amount_gbp"].sum())


# --- parameters -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Parameter:
    """One uncertain model input: its base value and the distribution its draws come from.

    distribution: fixed | triangular (low, value, high) | normal (sd) | lognormal (value is the
    median, sd on the log scale) | beta (a, b) | gamma (shape, scale: mean = shape * scale).
    """

    name: str
    value: float
    distribution: str = "fixed"
    low: float | None = None
    high: float | None = None
    sd: float | None = None
    a: float | None = None
    b: float | None = None
    label: str = ""
    source: str = ""

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """`n` draws (vectorised)."""
        d = self.distribution
        if d == "fixed":
            return np.full(n, float(self.value))
        if d == "triangular":
            if self.low == self.high:
                return np.full(n, float(self.value))
            return rng.triangular(self.low, self.value, self.high, n)
        if d == "normal":
            return rng.normal(self.value, self.sd, n)
        if d == "lognormal":
            return np.exp(rng.normal(math.log(self.value), self.sd, n))
        if d == "beta":
            return rng.beta(self.a, self.b, n)
        if d == "gamma":
            return rng.gamma(self.a, self.b, n)
        raise CbaError(f"parameter {self.name}: unknown distribution {d!r}")

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """The quantiles at `u` (0-1): draws from uniforms, so correlated draws keep this
        distribution (a Gaussian copula)."""
        if self.distribution == "fixed" or (
            self.distribution == "triangular" and self.low == self.high
        ):
            return np.full(len(u), float(self.value))
        return self._scipy().ppf(u)

    def _scipy(self):
        from scipy import stats

        d = self.distribution
        if d == "triangular":
            c = (self.value - self.low) / (self.high - self.low)
            return stats.triang(c, loc=self.low, scale=self.high - self.low)
        if d == "normal":
            return stats.norm(self.value, self.sd)
        if d == "lognormal":
            return stats.lognorm(self.sd, scale=self.value)
        if d == "beta":
            return stats.beta(self.a, self.b)
        if d == "gamma":
            return stats.gamma(self.a, scale=self.b)
        raise CbaError(f"parameter {self.name}: unknown distribution {d!r}")

    def interval(self, level: float = 0.95) -> tuple[float, float]:
        """The central `level` interval of the distribution (for the tornado chart)."""
        from scipy import stats

        q = ((1 - level) / 2, (1 + level) / 2)
        d = self.distribution
        if d == "fixed":
            return (self.value, self.value)
        if d == "triangular":
            if self.low == self.high:
                return (self.value, self.value)
            c = (self.value - self.low) / (self.high - self.low)
            dist = stats.triang(c, loc=self.low, scale=self.high - self.low)
        elif d == "normal":
            dist = stats.norm(self.value, self.sd)
        elif d == "lognormal":
            dist = stats.lognorm(self.sd, scale=self.value)
        elif d == "beta":
            dist = stats.beta(self.a, self.b)
        elif d == "gamma":
            dist = stats.gamma(self.a, scale=self.b)
        else:
            raise CbaError(f"parameter {self.name}: unknown distribution {d!r}")
        low, high = dist.ppf(q)
        return (float(low), float(high))


def parameter_from_config(name: str, entry: Mapping[str, Any], *, scale: float = 1.0) -> Parameter:
    """A Parameter from a unit cost or assumption of config/cost_benefit.yaml, with every value multiplied by `scale`."""
    unc = dict(entry.get("uncertainty") or {"distribution": "fixed"})
    value = float(entry["value"]) * scale
    dist = unc.get("distribution", "fixed")
    low = unc.get("low")
    high = unc.get("high")
    return Parameter(
        name, value, dist,
        low=None if low is None else float(low) * scale,
        high=None if high is None else float(high) * scale,
        sd=None if unc.get("sd") is None else float(unc["sd"]) * scale,
        label=entry.get("label", name), source=entry.get("source", ""),
    )  # fmt: skip


def unit_costs(config: Mapping[str, Any], deflators: pd.Series) -> dict[str, Parameter]:
    """Each unit cost and assumption of the model's settings (config/cost_benefit.yaml) as a
    Parameter, unit costs converted to the price year."""
    base = int(config["price_year"])
    params = {}
    for name, entry in config["unit_costs"].items():
        for key in ("value", "price_year", "source", "uncertainty"):
            if key not in entry:
                raise CbaError(f"cost_benefit: unit cost {name!r} needs {key!r}")
        scale = to_price_year(1.0, int(entry["price_year"]), base, deflators)
        params[name] = parameter_from_config(name, entry, scale=scale)
    for name, entry in config.get("assumptions", {}).items():
        params[name] = parameter_from_config(name, entry)
    return params


def unit_cost_table(config: dict, params: Mapping[str, Parameter]) -> pd.DataFrame:
    """The unit costs as the report shows them: source value and year, base-year value, range."""
    base = config["price_year"]
    rows = []
    for name, entry in config["unit_costs"].items():
        p = params[name]
        rows.append({
            "Unit cost": entry.get("label", name),
            "Source value (£)": f"{entry['value']:,.0f} ({financial_year(entry['price_year'])})",
            f"£ at {financial_year(base)} prices": round(p.value),
            "Range used (£)": f"{p.low:,.0f} to {p.high:,.0f}" if p.low is not None else "–",
            "Perspective": entry.get("perspective", "taxpayers"),
            "Cashable for the LA": "yes" if entry.get("cashable") else "no",
            "Source": entry["source"],
        })  # fmt: skip
    return pd.DataFrame(rows)


# --- effects --------------------------------------------------------------------------------
# Outcomes the model uses: name -> (scale, the impact numbers keys to try in order)
EFFECT_KEYS: dict[str, tuple[str, tuple[str, ...]]] = {
    "sdq_total_difficulties": (
        "difference",
        ("sdq_total_difficulties_effect", "sdq_total_difficulties_diff_estimate"),
    ),
    "gad7_total": ("difference", ("gad7_total_effect", "gad7_total_diff_estimate")),
    "mspss_total": ("difference", ("mspss_total_effect", "mspss_total_diff_estimate")),
    "care_entry": ("ratio", ("care_entry_risk_ratio",)),
    # a rate ratio from the count model (negative binomial) values every re-referral; the hazard
    # ratio of the first re-referral is not a rate ratio and is never used in its place
    "re_referral": ("ratio", ("re_referral_rate_ratio",)),
    "nights_away": ("ratio", ("nights_away_rate_ratio",)),
}
EFFECT_LABELS = {
    "sdq_total_difficulties": "SDQ total difficulties (points, SFFC minus usual)",
    "gad7_total": "GAD-7 (points, SFFC minus usual)",
    "mspss_total": "MSPSS (mean item, SFFC minus usual)",
    "care_entry": "Care entry within 24 months (risk ratio)",
    "re_referral": "Re-referrals (rate ratio)",
    "nights_away": "Nights away from home (rate ratio)",
}


def _ci_keys(key: str) -> tuple[str, str]:
    """The interval keys published beside an estimate key (old and new impact layouts)."""
    if key.endswith("_diff_estimate"):
        stem = key.removesuffix("_estimate")
        return f"{stem}_ci_low", f"{stem}_ci_high"
    return f"{key}_ci_low", f"{key}_ci_high"


def _number_or_none(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None  # missing, or text such as "not estimable"
    return float(value) if math.isfinite(value) else None


def read_effects(
    impact_numbers: Mapping[str, object] | str | Path | None,
    n_sffc: int,
    n_usual: int,
    base: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Each effect the model uses, with its 95% interval, SE and where it came from.

    Reads the impact notebook's numbers.json (a dict or its path): the new keys
    (`{o}_effect`, `care_entry_risk_ratio`, ...) first, then the old ones
    (`{o}_diff_estimate`); a key that is missing, not a number ("not estimable") or has no
    interval leaves the effect not estimable (NaN), and the `source` column says so: no other
    number is ever put in its place.
    """
    if isinstance(impact_numbers, str | Path):
        path = Path(impact_numbers)
        impact_numbers = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    numbers = dict(impact_numbers or {})
    rows = []
    for name, (scale, keys) in EFFECT_KEYS.items():
        row = None
        for key in keys:
            estimate = _number_or_none(numbers.get(key))
            low_key, high_key = _ci_keys(key)
            low, high = (
                _number_or_none(numbers.get(low_key)),
                _number_or_none(numbers.get(high_key)),
            )
            if estimate is None or low is None or high is None:
                continue
            if scale == "ratio":
                if min(estimate, low, high) <= 0:
                    continue
                se = (math.log(high) - math.log(low)) / (2 * Z95)
            else:
                se = (high - low) / (2 * Z95)
            row = {"estimate": estimate, "ci_low": low, "ci_high": high, "se": se,
                   "source": f"impact: {key}"}  # fmt: skip
            break
        if row is None:
            nan = float("nan")
            row = {"estimate": nan, "ci_low": nan, "ci_high": nan, "se": nan,
                   "source": "not estimable: no impact estimate"}  # fmt: skip
        rows.append({"effect": name, "label": EFFECT_LABELS[name], "scale": scale, **row})
    return pd.DataFrame(rows)


# --- base rates from the trial's usual-care arm ------------------------------------------------
def base_rates(
    randomisation: pd.DataFrame,
    care_events: pd.DataFrame,
    *,
    arms: tuple[object, object],
    follow_up_days: int = 730,
    data_cut: pd.Timestamp | None = None,
) -> dict[str, float]:
    """What happens without SFFC, per usual-care family over follow-up, and the length of care.

    Returns n_usual, n_sffc, families with a care entry (usual), care-entry risk, children
    entering per family with an entry, re-referrals per family, nights-away events per family,
    and the mean weeks in care per entry (both arms; stays still open are cut at the end of
    follow-up or the data cut, so it is a floor) with the number of entries behind it.
    """
    treated, control = arms  # the arms' values in the randomisation table
    arm = randomisation.set_index("family_id")["arm"]
    usual = arm.index[arm == control]
    n_usual, n_sffc = int(len(usual)), int((arm == treated).sum())
    ev = care_events[isin(care_events["family_id"], usual)]
    entries = ev[ev["event_type"] == "care_entry"]
    fam_entry = entries["family_id"].nunique()
    children_entering = entries.drop_duplicates(["family_id", "child_id"]).shape[0]
    out = {
        "n_usual": n_usual,
        "n_sffc": n_sffc,
        "families_with_care_entry": int(fam_entry),
        "care_entry_risk": fam_entry / n_usual if n_usual else float("nan"),
        "children_per_entry_family": children_entering / fam_entry if fam_entry else 1.0,
        "re_referrals": int((ev["event_type"] == "re_referral").sum()),
        "re_referrals_per_family": float((ev["event_type"] == "re_referral").sum() / n_usual) if n_usual else float("nan"),
        "nights_away_events_per_family": float((ev["event_type"] == "nights_away").sum() / n_usual) if n_usual else float("nan"),
    }  # fmt: skip
    # length of stay, both arms
    all_entries = care_events[care_events["event_type"] == "care_entry"][
        ["family_id", "child_id", "event_date"]
    ]
    exits = care_events[care_events["event_type"] == "care_exit"][
        ["family_id", "child_id", "event_date"]
    ]
    stays = all_entries.merge(
        exits, on=["family_id", "child_id"], how="left", suffixes=("", "_exit")
    )
    stays = stays[
        stays["event_date_exit"].isna() | (stays["event_date_exit"] >= stays["event_date"])
    ]
    stays = stays.sort_values("event_date_exit").drop_duplicates(
        ["family_id", "child_id", "event_date"]
    )
    end = randomisation.set_index("family_id")["randomised_date"].reindex(
        stays["family_id"]
    ).to_numpy() + np.timedelta64(follow_up_days, "D")
    if data_cut is not None:
        end = np.minimum(end, np.datetime64(data_cut))
    stop = stays["event_date_exit"].to_numpy(dtype="datetime64[ns]")
    stop = np.where(np.isnat(stop), end, np.minimum(stop, end))
    days = (stop - stays["event_date"].to_numpy(dtype="datetime64[ns]")) / np.timedelta64(1, "D")
    out["care_entries_observed"] = int(len(stays))
    out["weeks_in_care_per_entry"] = (
        float(np.clip(days, 0, None).mean() / 7) if len(stays) else float("nan")
    )
    return out


# --- who pays -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Payers:
    """Who pays for delivery, from the PSP contract (config/contract.yaml): the investor pays
    the charity during the `trial_years`, the LAs in the `further_years` if the targets are
    met. The investor's money is public (a government department: a cost to taxpayers, with
    the deadweight cost of taxation) or private (a philanthropist: a cost to others, without).

    Families arrive at the same rate in both periods, so the investor pays trial_years /
    (trial_years + further_years) of the delivery cost per family over the contract. The
    default (one trial year, no further years, public money) puts all of it on taxpayers.
    """

    investor: str = "the investor"
    investor_public: bool = True
    trial_years: int = 1
    further_years: int = 0

    @classmethod
    def from_contract(cls, contract: Mapping[str, Any]) -> Payers:
        """The payers of the run's `contract` settings."""
        investor = contract["investor"]
        return cls(str(investor["name"]), bool(investor["public_money"]),
                   int(contract["trial_years"]), int(contract["further_years"]))  # fmt: skip

    @property
    def investor_share(self) -> float:
        """The share of the contract's delivery cost the investor pays."""
        return self.trial_years / (self.trial_years + self.further_years)

    def years(self) -> tuple[str, str]:
        """The contract years of each period in words: ("years 1-2", "years 3-4")."""

        def span(first: int, last: int) -> str:
            return f"year {first}" if first == last else f"years {first}-{last}"

        t, f = self.trial_years, self.further_years
        return span(1, t), (span(t + 1, t + f) if f else "none")

    def numbers(self) -> dict[str, object]:
        """What the report quotes of who pays."""
        trial, further = self.years()
        return {
            "investor": self.investor,
            "investor_money": "public money, a cost to taxpayers" if self.investor_public
            else "private money, a cost to others in society",
            "trial_years": self.trial_years,
            "trial_years_text": trial,
            "further_years_text": further,
            "investor_share_pct": round(100 * self.investor_share),
        }  # fmt: skip


# --- the model ------------------------------------------------------------------------------
@dataclass(frozen=True)
class ModelInputs:
    """Everything the model needs for one scope: uncertain parameters and fixed settings.

    Parameters (by name): delivery_cost, cost_multiplier, usual_services_cost,
    care_entry_risk, children_per_entry_family, care_entry_ratio, weeks_in_care,
    weeks_in_care_multiplier, residential_share, foster_care_week, residential_care_week,
    re_referrals_per_family, re_referral_ratio, assessments_per_re_referral, referral,
    assessment, sdq_effect. Settings: effect_adjustment (design x implementation),
    benefit_weight (sum over the horizon of base-rate share x effect persistence x discount
    factor), usual_services_replaced_share, cashable (unit cost name -> bool), payers (who
    pays for delivery in which period).
    """

    parameters: dict[str, Parameter]
    effect_adjustment: float = 1.0
    benefit_weight: float = 1.0
    usual_services_replaced_share: float = 0.0
    cashable: dict[str, bool] = field(default_factory=dict)
    correlations: dict[tuple[str, str], float] = field(default_factory=dict)
    payers: Payers = field(default_factory=Payers)

    def with_value(self, name: str, value: float) -> ModelInputs:
        """The same inputs with one parameter fixed at `value` (one-way sensitivity)."""
        params = dict(self.parameters)
        params[name] = replace(params[name], value=value, distribution="fixed")
        return replace(self, parameters=params)

    def base_values(self) -> dict[str, np.ndarray]:
        return {name: np.array([p.value], dtype=float) for name, p in self.parameters.items()}


def benefit_weight(horizon_years: int, follow_up_years: int, decay_per_year: float,
                   base_rate_after_follow_up: float, schedule: str | float = "green_book") -> float:  # fmt: skip
    """Discounted years of effect: sum over the horizon of (share of the base rate falling in
    the year) x (effect persisting) x discount factor.

    Within follow-up each year carries 1/follow_up_years of the observed events at full
    effect; after it, a year carries `base_rate_after_follow_up`/follow_up_years of them and the
    effect shrinks by `decay_per_year` each year.
    """
    df = discount_factors(horizon_years, schedule)
    t = np.arange(horizon_years)
    share = np.where(t < follow_up_years, 1.0, base_rate_after_follow_up) / follow_up_years
    persist = np.where(t < follow_up_years, 1.0, (1 - decay_per_year) ** (t - follow_up_years + 1))
    return float((share * persist * df).sum())


def evaluate(inputs: ModelInputs, values: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Benefits, costs and outcomes per family for arrays of parameter values (one per draw)."""
    v = values
    adj = inputs.effect_adjustment
    w = inputs.benefit_weight
    # care entries avoided per SFFC family, and the cost of a care entry
    entries_avoided = (
        v["care_entry_risk"] * v["children_per_entry_family"] * (1 - v["care_entry_ratio"]) * adj
    )
    week = (1 - v["residential_share"]) * v["foster_care_week"] + v["residential_share"] * v[
        "residential_care_week"
    ]
    # net of services as usual: a child kept at home still receives children's services
    week = week - v.get("home_services_week", 0.0)
    cost_per_entry = v["weeks_in_care"] * v["weeks_in_care_multiplier"] * week
    care = entries_avoided * cost_per_entry * w
    re_refs_avoided = v["re_referrals_per_family"] * (1 - v["re_referral_ratio"]) * adj
    referrals = re_refs_avoided * v["referral"] * w
    assessments = re_refs_avoided * v["assessments_per_re_referral"] * v["assessment"] * w
    taxpayers = care + referrals + assessments
    cashable = (care if inputs.cashable.get("care", True) else 0.0) + (
        referrals if inputs.cashable.get("referral", False) else 0.0) + (
        assessments if inputs.cashable.get("assessment", False) else 0.0)  # fmt: skip
    zero = np.zeros_like(taxpayers)
    # delivery by payer: the investor's share of the contract (the trial years), the LAs' the
    # rest (the further years), net of the services as usual SFFC replaces (the LAs' services)
    delivery = v["delivery_cost"] * v["cost_multiplier"] + zero
    payers = inputs.payers
    by_investor = payers.investor_share * delivery
    by_las = (1 - payers.investor_share) * delivery - (
        inputs.usual_services_replaced_share * v["usual_services_cost"]
    )
    investor_public = by_investor if payers.investor_public else zero
    costs = by_las + investor_public  # taxpayers' money
    # volunteers' time, valued at a wage: a cost borne by others in society, as is a private
    # investor's money
    volunteer_time = v.get("volunteer_hours", 0.0) * v.get("volunteer_hour_value", 0.0) + zero
    costs_others = volunteer_time + (by_investor - investor_public)
    # WSIPP's indirect row: the deadweight cost of taxation on the net change in taxpayers'
    # money (benefits to taxpayers minus the programme cost they pay), negative when it costs
    # more; private money raises no tax and carries none
    indirect = v.get("deadweight_cost_of_taxation", 0.0) * (taxpayers - costs)
    total = taxpayers + indirect
    costs_total = costs + costs_others
    return {
        "benefits_taxpayers": taxpayers,
        "benefits_participants": zero,
        "benefits_others": zero,
        "benefits_indirect": indirect,
        "benefits_total": total,
        "benefits_care_placements": care,
        "benefits_re_referrals": referrals,
        "benefits_assessments": assessments,
        "cashable_savings": cashable,
        "costs_taxpayers": costs,
        "costs_participants": zero,
        "costs_others": costs_others,
        "costs_indirect": zero,
        "costs_total": costs_total,
        "costs_investor": by_investor,
        "costs_las": by_las,
        "costs_volunteer_time": volunteer_time,
        "npv": total - costs_total,
        "care_entries_avoided": entries_avoided,
        "re_referrals_avoided": re_refs_avoided,
        "sdq_effect": v["sdq_effect"] * adj,
    }


def simulate(model_inputs: ModelInputs, draws: int = 10_000, seed: int = 20261123) -> pd.DataFrame:
    """Monte Carlo draws of every parameter (numpy, vectorised): one row per draw.

    Columns: draw, benefits and costs by perspective and in total, npv, cashable savings,
    the outcome changes, and the drawn parameters (prefixed `p_`). The same seed gives the
    same draws.
    """
    values = draw_parameters(model_inputs, draws, seed)
    result = evaluate(model_inputs, values)
    frame = pd.DataFrame(
        {"draw": np.arange(draws), **result, **{f"p_{k}": a for k, a in values.items()}}
    )
    return frame


def draw_parameters(
    model_inputs: ModelInputs, draws: int = 10_000, seed: int = 20261123
) -> dict[str, np.ndarray]:
    """`draws` values of every parameter, the same for the same seed: one random stream per
    parameter (common random numbers), so fixing one input, as the tornado does, leaves
    every other input's draws unchanged."""
    params = model_inputs.parameters
    joint = sorted({n for pair in model_inputs.correlations for n in pair if n in params})
    values = {
        name: p.draw(np.random.default_rng([seed, zlib.crc32(name.encode())]), draws)
        for name, p in sorted(params.items())
        if name not in joint
    }
    if joint:
        values.update(correlated_draws(params, joint, model_inputs.correlations, draws, seed))
    return values


def correlated_draws(
    params: Mapping[str, Parameter],
    names: list[str],
    correlations: Mapping[tuple[str, str], float],
    draws: int,
    seed: int,
) -> dict[str, np.ndarray]:
    """Draws of `names` with the given pairwise correlations (a Gaussian copula: correlated
    standard normals, each through its own distribution's quantiles). A fixed parameter keeps
    its column, so fixing one (the tornado) leaves the others' draws unchanged."""
    from scipy import stats

    k = len(names)
    matrix = np.eye(k)
    for (a, b), rho in correlations.items():
        if a in names and b in names and a != b:
            i, j = names.index(a), names.index(b)
            matrix[i, j] = matrix[j, i] = float(rho)
    eigenvalues, vectors = np.linalg.eigh(matrix)  # nearest valid correlation if not PSD
    matrix = vectors @ np.diag(np.clip(eigenvalues, 1e-9, None)) @ vectors.T
    d = np.sqrt(np.diag(matrix))
    chol = np.linalg.cholesky(matrix / np.outer(d, d))
    rng = np.random.default_rng([seed, zlib.crc32("|".join(names).encode())])
    u = stats.norm.cdf(rng.standard_normal((draws, k)) @ chol.T)
    return {name: params[name].ppf(u[:, i]) for i, name in enumerate(names)}


def _ratio(benefits: np.ndarray | float, costs: np.ndarray | float) -> float:
    return float(benefits / costs) if costs > 0 else float("nan")


def summarise(draws: pd.DataFrame) -> pd.DataFrame:
    """Tidy summary by perspective (taxpayers, participants, others, total): mean benefits,
    costs, npv (with 2.5 and 97.5 percentiles), bcr (ratio of means), return per £1
    ((B - C) / C) and the chance that benefits exceed costs."""
    rows = []
    for perspective in (*PERSPECTIVES, "total"):
        b = draws[f"benefits_{perspective}"].to_numpy()
        c = draws[f"costs_{perspective}"].to_numpy()
        npv = b - c
        bcr = _ratio(b.mean(), c.mean())
        rows.append({
            "perspective": perspective,
            "benefits": float(b.mean()),
            "costs": float(c.mean()),
            "npv": float(npv.mean()),
            "npv_low": float(np.percentile(npv, 2.5)),
            "npv_high": float(np.percentile(npv, 97.5)),
            "npv_median": float(np.median(npv)),
            "p_loss": float((npv < 0).mean()),
            "bcr": bcr,
            "return_per_pound": bcr - 1 if math.isfinite(bcr) else float("nan"),
            "p_benefits_exceed_costs": float((b > c).mean()) if (b != 0).any() or (c != 0).any() else float("nan"),
        })  # fmt: skip
    return pd.DataFrame(rows)


BENEFIT_LINKAGES = (
    ("benefits_care_placements", "taxpayers", "Care placements avoided (net of services at home)"),
    ("benefits_re_referrals", "taxpayers", "Re-referrals avoided (social-work time)"),
    ("benefits_assessments", "taxpayers", "Assessments avoided (social-work time)"),
)


def wsipp_table(
    summary: pd.DataFrame,
    draws: pd.DataFrame,
    not_monetised: list[Mapping[str, str]] = (),
    break_even: Mapping[str, float] | None = None,
    payers: Payers | None = None,
) -> pd.DataFrame:
    """The WSIPP-style summary per family allocated to SFFC (£ present value): each benefit by
    outcome under its perspective (taxpayers, participants, others, indirect), outcomes not
    monetised with the reason, costs by perspective and within it by payer (`payers`: the LAs
    in the further years, the investor in the trial years under taxpayers or others as its
    money is public or private, volunteers' time under others), net, ratio, chance B > C."""
    s = summary.set_index("perspective")
    payers = payers or Payers()
    money = lambda x: f"{x:,.0f}"  # noqa: E731
    rows = []
    for perspective in PERSPECTIVES:
        title = "Indirect benefits" if perspective == "indirect" else f"Benefits to {perspective}"
        rows.append((title, money(s.at[perspective, "benefits"])))
        for column, who, label in BENEFIT_LINKAGES:
            if who == perspective:
                rows.append((f"  {label}", money(draws[column].mean())))
        for item in not_monetised:
            if item["perspective"] == perspective:
                rows.append((f"  {item['label']}", f"not monetised: {item['why']}"))
        if perspective == "indirect":
            rows.append(
                (
                    "  Deadweight cost of taxation on the net taxpayer cost",
                    money(s.at["indirect", "benefits"]),
                )
            )
    rows += [
        ("Total benefits", money(s.at["total", "benefits"])),
        *_cost_rows(s, draws, payers),
        ("Total costs", money(s.at["total", "costs"])),
        ("Benefits minus costs (NPV), mean", money(s.at["total", "npv"])),
        ("NPV, median", money(s.at["total", "npv_median"])),
        ("NPV, 95% interval", f"{money(s.at['total', 'npv_low'])} to {money(s.at['total', 'npv_high'])}"),
        ("Benefit-cost ratio (£ of benefit per £1 of cost)", f"{s.at['total', 'bcr']:.2f}"),
        ("Chance benefits exceed costs", f"{100 * s.at['total', 'p_benefits_exceed_costs']:.0f}%"),
        ("Chance of a loss (NPV below 0)", f"{100 * s.at['total', 'p_loss']:.0f}%"),
    ]  # fmt: skip
    if break_even:
        rows.append(("Care-entry risk ratio needed to break even", break_even_text(break_even)))
    return pd.DataFrame(rows, columns=["Per family allocated to SFFC", "£ (present value)"])


def _cost_rows(s: pd.DataFrame, draws: pd.DataFrame, payers: Payers) -> list[tuple[str, str]]:
    """The cost rows of the WSIPP table: each perspective's cost, and under it who pays."""
    money = lambda x: f"{x:,.0f}"  # noqa: E731
    mean = lambda column: float(draws[column].mean()) if column in draws else 0.0  # noqa: E731
    trial, further = payers.years()
    investor = (f"  Delivery paid by {payers.investor} in the trial ({trial}), "
                f"{'public' if payers.investor_public else 'private'} money")  # fmt: skip
    las = [(f"  Delivery paid by the LAs in the further years ({further}), net of services as usual replaced",
            money(mean("costs_las")))] if payers.further_years or mean("costs_las") else []  # fmt: skip
    public = [(investor, money(mean("costs_investor")))] if payers.investor_public else []
    private = [] if payers.investor_public else [(investor, money(mean("costs_investor")))]
    return [
        ("Costs to taxpayers", money(s.at["taxpayers", "costs"])), *las, *public,
        ("Costs to others", money(s.at["others", "costs"])),
        ("  Volunteers' time, valued at a wage", money(mean("costs_volunteer_time"))), *private,
    ]  # fmt: skip


def evpi(draws: pd.DataFrame, effect_columns: list[str] | None = None) -> dict[str, float]:
    """Expected value of perfect information per family (£), for the decision to fund SFFC
    (net benefit = NPV) against not funding it (0).

    `total`: E[max(NPV, 0)] - max(E[NPV], 0). `effects`: the partial EVPI of the effect
    parameters (the `p_` columns named), by the regression method of Strong, Oakley & Brennan
    (2014): NPV regressed on the effects (linear and squared terms), then the same formula on
    the fitted values.
    """
    npv = draws["npv"].to_numpy(dtype=float)
    out = {"total": float(np.maximum(npv, 0).mean() - max(npv.mean(), 0.0))}
    columns = [c for c in (effect_columns or []) if c in draws and draws[c].std() > 0]
    if columns:
        x = draws[columns].to_numpy(dtype=float)
        design = np.column_stack([np.ones(len(x)), x, x**2])
        coef, *_ = np.linalg.lstsq(design, npv, rcond=None)
        fitted = design @ coef
        out["effects"] = float(np.maximum(fitted, 0).mean() - max(fitted.mean(), 0.0))
    else:
        out["effects"] = 0.0
    return out


def ceac(draws: pd.DataFrame, wtp_per_point: list[float]) -> pd.DataFrame:
    """Cost-effectiveness acceptability curve: for each willingness to pay per SDQ point
    improved (£ per family), the chance that wtp x improvement exceeds the net cost (total
    costs minus monetised benefits)."""
    improvement = -draws["sdq_effect"].to_numpy(dtype=float)  # SDQ: lower is better
    net_cost = (draws["costs_total"] - draws["benefits_total"]).to_numpy(dtype=float)
    return pd.DataFrame({
        "wtp_per_sdq_point": [float(w) for w in wtp_per_point],
        "p_cost_effective": [float((w * improvement > net_cost).mean()) for w in wtp_per_point],
    })  # fmt: skip


def acceptability_grid(setting: Mapping[str, float]) -> list[float]:
    """The willingness-to-pay values of the acceptability curve: 0 to the maximum, in steps."""
    top, step = float(setting["max_gbp_per_point"]), float(setting["step_gbp"])
    return [float(w) for w in np.arange(0.0, top + step / 2, step)]


def wtp_for_chance(curve: pd.DataFrame, chance: float = 0.5) -> float | None:
    """The least willingness to pay per SDQ point at which the chance that SFFC is worth its
    net cost reaches `chance`, or None when it does not within the curve."""
    reached = curve.loc[curve["p_cost_effective"] >= chance, "wtp_per_sdq_point"]
    return float(reached.min()) if len(reached) else None


def break_even(inputs: ModelInputs) -> dict[str, float]:
    """The effect needed for NPV = 0 at base values (NPV is linear in each effect).

    `effect_share`: the share of the estimated effects (all at once) that pays for the
    programme; `care_entry_ratio`: the care-entry risk ratio that breaks even with the other
    effects as estimated; `cox_d`: that ratio as WSIPP's effect size (Cox transformation of the
    odds ratio, d = ln(OR) / 1.65); NaN where no effect can break even.
    """

    def npv(model: ModelInputs) -> float:
        return float(evaluate(model, model.base_values())["npv"][0])

    none = npv(replace(inputs, effect_adjustment=0.0))
    full = npv(inputs)
    share = -none / (full - none) if full != none and -none / (full - none) > 0 else float("nan")
    at_one, at_zero = (
        npv(inputs.with_value("care_entry_ratio", 1.0)),
        npv(inputs.with_value("care_entry_ratio", 0.0)),
    )
    if at_one >= 0:
        ratio = 1.0  # pays without any care-entry effect
    elif at_zero <= 0:
        ratio = float("nan")  # even preventing every care entry would not pay
    else:
        ratio = 1 - (-at_one / (at_zero - at_one))
    p0 = inputs.parameters["care_entry_risk"].value
    cox_d = float("nan")
    if math.isfinite(ratio) and ratio > 0 and 0 < p0 < 1:
        p1 = ratio * p0
        odds_ratio = (p1 / (1 - p1)) / (p0 / (1 - p0))
        cox_d = math.log(odds_ratio) / 1.65
    return {"effect_share": share, "care_entry_ratio": ratio, "cox_d": cox_d}


def break_even_text(be: Mapping[str, float]) -> str:
    """Break-even in words for the table."""
    r = be.get("care_entry_ratio", float("nan"))
    if not math.isfinite(r):
        return "none (even preventing every care entry would not pay)"
    if r >= 1:
        return "any (other savings already cover the cost)"
    return f"{r:.2f} (Cox d {be['cox_d']:.2f})"


def tornado(
    inputs: ModelInputs, level: float = 0.95, draws: int = 10_000, seed: int = 20261123
) -> pd.DataFrame:
    """One-way sensitivity on the same basis as the headline: the mean NPV per family over the
    Monte Carlo draws with one parameter fixed at each end of its interval (the others drawn
    with the same seed), widest swing first."""
    # The parameters are drawn once: a fixed one draws `draws` copies of its value and leaves
    # the others' draws as they were, so each end only replaces one column (as `simulate`
    # with that input fixed would draw it, in a tenth of the time).
    drawn = draw_parameters(inputs, draws, seed)

    def mean_npv(fixed: ModelInputs, values: dict[str, np.ndarray]) -> float:
        return float(pd.Series(evaluate(fixed, values)["npv"]).mean())

    base = mean_npv(inputs, drawn)
    rows = []
    for name, p in inputs.parameters.items():
        if p.distribution == "fixed" or name == "sdq_effect":
            continue
        low, high = p.interval(level)
        npv_low, npv_high = (
            mean_npv(inputs.with_value(name, x), {**drawn, name: np.full(draws, float(x))})
            for x in (low, high)
        )
        rows.append({"parameter": name, "label": p.label or name, "low": low, "high": high,
                     "npv_at_low": npv_low, "npv_at_high": npv_high, "swing": abs(npv_high - npv_low),
                     "source": p.source})  # fmt: skip
    table = pd.DataFrame(rows).sort_values("swing", ascending=False, ignore_index=True)
    table.attrs["base_npv"] = base
    return table


def build_inputs(
    config: Mapping[str, Any],
    unit_params: Mapping[str, Parameter],
    effects: pd.DataFrame,
    base: Mapping[str, float],
    *,
    delivery_cost_per_family: float,
    usual_services_per_family: float = 0.0,
    volunteer_hours_per_family: float = 0.0,
    effect_correlation: pd.DataFrame | None = None,
    payers: Payers | None = None,
) -> ModelInputs:
    """Assemble ModelInputs from the config, unit costs, effects and the scope's base rates
    (and who pays for delivery: `payers`, by default all taxpayers)."""
    cautious = config["cautious"]
    programme = config.get("programme", {})
    eff = effects.set_index("effect")
    n_usual = max(int(base["n_usual"]), 1)
    k = int(base["families_with_care_entry"])
    rr = eff.loc["care_entry"]
    ref = eff.loc["re_referral"]
    sdq = eff.loc["sdq_total_difficulties"]
    cost_unc = programme.get("cost_uncertainty", {"distribution": "fixed"})
    weeks = base.get("weeks_in_care_per_entry", float("nan"))
    if base.get("care_entries_observed", 0) < 5 or not math.isfinite(weeks):
        weeks = unit_params["weeks_in_care_default"].value
        weeks_source = "assumption (too few care entries observed)"
    else:
        weeks_source = f"trial data: mean of {base['care_entries_observed']} care entries"
    n_re = int(base["re_referrals"])
    params = {
        "delivery_cost": Parameter("delivery_cost", delivery_cost_per_family, label="Delivery cost per SFFC family",
                                   source="costs table, deflated"),
        "cost_multiplier": Parameter("cost_multiplier", 1.0, cost_unc.get("distribution", "fixed"),
                                     low=cost_unc.get("low"), high=cost_unc.get("high"),
                                     label="Delivery cost, relative to the accounts", source="config"),
        "usual_services_cost": Parameter("usual_services_cost", usual_services_per_family,
                                         label="Services as usual per usual-care family", source="costs table"),
        "care_entry_risk": Parameter("care_entry_risk", base["care_entry_risk"], "beta", a=k + 0.5,
                                     b=n_usual - k + 0.5, label="Care-entry risk without SFFC",
                                     source="usual-care arm"),
        "children_per_entry_family": Parameter("children_per_entry_family", base["children_per_entry_family"],
                                               label="Children entering care per family with an entry",
                                               source="usual-care arm"),
        "care_entry_ratio": Parameter("care_entry_ratio", float(rr["estimate"]), "lognormal", sd=float(rr["se"]),
                                      label="Care-entry risk ratio (SFFC / usual)", source=rr["source"]),
        "weeks_in_care": Parameter("weeks_in_care", weeks, label="Weeks in care per entry", source=weeks_source),
        "re_referrals_per_family": Parameter("re_referrals_per_family", base["re_referrals_per_family"], "gamma",
                                             a=n_re + 0.5, b=1 / n_usual, label="Re-referrals per family without SFFC",
                                             source="usual-care arm"),
        "re_referral_ratio": Parameter("re_referral_ratio", float(ref["estimate"]), "lognormal", sd=float(ref["se"]),
                                       label="Re-referral rate ratio (SFFC / usual)", source=ref["source"]),
        "sdq_effect": Parameter("sdq_effect", float(sdq["estimate"]), "normal", sd=float(sdq["se"]),
                                label="SDQ total difficulties difference", source=sdq["source"]),
    }  # fmt: skip
    # the gamma's mean is (n + 0.5) / n_usual; keep the base value at the observed rate
    for name in ("foster_care_week", "residential_care_week", "referral", "assessment",
                 "residential_share", "assessments_per_re_referral", "weeks_in_care_multiplier"):  # fmt: skip
        params[name] = unit_params[name]
    # optional linkages: services at home (netted off placements), volunteers' time, deadweight
    for name in ("home_services_week", "volunteer_hour_value", "deadweight_cost_of_taxation"):
        if name in unit_params:
            params[name] = unit_params[name]
    if "volunteer_hour_value" in params:
        params["volunteer_hours"] = Parameter("volunteer_hours", volunteer_hours_per_family,
                                              label="Volunteer hours per SFFC family (friendship)",
                                              source="support table")  # fmt: skip
    cashable = {"care": bool(config["unit_costs"]["foster_care_week"].get("cashable", True)),
                "referral": bool(config["unit_costs"]["referral"].get("cashable", False)),
                "assessment": bool(config["unit_costs"]["assessment"].get("cashable", False))}  # fmt: skip
    weight = benefit_weight(int(cautious["horizon_years"]), int(cautious["follow_up_years"]),
                            float(cautious["decay_per_year"]), float(cautious["base_rate_after_follow_up"]),
                            config.get("discounting", {}).get("schedule", "green_book"))  # fmt: skip
    # base rates are events over the whole follow-up, and the weight already spreads them over
    # its years (1 / follow_up_years each): it is the factor to apply, never to multiply again
    correlations = {
        (str(c["a"]), str(c["b"])): float(c["rho"]) for c in config.get("correlations", [])
    }
    if effect_correlation is not None:
        names = list(effect_correlation.columns)
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                rho = float(effect_correlation.at[a, b])
                if math.isfinite(rho):
                    correlations[(a, b)] = rho
    return ModelInputs(
        correlations=correlations,
        parameters=params,
        effect_adjustment=float(cautious["design_adjustment"])
        * float(cautious["implementation_adjustment"]),
        benefit_weight=weight,
        usual_services_replaced_share=float(programme.get("usual_services_replaced_share", 0.0)),
        cashable=cashable,
        payers=payers or Payers(),
    )


def parameter_table(inputs: ModelInputs) -> pd.DataFrame:
    """Every model input with its base value, 95% range and source, for the report."""
    rows = []
    for name, p in inputs.parameters.items():
        low, high = p.interval()
        rows.append({"Input": p.label or name, "Base value": _fmt(p.value),
                     "95% range": "fixed" if p.distribution == "fixed" else f"{_fmt(low)} to {_fmt(high)}",
                     "Distribution": p.distribution, "Source": p.source})  # fmt: skip
    return pd.DataFrame(rows)


def _fmt(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"


# --- helpers the notebooks share --------------------------------------------------------------
def delivery_cost_per_sffc_family(
    scope_costs: pd.DataFrame,
    trial_costs: pd.DataFrame,
    n_sffc_scope: int,
    n_sffc_trial: int,
    price_year: int,
    deflators: pd.Series,
) -> dict[str, float]:
    """Delivery cost per family allocated to SFFC, in `price_year` prices.

    A hub carries its own costs plus central costs in proportion to its share of the trial's
    SFFC families (the trial carries all central costs).
    """
    own = real_costs(scope_costs, price_year, deflators)
    own_delivery = own.loc[
        own["category"].isin(DELIVERY_CATEGORIES) & (own["category"] != "central"),
        "amount_real_gbp",
    ].sum()
    central_all = real_costs(trial_costs, price_year, deflators)
    central_all = central_all.loc[central_all["category"] == "central", "amount_real_gbp"].sum()
    share = n_sffc_scope / n_sffc_trial if n_sffc_trial else 0.0
    central = central_all * share
    total = own_delivery + central
    return {
        "hub_delivery_gbp": float(own_delivery),
        "central_share_gbp": float(central),
        "total_gbp": float(total),
        "per_family_gbp": float(total / n_sffc_scope) if n_sffc_scope else float("nan"),
    }


def usual_services_per_family(
    costs: pd.DataFrame, n_usual: int, price_year: int, deflators: pd.Series
) -> float:
    """Cost of services as usual per usual-care family, where the costs table gives it (else 0)."""
    real = real_costs(costs, price_year, deflators)
    total = real.loc[real["category"] == "usual_services", "amount_real_gbp"].sum()
    return float(total / n_usual) if n_usual and total > 0 else 0.0


def volunteer_hours_per_family(support: pd.DataFrame, n_sffc: int) -> float:
    """Volunteers' recorded friendship hours per family allocated to SFFC (hosting nights carry
    no hours in the support table and are not valued here)."""
    hours = pd.to_numeric(support.get("hours"), errors="coerce").fillna(0.0).sum()
    return float(hours / n_sffc) if n_sffc else 0.0


def write_draws(path: str | Path, draws: pd.DataFrame, columns: tuple[str, ...]) -> Path:
    """The Monte Carlo draws the payment decision reads (Parquet, written atomically)."""
    from psp_eval.engine.atomic import temporary_path

    final = Path(path)
    with temporary_path(final) as tmp:
        draws[list(columns)].to_parquet(tmp, index=False)
    return final


def cashable_by_la(
    inputs: ModelInputs, draws: pd.DataFrame, shares: Mapping[str, Parameter], seed: int = 20261123
) -> pd.DataFrame:
    """Cashable savings per family for each LA (a column per key of `shares`, a row per draw
    of `draws`, which `simulate` made from `inputs`): the scope's draws of every input but the
    share of care weeks in a children's home, which is the LA's own (`shares`). An LA whose
    share is the scope's parameter keeps the scope's draws of it."""
    values = {c.removeprefix("p_"): draws[c].to_numpy() for c in draws if c.startswith("p_")}
    scope_share = inputs.parameters.get("residential_share")
    out = {}
    for key, share in shares.items():
        v = dict(values)
        if share != scope_share:
            rng = np.random.default_rng([seed, zlib.crc32(f"residential_share|{key}".encode())])
            v["residential_share"] = share.draw(rng, len(draws))
        out[key] = evaluate(inputs, v)["cashable_savings"]
    return pd.DataFrame(out, index=draws.index)


def write_la_cashable(folder: str | Path, by_la: pd.DataFrame, mix: pd.DataFrame) -> Path:
    """The LAs' cashable savings draws (`cashable_by_la`) and the placement mix each used
    (la_code, used: own data / assumption), which the payment decision reads."""
    from psp_eval.engine.atomic import temporary_path

    folder = Path(folder)
    for name, frame in (("la_cashable", by_la), ("placement_mix", mix)):
        with temporary_path(folder / f"{name}.parquet") as tmp:
            frame.to_parquet(tmp, index=False)
    return folder


def read_la_cashable(folder: str | Path) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """What `write_la_cashable` wrote in a scope's cost-benefit `folder`, or (None, None)."""
    folder = Path(folder)
    paths = [folder / "la_cashable.parquet", folder / "placement_mix.parquet"]
    if not all(p.exists() for p in paths):
        return None, None
    draws, mix = (pd.read_parquet(p) for p in paths)
    return draws, mix


def read_draws(path: str | Path) -> pd.DataFrame | None:
    """The draws `write_draws` wrote, or None when the cost-benefit analysis made none."""
    path = Path(path)
    return pd.read_parquet(path) if path.exists() else None


def with_horizon(config: Mapping[str, Any], years: int) -> dict:
    """The model settings with another horizon (a labelled sensitivity: effects decay after
    the follow-up as `cautious.decay_per_year` says)."""
    return {**config, "cautious": {**config["cautious"], "horizon_years": int(years)}}


def headline_numbers(
    summary: pd.DataFrame,
    draws: pd.DataFrame,
    be: Mapping[str, float],
    value_of_information: Mapping[str, float],
) -> dict[str, object]:
    """The numbers the report quotes, rounded: totals (mean, median, 95% interval), benefits by
    perspective, BCR, chance B > C and of a loss, EVPI, break-even and cashable savings (mean,
    5th and 95th percentiles)."""
    s = summary.set_index("perspective") if "perspective" in summary else summary
    numbers: dict[str, object] = {
        f"{key}_gbp": round(float(s.at["total", key]))
        for key in ("benefits", "costs", "npv", "npv_low", "npv_high", "npv_median")
    }
    for who in PERSPECTIVES:
        numbers[f"benefits_{who}_gbp"] = round(float(s.at[who, "benefits"]))
    cashable = draws["cashable_savings"]
    for column in ("costs_investor", "costs_las", "costs_volunteer_time"):
        if column in draws:
            numbers[f"{column}_gbp"] = round(float(draws[column].mean()))
    numbers.update({
        "costs_taxpayers_gbp": round(float(s.at["taxpayers", "costs"])),
        "costs_others_gbp": round(float(s.at["others", "costs"])),
        "bcr": round(float(s.at["total", "bcr"]), 2),
        "p_benefits_exceed_costs_pct": round(100 * float(s.at["total", "p_benefits_exceed_costs"])),
        "p_loss_pct": round(100 * float(s.at["total", "p_loss"])),
        "evpi_gbp": round(float(value_of_information["total"])),
        "evppi_effects_gbp": round(float(value_of_information["effects"])),
        "break_even_text": break_even_text(be),
        "cashable_savings_gbp": round(float(cashable.mean())),
        "cashable_savings_low_gbp": round(float(cashable.quantile(0.05))),
        "cashable_savings_high_gbp": round(float(cashable.quantile(0.95))),
    })  # fmt: skip
    return numbers


def model_numbers(inputs: ModelInputs, config: Mapping[str, Any]) -> dict[str, object]:
    """What the report quotes of the model's settings: the horizon, the cautious adjustment
    and who pays for delivery."""
    return {
        "horizon_years": int(config["cautious"]["horizon_years"]),
        "effect_adjustment": round(inputs.effect_adjustment, 2),
        **inputs.payers.numbers(),
    }


def sensitivity_numbers(
    config: Mapping[str, Any],
    unit_params: Mapping[str, Parameter],
    effects: pd.DataFrame,
    own_effects: pd.DataFrame,
    base: Mapping[str, float],
    costs: Mapping[str, Any],
    draws: int = 10_000,
    seed: int = 20261123,
) -> dict[str, object]:
    """Labelled sensitivities of the BCR: the longer horizon with decay
    (`cautious.sensitivity_horizon_years`), and the scope's own effects in place of the
    trial's (for a hub: exploratory, not powered)."""
    years = int(
        config["cautious"].get("sensitivity_horizon_years", config["cautious"]["horizon_years"])
    )

    def bcr(settings: Mapping[str, Any], effect_table: pd.DataFrame) -> float:
        model = build_inputs(settings, unit_params, effect_table, base, **costs)
        return float(
            summarise(simulate(model, draws, seed)).set_index("perspective").at["total", "bcr"]
        )

    own = bcr(config, own_effects)
    return {
        "sensitivity_horizon_years": years,
        "bcr_long_horizon": round(bcr(with_horizon(config, years), effects), 2),
        "bcr_own_effects": round(own, 2) if math.isfinite(own) else "not estimable",
    }


def effects_table(effects: pd.DataFrame) -> pd.DataFrame:
    """The effects as the report shows them: estimate and 95% interval (2 decimals), source."""
    return pd.DataFrame({
        "Effect": effects["label"],
        "Estimate": effects["estimate"].round(2),
        "95% CI": [f"{lo:.2f} to {hi:.2f}" for lo, hi in zip(effects["ci_low"], effects["ci_high"])],
        "Source": effects["source"],
    })  # fmt: skip


# --- the notebook's steps -------------------------------------------------------------------
@dataclass(frozen=True)
class ScopeCosts:
    """A scope's families by arm and its delivery costs, at the report's price year."""

    n_sffc: int
    n_usual: int
    delivery: dict[str, float]  # delivery_cost_per_sffc_family
    usual_per_family: float
    spending_after_deflators: float
    deflators_last_year: int

    def model_inputs(
        self,
        support: pd.DataFrame,
        effect_correlation: pd.DataFrame | None = None,
        payers: Payers | None = None,
    ) -> dict[str, Any]:
        """The scope's keyword arguments of `build_inputs`: delivery cost and services as usual
        per family, volunteers' hours per SFFC family (from `support`), the effects'
        correlation and who pays."""
        return {
            "delivery_cost_per_family": self.delivery["per_family_gbp"],
            "usual_services_per_family": self.usual_per_family,
            "volunteer_hours_per_family": volunteer_hours_per_family(support, self.n_sffc),
            "effect_correlation": effect_correlation,
            "payers": payers,
        }

    def numbers(self) -> dict[str, object]:
        """What the report quotes (money rounded to £1; counts of families are the caller's,
        through disclosure control)."""
        return {
            "delivery_cost_per_sffc_family_gbp": round(self.delivery["per_family_gbp"]),
            "central_share_gbp": round(self.delivery["central_share_gbp"]),
            "usual_services_per_family_gbp": round(self.usual_per_family),
            "spending_after_deflators_gbp": round(self.spending_after_deflators),
            "deflators_last_year": financial_year(self.deflators_last_year),  # not a count
        }


def scope_costs(
    tables: Mapping[str, pd.DataFrame],
    trial_tables: Mapping[str, pd.DataFrame],
    arms: tuple[object, object],
    price_year: int,
    deflators: pd.Series,
) -> ScopeCosts:
    """The scope's families by arm (`arms`: treated, control values) and what delivering SFFC
    to them cost, with its share of central costs."""
    treated, control = arms
    counts = tables["randomisation"]["arm"].value_counts()
    n_sffc, n_usual = int(counts.get(treated, 0)), int(counts.get(control, 0))
    n_sffc_trial = int((trial_tables["randomisation"]["arm"] == treated).sum())
    costs = tables["costs"]
    return ScopeCosts(
        n_sffc=n_sffc,
        n_usual=n_usual,
        delivery=delivery_cost_per_sffc_family(
            costs, trial_tables["costs"], n_sffc, n_sffc_trial, price_year, deflators
        ),
        usual_per_family=usual_services_per_family(costs, n_usual, price_year, deflators),
        spending_after_deflators=spending_after_deflators(costs, deflators),
        deflators_last_year=int(deflators.index.max()),
    )


def effects_numbers(effects: pd.DataFrame) -> dict[str, object]:
    """How many effects the impact analysis could not estimate, and the effects' source in
    words for the report."""
    missing = int(effects["estimate"].isna().sum())
    note = f" ({missing} of {len(effects)} effects not estimable)" if missing else ""
    return {
        "n_effects_not_estimable": missing,
        "effects_source": "trial-wide impact estimates" + note,
    }


def read_effect_correlation(scope_dir: str | Path) -> pd.DataFrame:
    """The trial's effect correlation (`impact.effect_correlation_numbers`, which the trial's
    impact job recorded once) as a matrix, read from beside `scope_dir` (a scope's results
    folder): the joint distribution every scope's model draws its effects from."""
    from psp_eval.analyses.impact import CORRELATED_EFFECTS, correlation_key

    path = Path(scope_dir).parent / TRIAL_SCOPE / "impact" / "numbers.json"
    numbers = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    names = list(CORRELATED_EFFECTS)
    matrix = pd.DataFrame(np.eye(len(names)), index=names, columns=names)
    for first, second in itertools.combinations(names, 2):  # the pairs the writer recorded
        key = correlation_key(first, second)
        if key not in numbers:
            raise CbaError(f"{path}: no {key}; run the trial's impact notebook first")
        matrix.loc[first, second] = matrix.loc[second, first] = float(numbers[key])
    return matrix


def headline_and_own_effects(
    scope_dir: str | Path, n_sffc: int, n_usual: int, base: Mapping[str, float]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The effects the model values, read from the impact results beside `scope_dir` (a
    scope's results folder): the trial's, which every scope applies to its own base rates and
    costs, and the scope's own, for a hub's exploratory sensitivity only."""
    scope_dir = Path(scope_dir)
    trial = read_effects(
        scope_dir.parent / TRIAL_SCOPE / "impact" / "numbers.json", n_sffc, n_usual, base
    )
    own = read_effects(scope_dir / "impact" / "numbers.json", n_sffc, n_usual)
    return trial, own
