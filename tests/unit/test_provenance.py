"""Provenance records: hashes, config hash, git commit, versions, and their Markdown section."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from psp_eval.report import provenance

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


@pytest.fixture(autouse=True)
def _no_enclosing_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Stop git from finding a repository above tmp_path."""
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))


def git(root: Path, *args: str) -> None:
    subprocess.run(
        [
            "git",
            "-C",
            str(root),
            "-c",
            "user.name=Test",
            "-c",
            "user.email=test@example.org",
            "-c",
            "commit.gpgsign=false",
            *args,
        ],
        check=True,
        capture_output=True,
    )


def make_project(root: Path) -> tuple[list[Path], list[Path]]:
    (root / "data").mkdir(parents=True)
    (root / "config").mkdir()
    data = [root / "data" / "referrals.csv", root / "data" / "las.csv"]
    data[0].write_text("family_id\nF1\n")
    data[1].write_text("la_code\nE1\n")
    config = [root / "config" / "config.yaml"]
    config[0].write_text("seed: 1\n")
    return data, config


def test_hashes_names_and_config_hash(tmp_path):
    data, config = make_project(tmp_path)
    prov = provenance.collect(data, config, root=tmp_path)
    full = hashlib.sha256(b"family_id\nF1\n").hexdigest()
    assert prov["data_files"]["data/referrals.csv"] == full[:12]
    assert set(prov["data_files"]) == {"data/referrals.csv", "data/las.csv"}
    assert set(prov["config_files"]) == {"config/config.yaml"}
    assert re.fullmatch(r"[0-9a-f]{12}", prov["config_hash"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", prov["generated_utc"])

    same = provenance.collect(data, config, root=tmp_path)["config_hash"]
    config[0].write_text("seed: 2\n")
    changed = provenance.collect(data, config, root=tmp_path)["config_hash"]
    assert same == prov["config_hash"] != changed


def test_files_outside_root_are_named_by_file_name(tmp_path):
    outside = tmp_path / "elsewhere" / "x.csv"
    outside.parent.mkdir()
    outside.write_text("a\n")
    (tmp_path / "root").mkdir()
    prov = provenance.collect([outside], [], root=tmp_path / "root")
    assert list(prov["data_files"]) == ["x.csv"]


def test_not_a_git_checkout(tmp_path):
    data, config = make_project(tmp_path)
    assert provenance.collect(data, config, root=tmp_path)["commit"] == "not a git checkout"


@needs_git
def test_git_commit_and_modified_flag(tmp_path):
    data, config = make_project(tmp_path)
    git(tmp_path, "init", "-q")
    assert provenance.git_commit(tmp_path) == "no commit yet"
    git(tmp_path, "add", "config")
    git(tmp_path, "commit", "-q", "-m", "config")
    head = subprocess.run(
        ["git", "-C", str(tmp_path), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()

    assert (
        provenance.collect(data, config, root=tmp_path)["commit"] == head
    )  # untracked data: clean
    config[0].write_text("seed: 3\n")
    assert provenance.git_commit(tmp_path) == f"{head} (modified)"


def test_versions(monkeypatch):
    monkeypatch.setattr(provenance, "PACKAGES", ("pandas", "surely-not-a-package-psp"))
    versions = provenance.package_versions()
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", versions["python"])
    assert versions["pandas"][0].isdigit()
    assert versions["surely-not-a-package-psp"] == provenance.NOT_INSTALLED
    assert versions["pandoc"].startswith("3.")


def test_default_packages_are_all_reported(tmp_path):
    versions = provenance.collect([], [], root=tmp_path)["versions"]
    for name in (
        "python",
        "pandas",
        "numpy",
        "statsmodels",
        "lifelines",
        "snakemake",
        "papermill",
        "pandoc",
        "typst",
    ):
        assert versions[name]


def test_markdown_section():
    prov = {
        "data_files": {"data/a|b.csv": "0123456789ab"},
        "config_files": {},
        "config_hash": "feedfacecafe",
        "commit": "abc1234 (modified)",
        "versions": {"python": "3.11.7"},
        "generated_utc": "2026-01-01 00:00:00 UTC",
    }
    text = provenance.to_markdown(prov, engine="embedded")
    assert text.startswith("## Provenance {.unnumbered}\n")
    assert "| Code version (git) | abc1234 (modified) |" in text
    assert "| Configuration hash | feedfacecafe |" in text
    assert "| Rendering engine | embedded |" in text
    assert r"| data/a\|b.csv | 0123456789ab |" in text
    assert "| none | |" in text  # no configuration files
    assert "Rendering engine" not in provenance.to_markdown(prov)
