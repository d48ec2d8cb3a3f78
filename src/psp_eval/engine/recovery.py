"""Starting again after a killed run: the lock a killed Snakemake leaves must not block it.

Snakemake locks the project folder while it runs (`.snakemake/locks`) and removes the lock
when it ends, even on Ctrl-C; a run killed outright (SIGKILL, a closed cloud session, power
loss) leaves the lock behind, and the next run stops with "Directory cannot be locked". That
lock is stale when no Snakemake (and none of the `psp-eval` jobs it starts) still runs in the
folder; `psp-eval run` then removes it, as `snakemake --unlock` would. Where running processes
cannot be listed (no `/proc`), the lock is left and Snakemake's own message says what to do.

The outputs of the killed jobs need no help: Snakemake marks them incomplete and
`--rerun-incomplete` reruns those jobs; every writer is atomic (`psp_eval.engine.atomic`).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

PROC = Path("/proc")
# Programs that take the lock, or run as jobs under it: `snakemake` (script or `-m`), `psp-eval`
# (`psp-eval run` starts Snakemake as `-m psp_eval.engine.snakemake_cli`).
WORKFLOW_PROGRAMS = ("snakemake", "psp-eval", "psp_eval")


def lock_dir(root: Path) -> Path:
    """Where Snakemake keeps its locks for the project folder `root`."""
    return Path(root) / ".snakemake" / "locks"


def _ancestors(pid: int, proc: Path) -> set[int]:
    """`pid` and the processes that started it: this run and whatever called it."""
    found = set()
    while pid > 0 and pid not in found:
        found.add(pid)
        try:
            stat = (proc / str(pid) / "stat").read_text()
        except OSError:
            break
        # "pid (command) state ppid ...": the command may contain spaces and parentheses
        pid = int(stat.rsplit(")", 1)[1].split()[1])
    return found


def _is_workflow_program(argv: list[str]) -> bool:
    for i, arg in enumerate(argv[:3]):  # the interpreter, then the script or `-m module`
        name = os.path.basename(arg)
        module = arg.split(".", 1)[0]  # `-m psp_eval.engine.snakemake_cli` is Snakemake too
        if name in WORKFLOW_PROGRAMS or (i and argv[i - 1] == "-m" and module in WORKFLOW_PROGRAMS):
            return True
    return False


def workflow_processes(root: Path, *, proc: Path = PROC) -> list[int] | None:
    """Ids of Snakemake or `psp-eval` processes working in `root`, other than this one and
    its callers; None if running processes cannot be listed here."""
    if not proc.is_dir():
        return None
    root = Path(root).resolve()
    own = _ancestors(os.getpid(), proc)
    found = []
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) in own:
            continue
        try:
            argv = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
            if not _is_workflow_program(argv):
                continue
            cwd = Path(os.readlink(entry / "cwd"))
        except OSError:  # gone meanwhile, or another user's
            continue
        if cwd == root:
            found.append(int(entry.name))
    return sorted(found)


def clear_stale_locks(root: Path, *, proc: Path = PROC) -> bool:
    """Remove Snakemake's lock on `root` if the run that took it is no longer running.

    Returns whether a lock was removed (and says so on stderr). A lock held by a running
    Snakemake, or one this machine cannot tell about, is left for Snakemake to report.
    """
    locks = lock_dir(root)
    if not locks.is_dir() or not any(locks.iterdir()):
        return False
    running = workflow_processes(root, proc=proc)
    if running is None or running:
        return False
    shutil.rmtree(locks)
    print(
        f"psp-eval run: removed the lock left in {locks} by a run that was killed;"
        " its unfinished jobs run again",
        file=sys.stderr,
    )
    return True
