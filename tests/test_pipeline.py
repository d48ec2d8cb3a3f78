"""The run wrapper and the index's list of reports."""

import json

import pandas as pd
import pytest

from psp_eval.pipeline import PipelineError, copy_workflow, index_entries, report_title, run


def _site(tmp_path, scopes):
    site = tmp_path / "site"
    (site / "demo").mkdir(parents=True)
    for scope in scopes:
        for ext in ("html", "pdf"):
            (site / "demo" / f"{scope}.{ext}").write_text("x")
    numbers = tmp_path / "results/demo/trial/process/numbers.json"
    numbers.parent.mkdir(parents=True)
    numbers.write_text(json.dumps({"data_cut": "2026-03-25"}))
    return site


def test_index_lists_trial_hubs_then_standalone_reports(tmp_path):
    hubs = pd.DataFrame({"hub_id": ["leeds"], "hub_name": ["Leeds and West Yorkshire"]})
    site = _site(tmp_path, ["trial", "leeds", "need"])
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "need.qmd").write_text('---\ntitle: "Need and reach"\n---\n\nText\n')
    entries = index_entries("demo", hubs, site, tmp_path / "results", standalone=["need"], reports_dir=reports)
    assert [(e["scope"], e["scope_name"], e["kind"]) for e in entries] == [
        ("trial", "All hubs", "trial"),
        ("leeds", "Leeds and West Yorkshire", "hub"),
        ("need", "Need and reach", "need"),
    ]
    assert {e["data_cut"] for e in entries} == {"2026-03-25"}
    assert entries[1]["pdf"].endswith("demo/leeds.pdf")


def test_index_refuses_a_missing_report(tmp_path):
    hubs = pd.DataFrame({"hub_id": ["leeds"], "hub_name": ["Leeds"]})
    site = _site(tmp_path, ["trial"])
    with pytest.raises(PipelineError, match=r"leeds\.html is missing"):
        index_entries("demo", hubs, site, tmp_path / "results")


def test_report_title_needs_front_matter(tmp_path):
    (tmp_path / "x.qmd").write_text("# No front matter\n")
    with pytest.raises(PipelineError, match="no title"):
        report_title(tmp_path / "x.qmd")


def test_run_outside_the_project_is_explained(tmp_path):
    with pytest.raises(PipelineError, match="no Snakefile"):
        run(cores=1, config=[], root=tmp_path)


def test_run_refuses_malformed_config_override(tmp_path):
    (tmp_path / "Snakefile").write_text("")
    with pytest.raises(PipelineError, match="KEY=VALUE"):
        run(cores=1, config=["trial"], root=tmp_path)


def test_copy_workflow_takes_sources_only(tmp_path):
    source = tmp_path / "src"
    for name in ("rules", "config", "envs", "notebooks", "profiles", "reports/_site", "results"):
        (source / name).mkdir(parents=True)
    (source / "Snakefile").write_text("")
    (source / "reports/trial.qmd").write_text("x")
    (source / "reports/_site/index.html").write_text("x")
    (source / "notebooks/.ipynb_checkpoints").mkdir()
    dest = copy_workflow(source, tmp_path / "dest")
    assert (dest / "Snakefile").exists() and (dest / "reports/trial.qmd").exists()
    assert not (dest / "reports/_site").exists()
    assert not (dest / "results").exists()
    assert not (dest / "notebooks/.ipynb_checkpoints").exists()
