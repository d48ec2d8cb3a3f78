"""The DAG: lint and format checks, a dry run, and (slow) the whole pipeline on a small demo."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from psp_eval.synth import generate

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
WORKFLOW_FILES = ("Snakefile", "rules", "config", "envs", "notebooks", "reports")


def _run(args, cwd, check=True):
    env = {"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(cwd), "LANG": "C.UTF-8"}
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"{args} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return result


def _project_copy(tmp: Path, *, n_hubs: int, n_las: int, n_families: int) -> Path:
    """The workflow files plus a small synthetic trial, in a folder of its own."""
    for name in WORKFLOW_FILES:
        source = ROOT / name
        if source.is_dir():
            # only sources: a rendered site in this checkout must not leak into the copy
            shutil.copytree(source, tmp / name, ignore=shutil.ignore_patterns("_site", ".*"))
        else:
            shutil.copy2(source, tmp / name)
    generate(tmp / "data/raw/demo", seed=7, n_hubs=n_hubs, n_las=n_las, n_families=n_families)
    shutil.copy2(tmp / "data/raw/demo/hubs.tsv", tmp / "config/hubs.tsv")
    return tmp


def _planned_jobs(project: Path, *extra: str) -> dict[str, int]:
    """Rule -> number of jobs that a dry run says would run."""
    out = _run([str(BIN / "snakemake"), "-n", "--cores", "1", *extra], project).stdout
    if "Nothing to be done" in out:
        return {}
    table = out.split("Job stats:", 1)[1]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M) if m[1] != "total"}


def test_snakefmt_check_passes():
    _run([str(BIN / "snakefmt"), "--check", "Snakefile", "rules"], ROOT)


def test_snakemake_lint_is_clean():
    out = _run([str(BIN / "snakemake"), "--lint"], ROOT)
    assert "Lints for" not in out.stdout + out.stderr, out.stdout


def test_dry_run_plans_every_job(tmp_path):
    project = _project_copy(tmp_path, n_hubs=2, n_las=3, n_families=60)
    jobs = _planned_jobs(project)
    scopes = 1 + 2
    assert jobs == {
        "all": 1,
        "validate": 1,
        "clean": 1,
        "score": 1,
        "notebook": 3 * scopes,
        "render": scopes,
        "index": 1,
    }


def test_missing_raw_data_is_explained(tmp_path):
    project = _project_copy(tmp_path, n_hubs=2, n_las=3, n_families=60)
    shutil.rmtree(project / "data/raw/demo")
    result = _run([str(BIN / "snakemake"), "-n", "--cores", "1"], project, check=False)
    assert result.returncode != 0
    assert "psp-eval synth --out data/raw/demo" in result.stdout + result.stderr


@pytest.mark.slow
def test_whole_pipeline_on_a_small_demo(tmp_path):
    project = _project_copy(tmp_path, n_hubs=2, n_las=4, n_families=200)
    result = _run([str(BIN / "psp-eval"), "run", "--cores", "2"], project)
    assert "reports/_site/index.html" in result.stdout
    site = project / "reports/_site"
    hubs = (project / "config/hubs.tsv").read_text().splitlines()[1:]
    scopes = ["trial"] + [line.split("\t")[0] for line in hubs]
    index = (site / "index.html").read_text()
    for scope in scopes:
        html = site / "demo" / f"{scope}.html"
        pdf = site / "demo" / f"{scope}.pdf"
        assert html.stat().st_size > 10_000 and pdf.read_bytes()[:4] == b"%PDF"
        assert f"demo/{scope}.html" in index and f"demo/{scope}.pdf" in index
        text = html.read_text()
        assert "Recruitment and flow" in text and "Provenance" in text
        assert "{{<" not in text, "a shortcode was left unrendered"
    # A second run has nothing to do.
    assert _planned_jobs(project) == {}
    # Editing the process notebook reruns its jobs for every scope, and the reports, only.
    notebook = project / "notebooks/process.ipynb"
    notebook.write_text(notebook.read_text().replace("Process evaluation", "Process evaluation (edited)"))
    jobs = _planned_jobs(project)
    assert jobs == {"notebook": len(scopes), "render": len(scopes), "index": 1, "all": 1}
    dry = _run([str(BIN / "snakemake"), "-n", "--cores", "1"], project).stdout
    assert "impact.ipynb" not in dry.split("Job stats:")[0].replace("notebooks/impact.ipynb", "")
