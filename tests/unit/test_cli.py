"""The psp-eval command as a user meets it: clear messages, exit codes, no tracebacks."""

import csv
import filecmp
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from psp_eval.cli import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """A small synthetic trial made through the CLI, shared by the tests of this file."""
    out = tmp_path_factory.mktemp("demo") / "raw"
    assert main(["synth", "--out", str(out), "--families", "150", "--las", "6", "--seed", "3"]) == 0
    return out


def _edit_csv(path: Path, row: int, column: str, value: str) -> None:
    """Set one cell; `row` is the spreadsheet row (header is row 1)."""
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    rows[row - 2][column] = value
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _duplicate_row(path: Path, row: int) -> None:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join([*lines, lines[row - 1]]), encoding="utf-8")


def test_synth_is_byte_identical_for_one_seed(tmp_path):
    args = ["synth", "--families", "80", "--las", "5", "--seed", "11"]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    assert main([*args, "--out", str(tmp_path / "b")]) == 0
    files = sorted(p.name for p in (tmp_path / "a").iterdir())
    match, mismatch, errors = filecmp.cmpfiles(tmp_path / "a", tmp_path / "b", files, shallow=False)
    assert not mismatch and not errors and len(match) == len(files) >= 14


def test_synth_national_903_writes_the_ssda903_tables(tmp_path, capsys):
    out = tmp_path / "national"
    args = ["synth", "--national-903", str(out), "--las", "9", "--episodes", "3000"]
    assert main(args) == 0
    assert "national SSDA903" in capsys.readouterr().out
    assert {p.name for p in out.iterdir()} == {
        "las.csv", "hubs.tsv", "ssda903_header.csv", "ssda903_episodes.csv", "national.json",
    }  # fmt: skip


def test_validate_passes_on_the_demo(demo, capsys):
    assert main(["validate", str(demo), "--hubs", str(demo / "hubs.tsv")]) == 0
    assert "all valid" in capsys.readouterr().out


def test_validate_names_every_problem_of_a_broken_copy(demo, tmp_path, capsys):
    broken = tmp_path / "broken"
    shutil.copytree(demo, broken)
    _edit_csv(broken / "randomisation.csv", 3, "arm", "SFFC ")
    _duplicate_row(broken / "referrals.csv", 2)
    _edit_csv(broken / "measures.csv", 4, "response", "9")
    _edit_csv(broken / "las.csv", 2, "la_code", "E99999999")
    code = main(["validate", str(broken), "--hubs", str(demo / "hubs.tsv")])
    err = capsys.readouterr().err
    assert code == 1
    assert "Traceback" not in err
    assert "randomisation.csv, row 3: column 'arm'" in err and "'SFFC '" in err
    assert "referrals.csv" in err and "family_id" in err and "unique" in err
    assert "measures.csv" in err and "row 4" in err and "response" in err and "9" in err
    assert "referrals.csv" in err and "breaks rule 'references las.la_code'" in err


def test_validate_of_a_missing_folder_is_a_message(tmp_path, capsys):
    code = main(["validate", str(tmp_path / "nowhere")])
    err = capsys.readouterr().err
    assert code == 1 and "nowhere" in err and "Traceback" not in err


def test_unknown_notebook_parameter_fails_the_command(tmp_path, capsys):
    code = main(
        [
            "execute",
            str(ROOT / "notebooks/process.ipynb"),
            str(tmp_path / "x.ipynb"),
            "-p",
            "hub=leeds",
        ]
    )
    assert code == 1
    assert "unknown parameter(s) hub" in capsys.readouterr().err


def test_console_script_runs_as_a_module():
    result = subprocess.run(
        [sys.executable, "-m", "psp_eval", "--help"], capture_output=True, text=True, check=True
    )
    for command in ("synth", "validate", "run"):
        assert command in result.stdout
