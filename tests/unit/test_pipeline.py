"""The run wrapper and the index's list of reports."""

import json
import os
import sys
from pathlib import Path

import pandas as pd
import pytest

from psp_eval.engine import pipeline
from psp_eval.engine.pipeline import LAST_RUN, PipelineError, copy_workflow, run
from psp_eval.report.index import index_entries, report_title
from psp_eval.report.render import RenderError


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
    need = tmp_path / "results/demo/trial/need/numbers.json"
    need.parent.mkdir(parents=True)
    need.write_text(json.dumps({"data_cut": "2025-03-31"}))  # its SSDA903 extract
    entries = index_entries(
        "demo",
        hubs,
        site,
        tmp_path / "results",
        analyses=["process"],
        standalone=["need"],
        reports_dir=reports,
    )
    assert [(e["scope"], e["scope_name"], e["kind"]) for e in entries] == [
        ("trial", "All hubs", "trial"),
        ("leeds", "Leeds and West Yorkshire", "hub"),
        ("need", "Need and reach", "need"),
    ]
    # the trial and hub reports by the trial's cut; a standalone report by its own data
    assert [e["data_cut"] for e in entries] == ["2026-03-25", "2026-03-25", "2025-03-31"]
    assert entries[1]["pdf"].endswith("demo/leeds.pdf")


def test_index_without_report_sections_lists_the_standalone_reports_with_their_own_cut(tmp_path):
    site = _site(tmp_path, ["monitoring"])
    own = tmp_path / "results/demo/trial/monitoring/numbers.json"
    own.parent.mkdir(parents=True)
    own.write_text(json.dumps({"data_cut": "2026-01-02"}))
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "monitoring.qmd").write_text('---\ntitle: "Monitoring"\n---\n')
    entries = index_entries(
        "demo", None, site, tmp_path / "results", standalone=["monitoring"], reports_dir=reports
    )
    assert [(e["scope"], e["data_cut"]) for e in entries] == [("monitoring", "2026-01-02")]


def test_index_refuses_a_missing_report(tmp_path):
    hubs = pd.DataFrame({"hub_id": ["leeds"], "hub_name": ["Leeds"]})
    site = _site(tmp_path, ["trial"])
    with pytest.raises(RenderError, match=r"leeds\.html is missing"):
        index_entries("demo", hubs, site, tmp_path / "results")


def test_report_title_needs_front_matter(tmp_path):
    (tmp_path / "x.qmd").write_text("# No front matter\n")
    with pytest.raises(RenderError, match="no title"):
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


# Snakemake 9's log, as recorded from `psp-eval run` on the demo (inputs and outputs trimmed).
RECORDED_RUN = """\
Using workflow specific profile profiles/default for setting default command line arguments.
Assuming unrestricted shared filesystem usage.

SNAKEMAKE
=========
  Date: 2026-11-23 20:53:36
  Snakemake version: 9.27.1
  Config file(s): ['config/config.yaml']

Building DAG of jobs...
Using shell: /usr/bin/bash
Provided cores: 2
Rules claiming more threads will be scaled down.
Conda environments: ignored
Job stats:
job                  count
-----------------  -------
hub_sheet                1
notebook                 1
validate                 1
all                      1
total                    4

Select jobs to execute...
Execute 2 jobs...

[Mon Nov 23 20:53:37 2026]
localrule validate:
    input: data/raw/demo/las.csv, config/instruments.yaml
    output: results/demo/validation.json
    log: logs/demo/validate.log
    jobid: 5
    reason: Missing output files: results/demo/validation.json
    wildcards: trial=demo
    resources: tmpdir=/tmp
[Mon Nov 23 20:53:37 2026]
localrule notebook:
    input: notebooks/impact.ipynb, results/demo/clean/las.parquet
    output: results/demo/leeds/impact.ipynb, results/demo/leeds/impact
    log: logs/demo/leeds/impact.log
    jobid: 20
    reason: Missing output files: results/demo/leeds/impact.ipynb
    wildcards: trial=demo, scope=leeds, analysis=impact
    resources: tmpdir=/tmp, mem_mb=2000, mem=2 GB, mem_mib=1908
Select jobs to execute...
[Mon Nov 23 20:53:41 2026]
Finished jobid: 5 (Rule: validate)
1 of 4 steps (25%) done
Execute 1 jobs...

[Mon Nov 23 20:53:41 2026]
localrule hub_sheet:
    output: results/demo/clean/hubs/leeds.parquet
    log: logs/demo/hub_sheet-leeds.log
    jobid: 7
    reason: Missing output files: results/demo/clean/hubs/leeds.parquet
    wildcards: trial=demo, scope=leeds
    resources: tmpdir=/tmp
Shell command: psp-eval hub-sheet config/hubs.tsv --scope leeds
Select jobs to execute...
[Mon Nov 23 20:53:45 2026]
Finished jobid: 20 (Rule: notebook)
2 of 4 steps (50%) done
Finished jobid: 7 (Rule: hub_sheet)
3 of 4 steps (75%) done
Select jobs to execute...

[Mon Nov 23 20:53:45 2026]
localrule all:
    input: reports/_site/index.html, results/demo/audit.json
    jobid: 0
    reason: Input files updated by another job: results/demo/audit.json
    resources: tmpdir=/tmp
[Mon Nov 23 20:53:45 2026]
Finished jobid: 0 (Rule: all)
4 of 4 steps (100%) done
Complete log(s): /p/.snakemake/log/2026-11-23T205336.797148.snakemake.log
"""

