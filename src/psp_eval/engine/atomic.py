"""Atomic file output: a reader (or a rerun after a crash) never sees a half-written file.

Every writer of the pipeline writes to `.<stem>.<pid>.tmp<suffix>` beside its output and
renames it into place when done. A process killed mid-write (SIGKILL, power loss) leaves only
such a temporary file, never a truncated output; the next writer of the same output removes
it, so a rerun after a kill leaves no litter either.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# `.<stem>.<pid>-<start>.tmp<suffix>`: <start> is the writer's start time (Linux clock ticks
# since boot), absent where /proc cannot tell it. With it a pid the system has since given to
# another process (pids wrap at 32,768 here) is not taken for the writer still at work.
TEMPORARY = re.compile(r"^\.(?P<stem>.*)\.(?P<pid>\d+)(?:-(?P<start>\d+))?\.tmp(?P<suffix>.*)$")


def _start_time(pid: int) -> str | None:
    """When process `pid` started (field 22 of /proc/<pid>/stat), or None if unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]  # after the command name, which may hold spaces


def temporary_name(final: Path, pid: int | None = None) -> Path:
    """Where `final` is written before its rename: `.<stem>.<pid>-<start>.tmp<suffix>`, same
    folder (the writer `pid`, this process by default).

    The suffix is kept because writers such as papermill and typst infer the format from it.
    """
    final = Path(final)
    pid = os.getpid() if pid is None else pid
    start = _start_time(pid)
    writer = f"{pid}-{start}" if start is not None else str(pid)
    return final.with_name(f".{final.stem}.{writer}.tmp{final.suffix}")


def _writer_alive(pid: int, start: str | None) -> bool:
    """Whether the writer that named a temporary file runs: its pid, and where the name records
    it, the same start time (so a reused pid is a different process)."""
    if not process_alive(pid):
        return False
    if start is None:
        return True
    now = _start_time(pid)
    return now is None or now == start


def is_temporary(path: Path) -> bool:
    """Whether `path` is named like a temporary file of `temporary_path`."""
    return TEMPORARY.match(Path(path).name) is not None


def process_alive(pid: int) -> bool:
    """Whether process `pid` still runs (a writer, a worker's owner): signal 0 asks only."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    except OverflowError:  # not a pid at all
        return False
    return True


def remove_stale(final: Path) -> list[Path]:
    """Remove the temporary files of `final` left by writers that no longer run.

    A writer that is still running (another process, or this one) keeps its file; one whose
    pid now belongs to another process does not.
    """
    final = Path(final)
    removed = []
    if not final.parent.is_dir():
        return removed
    for candidate in final.parent.iterdir():
        match = TEMPORARY.match(candidate.name)
        if match is None or (match["stem"], match["suffix"]) != (final.stem, final.suffix):
            continue  # `.a.b.7.tmp.csv` belongs to `a.b.csv`, not to `a.csv`
        if not _writer_alive(int(match["pid"]), match["start"]):
            candidate.unlink(missing_ok=True)
            removed.append(candidate)
    return removed


@contextmanager
def temporary_path(final: Path) -> Iterator[Path]:
    """Yield a temporary path beside `final`; rename it onto `final` if the block succeeds.

    The temporary file sits in the same folder so the rename is atomic on one filesystem;
    on error it is removed and `final` is left untouched. Temporary files of `final` left by
    a killed writer are removed first.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(final)
    tmp = temporary_name(final)
    try:
        yield tmp
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)


def write_text(path: Path, text: str) -> Path:
    """Write `text` (UTF-8) to `path` atomically."""
    with temporary_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)
