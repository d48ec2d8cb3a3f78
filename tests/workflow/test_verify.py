"""Reviewer verification: the value-by-value diff, its errors, and a rerun of the small demo."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from conftest import BIN, run_command
from psp_eval import cli
from psp_eval.engine.pipeline import copy_workflow
from psp_eval.governance import verify

ROOT = Path(__file__).resolve().parents[2]

NUMBERS = {
    "n_randomised": 200,
    "ancova": {"sdq": {"diff": -1.2345678901, "p": 0.0123}},
    "arms": ["sffc", "usual"],
    "decision": "continue",
    "met": True,
}
TABLE = "outcome,estimate,n\nsdq,-1.23,98\ngad7,0.45,97\n"


def results(root: Path, numbers: dict = NUMBERS, table: str = TABLE) -> Path:
    """A results folder of one trial with one scope and one analysis."""
    out = root / "demo" / "trial" / "impact"
    (out / "tables").mkdir(parents=True)
    (out / "numbers.json").write_text(json.dumps(numbers, indent=2))
    (out / "tables" / "ancova.csv").write_text(table)
    (out / "figures").mkdir()
    (out / "figures" / "forest.svg").write_text("<svg/>")  # not compared
    return root


def test_flatten():
    assert verify.flatten(NUMBERS) == {
        "n_randomised": 200,
        "ancova.sdq.diff": -1.2345678901,
        "ancova.sdq.p": 0.0123,
        "arms[0]": "sffc",
        "arms[1]": "usual",
        "decision": "continue",
        "met": True,
    }
    assert verify.flatten({"a": {}, "b": []}) == {"a": {}, "b": []}


@pytest.mark.parametrize(
    ("given", "recomputed", "same"),
    [
        (0.1 + 0.2, 0.3, True),  # floating-point noise
        (1.0, 1.0 + 1e-7, False),
        (98, 98.0, True),
        ("0.450", "0.45", True),  # CSV cells are compared as numbers when both are
        ("0.45", "0.46", False),
        ("sffc", "usual", False),
        (True, 1, False),
        (True, True, True),
        (None, None, True),
        (None, 0, False),
        ("nan", "nan", True),
        ("nan", "0", False),
    ],
)
def test_same_value(given, recomputed, same):
    assert verify.same_value(given, recomputed) is same


def test_identical_folders(tmp_path):
    report = verify.compare_dirs(results(tmp_path / "a"), results(tmp_path / "b"))
    assert report.ok
    assert report.files == 2
    assert report.values == 7 + 3 + 6  # numbers, header cells, table cells
    assert report.text() == "Verified 16 values in 2 files: all match."


def test_a_changed_number_is_named(tmp_path):
    changed = json.loads(json.dumps(NUMBERS))
    changed["ancova"]["sdq"]["diff"] = -1.2
    report = verify.compare_dirs(results(tmp_path / "a"), results(tmp_path / "b", changed))
    assert not report.ok
    [difference] = report.differences
    assert difference == verify.Difference(
        "demo/trial/impact/numbers.json", "ancova.sdq.diff", "-1.2345678901", "-1.2"
    )
    assert "1 of 16 values in 2 files differ" in report.text()
    assert (
        "demo/trial/impact/numbers.json: ancova.sdq.diff: given -1.2345678901, recomputed -1.2"
        in report.text()
    )


def test_a_changed_table_cell_is_named_by_row_and_column(tmp_path):
    table = TABLE.replace("0.45,97", "0.45,96")
    report = verify.compare_dirs(results(tmp_path / "a"), results(tmp_path / "b", table=table))
    assert [d.text() for d in report.differences] == [
        "demo/trial/impact/tables/ancova.csv: row 3, n: given 97, recomputed 96"
    ]


def test_missing_and_extra_keys_and_rows(tmp_path):
    fewer = {k: v for k, v in NUMBERS.items() if k != "decision"}
    more = {**NUMBERS, "new": 1}
    a = results(tmp_path / "a", fewer, TABLE + "mspss,0.1,90\n")
    b = results(tmp_path / "b", more)
    texts = [d.text() for d in verify.compare_dirs(a, b).differences]
    assert (
        "demo/trial/impact/numbers.json: decision: recomputed continue, not in the given results"
        in texts
    )
    assert "demo/trial/impact/numbers.json: new: recomputed 1, not in the given results" in texts
    assert "demo/trial/impact/tables/ancova.csv: row 4, n: given 90, not recomputed" in texts
    assert len(texts) == 2 + 3


def test_missing_files(tmp_path):
    a, b = results(tmp_path / "a"), results(tmp_path / "b")
    (a / "demo" / "trial" / "impact" / "tables" / "ancova.csv").unlink()
    (b / "demo" / "hub1" / "impact").mkdir(parents=True)
    (b / "demo" / "hub1" / "impact" / "numbers.json").write_text('{"n": 1}')
    texts = [d.text() for d in verify.compare_dirs(a, b).differences]
    assert texts == [
        "demo/hub1/impact/numbers.json: the whole file is missing from the given results",
        "demo/trial/impact/tables/ancova.csv: the whole file is missing from the given results",
    ]


def test_broken_json_is_a_clear_error(tmp_path):
    a, b = results(tmp_path / "a"), results(tmp_path / "b")
    (a / "demo" / "trial" / "impact" / "numbers.json").write_text("{oops")
    with pytest.raises(verify.VerifyError, match=r"numbers.json: not valid JSON"):
        verify.compare_dirs(a, b)


def test_bad_results_folders(tmp_path):
    with pytest.raises(verify.VerifyError, match="no results folder"):
        verify.verify(tmp_path / "nowhere", project=ROOT)
    (tmp_path / "empty").mkdir()
    with pytest.raises(verify.VerifyError, match="holds no results"):
        verify.verify(tmp_path / "empty", project=ROOT)
    with pytest.raises(verify.VerifyError, match="no Snakefile"):
        verify.verify(results(tmp_path / "r"), project=tmp_path)


def test_a_trial_folder_is_accepted_too(tmp_path):
    root = results(tmp_path / "r")
    assert verify._trials(root) == (root, ["demo"])
    assert verify._trials(root / "demo") == (root, ["demo"])


def test_missing_raw_data(tmp_path):
    project = copy_workflow(ROOT, tmp_path / "project")
    with pytest.raises(verify.VerifyError, match=r"no raw data for trial demo: .*data/raw/demo"):
        verify.verify(results(tmp_path / "r"), project=project, workdir=tmp_path / "rerun")


def test_cli_exit_codes(tmp_path, monkeypatch, capsys):
    a, b = results(tmp_path / "a"), results(tmp_path / "b", {**NUMBERS, "n_randomised": 201})
    monkeypatch.setattr(verify, "verify", lambda given, **kwargs: verify.compare_dirs(given, b))
    assert cli.main(["verify", str(b)]) == 0
    assert "all match" in capsys.readouterr().out
    assert cli.main(["verify", str(a)]) == 1
    assert "n_randomised: given 200, recomputed 201" in capsys.readouterr().out
    monkeypatch.undo()
    assert cli.main(["verify", str(tmp_path / "nowhere")]) == 1
    assert "psp-eval verify: no results folder" in capsys.readouterr().err


@pytest.mark.slow
def test_verify_the_small_demo(small_site, tmp_path):
    """Rerunning the demo from raw data gives every number again; a tampered one is named."""
    given = tmp_path / "given"
    shutil.copytree(small_site / "results", given, ignore=shutil.ignore_patterns("clean"))
    # As a reviewer runs it, and in the environment small_site ran in: the sensitivity
    # analyses' borderline fits (mixed models, multiple imputation) can come out otherwise
    # under another OpenBLAS kernel (OPENBLAS_CORETYPE), so the rerun must not inherit ours.
    command = [str(BIN / "psp-eval"), "verify", str(given), "--project", str(small_site), "--keep"]
    done = run_command(command, tmp_path, check=False)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    counted = re.search(r"Verified ([\d,]+) values in (\d+) files: all match", done.stdout)
    assert counted and int(counted[2]) > 20 and int(counted[1].replace(",", "")) > 1000
    assert "No SAP lock" in done.stdout
    rerun = Path(re.search(r"The rerun is kept in (\S+)", done.stdout)[1])

    numbers_file = given / "demo" / "trial" / "impact" / "numbers.json"
    numbers = json.loads(numbers_file.read_text())
    key = next(k for k, v in numbers.items() if isinstance(v, float))
    numbers[key] = numbers[key] * 1.01 + 0.01
    numbers_file.write_text(json.dumps(numbers))
    tampered = verify.compare_dirs(given / "demo", rerun / "results" / "demo")
    assert [(d.file, d.key) for d in tampered.differences] == [("trial/impact/numbers.json", key)]
    shutil.rmtree(rerun)


def test_an_empty_table_missing_from_the_rerun(tmp_path):
    a, b = results(tmp_path / "a"), results(tmp_path / "b")
    (a / "demo" / "trial" / "impact" / "tables" / "empty.csv").write_text("")
    report = verify.compare_dirs(a, b)
    assert [d.text() for d in report.differences] == [
        "demo/trial/impact/tables/empty.csv: the whole file is missing from the rerun"
    ]
