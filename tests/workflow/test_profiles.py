"""The cluster profiles: every job of the demo DAG gets the resources its profile gives its rule,
and every path a job's command names is one a pod or storage plugin stages.

A dry run with the profile resolves each job's threads and resources as a real submission
would (with the executor plugins of the cluster environment, .venv-cluster, which `make test`
makes), and prints them per job; those are compared with the profile's own numbers, rule by
rule. Kubernetes cannot run here (no cluster): its dry run is what is tested.
"""

import importlib.util
import re
import shlex

import pytest
import yaml

from conftest import BIN, ROOT, project_copy, run_command
from psp_eval.engine import pipeline

PROFILES = ["slurm", "kubernetes"]
CLUSTER_BIN = ROOT / pipeline.CLUSTER_VENV / "bin"
# What a real run needs from the user, given here so that the dry run can go ahead.
USER_ENV = {"kubernetes": ["PSP_EVAL_IMAGE=registry.example.org/psp-eval:test"]}
RULE = re.compile(r"^rule (\w+):", re.MULTILINE)
# Where the fs storage plugin stages a job's files (relative to the folder of the run).
STAGED = ".snakemake/storage/"

needs_cluster_env = pytest.mark.skipif(
    not (CLUSTER_BIN / "snakemake").exists(),
    reason=f"no {pipeline.CLUSTER_VENV} (the cluster executor plugins): run `make cluster`",
)


# A stand-in `scontrol` first on the dry runs' PATH: the SLURM plugin runs `scontrol` when
# Snakemake imports it, and where SLURM's client is installed but no controller answers (as
# after CI's SLURM test stops its daemons) that waits about 10 s a dry run. It fails at once,
# as on a machine without SLURM; a dry run needs no cluster.
NO_CONTROLLER = "#!/bin/sh\necho 'scontrol: no SLURM controller (test stand-in)' >&2\nexit 1\n"


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    folder = project_copy(tmp_path_factory.mktemp("profiles"), n_hubs=2, n_las=4, n_families=200)
    scontrol = folder / ".test-bin" / "scontrol"
    scontrol.parent.mkdir()
    scontrol.write_text(NO_CONTROLLER)
    scontrol.chmod(0o755)
    return folder


def _workflow_rules():
    """Every rule that runs something (`all` only names the targets)."""
    sources = [ROOT / "Snakefile", *sorted((ROOT / "rules").glob("*.smk"))]
    rules = {name for path in sources for name in RULE.findall(path.read_text())}
    return rules - {"all"}


def _snakemake(project, name, *args, env=()):
    command = [str(CLUSTER_BIN / "snakemake"), "--profile", f"profiles/{name}", *args]
    path = f"PATH={project / '.test-bin'}:{CLUSTER_BIN}:/usr/bin:/bin"
    return run_command(["env", path, *env, *command], project, check=False)


def _dry_run(project, name):
    """Snakemake's dry run with the profile: one (rule, wildcards, threads, resources, shell
    command) a job, group jobs' members included."""
    result = _snakemake(project, name, "--dry-run", "--printshellcmds", env=USER_ENV.get(name, []))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    jobs = []
    text = result.stdout + result.stderr
    for block in re.split(r"\n(?=(?: {4})?(?:local)?rule \w+:\n)", text):
        head = re.match(r"( *)(?:local)?rule (\w+):\n", block)
        if not head:
            continue
        fields = dict(re.findall(rf"^{head.group(1)} {{4}}(\w+): (.*)$", block, re.MULTILINE))
        resources = dict(item.split("=", 1) for item in fields["resources"].split(", "))
        command = re.search(r"^\s*Shell command: (.*)$", block, re.MULTILINE)
        jobs.append(
            (
                head.group(2),
                fields.get("wildcards", ""),
                fields.get("threads", "1"),
                resources,
                command.group(1) if command else "",
            )
        )
    return jobs


def _profile(name):
    return yaml.safe_load((ROOT / "profiles" / name / "config.yaml").read_text())


