"""SAP lock: hashes of the analysis plan, what counts as a change, the run banner, the report line."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from psp_eval import cli
from psp_eval.engine import pipeline
from psp_eval.governance import lock
from psp_eval.report import provenance

NOTEBOOK = {
    "cells": [
        {
            "cell_type": "code",
            "execution_count": None,
            "metadata": {"tags": ["parameters"]},
            "outputs": [],
            "source": ["scope = 'trial'\n"],
        },
        {
            "cell_type": "code",
            "execution_count": None,
            "metadata": {},
            "outputs": [],
            "source": ["result = 1 + 1\n", "result"],
        },
    ],
    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
    "nbformat": 4,
    "nbformat_minor": 5,
}


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A minimal project; the library is a folder of its own so tests may edit it."""
    root = tmp_path / "project"
    for folder in ("config", "notebooks", "rules", "envs"):
        (root / folder).mkdir(parents=True)
    (root / "Snakefile").write_text('include: "rules/common.smk"\n')
    (root / "rules" / "common.smk").write_text('configfile: "config/config.yaml"\n')
    (root / "config" / "config.yaml").write_text("sap:\n  alpha: 0.05\n")
    (root / "config" / "unit_costs.yaml").write_text("foster_week: 900\n")
    (root / "envs" / "requirements.lock").write_text("pandas==2.2.3\n")
    (root / "notebooks" / "impact.ipynb").write_text(json.dumps(NOTEBOOK, indent=1))
    (root / "results").mkdir()
    (root / "results" / "numbers.json").write_text("{}\n")  # not part of the plan
    library = tmp_path / "site-packages" / "psp_eval"
    library.mkdir(parents=True)
    (library / "impact.py").write_text("ALPHA = 0.05\n")
    monkeypatch.setattr(lock, "LIBRARY", library)
    return root


def edit_notebook(root: Path, change) -> None:
    path = root / "notebooks" / "impact.ipynb"
    notebook = json.loads(path.read_text())
    change(notebook)
    path.write_text(json.dumps(notebook, indent=2))


def test_lock_covers_the_plan_and_nothing_else(project):
    names = set(lock.locked_files(project))
    assert names == {
        "Snakefile",
        "rules/common.smk",
        "config/config.yaml",
        "config/unit_costs.yaml",
        "envs/requirements.lock",
        "notebooks/impact.ipynb",
        "psp_eval/impact.py",
    }


def test_the_real_library_is_locked():
    names = lock.locked_files(Path(__file__).resolve().parents[2])
    assert {
        "psp_eval/governance/lock.py",
        "psp_eval/analyses/impact.py",
        "config/config.yaml",
        "Snakefile",
    } <= set(names)
    assert not any("__pycache__" in name for name in names)


def test_write_then_check_unchanged(project):
    path = lock.write_lock(project, note="SAP v1, before unblinding", by="analyst")
    record = json.loads(path.read_text())
    assert path == project / "sap.lock.json"
    assert record["note"] == "SAP v1, before unblinding" and record["by"] == "analyst"
    assert record["format"] == lock.FORMAT and record["psp_eval_version"]
    assert len(record["files"]["config/config.yaml"]) == 64
    status = lock.check(project)
    assert status.unchanged and status.differences() == []
    assert status.locked_date == record["locked_utc"][:10]


def test_no_lock(project):
    assert lock.check(project) is None
    assert lock.summary(project) == {"state": "none"}


def test_refuses_to_overwrite_without_force(project):
    lock.write_lock(project, by="a")
    with pytest.raises(lock.LockError, match="already locked.*--force"):
        lock.write_lock(project, by="b")
    lock.write_lock(project, by="b", force=True)
    assert json.loads((project / "sap.lock.json").read_text())["by"] == "b"


def test_needs_a_project_folder(tmp_path):
    with pytest.raises(lock.LockError, match="no Snakefile"):
        lock.write_lock(tmp_path)