# A failed job as snakemake reports it with --show-failed-logs (its log between "=" rules).
RECORDED_FAILURE = """\
[Mon Nov 23 21:08:52 2026]
localrule score:
    input: results/demo/clean/measures.parquet, config/instruments.yaml
    output: results/demo/clean/scores.parquet, results/demo/clean/outcomes.parquet
    log: logs/demo/score.log
    jobid: 6
    wildcards: trial=demo
    resources: tmpdir=/tmp
RuleException:
CalledProcessError in file "/p/rules/data.smk", line 64:
Command 'set -euo pipefail;  psp-eval score results/demo/clean' returned non-zero exit status 1.
[Mon Nov 23 21:08:52 2026]
Error in rule score:
    message: None
    jobid: 6
    input: results/demo/clean/measures.parquet, config/instruments.yaml
    output: results/demo/clean/scores.parquet, results/demo/clean/outcomes.parquet
    log: logs/demo/score.log (check log file(s) for error details)
    shell:
        psp-eval score results/demo/clean > logs/demo/score.log 2>&1
        (command exited with non-zero exit code)
Logfile logs/demo/score.log:
==================================================
psp-eval score: measures.parquet, row 12, column item_3: expected 0-3, got 7

rule x:
==================================================
Shutting down, this might take some time.
Exiting because a job execution failed. Look above for error messages
WorkflowError:
At least one job did not complete successfully.
Complete log(s): /p/.snakemake/log/2026-11-23T210845.864052.snakemake.log
"""


def _summarise(text):
    from psp_eval.engine.progress import Summary

    said = []
    ticks = iter(range(0, 1000, 2))  # each reading of the clock: 2 s later
    summary = Summary(say=lambda line, kind: said.append((kind, line)), clock=lambda: next(ticks))
    for line in text.splitlines(keepends=True):
        summary.feed(line)
    summary.close()
    return summary, said


def test_summary_counts_finished_jobs_and_names_them_by_wildcards():
    summary, said = _summarise(RECORDED_RUN)
    assert [line for kind, line in said if kind == "done"] == [
        "[1/4] validate (4 s)",
        "[2/4] notebook impact (leeds) (6 s)",
        "[3/4] hub_sheet (leeds) (4 s)",
    ]
    assert [line for kind, line in said if kind == "start"] == [
        "validate", "notebook impact (leeds)", "hub_sheet (leeds)",
    ]  # fmt: skip
    passed = [line for kind, line in said if kind in ("pass", "failed")]
    assert passed[0] == "Job stats:" and passed[-1] == "total                    4"
    assert len(passed) == 8  # the plan of the run; the rest is noise
    assert (summary.done, summary.total, summary.running, summary.failed) == (4, 4, {}, [])
    assert summary.complete_log == "/p/.snakemake/log/2026-11-23T205336.797148.snakemake.log"


def test_summary_reports_a_failed_job_with_its_log_and_passes_the_error_on():
    summary, said = _summarise(RECORDED_FAILURE)
    assert [line for kind, line in said if kind == "failed"] == [
        "[FAILED] score (log: logs/demo/score.log)"
    ]
    passed = [line for kind, line in said if kind == "pass"]
    # Snakemake's error, the failed job's log verbatim (even a line that looks like a job) ...
    assert "Error in rule score:" in passed
    assert "    log: logs/demo/score.log (check log file(s) for error details)" in passed
    assert "psp-eval score: measures.parquet, row 12, column item_3: expected 0-3, got 7" in passed
    assert "rule x:" in passed and "" in passed
    assert "At least one job did not complete successfully." in passed
    # ... but not the job's long lists of inputs and outputs (they are in the complete log).
    assert not [line for line in passed if "measures.parquet, config" in line]
    assert [job.name for job in summary.failed] == ["score"] and not summary.running
    assert summary.complete_log.endswith("2026-11-23T210845.864052.snakemake.log")


def test_summary_passes_lines_it_does_not_know():
    _, said = _summarise("Building DAG of jobs...\nWarning: rule x has no log\n  because\n")
    assert said == [("pass", "Warning: rule x has no log"), ("pass", "  because")]


