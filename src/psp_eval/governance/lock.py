"""SAP lock: freeze the analysis plan before unblinding, and say whenever it changed since.

`psp-eval lock` records a SHA-256 of every file that decides the analysis (configuration,
notebooks, workflow, the `psp_eval` library, the pinned environment) in `sap.lock.json` at the
project root, which the team commits before outcomes are unblinded. `check` compares the files
as they are now with the lock; `psp-eval run` warns loudly and every report's provenance
section states whether the plan is unchanged, changed (and which files) or was never locked.

Notebooks are hashed by their cells' type, source and tags only: opening, running or saving a
notebook in JupyterLab changes its outputs and metadata, not the analysis. Text files are hashed
with Windows line endings made Unix ones, so a checkout on another system does not differ.

Standard library only: `psp-eval run` checks the lock without importing pandas.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TextIO

from psp_eval.engine.atomic import write_text
from psp_eval.errors import PspEvalError

LOCK_FILE = "sap.lock.json"
FORMAT = 1
#: Files of the project that decide the analysis, as globs relative to its root.
PROJECT_PATTERNS = (
    "config/**/*",
    "notebooks/*.ipynb",
    "Snakefile",
    "rules/*.smk",
    "envs/requirements.lock",
)
#: The library is hashed where it is installed (the code that runs), named `psp_eval/...`, so
#: a lock made in one checkout checks the same in a copy of the workflow that lacks `src/`.
LIBRARY = Path(__file__).resolve().parents[1]
LIBRARY_NAME = "psp_eval"
#: How many changed files the run banner lists before "... and N more".
BANNER_FILES = 15


class LockError(PspEvalError, RuntimeError):
    """The lock cannot be written or read."""


@dataclass(frozen=True)
class LockStatus:
    """The project's files compared with its lock."""

    lock_file: Path
    locked_utc: str
    by: str
    note: str
    changed: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    @property
    def unchanged(self) -> bool:
        return not (self.changed or self.added or self.removed)

    @property
    def locked_date(self) -> str:
        return self.locked_utc.split(" ")[0]

    def differences(self) -> list[tuple[str, str]]:
        """(what, file) for every difference, sorted by file."""
        rows = [("changed", n) for n in self.changed] + [("added", n) for n in self.added]
        rows += [("removed", n) for n in self.removed]
        return sorted(rows, key=lambda row: row[1])


def locked_files(root: Path) -> dict[str, Path]:
    """Every file the lock covers, by the name the lock records (sorted)."""
    root = Path(root)
    files: dict[str, Path] = {}
    for pattern in PROJECT_PATTERNS:
        for path in root.glob(pattern):
            name = path.relative_to(root).as_posix()
            if path.is_file() and not _hidden(name):
                files[name] = path
    for path in LIBRARY.rglob("*.py"):
        name = f"{LIBRARY_NAME}/{path.relative_to(LIBRARY).as_posix()}"
        if not _hidden(name):
            files[name] = path
    return dict(sorted(files.items()))


def digest(path: Path) -> str:
    """SHA-256 of a file as the lock sees it (notebooks: cells only; text: LF line ends)."""
    data = Path(path).read_bytes()
    if path.suffix == ".ipynb":
        cells = _notebook_cells(data)
        if cells is not None:
            data = cells
    if b"\0" not in data:  # text: a CRLF checkout hashes as the LF one
        data = data.replace(b"\r\n", b"\n")
    return hashlib.sha256(data).hexdigest()


def digests(root: Path) -> dict[str, str]:
    """The digest of every locked file, by name."""
    return {name: digest(path) for name, path in locked_files(root).items()}


def write_lock(root: Path, *, note: str = "", by: str | None = None, force: bool = False) -> Path:
    """Write `sap.lock.json` for the project at `root`; refuse to replace one unless `force`."""
    root = Path(root)
    if not (root / "Snakefile").exists():
        raise LockError(f"no Snakefile in {root}: run psp-eval lock from the project's folder")
    path = root / LOCK_FILE
    if path.exists() and not force:
        raise LockError(
            f"{path} exists (the plan is already locked); check it with psp-eval lock --check,"
            " or replace it with --force (before unblinding only)"
        )
    record = {
        "format": FORMAT,
        "locked_utc": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "by": by or _user(root),
        "note": note,
        "psp_eval_version": _version(),
        "commit": _git_commit(root),
        "files": digests(root),
    }
    return write_text(path, json.dumps(record, indent=2) + "\n")


def read_lock(root: Path) -> dict | None:
    """The lock record of the project at `root`, or None when there is none."""
    path = Path(root) / LOCK_FILE
    if not path.exists():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise LockError(f"{path} is not valid JSON ({err}): restore it from git") from err
    files = record.get("files") if isinstance(record, dict) else None
    if not isinstance(files, dict) or not isinstance(record.get("locked_utc"), str):
        raise LockError(f"{path} lacks 'files' or 'locked_utc': restore it from git")
    return record