def test_a_changed_notebook_cell_is_detected(project):
    lock.write_lock(project)

    def change(notebook):
        notebook["cells"][1]["source"] = ["result = 1 + 2\n", "result"]

    edit_notebook(project, change)
    status = lock.check(project)
    assert status.changed == ["notebooks/impact.ipynb"]
    assert not status.added and not status.removed


def test_a_changed_parameters_tag_is_detected(project):
    lock.write_lock(project)
    edit_notebook(project, lambda nb: nb["cells"][0]["metadata"].update(tags=[]))
    assert lock.check(project).changed == ["notebooks/impact.ipynb"]


def test_outputs_and_metadata_do_not_break_the_lock(project):
    """What running and saving a notebook in JupyterLab changes is not the analysis."""
    lock.write_lock(project)

    def run_in_lab(notebook):
        cell = notebook["cells"][1]
        cell["execution_count"] = 3
        cell["outputs"] = [{"output_type": "execute_result", "data": {"text/plain": ["2"]}}]
        cell["metadata"]["collapsed"] = True
        cell["id"] = "a1b2c3"
        notebook["metadata"]["language_info"] = {"name": "python", "version": "3.11.7"}

    edit_notebook(project, run_in_lab)
    assert lock.check(project).unchanged


def test_windows_line_endings_are_the_same_file(project):
    lock.write_lock(project)
    path = project / "config" / "config.yaml"
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    assert lock.check(project).unchanged


def test_changed_added_and_removed_files(project):
    lock.write_lock(project)
    (project / "config" / "config.yaml").write_text("sap:\n  alpha: 0.01\n")
    (project / "config" / "new_targets.yaml").write_text("x: 1\n")
    (project / "config" / "unit_costs.yaml").unlink()
    (lock.LIBRARY / "impact.py").write_text("ALPHA = 0.01\n")
    (project / "results" / "numbers.json").write_text('{"a": 1}\n')  # results do not count
    status = lock.check(project)
    assert status.changed == ["config/config.yaml", "psp_eval/impact.py"]
    assert status.added == ["config/new_targets.yaml"]
    assert status.removed == ["config/unit_costs.yaml"]
    assert status.differences()[0] == ("changed", "config/config.yaml")
    state = lock.summary(project)
    assert state["state"] == "changed"
    assert state["files"] == [
        "config/config.yaml (changed)",
        "config/new_targets.yaml (added)",
        "config/unit_costs.yaml (removed)",
        "psp_eval/impact.py (changed)",
    ]


def test_hidden_files_and_checkpoints_are_ignored(project):
    lock.write_lock(project)
    (project / "config" / ".config.yaml.swp").write_text("editor")
    (project / "notebooks" / ".ipynb_checkpoints").mkdir()
    (project / "notebooks" / ".ipynb_checkpoints" / "impact-checkpoint.ipynb").write_text("{}")
    assert lock.check(project).unchanged


def test_a_broken_lock_file_is_an_error(project):
    (project / "sap.lock.json").write_text("{not json")
    with pytest.raises(lock.LockError, match="not valid JSON"):
        lock.check(project)
    assert lock.summary(project)["state"] == "unreadable"
    (project / "sap.lock.json").write_text('{"format": 1}')
    with pytest.raises(lock.LockError, match="lacks 'files'"):
        lock.check(project)


def test_run_banner(project):
    stream = io.StringIO()
    assert lock.warn_if_changed(project, stream) is None  # no lock: nothing to say
    lock.write_lock(project, by="analyst")
    assert lock.warn_if_changed(project, stream).unchanged
    assert stream.getvalue() == ""
    (project / "config" / "config.yaml").write_text("sap:\n  alpha: 0.01\n")
    status = lock.warn_if_changed(project, stream)
    banner = stream.getvalue()
    assert not status.unchanged
    assert "the analysis plan CHANGED since it was locked" in banner
    assert "changed  config/config.yaml" in banner and "by analyst" in banner
    assert banner.startswith("!" * 78)


