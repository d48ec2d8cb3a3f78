"""Benchmark the pipeline against a naive baseline, in one process, on the demo trial.

    .venv/bin/python benchmarks/pipeline.py [--no-scale]      (or: make bench)

Times, each in a fresh copy of the workflow under a temporary folder:
  (a) naive: the same steps one after another, every notebook through the papermill CLI;
  (b) the pipeline cold with --cores 2;
  (c) the no-op rerun;
  (d) the rerun after changing one hub's row in config/hubs.tsv (and which jobs ran);
then prints (b)/(a) and (c)/(b), and (unless --no-scale) how a cold run grows from 1,000 to
10,000 to 50,000 families. The machine is shared and noisy: compare ratios, not seconds.
"""

from __future__ import annotations

import argparse
import csv
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from psp_eval.data.demo import generate
from psp_eval.engine.pipeline import copy_workflow

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SCALES = ((1_000, 5, 25), (10_000, 10, 50), (50_000, 30, 150))  # families, hubs, LAs


def _run(args: list[str], cwd: Path) -> str:
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"{' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result.stdout + result.stderr


def _timed(args: list[str], cwd: Path) -> tuple[float, str]:
    started = time.perf_counter()
    output = _run(args, cwd)
    return time.perf_counter() - started, output


def _project(folder: Path, families: int, hubs: int, las: int) -> Path:
    copy_workflow(ROOT, folder)
    generate(folder / "data/raw/demo", n_hubs=hubs, n_las=las, n_families=families)
    shutil.copy2(folder / "data/raw/demo/hubs.tsv", folder / "config/hubs.tsv")
    return folder


def _job_counts(output: str) -> str:
    """'rule xN' for every rule a run executed, from `psp-eval run`'s progress lines."""
    rules = re.findall(r"^\[\s*\d+/\d+\] (\w+)", output, re.M)
    if not rules:
        return "no jobs"
    return ", ".join(f"{rule} x{rules.count(rule)}" for rule in dict.fromkeys(rules))


def _papermill(project: Path, notebook: str, scope: str, clean: str) -> None:
    """One notebook through the papermill command line, as a user without Snakemake would."""
    out = f"results/demo/{scope}/{notebook}"
    (project / out).parent.mkdir(parents=True, exist_ok=True)
    args = [str(BIN / "papermill"), f"notebooks/{notebook}.ipynb", f"{out}.ipynb", "--cwd", "."]
    params = {"trial": "demo", "scope": scope, "data_dir": clean, "out_dir": out}
    for key, value in params.items():
        args += ["-p", key, value]
    _run(args, project)


def naive(project: Path) -> float:
    """Every step by hand, one at a time; every notebook through the papermill CLI."""
    config = yaml.safe_load((project / "config/config.yaml").read_text())
    raw, clean = "data/raw/demo", "results/demo/clean"
    with open(project / "config/hubs.tsv", newline="") as f:
        hubs = [(row["hub_id"], row["hub_name"]) for row in csv.DictReader(f, delimiter="\t")]
    scopes = [("trial", "All hubs"), *hubs]
    psp = str(BIN / "psp-eval")
    started = time.perf_counter()
    _run([psp, "validate", raw], project)
    _run([psp, "clean", raw, "--out", clean], project)
    _run([psp, "score", clean, "--out", clean], project)
    for scope, _ in scopes:
        _run(
            [
                psp,
                "hub-sheet",
                "config/hubs.tsv",
                "--scope",
                scope,
                "--out",
                f"{clean}/hubs/{scope}.parquet",
            ],
            project,
        )
    for scope, _ in scopes:
        for analysis in config["analyses"]:
            _papermill(project, analysis, scope, clean)
    for report in config["standalone_reports"]:
        _papermill(project, report, "trial", clean)
    renders = [(s, n, "trial" if s == "trial" else "hub") for s, n in scopes]
    renders += [(r, "All hubs", r) for r in config["standalone_reports"]]
    for name, label, template in renders:
        scope = "trial" if template != "hub" else name
        _run(
            [psp, "render", "--template", f"reports/{template}.qmd",
             "--qmd", f"results/demo/{scope}/{name}-report.qmd",
             "--html", f"reports/_site/demo/{name}.html", "--pdf", f"reports/_site/demo/{name}.pdf",
             "--trial", "demo", "--scope", scope, "--scope-name", label, "--data-dir", raw],
            project,
        )  # fmt: skip
    index = [psp, "index", "--trial", "demo", "--out", "reports/_site/index.html"]
    index += ["--title", "psp-eval: demo", "--data-dir", raw]
    for report in config["standalone_reports"]:
        index += ["--report", report]
    _run(index, project)
    return time.perf_counter() - started


def change_one_hub(project: Path) -> str:
    """Raise the first hub's recruitment target by 10; returns that hub's id."""
    path = project / "config/hubs.tsv"
    lines = path.read_text().splitlines()
    cells = lines[1].split("\t")
    cells[3] = str(int(cells[3]) + 10)
    lines[1] = "\t".join(cells)
    path.write_text("\n".join(lines) + "\n")
    return cells[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-scale", action="store_true", help="skip the 1k/10k/50k table")
    args = parser.parse_args()
    run = [str(BIN / "psp-eval"), "run", "--cores", "2"]
    with tempfile.TemporaryDirectory(prefix="psp-bench-") as tmp:
        tmp = Path(tmp)
        baseline = naive(_project(tmp / "naive", 1055, 5, 25))
        project = _project(tmp / "pipeline", 1055, 5, 25)
        cold, _ = _timed(run, project)
        noop, _ = _timed(run, project)
        hub = change_one_hub(project)
        one_hub, output = _timed(run, project)
        print("Demo trial (5 hubs, 25 LAs, 1,055 families), 2 cores")
        print(f"  (a) naive, one notebook at a time (papermill CLI): {baseline:7.1f} s")
        print(f"  (b) pipeline cold, --cores 2:                     {cold:7.1f} s")
        print(f"  (c) no-op rerun:                                  {noop:7.1f} s")
        print(f"  (d) rerun after changing hub {hub!r}:  {one_hub:7.1f} s  ({_job_counts(output)})")
        print(f"  (b)/(a) = {cold / baseline:.2f}   (c)/(b) = {noop / cold:.3f}")
        if args.no_scale:
            return
        print("\nScale: cold pipeline, 2 cores")
        print(
            f"  {'families':>9} {'hubs':>5} {'LAs':>5} {'seconds':>9} {'s per 1k families':>18} {'peak child MB':>14}"
        )
        for families, hubs, las in SCALES:
            project = _project(tmp / f"scale{families}", families, hubs, las)
            seconds, _ = _timed(run, project)
            peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
            print(
                f"  {families:>9,} {hubs:>5} {las:>5} {seconds:>9.1f} {seconds / families * 1000:>18.2f} {peak_mb:>14.0f}"
            )
            shutil.rmtree(project)


if __name__ == "__main__":
    main()