TINY_WORKFLOW = """\
rule all:
    input: "b.txt"

rule first:
    output: "a.txt"
    log: "logs/first.log"
    shell: "echo a > {output}"

rule second:
    input: "a.txt"
    output: "b.txt"
    log: "logs/second.log"
    shell: "{config[second]} > {log} 2>&1 && cp {input} {output}"
"""


RUNS_HERE = pipeline._runs_here  # before the fixture below replaces it


@pytest.fixture(autouse=True)
def _no_warm_worker_for_tiny_workflows(monkeypatch):
    # TINY_WORKFLOW runs no psp-eval command: a warm worker would only import the analysis
    # libraries beside each run (about 1 s of a 3 s run on 2 cores)
    monkeypatch.setattr(pipeline, "_runs_here", lambda root, args: False)


def test_run_shows_finished_and_failed_jobs_then_where_the_complete_log_is(tmp_path, capsys):
    """Snakemake's real output, summarised: guards the parsing against a new snakemake."""
    (tmp_path / "Snakefile").write_text(TINY_WORKFLOW)
    assert run(cores=1, config=["second=echo broken; false"], root=tmp_path) != 0
    captured = capsys.readouterr()
    assert captured.out.splitlines()[0].startswith("[1/3] first (")
    assert "[FAILED] second (log: logs/second.log)" in captured.out
    assert "output: a.txt" not in captured.out + captured.err  # the jobs' inputs and outputs
    assert "input: a.txt" not in captured.out + captured.err
    assert "broken" in captured.err  # the failed job's log, shown by --show-failed-logs
    assert "failed: second; its log: logs/second.log" in captured.err
    complete_log = captured.err.split("snakemake's complete log: ")[1].strip()
    assert "Error in rule second" in (tmp_path / complete_log).read_text()


@pytest.mark.parametrize("live", [False, True])
def test_run_summarised_shows_jobs_on_a_terminal_and_in_a_log(tmp_path, capsys, live):
    from psp_eval.engine.progress import run_summarised

    script = tmp_path / "fake_snakemake.py"
    script.write_text(f"import sys\nsys.stderr.write({RECORDED_FAILURE!r})\nsys.exit(1)\n")
    returncode, summary = run_summarised([sys.executable, str(script)], tmp_path, {}, live=live)
    captured = capsys.readouterr()
    assert returncode == 1 and [job.name for job in summary.failed] == ["score"]
    assert "[FAILED] score (log: logs/demo/score.log)" in captured.out
    shown = captured.out if live else captured.err  # on a terminal, all above the bar
    assert "Error in rule score:" in shown and "input: results" not in shown


def test_a_run_with_nothing_changed_since_the_last_complete_one_does_not_start_snakemake(
    tmp_path, capsys
):
    (tmp_path / "Snakefile").write_text(TINY_WORKFLOW)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.yaml").write_text("site_dir: site\n")
    settings = ["second=echo ok"]
    assert run(cores=1, config=settings, root=tmp_path) == 0
    assert "[2/3] second" in capsys.readouterr().out
    assert run(cores=1, config=settings, root=tmp_path) == 0
    assert capsys.readouterr().out.startswith("Nothing to be done: no file in the project changed")
    (tmp_path / "logs" / "second.log").write_text("a log is no input")
    assert run(cores=1, config=settings, root=tmp_path) == 0
    assert capsys.readouterr().out.startswith("Nothing to be done: no file")
    # other settings, an output removed, an input touched: Snakemake decides
    assert run(cores=1, config=["second=echo other"], root=tmp_path) == 0
    assert "Nothing to be done: no file" not in capsys.readouterr().out
    (tmp_path / "b.txt").unlink()
    assert run(cores=1, config=settings, root=tmp_path) == 0
    assert "] second" in capsys.readouterr().out
    assert run(cores=1, config=settings, root=tmp_path) == 0
    capsys.readouterr()
    os.utime(tmp_path / "a.txt", ns=(0, 0))
    assert run(cores=1, config=settings, root=tmp_path) == 0
    assert "Nothing to be done: no file" not in capsys.readouterr().out
    # a run with Snakemake arguments of its own is not recorded, and forgets the last record
    assert run(cores=1, config=settings, root=tmp_path, extra=["--forceall"]) == 0
    assert not (tmp_path / LAST_RUN).exists()


def test_the_warm_worker_is_started_only_for_jobs_run_on_this_machine():
    root = Path(__file__).resolve().parents[2]
    assert RUNS_HERE(root, [])
    assert RUNS_HERE(root, ["--profile", "profiles/default", "--forceall"])
    assert not RUNS_HERE(root, ["--profile", "profiles/slurm"])
    assert not RUNS_HERE(root, ["--profile=profiles/kubernetes"])
    assert not RUNS_HERE(root, ["--executor", "slurm"])
    assert not RUNS_HERE(root, ["-e", "slurm"])