def test_run_banner_lists_at_most_a_screenful(project, monkeypatch):
    lock.write_lock(project)
    for i in range(lock.BANNER_FILES + 3):
        (project / "config" / f"extra{i:02d}.yaml").write_text("x: 1\n")
    stream = io.StringIO()
    lock.warn_if_changed(project, stream)
    assert "... and 3 more" in stream.getvalue()


def test_psp_eval_run_warns_before_snakemake(project, monkeypatch, capsys):
    lock.write_lock(project)
    (project / "rules" / "common.smk").write_text("# edited\n")
    calls = []

    def fake_snakemake(cmd, **kwargs):
        calls.append(capsys.readouterr().err)  # what was printed before snakemake started
        return subprocess.CompletedProcess(cmd, 0)

    monkeypatch.setattr(pipeline.subprocess, "run", fake_snakemake)
    monkeypatch.setattr(cli, "ROOT", project)
    assert cli.main(["run", "--cores", "1", "-n"]) == 0
    assert "CHANGED" in calls[0] and "rules/common.smk" in calls[0]


def test_cli_lock_and_check(project, monkeypatch, capsys):
    monkeypatch.setattr(cli, "ROOT", project)
    assert cli.main(["lock", "--check"]) == 1
    assert "no sap.lock.json" in capsys.readouterr().err
    assert cli.main(["lock", "--note", "SAP v1"]) == 0
    assert "Locked the analysis plan: 7 files" in capsys.readouterr().out
    assert cli.main(["lock"]) == 1
    assert "--force" in capsys.readouterr().err
    assert cli.main(["lock", "--check"]) == 0
    assert "unchanged" in capsys.readouterr().out
    edit_notebook(project, lambda nb: nb["cells"].pop())
    assert cli.main(["lock", "--check"]) == 1
    assert "changed  notebooks/impact.ipynb" in capsys.readouterr().out


def test_lock_needs_no_pandas():
    """`psp-eval run` checks the lock: it must stay free of the heavy libraries."""
    code = "import sys, psp_eval.governance.lock; sys.exit('pandas' in sys.modules or 'numpy' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


# --- what the report says --------------------------------------------------------------------


def test_provenance_records_the_lock_state(project):
    assert provenance.collect([], [], root=project)["sap_lock"] == {"state": "none"}
    lock.write_lock(project)
    assert provenance.collect([], [], root=project)["sap_lock"]["state"] == "unchanged"
    edit_notebook(project, lambda nb: nb["cells"][1].update(source="result = 3"))
    state = provenance.collect([], [], root=project)["sap_lock"]
    assert state["state"] == "changed"
    assert state["files"] == ["notebooks/impact.ipynb (changed)"]


PROV = {
    "data_files": {},
    "config_files": {},
    "config_hash": "feedfacecafe",
    "commit": "abc1234",
    "versions": {"python": "3.11.7"},
    "generated_utc": "2026-11-23 10:00:00 UTC",
}


def test_report_line_unchanged():
    prov = {**PROV, "sap_lock": {"state": "unchanged", "locked_utc": "2026-10-01 09:00:00 UTC"}}
    text = provenance.to_markdown(prov)
    assert "\nAnalysis plan locked on 2026-10-01: unchanged.\n" in text


def test_report_line_changed():
    state = {
        "state": "changed",
        "locked_utc": "2026-10-01 09:00:00 UTC",
        "files": ["config/config.yaml (changed)", "psp_eval/cba_figures.py (added)"],
    }
    text = provenance.to_markdown({**PROV, "sap_lock": state})
    assert (
        "**Analysis plan CHANGED since the lock on 2026-10-01: `config/config.yaml` (changed),"
        " `psp_eval/cba_figures.py` (added).**"
    ) in text


def test_report_line_without_a_lock():
    for prov in (PROV, {**PROV, "sap_lock": {"state": "none"}}):  # older records have no key
        assert "**No SAP lock: the analysis plan was not locked" in provenance.to_markdown(prov)
