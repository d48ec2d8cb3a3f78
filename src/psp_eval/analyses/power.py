"""Power and sample size for the trial's primary analysis.

Why: the trial compares arms on two primary outcomes (SDQ total difficulties, GAD-7) at week 8
with ANCOVA adjusted for baseline; families are recruited through hubs. The sample needed is
that of a two-sample t test on the effect, adjusted four ways:

* ANCOVA with baseline-outcome correlation rho: residual variance sd^2 (1 - rho^2)
  (Borm, Fransen & Lemmens 2007), so the standardised effect is effect / (sd sqrt(1 - rho^2));
* two primary outcomes: each tested at alpha / k (Bonferroni; also the first, strictest, step
  of Holm's procedure, so a design powered at alpha / k is powered for Holm too);
* attrition: the analysed families are (1 - attrition) of those randomised;
* clustering by hub: the design effect 1 + (m - 1) ICC, m families per hub.

Power is exact for the t test (noncentral t, df = 2n - 2, as statsmodels' TTestIndPower and
R's pwr.t.test), with the effective n per arm = randomised x (1 - attrition) / design effect.
`simulate_power` checks the ANCOVA adjustment by simulation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from scipy import optimize, stats

from psp_eval.errors import PspEvalError


class PowerError(PspEvalError, ValueError):
    """Design values that make no sense (a correlation of 1.2, attrition of 100%, ...)."""


# The SAP's methods: each tests its first (strictest) primary at alpha / k or a little above
# (Holm-Sidak), so a design powered at alpha / k is powered for any of them; for the false
# discovery rate (fdr_bh) it is conservative.
MULTIPLICITY = ("bonferroni", "holm", "hommel", "holm-sidak", "fdr_bh", "none")


@dataclass(frozen=True)
class Design:
    """Assumptions of a sample-size calculation (outcome units for sd and effects)."""

    sd: float = 1.0
    rho: float = 0.0
    alpha: float = 0.05  # two-sided, family-wise over the primary outcomes
    n_primary: int = 1
    multiplicity: str = "bonferroni"  # a method of the SAP (holm, bonferroni, ...) or none
    attrition: float = 0.0
    icc: float = 0.0
    cluster_size: float = 1.0  # families per hub (m)

    def __post_init__(self) -> None:
        checks = {
            "sd must be positive": self.sd > 0,
            "rho must be in [0, 1)": 0 <= self.rho < 1,
            "alpha must be in (0, 1)": 0 < self.alpha < 1,
            "n_primary must be at least 1": self.n_primary >= 1,
            f"multiplicity must be one of {', '.join(MULTIPLICITY)}": self.multiplicity
            in MULTIPLICITY,
            "attrition must be in [0, 1)": 0 <= self.attrition < 1,
            "icc must be in [0, 1]": 0 <= self.icc <= 1,
            "cluster_size must be at least 1": self.cluster_size >= 1,
        }
        broken = [rule for rule, ok in checks.items() if not ok]
        if broken:
            raise PowerError("; ".join(broken))

    @property
    def alpha_per_test(self) -> float:
        """The two-sided level each primary outcome is tested at."""
        return self.alpha if self.multiplicity == "none" else self.alpha / self.n_primary

    @property
    def variance_factor(self) -> float:
        return 1 - self.rho**2

    @property
    def design_effect(self) -> float:
        return 1 + (self.cluster_size - 1) * self.icc

    def effective_n(self, n_per_arm: float) -> float:
        """Families per arm an unclustered, unadjusted t test would need to match."""
        return n_per_arm * (1 - self.attrition) / self.design_effect

    def standardised(self, effect: float) -> float:
        """Effect in residual SDs of the ANCOVA."""
        return abs(effect) / (self.sd * math.sqrt(self.variance_factor))


def t_test_power(d: float, n_per_arm: float, alpha: float) -> float:
    """Power of a two-sided two-sample t test with equal arms (noncentral t)."""
    if n_per_arm <= 1:
        return float("nan")
    df = 2 * n_per_arm - 2
    nc = d * math.sqrt(n_per_arm / 2)
    crit = stats.t.ppf(1 - alpha / 2, df)
    value = stats.nct.sf(crit, df, nc) + stats.nct.cdf(-crit, df, nc)
    if not math.isfinite(value):  # scipy's noncentral t fails far in the tail: power is 1
        value = stats.norm.sf(crit - nc) + stats.norm.cdf(-crit - nc)
    return float(value)


def power(effect: float, n_per_arm: float, design: Design) -> float:
    """Power to detect `effect` on one primary outcome with `n_per_arm` families randomised."""
    return t_test_power(
        design.standardised(effect), design.effective_n(n_per_arm), design.alpha_per_test
    )


@dataclass(frozen=True)
class SampleSize:
    """Families per arm: analysed (effective, unclustered), analysed with clustering, and to
    randomise once attrition is allowed for; `total` randomised in both arms."""

    analysed_unclustered: int
    analysed: int
    randomised: int
    total: int
    power: float


def sample_size(effect: float, design: Design, target_power: float = 0.8) -> SampleSize:
    """Smallest whole number of families per arm to randomise for `target_power`."""
    if not 0 < target_power < 1:
        raise PowerError("power must be in (0, 1)")
    d, alpha = design.standardised(effect), design.alpha_per_test
    if d == 0:
        raise PowerError("the effect must not be 0")
    n_eff = optimize.brentq(lambda n: t_test_power(d, n, alpha) - target_power, 1.5, 1e6)
    n_eff_int = math.ceil(n_eff)
    analysed = math.ceil(n_eff * design.design_effect)
    randomised = math.ceil(n_eff * design.design_effect / (1 - design.attrition))
    return SampleSize(
        n_eff_int, analysed, randomised, 2 * randomised, power(effect, randomised, design)
    )


def minimum_detectable_effect(n_per_arm: float, design: Design, target_power: float = 0.8) -> float:
    """Smallest effect (outcome units) detected with `target_power` with `n_per_arm` randomised."""
    n_eff = design.effective_n(n_per_arm)
    if n_eff <= 2:
        raise PowerError(f"{n_per_arm} families per arm leave {n_eff:.1f} effective: too few")
    alpha = design.alpha_per_test
    d = optimize.brentq(lambda x: t_test_power(x, n_eff, alpha) - target_power, 1e-6, 50)
    return float(d * design.sd * math.sqrt(design.variance_factor))


def simulate_power(
    effect: float, n_per_arm: int, design: Design, *, n_sims: int = 2000, seed: int = 1
) -> tuple[float, float]:
    """Power of ANCOVA (outcome ~ arm + baseline, OLS) by simulation, and its Monte Carlo SE.

    Baseline and outcome are bivariate normal (SD `sd`, correlation `rho`), the effect shifts
    the SFFC arm; each family is lost with probability `attrition`. Clustering is not
    simulated (it enters only through the design effect).
    """
    if design.icc:
        raise PowerError("simulate_power does not simulate clustering: set icc=0")
    rng = np.random.default_rng(seed)
    n = 2 * n_per_arm
    arm = np.repeat([1.0, 0.0], n_per_arm)
    base = rng.standard_normal((n_sims, n))
    noise = rng.standard_normal((n_sims, n))
    y = design.sd * (design.rho * base + math.sqrt(design.variance_factor) * noise) + effect * arm
    kept = (rng.random((n_sims, n)) >= design.attrition).astype(float)
    x = np.stack(
        [np.ones((n_sims, n)), np.broadcast_to(arm, (n_sims, n)), base * design.sd], axis=2
    )
    xw = x * kept[..., None]
    xtx = np.einsum("snk,snl->skl", xw, x)
    xty = np.einsum("snk,sn->sk", xw, y)
    beta = np.linalg.solve(xtx, xty[..., None])[..., 0]
    resid = (y - np.einsum("snk,sk->sn", x, beta)) * kept
    df = kept.sum(axis=1) - 3
    s2 = (resid**2).sum(axis=1) / df
    se = np.sqrt(s2 * np.linalg.inv(xtx)[:, 1, 1])
    p = 2 * stats.t.sf(np.abs(beta[:, 1] / se), df)
    rate = float((p < design.alpha_per_test).mean())
    return rate, math.sqrt(rate * (1 - rate) / n_sims)


def design_table(
    effects: dict[str, float],
    design_by_outcome: dict[str, Design],
    n_per_arm: float,
    target_power: float = 0.8,
) -> list[dict]:
    """For each outcome: its MDE with `n_per_arm` randomised, and the sample for its effect."""
    rows = []
    for name, design in design_by_outcome.items():
        row = {
            "outcome": name,
            "sd": design.sd,
            "rho": design.rho,
            "alpha_per_test": design.alpha_per_test,
            "design_effect": design.design_effect,
            "mde": minimum_detectable_effect(n_per_arm, design, target_power),
        }
        if name in effects:
            size = sample_size(effects[name], design, target_power)
            row |= {
                "effect": effects[name],
                "n_per_arm": size.randomised,
                "power_at_n": power(effects[name], n_per_arm, design),
            }
        rows.append(row)
    return rows


__all__ = [
    "Design",
    "PowerError",
    "SampleSize",
    "design_table",
    "minimum_detectable_effect",
    "power",
    "replace",
    "sample_size",
    "simulate_power",
    "t_test_power",
]  # fmt: skip


def primary_power(
    assumptions: dict,
    outcomes: list,
    *,
    alpha: float,
    multiplicity: str,
    target: int,
    n_hubs: int,
) -> tuple[list[dict], Design]:
    """The design of the trial for each primary outcome with an SD and a difference of
    interest in `assumptions` (config/power.yaml): the minimum detectable difference with the
    recruitment `target` (randomised families, half per arm, `n_hubs` clusters), the families to
    randomise for the difference of interest and the power the target gives. One dict per
    outcome (id, sd, effect, mde, n_total, power) and the last outcome's Design."""
    rows, design = [], None
    specs = assumptions["primary"]
    for o in outcomes:
        spec = specs[o.id]
        design = Design(
            sd=spec["sd"], rho=assumptions["rho"], alpha=alpha, n_primary=len(specs),
            multiplicity=multiplicity, attrition=assumptions["attrition"],
            icc=assumptions["icc"], cluster_size=target / n_hubs,
        )  # fmt: skip
        level = assumptions["power"]
        rows.append({
            "outcome": o.id, "sd": spec["sd"], "effect": spec["effect"],
            "mde": minimum_detectable_effect(target / 2, design, level),
            "n_total": sample_size(spec["effect"], design, level).total,
            "power": power(spec["effect"], target / 2, design),
        })  # fmt: skip
    return rows, design
