"""Provenance: what data, configuration, code and software a report was made from.

Every report ends with this record so a reader can tell whether two reports rest on the same
inputs, and a reviewer can rebuild one. `collect` returns plain JSON-able values (so the record
can be saved beside the results); `to_markdown` turns it into the report's last section.
The record also says whether the analysis plan is as locked before unblinding (`psp_eval.governance.lock`).
"""

from __future__ import annotations

import hashlib
import platform
import subprocess
from collections.abc import Iterable
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import pypandoc

from psp_eval.governance import lock

#: Distributions whose versions change results or their rendering. pandoc is reported as the
#: version of the binary the pypandoc-binary wheel ships, which is what renders.
PACKAGES = ("pandas", "numpy", "statsmodels", "lifelines", "snakemake", "papermill", "typst")
HASH_CHARS = 12
NOT_INSTALLED = "not installed"


def collect(data_files: list[Path], config_files: list[Path], *, root: Path) -> dict:
    """Gather file hashes, the config hash, the git commit of `root`, versions, the time and
    the state of the SAP lock of the project at `root`.

    File names are shown relative to `root` when they lie under it, so the record does not
    depend on where the project was checked out.
    """
    root = Path(root)
    data = {_shown_name(p, root): _sha256(p)[:HASH_CHARS] for p in map(Path, data_files)}
    config_full = {_shown_name(p, root): _sha256(p) for p in map(Path, config_files)}
    combined = hashlib.sha256()
    for name, digest in sorted(config_full.items()):
        combined.update(f"{name}\0{digest}\n".encode())
    return {
        "data_files": data,
        "config_files": {name: digest[:HASH_CHARS] for name, digest in config_full.items()},
        "config_hash": combined.hexdigest()[:HASH_CHARS],
        "commit": git_commit(root),
        "versions": package_versions(),
        "generated_utc": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "sap_lock": lock.summary(root),
    }


def to_markdown(prov: dict, *, engine: str | None = None) -> str:
    """The "Provenance" section of a report (same heading whichever engine renders it).

    It opens with the state of the analysis plan, in bold when it changed since the lock.
    """
    rows = [
        ("Code version (git)", prov["commit"]),
        ("Configuration hash", prov["config_hash"]),
        ("Generated", prov["generated_utc"]),
    ]
    if engine is not None:
        rows.append(("Rendering engine", engine))
    parts = [
        "## Provenance {.unnumbered}",
        "SHA-256 hashes are shortened to their first "
        f"{HASH_CHARS} characters; the same inputs always give the same hashes.",
        sap_lock_markdown(prov.get("sap_lock")),
        _table(("Item", "Value"), rows),
        _table(("Data file", "SHA-256"), sorted(prov["data_files"].items())),
        _table(("Configuration file", "SHA-256"), sorted(prov["config_files"].items())),
        _table(("Software", "Version"), prov["versions"].items()),
    ]
    return "\n\n".join(parts) + "\n"


def sap_lock_markdown(state: dict | None) -> str:
    """The sentence on the SAP lock, file names as code; bold unless the plan is unchanged."""
    state = state or {"state": "none"}
    if state.get("state") == "changed":
        state = {**state, "files": [_code(name) for name in state["files"]]}
    text = lock.describe(state)
    return text if state.get("state") == "unchanged" else f"**{text}**"


def git_commit(root: Path) -> str:
    """Short commit hash of the checkout at `root`, "(modified)" if tracked files changed.

    Untracked files do not count, as in `git describe --dirty`: results and logs are
    untracked by design.
    """
    head = _git(root, "rev-parse", "--short", "HEAD")
    if head.returncode != 0:
        inside = _git(root, "rev-parse", "--is-inside-work-tree")
        if inside.returncode != 0:
            return "not a git checkout"
        commit = "no commit yet"
    else:
        commit = head.stdout.strip()
    status = _git(root, "status", "--porcelain", "--untracked-files=no")
    return f"{commit} (modified)" if status.stdout.strip() else commit


def package_versions() -> dict[str, str]:
    """Python's version, those of `PACKAGES` and pandoc's ("not installed" where absent)."""
    versions = {"python": platform.python_version()}
    for distribution in PACKAGES:
        try:
            versions[distribution] = metadata.version(distribution)
        except metadata.PackageNotFoundError:
            versions[distribution] = NOT_INSTALLED
    versions["pandoc"] = _pandoc_version()
    return versions


def _pandoc_version() -> str:
    try:
        wheel = metadata.version("pypandoc-binary")
        return f"{pypandoc.get_pandoc_version()} (pypandoc-binary {wheel})"
    except (metadata.PackageNotFoundError, OSError):
        return NOT_INSTALLED


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, check=False
        )
    except FileNotFoundError:  # no git on this machine
        return subprocess.CompletedProcess(args, 127, "", "git not found")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _shown_name(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.name


def _table(header: tuple[str, str], rows: Iterable[tuple[str, str]]) -> str:
    lines = [f"| {header[0]} | {header[1]} |", "|:---|:---|"]
    lines += [f"| {_cell(a)} | {_cell(b)} |" for a, b in rows] or ["| none | |"]
    return "\n".join(lines)


def _code(name: str) -> str:
    """`name (what)` with the file name as inline code (as it is, if it has a backtick)."""
    file, _, what = name.partition(" (")
    shown = file if "`" in file else f"`{file}`"
    return f"{shown} ({what}" if what else shown


def _cell(value: object) -> str:
    return str(value).replace("\\", "\\\\").replace("|", "\\|")
