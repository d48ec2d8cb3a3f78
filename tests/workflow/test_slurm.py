"""The SLURM profile on a real SLURM cluster: every job that is not a `localrule` runs as a
SLURM job, and the results are those of a local run.

It starts a single-node SLURM 22.05 cluster with job accounting on this machine
(../shared/tools/slurm/setup-slurm.sh: Debian packages, munge, slurmdbd; as root), runs the
pipeline on a small demo through profiles/slurm, counts the run's jobs with `sacct`, compares
every number, table, figure and report with a local run of the same demo, and stops the
daemons it started. The SLURM client stays installed; local runs do not notice, because the
SLURM executor plugin lives in .venv-cluster only (see test_profiles).
"""

import os
import re
import subprocess
import time
from pathlib import Path

import pytest
from test_determinism import compared_kinds, differences

from conftest import BIN, ROOT, project_copy, run_command
from psp_eval.engine import pipeline

SETUP = ROOT.parent / "shared/tools/slurm/setup-slurm.sh"
CONTROLLER_PID = Path("/run/slurm/slurmctld.pid")
# Far above the few minutes it takes: a run that never sees its jobs finish (the status
# command failing) must fail the test, not hang CI.
RUN_TIMEOUT_S = 900
# SLURM jobs of the 2-hub demo: clean (which validates) and score as one group job; per scope (the
# trial and 2 hubs) the process, impact and cost_benefit notebooks as one group job, and
# payment; need and monitoring; the trial's and hubs' reports and briefs, and the 2 standalone
# reports.
# The jobs that run where Snakemake runs (`localrule`s), and the rules that do: among them the
# audit's six (the raw data's identifiers, a part per report of the 3 scopes and 2 standalone).
LOCAL_JOBS = 19
STEPS = 43
SLURM_JOBS_AT_MOST = STEPS - LOCAL_JOBS
LOCAL_RULES = {
    *("settings", "hub_sheet", "index", "all"),
    *("audit_identifiers", "audit_part", "audit"),
}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="setting up SLURM needs root"),
    pytest.mark.skipif(not SETUP.is_file(), reason=f"no SLURM setup script at {SETUP}"),
    pytest.mark.skipif(
        not (ROOT / pipeline.CLUSTER_VENV / "bin/python").exists(),
        reason=f"no {pipeline.CLUSTER_VENV}: run `make cluster`",
    ),
]


def _alive(pidfile: Path) -> bool:
    try:
        os.kill(int(pidfile.read_text()), 0)
    except (OSError, ValueError):
        return False
    return True


@pytest.fixture(scope="module")
def slurm():
    """A running SLURM cluster; stopped afterwards if this test started it."""
    already = _alive(CONTROLLER_PID)
    done = subprocess.run(["bash", str(SETUP)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"SLURM could not be set up here: {done.stderr.strip().splitlines()[-1:]}")
    yield
    if not already:
        subprocess.run(["bash", str(SETUP), "stop"], capture_output=True, check=True)
        assert not _alive(CONTROLLER_PID)


def _timed_run(project: Path, *extra: str, timeout: float | None = None) -> tuple[float, str]:
    started = time.perf_counter()
    args = [str(BIN / "psp-eval"), "run", "--cores", "2", *extra]
    env = {"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(project), "LANG": "C.UTF-8"}
    done = subprocess.run(
        args, cwd=project, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    return time.perf_counter() - started, done.stdout + done.stderr


def _snakemake_log(project: Path) -> str:
    (log,) = sorted((project / ".snakemake/log").glob("*.snakemake.log"))
    return log.read_text(encoding="utf-8")


def test_slurm_profile_runs_every_job_on_slurm_with_the_local_results(
    slurm, small_site, tmp_path, capsys
):
    local = small_site  # the same demo (2 hubs, 200 families), run locally
    cluster = project_copy(tmp_path / "slurm", n_hubs=2, n_las=4, n_families=200)
    slurm_s, output = _timed_run(
        cluster, "--", "--profile", "profiles/slurm", timeout=RUN_TIMEOUT_S
    )
    assert f"{STEPS} of {STEPS} steps (100%) done" in _snakemake_log(cluster), output[-2000:]

    log = _snakemake_log(cluster)
    local_rules = re.findall(r"^localrule (\w+):", log, re.MULTILINE)
    assert len(local_rules) == LOCAL_JOBS and set(local_rules) == LOCAL_RULES, local_rules
    (run_id,) = re.findall(r"SLURM run ID: (\S+)", log)
    accounted = run_command(
        ["sacct", "-X", "-n", "-P", "--name", run_id, "-o", "JobID,State"], cluster
    ).stdout.split()
    states = dict(line.split("|") for line in accounted)
    # every other job ran on SLURM: 25 jobs, some as group jobs
    assert 1 < len(states) <= SLURM_JOBS_AT_MOST, states
    assert set(states.values()) == {"COMPLETED"}, states

    kinds = compared_kinds(cluster)
    assert all(kinds.values()) and compared_kinds(local) == kinds, kinds
    assert differences(local, cluster) == []
    with capsys.disabled():
        print(
            f"\nSLURM: {len(states)} jobs counted by sacct, all COMPLETED; results identical to"
            f" the local run ({kinds}); {slurm_s:.0f} s on SLURM"
        )
