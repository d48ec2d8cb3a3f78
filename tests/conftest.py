"""Shared fixtures: small copies of the project with their own synthetic trial."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from psp_eval.data.demo import generate
from psp_eval.engine.pipeline import copy_workflow

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def run_command(args, cwd, check=True, path=()):
    """Run a command with the test environment's bin first on PATH (then the `path` folders);
    fail with its output."""
    folders = ":".join(str(folder) for folder in (BIN, *path))
    env = {"PATH": f"{folders}:/usr/bin:/bin", "HOME": str(cwd), "LANG": "C.UTF-8"}
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"{args} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return result


def project_copy(folder: Path, *, n_hubs: int, n_las: int, n_families: int) -> Path:
    """The workflow files plus a small synthetic trial, in a folder of its own."""
    copy_workflow(ROOT, folder)
    generate(folder / "data/raw/demo", seed=7, n_hubs=n_hubs, n_las=n_las, n_families=n_families)
    shutil.copy2(folder / "data/raw/demo/hubs.tsv", folder / "config/hubs.tsv")
    return folder


@pytest.fixture(scope="session")
def small_site(tmp_path_factory) -> Path:
    """A project whose whole pipeline has run on a small demo (2 hubs, 200 families)."""
    project = project_copy(tmp_path_factory.mktemp("project"), n_hubs=2, n_las=4, n_families=200)
    result = run_command([str(BIN / "psp-eval"), "run", "--cores", "2"], project)
    assert "reports/_site/index.html" in result.stdout
    return project


QUARTO_MISSING = (
    "Quarto is not installed, so the reports are not rendered with it: install it with "
    "`bash ../shared/tools/quarto/install.sh PREFIX` and put PREFIX/bin on PATH (.ci/run does)"
)


@pytest.fixture(scope="session")
def quarto_site(small_site, tmp_path_factory) -> Path:
    """`small_site` (rendered by the embedded engine) copied and rendered again with Quarto:
    only the render jobs, the index and the audit rerun."""
    quarto = shutil.which("quarto")
    if quarto is None:
        pytest.skip(QUARTO_MISSING)
    project = tmp_path_factory.mktemp("quarto") / "project"
    shutil.copytree(small_site, project, ignore=shutil.ignore_patterns("screenshots"))
    command = [str(BIN / "psp-eval"), "run", "--cores", "2", "--config", "render={engine: quarto}"]
    result = run_command(command, project, path=[Path(quarto).parent])
    assert "reports/_site/index.html" in result.stdout
    return project


def shipped_config(root: Path = ROOT) -> dict:
    """The run's configuration as the Snakefile merges it: the config files rules/common.smk
    names, in order (no overrides)."""
    import re

    import yaml
    from snakemake.utils import update_config

    config: dict = {}
    for path in re.findall(r'^configfile: "(.+)"$', (root / "rules/common.smk").read_text(), re.M):
        update_config(config, yaml.safe_load((root / path).read_text(encoding="utf-8")))
    return config


def shipped_settings(analysis: str, root: Path = ROOT, **overrides) -> dict:
    """What the settings rule writes for `analysis` on the shipped configuration (sections
    replaced by `overrides`)."""
    from psp_eval.data import plan

    config = {**shipped_config(root), **overrides}
    catalogue = plan.load_catalogue(root)
    return plan.job_settings(config, catalogue, analysis, root=root, labels=plan.arm_labels(config))


@pytest.fixture(params=("embedded", "quarto"))
def rendered_site(request) -> Path:
    """The small demo's project folder as rendered by one engine: the browser and PDF checks
    run on both (Quarto's skipped, saying why, where Quarto is not installed)."""
    return request.getfixturevalue("small_site" if request.param == "embedded" else "quarto_site")
