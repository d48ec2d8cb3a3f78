"""Reviewer verification: rerun the pipeline from raw data and diff every number it reports.

`verify(results_dir, project=...)` copies the project's workflow (configuration, notebooks,
rules) into a temporary folder, links the raw data, reruns every analysis notebook there (not
the rendering, which adds no numbers) and compares what the reports quote (every
`numbers.json` entry and every cell of every `tables/*.csv`) with the given results. Figures
(SVG) and the clean tables are not compared.

The pipeline is deterministic given its seeds, so values are expected to be identical. Two
numbers count as equal when they agree to a relative 1e-9 (absolute 1e-12 near zero), because
floating-point sums can differ in their last bits between CPUs and BLAS libraries; anything
larger is listed, as a sign of different data, code or library versions. Text is compared
exactly.

The rerun uses the installed `psp_eval` library; `psp-eval lock --check` says whether that
library (and the rest of the plan) changed since the analysis plan was locked.
"""

from __future__ import annotations

import contextlib
import csv
import json
import math
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from psp_eval.engine.pipeline import copy_workflow
from psp_eval.engine.pipeline import run as run_pipeline
from psp_eval.errors import PspEvalError
from psp_eval.governance import lock

REL_TOL = 1e-9
ABS_TOL = 1e-12
#: Files under a results folder whose values reach the reports.
COMPARED = ("**/numbers.json", "**/tables/*.csv")
#: Config keys verify sets itself (the rerun writes into its own folder).
OWN_KEYS = ("trial", "results_dir", "site_dir")
WHOLE_FILE = "(whole file)"
#: Rules that only present results (reports, index): the rerun leaves them out.
PRESENTATION_RULES = ("render", "render_standalone", "render_brief", "index")


class VerifyError(PspEvalError, RuntimeError):
    """The verification could not be carried out (not: the numbers differ)."""


@dataclass(frozen=True)
class Difference:
    """One value that is not the same in the given and the recomputed results."""

    file: str
    key: str
    given: str | None  # None: absent from the given results
    recomputed: str | None  # None: absent from the rerun

    def text(self) -> str:
        if self.key == WHOLE_FILE:
            where = "the rerun" if self.recomputed is None else "the given results"
            return f"{self.file}: the whole file is missing from {where}"
        if self.recomputed is None:
            return f"{self.file}: {self.key}: given {self.given}, not recomputed"
        if self.given is None:
            return (
                f"{self.file}: {self.key}: recomputed {self.recomputed}, not in the given results"
            )
        return f"{self.file}: {self.key}: given {self.given}, recomputed {self.recomputed}"


@dataclass
class Report:
    """The outcome of comparing two results folders."""

    files: int = 0
    values: int = 0
    differences: list[Difference] = field(default_factory=list)
    rerun_dir: Path | None = None
    lock_state: str = ""

    @property
    def ok(self) -> bool:
        return not self.differences

    def text(self) -> str:
        lines = [self.lock_state] if self.lock_state else []
        if self.ok:
            lines.append(f"Verified {self.values:,} values in {self.files} files: all match.")
        else:
            lines.append(
                f"{len(self.differences):,} of {self.values:,} values in {self.files} files"
                " differ from the rerun:"
            )
            lines += [f"  {difference.text()}" for difference in self.differences]
        if self.rerun_dir is not None:
            lines.append(f"The rerun is kept in {self.rerun_dir}")
        return "\n".join(lines)


def flatten(value: object, prefix: str = "") -> dict[str, object]:
    """Nested JSON as {dotted.key[index]: leaf}; an empty dict or list is a leaf itself."""
    if isinstance(value, dict) and value:
        out: dict[str, object] = {}
        for key, item in value.items():
            out.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(value, list) and value:
        out = {}
        for index, item in enumerate(value):
            out.update(flatten(item, f"{prefix}[{index}]"))
        return out
    return {prefix: value}


def same_value(given: object, recomputed: object) -> bool:
    """Equal text, or numbers equal within the documented tolerance (booleans exactly)."""
    if isinstance(given, bool) or isinstance(recomputed, bool):
        return type(given) is type(recomputed) and given == recomputed
    a, b = _number(given), _number(recomputed)
    if a is not None and b is not None:
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL)
    return given == recomputed


def read_values(path: Path) -> dict[str, object]:
    """The values of one compared file by key: JSON leaves, or CSV cells by row and column.

    CSV rows are spreadsheet rows (the header is row 1); a cell's key names its column.
    """
    path = Path(path)
    if path.suffix == ".json":
        try:
            return flatten(json.loads(path.read_text(encoding="utf-8")))
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise VerifyError(f"{path}: not valid JSON ({err})") from err
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    if not rows:
        return {}
    header = rows[0]
    values: dict[str, object] = {f"header column {i + 1}": name for i, name in enumerate(header)}
    for number, row in enumerate(rows[1:], start=2):
        for i, cell in enumerate(row):
            column = header[i] if i < len(header) and header[i] else f"column {i + 1}"
            values[f"row {number}, {column}"] = cell
    return values


def compare_dirs(given: Path, recomputed: Path) -> Report:
    """Compare every numbers.json and table CSV of two results folders, value by value."""
    given, recomputed = Path(given), Path(recomputed)
    names = _compared(given) | _compared(recomputed)
    report = Report(files=len(names))
    for name in sorted(names):
        a = read_values(given / name) if (given / name).exists() else None
        b = read_values(recomputed / name) if (recomputed / name).exists() else None
        if a is None or b is None:
            report.values += len(a if a is not None else b)
            report.differences.append(
                Difference(
                    name,
                    WHOLE_FILE,
                    None if a is None else "present",
                    None if b is None else "present",
                )
            )
            continue
        for key in _ordered_keys(a, b):
            report.values += 1
            if key not in b:
                report.differences.append(Difference(name, key, _shown(a[key]), None))
            elif key not in a:
                report.differences.append(Difference(name, key, None, _shown(b[key])))
            elif not same_value(a[key], b[key]):
                report.differences.append(Difference(name, key, _shown(a[key]), _shown(b[key])))
    return report


