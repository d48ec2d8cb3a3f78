"""The run plan: the checked configuration, the analyses catalogue, and what each job is handed.

The Snakefile calls `check_run` before anything runs: every config file against its schema
(`psp_eval.engine.settings`), the instruments, the trial definition, the hub sheet, the
deflator table, and the rules that tie them together (a payment target names an outcome of the
design, an analysis needs the analyses it reads, ...), every problem on a line of its own.
`job_settings` then gives the part of the configuration one analysis reads: what the settings
rule writes for its jobs, so a setting changes exactly the jobs that read it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from psp_eval.data import contract, scoring
from psp_eval.data.design import TrialDesign
from psp_eval.engine import settings
from psp_eval.engine.settings import SCHEMA_DIR, ConfigError
from psp_eval.errors import PspEvalError

CATALOGUE = Path("config/analyses.yaml")
DEFLATORS = "deflators"  # a settings section that is the table cost_benefit.deflators names
DATA_SETTINGS = "data"  # the settings of validate, clean and score


def load_catalogue(root: str | Path) -> dict[str, dict[str, Any]]:
    """config/analyses.yaml, checked against its schema (every problem at once)."""
    path = Path(root) / CATALOGUE
    catalogue = yaml.safe_load(path.read_text(encoding="utf-8"))
    settings.check_config(
        catalogue, Path(root) / SCHEMA_DIR / "analyses.schema.yaml", source=str(CATALOGUE)
    )
    return catalogue


def steps_to_report(catalogue: Mapping[str, Mapping[str, Any]], analysis: str) -> int:
    """How many jobs of a scope run one after another from `analysis` to its report's render
    (impact -> cost_benefit -> payment -> render: 4 for impact), by the analyses that read
    it. The scheduler starts the longest chains first, so that a run does not end with one
    hub's chain on one core while the other idles."""
    readers = [
        other for other, entry in catalogue.items() if analysis in entry["reads"].get("results", [])
    ]
    return 1 + max((steps_to_report(catalogue, reader) for reader in readers), default=1)


def check_run(
    config: Mapping[str, Any], root: str | Path, catalogue: Mapping[str, Any], *, source: str
) -> None:
    """Raise ConfigError listing every problem of the run's configuration, one per line."""
    root = Path(root)
    settings.check_run_config(config, root, source=source)  # the structure first
    lines: list[str] = []

    def guard(what: str, check) -> Any:
        try:
            return check()
        except PspEvalError as error:
            lines.extend(
                f"{what}: {line.strip()}" for line in str(error).splitlines() if line.strip()
            )
            return None

    guard(source, lambda: scoring.check_instruments(config["instruments"], source="instruments"))
    design = guard(source, lambda: TrialDesign.from_settings(config))
    guard(str(config["hubs"]), lambda: contract.read_hubs(root / config["hubs"]))
    if "cost_benefit" in config:
        guard(source, lambda: deflator_table(config, root))
    lines += _selection_problems(config, catalogue, source)
    if design is not None:
        lines += _design_problems(config, design, source)
    if lines:
        n = len(lines)
        raise ConfigError(
            "\n".join(
                [f"{n} error{'' if n == 1 else 's'} in {source}:", *(f"  - {x}" for x in lines)]
            )
        )


def _selection_problems(
    config: Mapping[str, Any], catalogue: Mapping[str, Any], source: str
) -> list[str]:
    lines = []
    chosen = list(config["analyses"])
    for name in chosen:
        if name not in catalogue:
            lines.append(
                f"{source}: key 'analyses' breaks rule 'names analyses of {CATALOGUE}"
                f" ({', '.join(catalogue)})' (found {name!r})"
            )
            continue
        reads = catalogue[name]["reads"]
        for needed in [*reads.get("results", []), *reads.get("trial_results", [])]:
            if needed not in chosen:
                lines.append(
                    f"{source}: key 'analyses' breaks rule '{name} reads {needed}, so {needed}"
                    f" is chosen too' (found {chosen})"
                )
        for section in reads["settings"]:
            if section != DEFLATORS and section not in config:
                lines.append(
                    f"{source}: key '{section}' breaks rule 'is given ({name} reads it)' (found nothing)"
                )
    return sorted(dict.fromkeys(lines))


def _design_problems(config: Mapping[str, Any], design: TrialDesign, source: str) -> list[str]:
    lines = []
    for arm in design.arms:
        if arm not in contract.ARMS:
            lines.append(
                f"{source}: key 'design.arms' breaks rule 'values of the data contract's arm"
                f" column ({', '.join(contract.ARMS)})' (found {arm!r})"
            )
    instruments = config["instruments"]
    for o in design.scores:
        spec = instruments.get(o.instrument)
        names = [] if spec is None else [*spec["subscales"], spec["total"]["name"]]
        if o.score not in names:
            lines.append(
                f"{source}: key 'design.outcomes.{o.id}' breaks rule 'names an instrument and"
                f" score of instruments' (found {o.instrument}.{o.score})"
            )
    ids = {o.id for o in design.outcomes}
    primary = {o.id for o in design.primary}
    if "power" in config:
        for name in config["power"]["primary"]:
            if name not in primary:
                lines.append(
                    f"{source}: key 'power.primary.{name}' breaks rule 'a primary outcome of"
                    f" the design ({', '.join(sorted(primary))})' (found {name!r})"
                )
    if "payment" in config:
        for target in config["payment"]["targets"]:
            for name in [target.get("effect"), *target.get("any_of_effects", [])]:
                if name is not None and name not in ids:
                    lines.append(
                        f"{source}: key 'payment.targets.{target['id']}' breaks rule 'effects"
                        f" are outcomes of the design' (found {name!r})"
                    )
    return lines


def deflator_table(config: Mapping[str, Any], root: str | Path) -> list[dict]:
    """The GDP deflator table cost_benefit.deflators names, checked row by row."""
    path = Path(root) / config["cost_benefit"]["deflators"]
    return settings.check_table(path, Path(root) / SCHEMA_DIR / "deflators.schema.yaml", key="year")


def arm_labels(
    config: Mapping[str, Any], blinded_names: tuple[str, str] | None = None
) -> dict[str, str]:
    """Arm value -> name in reports: the design's labels, or `blinded_names` (treated first)
    for a run on a dummy allocation."""
    arms = config["design"]["arms"]
    treated, control = arms["treated"], arms["control"]
    if blinded_names is not None:
        return {treated["value"]: blinded_names[0], control["value"]: blinded_names[1]}
    return {treated["value"]: treated["label"], control["value"]: control["label"]}


def job_settings(
    config: Mapping[str, Any],
    catalogue: Mapping[str, Any],
    analysis: str,
    *,
    root: str | Path,
    labels: Mapping[str, str],
) -> dict[str, Any]:
    """What the settings rule writes for `analysis`: the config sections it reads, the GDP
    deflator table when it reads `deflators`, and the arms' names."""
    values: dict[str, Any] = {"labels": dict(labels)}
    for section in catalogue[analysis]["reads"]["settings"]:
        values[section] = deflator_table(config, root) if section == DEFLATORS else config[section]
    return values


def data_settings(config: Mapping[str, Any], hub_ids: list[str]) -> dict[str, Any]:
    """What validate, clean and score read: the instruments and the hubs' ids (only: renaming
    a hub or changing its target must not revalidate, and so rerun, everything)."""
    return {"instruments": config["instruments"], "hub_ids": list(hub_ids)}
