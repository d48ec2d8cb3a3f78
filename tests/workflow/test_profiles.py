"""The cluster profiles: every job of the demo DAG gets the resources its profile gives its rule.

A dry run with the profile resolves each job's threads and resources as a real submission
would (the executor plugins are installed: the `cluster` extra is in the lock), and prints them
per job; those are compared with the profile's own numbers, rule by rule.
"""

import re

import pytest
import yaml

from conftest import BIN, ROOT, project_copy, run_command

PROFILES = ["slurm", "kubernetes"]
# What a real run needs from the user, given here so that the dry run can go ahead.
USER_ENV = {"kubernetes": ["PSP_EVAL_IMAGE=registry.example.org/psp-eval:test"]}
RULE = re.compile(r"^rule (\w+):", re.MULTILINE)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return project_copy(tmp_path_factory.mktemp("profiles"), n_hubs=2, n_las=4, n_families=200)


def _workflow_rules():
    """Every rule that runs something (`all` only names the targets)."""
    sources = [ROOT / "Snakefile", *sorted((ROOT / "rules").glob("*.smk"))]
    rules = {name for path in sources for name in RULE.findall(path.read_text())}
    return rules - {"all"}


def _dry_run(project, name):
    """Snakemake's dry run with the profile: one (rule, wildcards, threads, resources) a job."""
    args = [str(BIN / "snakemake"), "--profile", f"profiles/{name}", "--dry-run"]
    result = run_command(["env", *USER_ENV.get(name, []), *args], project, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    jobs = []
    for block in re.split(r"\n(?=(?:local)?rule \w+:\n)", result.stdout + result.stderr):
        head = re.match(r"(?:local)?rule (\w+):\n", block)
        if not head:
            continue
        fields = dict(re.findall(r"^    (\w+): (.*)$", block, re.MULTILINE))
        resources = dict(item.split("=", 1) for item in fields["resources"].split(", "))
        jobs.append(
            (head.group(1), fields.get("wildcards", ""), fields.get("threads", "1"), resources)
        )
    return jobs


def _profile(name):
    return yaml.safe_load((ROOT / "profiles" / name / "config.yaml").read_text())


@pytest.mark.parametrize("name", PROFILES)
def test_profile_names_every_rule_of_the_workflow(name):
    profile = _profile(name)
    rules = _workflow_rules()
    assert {"validate", "notebook", "render", "index", "audit"} <= rules
    assert set(profile["set-resources"]) == rules, "a rule without resources, or a stale one"
    assert set(profile["set-threads"]) == rules


@pytest.mark.parametrize("name", PROFILES)
def test_dry_run_gives_every_job_its_rules_resources(project, name):
    profile = _profile(name)
    jobs = _dry_run(project, name)
    rules = {rule for rule, *_ in jobs}
    assert rules == _workflow_rules() | {"all"}  # the whole DAG of a fresh project
    assert len(jobs) == 38  # 2 hubs: the same count as the workflow test's full run
    for rule, wildcards, threads, resources in jobs:
        assert "<TBD>" not in resources.values(), (rule, wildcards, resources)
        if rule == "all":
            continue
        wanted = {**profile["default-resources"], **profile["set-resources"][rule]}
        for key, value in wanted.items():
            expected = eval(str(value), {"attempt": 1})  # the first try
            assert int(resources[key]) == expected, (rule, wildcards, key, resources)
        assert int(threads) == profile["set-threads"][rule], (rule, wildcards)


def test_kubernetes_profile_refuses_to_run_without_an_image(project):
    result = run_command(
        [str(BIN / "snakemake"), "--profile", "profiles/kubernetes", "--dry-run"],
        project,
        check=False,
    )
    assert result.returncode != 0
    assert "PSP_EVAL_IMAGE" in result.stderr
