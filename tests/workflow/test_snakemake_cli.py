"""`psp-eval run` starts Snakemake without its default limit on job starts when the jobs run
here: under that limit every finished job adds a scheduling round per second for the rest of
the run (`psp_eval.engine.snakemake_cli`)."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from psp_eval.engine import snakemake_cli

JOBS = 8
SNAKEFILE = f"""
rule all:
    input: expand("out/{{i}}.txt", i=range({JOBS}))

rule one:
    output: "out/{{i}}.txt"
    shell: "sleep 0.5; echo {{wildcards.i}} > {{output}}"
"""


@pytest.fixture
def workflow(tmp_path: Path, monkeypatch) -> Path:
    (tmp_path / "Snakefile").write_text(SNAKEFILE)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _limit_dropped(argv: list[str]) -> bool:
    from snakemake import cli

    parser, args = cli.parse_args(argv)
    return snakemake_cli.only_the_default_limit(parser, args)


def test_a_local_run_schedules_once_per_finished_job(workflow):
    """Eight half-second jobs on one core: a round to start and one per finished job (with
    Snakemake's default limit: 21 rounds here, more the longer the run)."""
    run = subprocess.run(
        [sys.executable, "-m", "psp_eval.engine.snakemake_cli", "--cores", "1", "--verbose"],
        cwd=workflow,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    assert len(list((workflow / "out").iterdir())) == JOBS
    rounds = re.findall(r"^Ready jobs", run.stderr, re.M)  # logged by every round with work
    assert 1 <= len(rounds) <= JOBS + 1


def test_only_snakemakes_own_default_limit_is_dropped(workflow):
    assert _limit_dropped(["--cores", "1"])
    assert not _limit_dropped(["--cores", "1", "--max-jobs-per-timespan", "5/1s"])
    assert not _limit_dropped(["--cores", "1", "--max-jobs-per-second", "2"])
    # another executor keeps its limit: a cluster's queue may need it
    assert not _limit_dropped(["--cores", "1", "--executor", "touch"])


def test_a_limit_set_in_a_profile_is_kept(workflow):
    profile = workflow / "profiles" / "default"
    profile.mkdir(parents=True)
    (profile / "config.yaml").write_text('max-jobs-per-timespan: "20/1m"\n')
    assert not _limit_dropped(["--cores", "1"])
