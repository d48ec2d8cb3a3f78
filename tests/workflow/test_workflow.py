"""The DAG: lint and format checks, a dry run, and (slow) the whole pipeline on a small demo."""

import re
import shutil

import pytest
import yaml

from conftest import BIN, ROOT, project_copy
from conftest import run_command as _run


def _planned_jobs(project, *extra) -> dict[str, int]:
    """Rule -> number of jobs that a dry run says would run."""
    out = _run([str(BIN / "snakemake"), "-n", "--cores", "1", *extra], project).stdout
    if "Nothing to be done" in out:
        return {}
    table = out.split("Job stats:", 1)[1]
    return {
        m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M) if m[1] != "total"
    }


def test_snakefmt_check_passes():
    _run([str(BIN / "snakefmt"), "--check", "Snakefile", "rules"], ROOT)


def test_ruff_lint_and_format_are_clean():
    _run([str(BIN / "ruff"), "check", "."], ROOT)
    _run([str(BIN / "ruff"), "format", "--check", "."], ROOT)


def test_import_contracts_keep_the_layers():
    """cli > report > governance > present > analyses > data > engine; only the CLI imports the
    demo generator (pyproject.toml, [tool.importlinter])."""
    out = _run([str(BIN / "lint-imports")], ROOT).stdout
    assert "0 broken" in out, out


def test_snakemake_lint_is_clean():
    out = _run([str(BIN / "snakemake"), "--lint"], ROOT)
    assert "Lints for" not in out.stdout + out.stderr, out.stdout


def test_dry_run_plans_every_job(tmp_path):
    project = project_copy(tmp_path, n_hubs=2, n_las=3, n_families=60)
    jobs = _planned_jobs(project)
    scopes = 1 + 2
    assert jobs == {
        "all": 1,
        "clean": 1,
        "score": 1,
        "notebook": 4 * scopes + 2,  # four analyses per scope, need and monitoring once
        "render": scopes,
        "render_brief": scopes,  # the funder brief of the trial and of each hub
        "render_standalone": 2,
        "settings": 4 + 2 + 1,  # each analysis's part of the run's config, and the data steps'
        "hub_sheet": scopes,  # the trial's rows for process, payment and need; each hub's
        "index": 1,
        "audit_identifiers": 1,  # the raw data's id values, read once for the audit
        "audit_part": scopes + 2,  # the audit of each report, as it is rendered
        "audit": 1,  # and the last step, which gathers them
    }


def test_missing_raw_data_is_explained(tmp_path):
    project = project_copy(tmp_path, n_hubs=2, n_las=3, n_families=60)
    shutil.rmtree(project / "data/raw/demo")
    result = _run([str(BIN / "snakemake"), "-n", "--cores", "1"], project, check=False)
    assert result.returncode != 0
    assert "psp-eval synth --out data/raw/demo" in result.stdout + result.stderr


@pytest.mark.slow
def test_whole_pipeline_on_a_small_demo(small_site):
    project = small_site
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
        assert "Provenance" in text
        assert "{{<" not in text, "a shortcode was left unrendered"
    # A second run has nothing to do.
    assert _planned_jobs(project) == {}
    # Editing the process notebook reruns, for every scope, the process notebook and the
    # analyses that read its results, then the reports: no impact or cost-benefit job.
    notebook = project / "notebooks/process.ipynb"
    original = notebook.read_text()
    notebook.write_text(original.replace("Process evaluation", "Process evaluation (edited)"))
    try:
        jobs = _planned_jobs(project)
        dry = _run([str(BIN / "snakemake"), "-n", "--cores", "1"], project).stdout
    finally:
        notebook.write_text(original)
    config = yaml.safe_load((project / "config/config.yaml").read_text())
    readers_of_process = 1 + ("payment" in config["analyses"])
    assert jobs == {
        "notebook": readers_of_process * len(scopes),
        "render": len(scopes),
        "render_brief": len(scopes),
        "index": 1,
        "audit_part": len(scopes),  # each report's part of the audit, then the gathering
        "audit": 1,
        "all": 1,
    }
    planned_outputs = re.findall(r"^\s+output: (.*)$", dry, re.M)
    assert not [o for o in planned_outputs if "/impact" in o or "/cost_benefit" in o]
    # Changing one hub's row of the hub sheet reruns that hub's jobs and the trial-level ones
    # that read the sheet (process, payment, need, monitoring): no other hub's.
    sheet = project / "config/hubs.tsv"
    original_sheet = sheet.read_text()
    lines = original_sheet.splitlines()
    cells = lines[1].split("\t")
    cells[3] = str(int(cells[3]) + 10)
    sheet.write_text("\n".join([lines[0], "\t".join(cells), *lines[2:]]) + "\n")
    try:
        jobs = _planned_jobs(project)
        dry = _run([str(BIN / "snakemake"), "-n", "--cores", "1"], project).stdout
    finally:
        sheet.write_text(original_sheet)
    changed, other = cells[0], [s for s in scopes if s not in ("trial", cells[0])]
    assert jobs == {
        "hub_sheet": 2,
        "notebook": 2 * 2 + 2,  # process and payment for the hub and the trial; need, monitoring
        "render": 2,
        "render_brief": 2,
        "render_standalone": 2,
        "index": 1,
        "audit_part": 2 + 2,  # the hub's and the trial's reports; need, monitoring
        "audit": 1,
        "all": 1,
    }
    planned_outputs = re.findall(r"^\s+output: (.*)$", dry, re.M)
    assert any(f"/{changed}/" in o for o in planned_outputs)
    assert not [o for o in planned_outputs for hub in other if f"/{hub}/" in o or f"/{hub}." in o]


def test_monitoring_is_planned_on_data_with_a_missing_file(tmp_path):
    # Monitoring reports on in-progress data: a missing table is a finding, not a blocker.
    project = project_copy(tmp_path, n_hubs=2, n_las=3, n_families=60)
    (project / "data/raw/demo/costs.csv").unlink()
    jobs = _planned_jobs(project, "reports/_site/demo/monitoring.html")
    assert jobs == {"settings": 1, "hub_sheet": 1, "notebook": 1, "render_standalone": 1}
