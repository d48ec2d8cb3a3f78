"""Run the Snakemake pipeline for users who do not want to learn Snakemake, and list its reports."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

from psp_eval.engine import warm
from psp_eval.errors import PspEvalError

# What a fresh copy of the workflow needs (raw data and results are made or copied apart).
WORKFLOW_FILES = ("Snakefile", "rules", "config", "envs", "notebooks", "reports", "profiles")


# What `psp-eval run --blinded` sets: blinded outputs never mix with (or replace) true ones.
BLINDED_CONFIG = ("blinded=True", "results_dir=results/blinded", "site_dir=reports/_site/blinded")


# The environment of the cluster executor plugins (`make cluster`): kept out of .venv because
# Snakemake imports every installed plugin at each start, and the SLURM plugin then runs
# `scontrol`, which waits ~10 s where SLURM's client is installed but no controller answers.
CLUSTER_VENV = ".venv-cluster"


class PipelineError(PspEvalError, RuntimeError):
    """The pipeline could not start or did not finish."""


# --- the no-op check ---------------------------------------------------------------------------
# Snakemake takes over a second to start and find nothing to do. After a complete run, the
# state of every file in the project (path, size, modification time) is recorded; a later plain
# `psp-eval run` with the same settings that finds every file as recorded has nothing to do and
# says so without starting Snakemake. Any change (an input edited, an output deleted, code
# touched) starts Snakemake as usual; any other run (forced, dry, killed, failed) removes the
# record first. Left out: folders no rule reads or writes (the version control and
# environments, caches, Snakemake's own metadata and the jobs' logs).
LAST_RUN = Path(".snakemake") / "psp-eval-last-run.json"
NOT_STAMPED = {".git", ".snakemake", ".venv", ".venv-cluster", "logs", "__pycache__",
               ".pytest_cache", ".ruff_cache", ".ipynb_checkpoints"}  # fmt: skip


def project_state(root: Path, settings: list[str]) -> str:
    """A digest of the run's settings and of every file under `root` (but `NOT_STAMPED`):
    relative path, size and modification time, symbolic links followed."""
    import hashlib

    digest = hashlib.sha256(repr(sorted(settings)).encode())
    for folder, subfolders, files in os.walk(root, followlinks=True):
        subfolders[:] = sorted(d for d in subfolders if d not in NOT_STAMPED)
        for name in sorted(files):
            path = Path(folder, name)
            try:
                info = path.stat()
            except OSError:  # a dangling link
                continue
            digest.update(
                f"{path.relative_to(root)}\0{info.st_size}\0{info.st_mtime_ns}\n".encode()
            )
    return digest.hexdigest()


def _unchanged_since_last_run(root: Path, settings: list[str]) -> bool:
    record = root / LAST_RUN
    return record.exists() and record.read_text(encoding="utf-8") == project_state(root, settings)


def _profile_executor(root: Path, args: list[str]) -> str | None:
    """The executor a `--profile DIR` among snakemake's arguments names, if any."""
    for i, arg in enumerate(args):
        if arg.startswith("--profile="):
            name = arg.partition("=")[2]
        elif arg == "--profile" and i + 1 < len(args):
            name = args[i + 1]
        else:
            continue
        config = root / name / "config.yaml"
        if config.is_file():
            return yaml.safe_load(config.read_text(encoding="utf-8")).get("executor")
    return None


def _runs_here(root: Path, args: list[str]) -> bool:
    """Whether Snakemake runs the jobs on this machine (no executor given, nor a profile's)."""
    named = any(arg in ("--executor", "-e") or arg.startswith("--executor=") for arg in args)
    return not named and _profile_executor(root, args) in (None, "local")


