"""A run killed at any point and started again finishes with correct outputs and no litter.

Quick tests cover the pieces: atomic writes (`psp_eval.engine.atomic`) and the removal of the lock a
killed Snakemake leaves (`psp_eval.engine.recovery`, against a fake /proc). The slow test kills a real
run with SIGKILL while notebooks are running, reruns it and compares with a clean run.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_determinism import compared_kinds, differences

from conftest import BIN, project_copy, run_command
from psp_eval.engine import atomic, recovery


def _dead_pid() -> int:
    """The id of a process that has ended (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


# --- atomic writes ------------------------------------------------------------------------


def test_a_failing_writer_leaves_the_old_file_and_no_temporary_file(tmp_path):
    final = tmp_path / "table.csv"
    final.write_text("old\n")
    with pytest.raises(RuntimeError, match="disk full"), atomic.temporary_path(final) as tmp:
        tmp.write_text("half a tab")
        raise RuntimeError("disk full")
    assert final.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["table.csv"]


def test_the_output_appears_only_when_complete(tmp_path):
    final = tmp_path / "sub" / "numbers.json"
    with atomic.temporary_path(final) as tmp:
        tmp.write_text("{}\n")
        assert not final.exists()
        assert tmp.parent == final.parent and tmp.suffix == ".json" and atomic.is_temporary(tmp)
    assert final.read_text() == "{}\n"
    assert atomic.write_text(final, '{"a": 1}\n') == final
    assert sorted(p.name for p in final.parent.iterdir()) == ["numbers.json"]


def test_a_killed_writers_temporary_file_goes_at_the_next_write(tmp_path):
    final = tmp_path / "fig.svg"
    stale = atomic.temporary_name(final, pid=_dead_pid())
    stale.write_text("<svg")  # what a SIGKILL mid-write leaves
    running = atomic.temporary_name(final, pid=1)  # a writer still at work (pid 1 runs)
    running.write_text("<svg")
    other = atomic.temporary_name(tmp_path / "fig.old.svg", pid=_dead_pid())
    other.write_text("<svg")  # another output's: its own next write removes it
    # a killed writer whose pid the system has since given to another process (here pid 1)
    reused = final.with_name(f".fig.1-{10**15}.tmp.svg")
    reused.write_text("<svg")
    atomic.write_text(final, "<svg/>")
    assert final.read_text() == "<svg/>"
    assert not stale.exists() and not reused.exists()
    assert running.exists() and other.exists()
    assert not atomic.is_temporary(final) and atomic.is_temporary(other)


# --- stale Snakemake locks ----------------------------------------------------------------


def _fake_process(proc: Path, pid: int, argv: list[str], cwd: Path) -> None:
    folder = proc / str(pid)
    folder.mkdir(parents=True)
    (folder / "cmdline").write_bytes("\0".join(argv).encode() + b"\0")
    (folder / "cwd").symlink_to(cwd)


@pytest.fixture
def locked(tmp_path):
    """A project folder holding Snakemake's lock, and an empty fake /proc."""
    project = tmp_path / "project"
    (project / ".snakemake/locks").mkdir(parents=True)
    (project / ".snakemake/locks/0.output.lock").write_text("results/demo/validation.json\n")
    proc = tmp_path / "proc"
    proc.mkdir()
    return project, proc


def test_a_lock_nobody_holds_is_removed(locked, capsys):
    project, proc = locked
    elsewhere = project.parent / "other"
    elsewhere.mkdir()
    _fake_process(proc, 999_001, ["/venv/bin/python", "-m", "snakemake", "--cores", "2"], elsewhere)
    _fake_process(proc, 999_002, ["/bin/bash"], project)  # a user's shell in the folder
    assert recovery.clear_stale_locks(project, proc=proc) is True
    assert not recovery.lock_dir(project).exists()
    assert "killed" in capsys.readouterr().err
    assert recovery.clear_stale_locks(project, proc=proc) is False  # nothing left to remove


@pytest.mark.parametrize(
    "argv",
    [
        ["/venv/bin/python", "-m", "snakemake", "--cores", "2"],
        ["/venv/bin/python", "-m", "psp_eval.engine.snakemake_cli", "--cores", "2"],
        ["/venv/bin/python", "/venv/bin/snakemake", "-n"],
        ["/venv/bin/python", "/venv/bin/psp-eval", "execute", "notebooks/impact.ipynb"],
    ],
)
def test_a_lock_of_a_running_workflow_is_kept(locked, argv):
    project, proc = locked
    _fake_process(proc, 999_003, argv, project)
    assert recovery.workflow_processes(project, proc=proc) == [999_003]
    assert recovery.clear_stale_locks(project, proc=proc) is False
    assert (recovery.lock_dir(project) / "0.output.lock").exists()


def test_without_a_process_list_the_lock_is_kept(locked):
    project, proc = locked
    assert recovery.clear_stale_locks(project, proc=proc / "absent") is False
    assert recovery.lock_dir(project).exists()


def test_no_lock_nothing_to_do(tmp_path):
    assert recovery.clear_stale_locks(tmp_path) is False


# --- a real run, killed -------------------------------------------------------------------


def _litter(project: Path) -> list[str]:
    found = []
    for folder in ("results", "reports/_site"):
        for path in (project / folder).rglob("*"):
            if atomic.is_temporary(path) or path.name.endswith(".failed.ipynb"):
                found.append(path.relative_to(project).as_posix())
    return found


def _finished_and_running_notebooks(project: Path) -> tuple[list[Path], list[Path]]:
    executed = list(project.glob("results/demo/*/*.ipynb"))
    return (
        [p for p in executed if not atomic.is_temporary(p)],
        [p for p in executed if atomic.is_temporary(p)],
    )


@pytest.mark.slow
def test_a_run_killed_mid_notebook_reruns_to_the_clean_result(small_site, tmp_path):
    project = project_copy(tmp_path / "killed", n_hubs=2, n_las=4, n_families=200)
    env = {"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(project), "LANG": "C.UTF-8"}
    run = subprocess.Popen(
        [str(BIN / "psp-eval"), "run", "--cores", "2"],
        cwd=project,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: snakemake, jobs, kernels
    )
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and run.poll() is None:
            finished, running = _finished_and_running_notebooks(project)
            if finished and running:
                break
            time.sleep(0.1)
        assert run.poll() is None, "the run ended before it could be killed mid-notebook"
    finally:
        os.killpg(run.pid, signal.SIGKILL)  # no clean-up: as a power cut or the OOM killer
        run.wait()
    # What the kill left: a notebook's temporary file, no half output, Snakemake's lock.
    finished, running = _finished_and_running_notebooks(project)
    assert finished and running
    assert not any(p.with_name(p.name.split(".")[1] + ".ipynb").exists() for p in running)
    assert any(recovery.lock_dir(project).iterdir())

    rerun = run_command([str(BIN / "psp-eval"), "run", "--cores", "2"], project)
    assert "removed the lock" in rerun.stderr
    assert "reports/_site/index.html" in rerun.stdout
    assert _litter(project) == []
    kinds = compared_kinds(project)
    assert all(kinds.values()) and kinds == compared_kinds(small_site)
    assert differences(small_site, project) == []