def test_local_environment_has_no_cluster_executor_plugin():
    """Snakemake imports every plugin it finds at each start; the SLURM one runs `scontrol`,
    which waits ~10 s where SLURM's client is installed and no controller answers."""
    for plugin in ("slurm", "slurm_jobstep", "kubernetes"):
        assert importlib.util.find_spec(f"snakemake_executor_plugin_{plugin}") is None, plugin


@needs_cluster_env
def test_run_with_a_cluster_profile_uses_the_cluster_environment():
    assert pipeline.snakemake_python(ROOT, ["--profile", "profiles/slurm"]) == (
        CLUSTER_BIN / "python"
    )
    assert pipeline.snakemake_python(ROOT, ["--profile=profiles/kubernetes"]) == (
        CLUSTER_BIN / "python"
    )
    assert pipeline.snakemake_python(ROOT, ["--cores", "2"]) == BIN / "python"


def test_a_cluster_profile_without_the_cluster_environment_says_make_cluster(tmp_path, monkeypatch):
    monkeypatch.setattr(pipeline.sys, "prefix", str(tmp_path / ".venv"))
    (tmp_path / "profiles/slurm").mkdir(parents=True)
    (tmp_path / "profiles/slurm/config.yaml").write_text("executor: slurm\n")
    with pytest.raises(pipeline.PipelineError, match="make cluster"):
        pipeline.snakemake_python(tmp_path, ["--profile", "profiles/slurm"])


@pytest.mark.parametrize("name", PROFILES)
def test_profile_names_every_rule_of_the_workflow(name):
    profile = _profile(name)
    rules = _workflow_rules()
    assert {"clean", "notebook", "render", "index", "audit"} <= rules
    assert set(profile["set-resources"]) == rules, "a rule without resources, or a stale one"
    assert set(profile["set-threads"]) == rules


@needs_cluster_env
@pytest.mark.parametrize("name", PROFILES)
def test_dry_run_gives_every_job_its_rules_resources(project, name):
    profile = _profile(name)
    jobs = _dry_run(project, name)
    rules = {rule for rule, *_ in jobs}
    assert rules == _workflow_rules() | {"all"}  # the whole DAG of a fresh project
    assert len(jobs) == 43  # 2 hubs: the same count as the workflow test's full run
    for rule, wildcards, threads, resources, _ in jobs:
        assert "<TBD>" not in resources.values(), (rule, wildcards, resources)
        if rule == "all":
            continue
        wanted = {**profile["default-resources"], **profile["set-resources"][rule]}
        for key, value in wanted.items():
            expected = eval(str(value), {"attempt": 1})  # the first try
            assert int(resources[key]) == expected, (rule, wildcards, key, resources)
        assert int(threads) == profile["set-threads"][rule], (rule, wildcards)


def _named_paths(command):
    """Every word of a shell command (or the value of `-p name=value`) that names a file or
    folder."""
    for word in shlex.split(command):
        value = word.partition("=")[2] if re.match(r"^\w+=", word) else word
        if "/" in value:
            yield value


@needs_cluster_env
def test_every_path_a_kubernetes_job_names_is_staged(project):
    """A pod sees only what the storage plugin staged: a path in a command that is not under
    the staging folder (a config file, the raw data folder) would be missing there."""
    commands = [command for *_, command in _dry_run(project, "kubernetes") if command]
    assert len(commands) >= 20  # every shell rule's jobs
    unstaged = {
        path
        for command in commands
        for path in _named_paths(command)
        if (not path.startswith(STAGED) and (project / path).exists()) or path.startswith("/")
    }
    assert not unstaged, f"paths a pod would not have: {sorted(unstaged)}"


@needs_cluster_env
def test_kubernetes_profile_without_an_image_says_so_in_one_line(project):
    result = _snakemake(project, "kubernetes", "--dry-run")
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if not line.startswith("Using profile")]
    assert len(lines) == 1 and "set PSP_EVAL_IMAGE" in lines[0], result.stderr
    assert "Traceback" not in result.stdout + result.stderr