def snakemake_python(root: Path, args: list[str]) -> Path:
    """The Python that runs Snakemake: this one, unless a profile's executor plugin is not
    installed here; then the cluster environment's, which `make cluster` makes beside .venv."""
    executor = _profile_executor(root, args)
    if executor is None:
        return Path(sys.executable)
    plugin = f"snakemake_executor_plugin_{executor.replace('-', '_')}"
    if importlib.util.find_spec(plugin) is not None:
        return Path(sys.executable)
    # in the project, or beside this environment (a copy of the workflow run from its .venv)
    for folder in dict.fromkeys([root, Path(sys.prefix).parent]):
        python = folder / CLUSTER_VENV / "bin" / "python"
        if python.exists():
            return python
    raise PipelineError(
        f"the {executor} executor is installed in {CLUSTER_VENV}, which does not exist:"
        " run `make cluster` first"
    )


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

    `blinded` runs on a dummy allocation with arms named A and B (psp_eval.governance.blinding), into
    results and site folders of its own (BLINDED_CONFIG) unless `config` names others.

    The virtual environment's `bin` goes first on PATH so the rules' `psp-eval` calls use
    this same installation, whether or not the user activated it (for a cluster profile, the
    cluster environment's: see snakemake_python).
    """
    root = Path(root or Path.cwd())
    if not (root / "Snakefile").exists():
        raise PipelineError(f"no Snakefile in {root}: run psp-eval from the project's folder")
    for item in config:
        if "=" not in item:
            raise PipelineError(f"--config expects KEY=VALUE, got {item!r}")
    if blinded:
        given = {item.partition("=")[0] for item in config}
        config = [item for item in BLINDED_CONFIG if item.partition("=")[0] not in given] + config

    def index_page() -> Path:
        return (
            root / _config_value(config, "site_dir", root / "config" / "config.yaml") / "index.html"
        )

    plain = not dry_run and not [arg for arg in (extra or []) if arg != "--"]
    if plain and _unchanged_since_last_run(root, config):
        print("Nothing to be done: no file in the project changed since the last complete run.")
        print(f"Reports: {index_page()}")
        return 0
    (root / LAST_RUN).unlink(missing_ok=True)
    python = snakemake_python(root, extra or [])
    cmd = [
        str(python),
        "-m",
        "psp_eval.engine.snakemake_cli",
        "--cores",
        str(cores),
        "--show-failed-logs",
    ]
    if config:
        cmd += ["--config", *config]
    if dry_run:
        cmd += ["--dry-run"]
    cmd += [arg for arg in (extra or []) if arg != "--"]
    cmd += ["--rerun-incomplete"]  # the jobs a killed run left unfinished run again
    from psp_eval.engine.recovery import clear_stale_locks  # standard library only

    clear_stale_locks(root)  # the lock a killed run left would block this one
    env = dict(os.environ)
    env["PATH"] = f"{python.parent}{os.pathsep}{env.get('PATH', '')}"
    started = time.perf_counter()
    from psp_eval.engine.progress import FULL_OUTPUT_ARGS, run_summarised  # standard library only

    summary = None
    local = not dry_run and _runs_here(root, extra or [])
    if local:  # it imports while Snakemake plans the run, on the core Snakemake leaves idle
        env[warm.ENV] = str(warm.start())
    try:
        if dry_run or FULL_OUTPUT_ARGS.intersection(cmd):  # snakemake's own output, unabridged
            returncode = subprocess.run(cmd, cwd=root, env=env, check=False).returncode
        else:
            returncode, summary = run_summarised(cmd, root, env)
    finally:
        if local:
            warm.stop()
    seconds = time.perf_counter() - started
    if returncode != 0:
        print(f"psp-eval run: snakemake failed after {seconds:.1f} s (see above)", file=sys.stderr)
        for job in summary.failed if summary else []:
            print(f"  failed: {job.name}; its log: {job.log or '(none)'}", file=sys.stderr)
        if summary and summary.complete_log:
            print(f"  snakemake's complete log: {summary.complete_log}", file=sys.stderr)
        return returncode
    if plain:
        (root / LAST_RUN).parent.mkdir(exist_ok=True)
        (root / LAST_RUN).write_text(project_state(root, config), encoding="utf-8")
    if not dry_run:
        print(f"Done in {seconds:.1f} s. Reports: {index_page()}")
    return 0