def check(root: Path) -> LockStatus | None:
    """Compare the project's files with its lock; None when the plan was never locked."""
    record = read_lock(root)
    if record is None:
        return None
    locked: dict[str, str] = record["files"]
    now = digests(root)
    return LockStatus(
        lock_file=Path(root) / LOCK_FILE,
        locked_utc=record["locked_utc"],
        by=str(record.get("by", "")),
        note=str(record.get("note", "")),
        changed=sorted(n for n in now.keys() & locked.keys() if now[n] != locked[n]),
        added=sorted(now.keys() - locked.keys()),
        removed=sorted(locked.keys() - now.keys()),
    )


def summary(root: Path) -> dict:
    """The lock's state as plain JSON values, for the provenance record of a report.

    `state` is "none" (never locked), "unchanged", "changed" (with the files) or "unreadable".
    """
    try:
        status = check(root)
    except LockError as err:
        return {"state": "unreadable", "error": str(err)}
    if status is None:
        return {"state": "none"}
    return {
        "state": "unchanged" if status.unchanged else "changed",
        "locked_utc": status.locked_utc,
        "by": status.by,
        "files": [f"{name} ({what})" for what, name in status.differences()],
    }


def describe(state: dict | None) -> str:
    """One sentence on the analysis plan for a report, from `summary`'s record."""
    kind = (state or {}).get("state", "none")
    if kind == "unchanged":
        return f"Analysis plan locked on {state['locked_utc'].split(' ')[0]}: unchanged."
    if kind == "changed":
        files = ", ".join(state["files"])
        return (
            f"Analysis plan CHANGED since the lock on {state['locked_utc'].split(' ')[0]}: {files}."
        )
    if kind == "unreadable":
        return f"Analysis plan lock UNREADABLE: {state.get('error', '')}"
    return f"No SAP lock: the analysis plan was not locked ({LOCK_FILE} absent)."


def warn_if_changed(root: Path, stream: TextIO | None = None) -> LockStatus | None:
    """Print a banner on `stream` (stderr) when the project's files differ from its lock."""
    stream = stream or sys.stderr
    try:
        status = check(root)
    except LockError as err:
        _banner(stream, [f"WARNING: the SAP lock cannot be read: {err}"])
        return None
    if status is None or status.unchanged:
        return status
    rows = status.differences()
    lines = [
        f"WARNING: the analysis plan CHANGED since it was locked on {status.locked_utc}"
        f" ({LOCK_FILE}, by {status.by or 'unknown'})",
        *(f"  {what:<8} {name}" for what, name in rows[:BANNER_FILES]),
    ]
    if len(rows) > BANNER_FILES:
        lines.append(f"  ... and {len(rows) - BANNER_FILES} more")
    lines += [
        "Results of this run do not follow the locked plan, and its reports say so.",
        "Details: psp-eval lock --check.  Re-lock (before unblinding only): psp-eval lock --force",
    ]
    _banner(stream, lines)
    return status


def _banner(stream: TextIO, lines: list[str]) -> None:
    rule = "!" * 78
    print("\n".join([rule, *lines, rule]), file=stream, flush=True)


def _notebook_cells(data: bytes) -> bytes | None:
    """A notebook's cells (type, source, tags) as canonical JSON; None if it is not one."""
    try:
        notebook = json.loads(data)
        cells = [
            {
                "cell_type": cell.get("cell_type"),
                "source": _text(cell.get("source", "")),
                "tags": sorted((cell.get("metadata") or {}).get("tags", [])),
            }
            for cell in notebook["cells"]
        ]
    except (ValueError, KeyError, TypeError, AttributeError):
        return None  # hashed as bytes: a broken notebook then differs from the locked one
    return json.dumps(cells, sort_keys=True, ensure_ascii=False).encode()


def _text(source: str | list[str]) -> str:
    text = "".join(source) if isinstance(source, list) else str(source)
    return text.replace("\r\n", "\n")


def _hidden(name: str) -> bool:
    return any(part.startswith(".") or part == "__pycache__" for part in name.split("/"))


def _user(root: Path) -> str:
    """Who locks: git's user.name for the project (as in its commits), else the login name."""
    try:
        name = subprocess.run(
            ["git", "-C", str(root), "config", "user.name"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except FileNotFoundError:
        name = ""
    if name:
        return name
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in the environment or passwd
        return "unknown"


def _version() -> str:
    try:
        return metadata.version("psp-eval")
    except metadata.PackageNotFoundError:
        return "not installed"


def _git_commit(root: Path) -> str:
    try:
        done = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError:
        return "no git"
    return done.stdout.strip() if done.returncode == 0 else "not a git commit"