def verify(
    results_dir: Path,
    *,
    project: Path,
    cores: int = 2,
    config: list[str] | None = None,
    keep: bool = False,
    workdir: Path | None = None,
) -> Report:
    """Rerun the project's analyses from its raw data and compare them with `results_dir`.

    `results_dir` is a results folder (`results/`, holding one folder per trial) or one
    trial's folder (`results/demo`). `config` repeats the `--config` overrides of the run that
    made the results. The rerun happens in `workdir` (default: a new temporary folder),
    removed afterwards unless `keep` or the rerun failed.
    """
    results_dir, project = Path(results_dir), Path(project).resolve()
    config = list(config or [])
    if not results_dir.is_dir():
        raise VerifyError(f"no results folder {results_dir}")
    if not (project / "Snakefile").exists():
        raise VerifyError(f"no Snakefile in {project}: give the project with --project")
    base, trials = _trials(results_dir)
    if workdir is None:
        workdir = Path(tempfile.mkdtemp(prefix="psp-eval-verify-"))
    workdir = Path(workdir)
    failed = True
    try:
        _prepare(project, workdir, trials, config)
        for trial in trials:
            overrides = [item for item in config if item.partition("=")[0] not in OWN_KEYS]
            overrides += [f"trial={trial}", "results_dir=results", "site_dir=reports/_site"]
            # The rerun's progress goes to stderr: stdout carries the verification alone.
            with contextlib.redirect_stdout(sys.stderr):
                code = run_pipeline(
                    cores=cores,
                    config=overrides,
                    extra=["--omit-from", *PRESENTATION_RULES],
                    root=workdir,
                )
            if code != 0:
                raise VerifyError(
                    f"the rerun of trial {trial} failed (snakemake exit code {code}, see above);"
                    f" its folder is kept: {workdir}"
                )
        fresh = workdir / "results"
        report = Report()
        for trial in trials:
            part = compare_dirs(base / trial, fresh / trial)
            report.files += part.files
            report.values += part.values
            report.differences += [
                Difference(f"{trial}/{d.file}", d.key, d.given, d.recomputed)
                for d in part.differences
            ]
        report.lock_state = lock.describe(lock.summary(project))
        failed = False
    finally:
        if failed:
            print(f"psp-eval verify: the rerun folder is kept: {workdir}", file=sys.stderr)
        elif not keep:
            shutil.rmtree(workdir, ignore_errors=True)
    if keep:
        report.rerun_dir = workdir
    return report


def _trials(results_dir: Path) -> tuple[Path, list[str]]:
    """(the folder holding trial folders, the trials) of a results folder or a trial folder."""
    trials = sorted(d.name for d in results_dir.iterdir() if d.is_dir() and _has_numbers(d))
    if trials:
        return results_dir, trials
    if _has_numbers(results_dir):
        return results_dir.parent, [results_dir.name]
    raise VerifyError(
        f"{results_dir} holds no results (no <trial>/<scope>/<analysis>/numbers.json):"
        " give the results folder of a pipeline run"
    )


def _has_numbers(trial_dir: Path) -> bool:
    return any(trial_dir.glob("*/*/numbers.json"))


def _prepare(project: Path, workdir: Path, trials: list[str], config: list[str]) -> None:
    """The workflow, the raw data of each trial (linked) and any sheet kept outside config/."""
    copy_workflow(project, workdir)
    settings = yaml.safe_load((project / "config" / "config.yaml").read_text(encoding="utf-8"))
    for item in config:
        key, _, value = item.partition("=")
        settings[key] = value
    raw_dir = Path(str(settings["raw_dir"]))
    for trial in trials:
        source = (raw_dir if raw_dir.is_absolute() else project / raw_dir) / trial
        if not source.is_dir():
            raise VerifyError(f"no raw data for trial {trial}: {source} is not a folder")
        if not raw_dir.is_absolute():
            (workdir / raw_dir).mkdir(parents=True, exist_ok=True)
            os.symlink(source.resolve(), workdir / raw_dir / trial, target_is_directory=True)
    for key in ("hubs", "instruments"):
        if not settings.get(key):
            continue
        sheet = Path(str(settings[key]))
        if not sheet.is_absolute() and not (workdir / sheet).exists():
            if not (project / sheet).is_file():
                raise VerifyError(f"config {key} names {sheet}, which is not in {project}")
            (workdir / sheet).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(project / sheet, workdir / sheet)


def _compared(results: Path) -> set[str]:
    if not results.is_dir():
        return set()
    return {
        path.relative_to(results).as_posix()
        for pattern in COMPARED
        for path in results.glob(pattern)
        if not any(part.startswith(".") for part in path.relative_to(results).parts)
    }


def _ordered_keys(a: dict, b: dict) -> list[str]:
    """Keys of `a` in order, then those only in `b`."""
    return [*a, *(key for key in b if key not in a)]


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _shown(value: object) -> str:
    """A value as a reviewer reads it: text as it is (empty shown so), the rest as JSON."""
    if isinstance(value, str):
        return value if value else "(empty)"
    return json.dumps(value, ensure_ascii=False)
