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


def run_command(args, cwd, check=True):
    """Run a command with the test environment's bin first on PATH; fail with its output."""
    env = {"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(cwd), "LANG": "C.UTF-8"}
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
