"""Run the Snakemake pipeline for users who do not want to learn Snakemake, and list its reports."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from typing import TYPE_CHECKING

import yaml

if TYPE_CHECKING:
    import pandas as pd

# What a fresh copy of the workflow needs (raw data and results are made or copied apart).
WORKFLOW_FILES = ("Snakefile", "rules", "config", "envs", "notebooks", "reports", "profiles")


# What `psp-eval run --blinded` sets: blinded outputs never mix with (or replace) true ones.
BLINDED_CONFIG = ("blinded=True", "results_dir=results/blinded", "site_dir=reports/_site/blinded")


class PipelineError(RuntimeError):
    """The pipeline could not start or did not finish."""


def copy_workflow(source: Path, dest: Path) -> Path:
    """Copy the workflow's sources (not its data, results or rendered site) into `dest`.

    For rerunning the pipeline somewhere else: tests, benchmarks, a reviewer's verification.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for name in WORKFLOW_FILES:
        path = Path(source) / name
        if path.is_dir():
            shutil.copytree(path, dest / name, ignore=shutil.ignore_patterns("_site", ".*"))
        else:
            shutil.copy2(path, dest / name)
    return dest


def _config_value(overrides: list[str], key: str, configfile: Path) -> str:
    """The effective value of a top-level config key (an override wins over the file)."""
    for item in overrides:
        name, _, value = item.partition("=")
        if name == key:
            return value
    return str(yaml.safe_load(configfile.read_text(encoding="utf-8"))[key])


def run(
    *,
    cores: int,
    config: list[str],
    dry_run: bool = False,
    extra: list[str] | None = None,
    root: Path | None = None,
    blinded: bool = False,
) -> int:
    """Run snakemake in `root` and, when it succeeds, say where the reports are.

    `blinded` runs on a dummy allocation with arms named A and B (psp_eval.blinding), into
    results and site folders of its own (BLINDED_CONFIG) unless `config` names others.

    The virtual environment's `bin` goes first on PATH so the rules' `psp-eval` calls use
    this same installation, whether or not the user activated it.
    """
    root = Path(root or Path.cwd())
    if not (root / "Snakefile").exists():
        raise PipelineError(f"no Snakefile in {root}: run psp-eval from the project's folder")
    from psp_eval.lock import warn_if_changed  # standard library only: still no pandas

    warn_if_changed(root)  # a loud banner when the analysis plan changed since its lock
    for item in config:
        if "=" not in item:
            raise PipelineError(f"--config expects KEY=VALUE, got {item!r}")
    if blinded:
        given = {item.partition("=")[0] for item in config}
        config = [item for item in BLINDED_CONFIG if item.partition("=")[0] not in given] + config
    cmd = [sys.executable, "-m", "snakemake", "--cores", str(cores), "--show-failed-logs"]
    if config:
        cmd += ["--config", *config]
    if dry_run:
        cmd += ["--dry-run"]
    cmd += [arg for arg in (extra or []) if arg != "--"]
    cmd += ["--rerun-incomplete"]  # the jobs a killed run left unfinished run again
    from psp_eval.recovery import clear_stale_locks  # standard library only

    clear_stale_locks(root)  # the lock a killed run left would block this one
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    started = time.perf_counter()
    from psp_eval.progress import FULL_OUTPUT_ARGS, run_summarised  # standard library only

    summary = None
    if dry_run or FULL_OUTPUT_ARGS.intersection(cmd):  # snakemake's own output, unabridged
        returncode = subprocess.run(cmd, cwd=root, env=env, check=False).returncode
    else:
        returncode, summary = run_summarised(cmd, root, env)
    seconds = time.perf_counter() - started
    if returncode != 0:
        print(f"psp-eval run: snakemake failed after {seconds:.1f} s (see above)", file=sys.stderr)
        for job in summary.failed if summary else []:
            print(f"  failed: {job.name}; its log: {job.log or '(none)'}", file=sys.stderr)
        if summary and summary.complete_log:
            print(f"  snakemake's complete log: {summary.complete_log}", file=sys.stderr)
        return returncode
    if not dry_run:
        site = root / _config_value(config, "site_dir", root / "config" / "config.yaml")
        print(f"Done in {seconds:.1f} s. Reports: {site / 'index.html'}")
    return 0


def report_title(template: Path) -> str:
    """The `title` of a report template's YAML front matter."""
    text = Path(template).read_text(encoding="utf-8")
    front = text.split("---", 2)[1] if text.startswith("---") else ""
    title = (yaml.safe_load(front) or {}).get("title")
    if not title:
        raise PipelineError(f"{template} has no title in its front matter")
    return str(title)


def index_entries(
    trial: str,
    hubs: pd.DataFrame,
    site_dir: Path,
    results_dir: Path,
    *,
    standalone: list[str] = (),
    reports_dir: Path = Path("reports"),
) -> list[dict[str, str]]:
    """One entry per rendered report of `trial`: the trial report, each hub, then the rest."""
    from psp_eval.scope import TRIAL_SCOPE  # here, so that `psp-eval run` needs no pandas

    numbers_file = Path(results_dir) / trial / TRIAL_SCOPE / "process" / "numbers.json"
    data_cut = json.loads(numbers_file.read_text(encoding="utf-8"))["data_cut"]
    scopes = [(TRIAL_SCOPE, "All hubs", "trial")]
    scopes += [(row.hub_id, row.hub_name, "hub") for row in hubs.itertuples()]
    scopes += [(name, report_title(reports_dir / f"{name}.qmd"), name) for name in standalone]
    entries = []
    for scope, name, kind in scopes:
        html = Path(site_dir) / trial / f"{scope}.html"
        pdf = html.with_suffix(".pdf")
        for path in (html, pdf):
            if not path.exists():
                raise PipelineError(f"report {path} is missing: the index would link nothing")
        entries.append(
            {
                "trial": trial,
                "scope": scope,
                "scope_name": name,
                "kind": kind,
                "html": str(html),
                "pdf": str(pdf),
                "data_cut": data_cut,
            }
        )
    return entries
