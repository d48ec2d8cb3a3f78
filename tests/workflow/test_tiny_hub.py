"""A tiny trial (2 hubs, 40 families) whose numbers at risk fall to 1-4: no figure or table
of the reports shows such a count, and the audit fails on one planted in a figure."""

import json
import re
import sys

import pytest

from conftest import BIN, project_copy, run_command
from psp_eval.governance import audit as audit_module

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    project = project_copy(tmp_path_factory.mktemp("tiny"), n_hubs=2, n_las=4, n_families=40)
    command = [
        str(BIN / "psp-eval"),
        "run",
        "--cores",
        "2",
        "--config",
        "analyses=[process,impact]",
    ]
    run_command(command, project)
    return project


def test_no_figure_or_table_shows_a_small_count(tiny):
    results = tiny / "results/demo"
    assert json.loads((results / "audit.json").read_text())["ok"]
    records = sorted(results.glob("*/*/figures/*.counts.json"))
    assert {p.name for p in records} >= {"km.counts.json", "consort.counts.json"}
    shown = [c["shown"] for p in records for c in json.loads(p.read_text())["counts"]]
    assert not [s for s in shown if s.replace(",", "").isdigit() and 0 < int(s) < 5]
    assert "[c]" in shown  # the tiny hub's numbers at risk did fall to 1-4
    result = audit_module.audit(tiny / "reports/_site", results, tiny / "data/raw/demo")
    assert result.ok, "\n".join(map(str, result.findings))


def test_the_audit_fails_on_a_small_count_planted_in_a_figure(tiny):
    km = next((tiny / "results/demo").glob("*/impact/figures/km.counts.json"))
    original = km.read_text()
    record = json.loads(original)
    record["counts"][-1]["shown"] = "3"
    km.write_text(json.dumps(record))
    try:
        failed = run_command(
            [sys.executable, "-m", "psp_eval", "audit", "reports/_site", "--results",
             "results/demo"],
            tiny,
            check=False,
        )  # fmt: skip
    finally:
        km.write_text(original)
    assert failed.returncode == 1
    assert re.search(r"km\.counts\.json: at risk: .*'3': count of 1-4 people printed in a figure",
                     failed.stdout)  # fmt: skip
