"""Benchmark: 10,000 Monte Carlo draws of the trial's cost-benefit model in under 1 s.

Run from the project root after the pipeline (needs results/<trial>/clean and its settings):
    .venv/bin/python benchmarks/cba.py [--clean results/demo/clean]
Prints the time of the vectorised model for 10,000 draws, and a ratio against a baseline run in
the same process: a plain Python loop over draws (1,000 draws, scaled to 10,000).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from psp_eval.analyses import cost_benefit as cba
from psp_eval.data.design import TrialDesign
from psp_eval.data.scope import load_tables
from psp_eval.engine import settings as run_settings

TARGET_SECONDS = 1.0


def trial_inputs(clean: str) -> cba.ModelInputs:
    """The trial's model inputs, built as the cost_benefit notebook builds them."""
    tables = load_tables(clean, ("randomisation", "care_events", "costs"))
    settings = run_settings.read(Path(clean).parent / "settings" / "cost_benefit.json")
    config, deflators = settings["cost_benefit"], cba.deflators_from_rows(settings["deflators"])
    unit_params = cba.unit_costs(config, deflators)
    design = TrialDesign.from_settings(settings)
    base = cba.base_rates(tables["randomisation"], tables["care_events"], arms=design.arms)
    impact = Path(clean).parent / "trial" / "impact" / "numbers.json"  # the trial's estimates
    effects = cba.read_effects(impact, base["n_sffc"], base["n_usual"], base)
    year = int(config["price_year"])
    delivery = cba.delivery_cost_per_sffc_family(
        tables["costs"], tables["costs"], base["n_sffc"], base["n_sffc"], year, deflators
    )
    usual = cba.usual_services_per_family(tables["costs"], base["n_usual"], year, deflators)
    return cba.build_inputs(config, unit_params, effects, base, delivery_cost_per_family=delivery["per_family_gbp"],
                            usual_services_per_family=usual)  # fmt: skip


def loop_baseline(inputs: cba.ModelInputs, draws: int, seed: int) -> list[float]:
    """The same model, one draw at a time in plain Python (what vectorising replaces)."""
    rng = np.random.default_rng(seed)
    npv = []
    for _ in range(draws):
        values = {name: p.draw(rng, 1) for name, p in sorted(inputs.parameters.items())}
        npv.append(float(cba.evaluate(inputs, values)["npv"][0]))
    return npv


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clean", default="results/demo/clean")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    inputs = trial_inputs(args.clean)
    cba.simulate(inputs, draws=100, seed=1)  # warm-up
    times = []
    for i in range(args.repeat):
        start = time.perf_counter()
        draws = cba.simulate(inputs, draws=10_000, seed=i)
        cba.summarise(draws)
        times.append(time.perf_counter() - start)
    best = min(times)
    start = time.perf_counter()
    loop_baseline(inputs, 1_000, seed=0)
    loop_10k = (time.perf_counter() - start) * 10
    print(
        f"cba.simulate + summarise, 10,000 draws (trial): best of {args.repeat} {best:.3f} s (target < {TARGET_SECONDS:.0f} s)"
    )
    print(f"baseline, plain Python loop over draws (1,000 draws x 10): {loop_10k:.2f} s")
    print(f"speed-up of the vectorised model over the loop: {loop_10k / best:,.0f}x")
    return 0 if best < TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
