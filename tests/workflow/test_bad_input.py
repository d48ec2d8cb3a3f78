"""The bad-input catalogue (issue 9): every kind of bad input a researcher can hand the pipeline,
planted alone in a small valid synthetic trial, fails the real command with a clear message.

Each kind is checked through `psp-eval validate` and `psp-eval clean` (or, for config and
notebook parameters, the command that reads them): a non-zero exit; the exact problem line,
which names the file, the spreadsheet row(s) where a row is at fault, the column, the rule and
the value found; the number of errors (one fault gives one error unless it really breaks several
rows of several files); no traceback; and nothing written downstream:

- `clean --out X --report R` creates nothing at X (not even the folder) and leaves no R;
- `validate --report R` leaves no R. A report is written only when the data pass, atomically,
  and a failing check removes the report of an earlier passing check: a report on disk always
  means the data passed the latest check (the pipeline's clean step starts from it).

An unknown extra column is the one kind that only warns: it is named, the exit code is 0 and the
clean table is written without it.
"""

from __future__ import annotations

import csv
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from conftest import run_command
from psp_eval.cli import main
from psp_eval.data.contract import S903_PLACE
from psp_eval.data.demo import generate
from psp_eval.engine.execution import declared_parameters
from psp_eval.engine.pipeline import copy_workflow

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@pytest.fixture(scope="session")
def valid_trial(tmp_path_factory) -> Path:
    """A small valid synthetic trial (2 hubs, 2 LAs, 40 families), made once; cases copy it."""
    folder = tmp_path_factory.mktemp("valid") / "trial"
    generate(folder, seed=7, n_hubs=2, n_las=2, n_families=40)
    return folder


class Trial:
    """A copy of the valid trial to plant one fault in. Rows are spreadsheet rows (header = 1)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.hubs = folder / "hubs.tsv"

    def path(self, table: str) -> Path:
        return self.folder / f"{table}.csv"

    def read(self, table: str) -> tuple[list[str], list[list[str]]]:
        with self.path(table).open(newline="", encoding="utf-8") as f:
            header, *rows = csv.reader(f)
        return header, rows

    def write(self, table: str, header: list[str], rows: list[list[str]]) -> None:
        with self.path(table).open("w", newline="", encoding="utf-8") as f:
            csv.writer(f, lineterminator="\n").writerows([header, *rows])

    def find(self, table: str, **cells: str) -> list[int]:
        """The rows whose cells equal `cells`."""
        header, rows = self.read(table)
        at = {name: header.index(name) for name in cells}
        return [i + 2 for i, r in enumerate(rows) if all(r[at[n]] == v for n, v in cells.items())]

    def get(self, table: str, row: int, column: str) -> str:
        header, rows = self.read(table)
        return rows[row - 2][header.index(column)]

    def set(self, table: str, row: int, column: str, value: str) -> None:
        header, rows = self.read(table)
        rows[row - 2][header.index(column)] = value
        self.write(table, header, rows)

    def append(self, table: str, **cells: str) -> int:
        """Add a row (unnamed cells empty); returns its row number."""
        header, rows = self.read(table)
        rows.append([cells.get(name, "") for name in header])
        self.write(table, header, rows)
        return len(rows) + 1

    def frame(self, table: str) -> pd.DataFrame:
        return pd.read_csv(self.path(table), dtype=str, keep_default_na=False)


def rows_text(rows: list[int]) -> str:
    """How a message names rows: 'row 3', 'rows 3, 4' or 'rows 1, 2, 3, 4, 5 and 2 more'."""
    more = f" and {len(rows) - 5} more" if len(rows) > 5 else ""
    return f"row{'s' if len(rows) > 1 else ''} {', '.join(map(str, rows[:5]))}{more}"


@dataclass(frozen=True)
class Expected:
    """What the command must say: these lines, and this many errors in all (None: the message
    is not the data contract's, which counts its errors)."""

    lines: tuple[str, ...]
    errors: int | None = 1
    warning_only: bool = False


@dataclass(frozen=True)
class Ran:
    """What a command did: exit code, everything it printed, and paths it must not have made."""

    code: int
    output: str
    downstream: tuple[Path, ...]


@dataclass(frozen=True)
class Kind:
    name: str
    plant: Callable[[Trial], Expected]
    run: Callable[[Trial, Path, pytest.CaptureFixture], list[Ran]]


KINDS: list[Kind] = []


def _data_commands(t: Trial, work: Path, capsys) -> list[Ran]:
    """`validate --report` and `clean --report` (a stale report from an earlier pass planted
    first for each)."""
    report, out = work / "validation.json", work / "clean"
    clean_report = work / "clean-validation.json"
    data = [str(t.folder), "--hubs", str(t.hubs)]
    ran = []
    for command, extra, downstream in (
        ("validate", ["--report", str(report)], (report,)),
        ("clean", ["--out", str(out), "--report", str(clean_report)], (out, clean_report)),
    ):
        for stale in downstream[-1:]:
            stale.write_text('{"stale": true}\n', encoding="utf-8")
        code = main([command, *data, *extra])
        printed = capsys.readouterr()
        ran.append(Ran(code, printed.out + printed.err, downstream))
    return ran


def kind(
    name: str, run: Callable[[Trial, Path, pytest.CaptureFixture], list[Ran]] = _data_commands
):
    """Register a kind of bad input: a function that plants it and says what must be reported."""

    def register(plant: Callable[[Trial], Expected]) -> Callable[[Trial], Expected]:
        KINDS.append(Kind(name, plant, run))
        return plant

    return register


def one(line: str) -> Expected:
    return Expected((line,))


# --- Files and their layout -----------------------------------------------------------------


@kind("missing_file")
def _(t: Trial) -> Expected:
    t.path("volunteers").unlink()
    return one(
        "volunteers.csv: breaks rule 'file exists' "
        f"(found no volunteers.csv or volunteers.parquet in {t.folder})"
    )


@kind("missing_folder")
def _(t: Trial) -> Expected:
    hubs = t.folder.parent / "hubs.tsv"
    shutil.move(t.hubs, hubs)
    shutil.rmtree(t.folder)
    t.hubs = hubs
    return one(f"{t.folder}: breaks rule 'folder exists' (found no such folder)")


@kind("missing_hub_sheet")
def _(t: Trial) -> Expected:
    t.hubs.unlink()
    return one(f"hubs.tsv: breaks rule 'file exists' (found {t.hubs})")


@kind("empty_file")
def _(t: Trial) -> Expected:
    t.path("volunteers").write_bytes(b"")
    return one("volunteers.csv: breaks rule 'has a header row' (found an empty file)")


@kind("not_utf8")
def _(t: Trial) -> Expected:
    """A spreadsheet saved as Windows-1252 'CSV': an accented name is one byte, not UTF-8."""
    name = t.get("las", 3, "la_name")
    accented = name[0] + "\u00e4" + name[2:]
    text = t.path("las").read_text(encoding="utf-8").replace(f",{name},", f",{accented},")
    t.path("las").write_bytes(text.encode("cp1252"))
    shown = name[0] + "\\xe4" + name[2:]
    return one(
        "las.csv, row 3: column 'la_name' breaks rule 'is UTF-8 text' "
        f"(found '{shown}'; save the file as \"CSV UTF-8\")"
    )


@kind("wrong_delimiter")
def _(t: Trial) -> Expected:
    header, rows = t.read("surveys")
    with t.path("surveys").open("w", newline="", encoding="utf-8") as f:
        csv.writer(f, delimiter=";", lineterminator="\n").writerows([header, *rows])
    return one(
        "surveys.csv: breaks rule 'expected comma-separated' "
        f"(found a semicolon-separated header '{';'.join(header)}')"
    )


@kind("row_with_an_extra_field")
def _(t: Trial) -> Expected:
    header, rows = t.read("costs")
    rows[2].append("note")
    t.write("costs", header, rows)
    return one("costs.csv, row 4: breaks rule 'has 6 fields like the header' (found 7 fields)")


@kind("csv_and_parquet_of_one_table")
def _(t: Trial) -> Expected:
    t.frame("children").to_parquet(t.folder / "children.parquet")
    return one(
        "children.csv: breaks rule 'one file per table' "
        "(found both children.csv and children.parquet)"
    )


# --- Columns --------------------------------------------------------------------------------


@kind("missing_column")
def _(t: Trial) -> Expected:
    t.write("referrals", *_drop_column(t, "referrals", "referral_group"))
    return one(
        "referrals.csv: column 'referral_group' breaks rule 'column is present' "
        "(found not in the header)"
    )


def _drop_column(t: Trial, table: str, column: str) -> tuple[list[str], list[list[str]]]:
    header, rows = t.read(table)
    at = header.index(column)
    return header[:at] + header[at + 1 :], [r[:at] + r[at + 1 :] for r in rows]


@kind("renamed_column")
def _(t: Trial) -> Expected:
    header, rows = t.read("randomisation")
    header[header.index("arm")] = "Arm "
    t.write("randomisation", header, rows)
    return Expected(
        (
            "randomisation.csv: column 'arm' breaks rule 'column is present' "
            "(found not in the header, which has 'Arm ')",
            "warning: randomisation.csv: column 'Arm ' breaks rule 'known column' "
            "(found not a column of randomisation; ignored)",
        )
    )


@kind("extra_unknown_column")
def _(t: Trial) -> Expected:
    header, rows = t.read("support")
    t.write("support", [*header, "notes"], [[*r, "called twice"] for r in rows])
    return Expected(
        (
            "warning: support.csv: column 'notes' breaks rule 'known column' "
            "(found not a column of support; ignored)",
        ),
        errors=None,
        warning_only=True,
    )


# --- Cells ----------------------------------------------------------------------------------


@kind("impossible_date")
def _(t: Trial) -> Expected:
    t.set("referrals", 5, "referral_date", "2024-02-30")
    return one(
        "referrals.csv, row 5: column 'referral_date' breaks rule 'is a date (yyyy-mm-dd)' "
        "(found '2024-02-30')"
    )


@kind("date_in_another_format")
def _(t: Trial) -> Expected:
    iso = t.get("children", 3, "dob")
    uk = "/".join(reversed(iso.split("-")))
    t.set("children", 3, "dob", uk)
    return one(
        f"children.csv, row 3: column 'dob' breaks rule 'is a date (yyyy-mm-dd)' (found '{uk}')"
    )


@kind("text_in_a_number_column")
def _(t: Trial) -> Expected:
    t.set("referrals", 2, "n_children", "two")
    return one(
        "referrals.csv, row 2: column 'n_children' breaks rule 'is a whole number' (found 'two')"
    )


@kind("not_a_boolean")
def _(t: Trial) -> Expected:
    t.set("children", 4, "index_child", "maybe")
    return one(
        "children.csv, row 4: column 'index_child' breaks rule "
        "'is true or false (or 1/0, yes/no)' (found 'maybe')"
    )


@kind("empty_required_cell")
def _(t: Trial) -> Expected:
    t.set("randomisation", 3, "arm", "")
    return one("randomisation.csv, row 3: column 'arm' breaks rule 'not empty' (found '')")


def _arm(value: str) -> Callable[[Trial], Expected]:
    """A hand-typed arm label; the message names the label it most likely stands for."""

    def plant(t: Trial) -> Expected:
        t.set("randomisation", 2, "arm", value)
        return one(
            "randomisation.csv, row 2: column 'arm' breaks rule 'allowed values: sffc, usual' "
            f"(found {value!r} (meant 'usual'?))"
        )

    return plant


kind("arm_misspelt")(_arm("usaul"))
kind("arm_with_a_space")(_arm("usual "))
kind("arm_in_capitals")(_arm("Usual"))


@kind("ssda903_code_not_in_the_code_list")
def _(t: Trial) -> Expected:
    t.set("ssda903_episodes", 2, "PLACE", "Z9")
    return one(
        "ssda903_episodes.csv, row 2: column 'PLACE' breaks rule "
        f"'allowed values: {', '.join(S903_PLACE)}' (found 'Z9')"
    )


@kind("item_response_out_of_range")
def _(t: Trial) -> Expected:
    row = t.find("measures", instrument="sdq", item="1")[0]
    t.set("measures", row, "response", "3")
    return one(
        f"measures.csv, row {row}: column 'response' breaks rule 'response 0..2 for sdq' "
        "(found '3')"
    )


@kind("item_beyond_the_instrument")
def _(t: Trial) -> Expected:
    row = t.find("measures", instrument="gad7", item="7")[0]
    t.set("measures", row, "item", "8")
    return one(
        f"measures.csv, row {row}: column 'item' breaks rule 'item 1..7 for gad7' (found '8')"
    )


@kind("unknown_instrument")
def _(t: Trial) -> Expected:
    t.set("measures", 2, "instrument", "sdq2")
    return one(
        "measures.csv, row 2: column 'instrument' breaks rule "
        "'configured instrument (gad7, mspss, sdq)' (found 'sdq2')"
    )


@kind("negative_nights")
def _(t: Trial) -> Expected:
    row = t.find("support", support_type="hosting")[0]
    t.set("support", row, "nights", "-4")
    return one(f"support.csv, row {row}: column 'nights' breaks rule '>= 0' (found '-4')")


@kind("negative_cost")
def _(t: Trial) -> Expected:
    amount = "-" + t.get("costs", 3, "amount_gbp")
    t.set("costs", 3, "amount_gbp", amount)
    return one(f"costs.csv, row 3: column 'amount_gbp' breaks rule '>= 0' (found '{amount}')")


# --- Keys and rules across rows and tables --------------------------------------------------


@kind("duplicate_key")
def _(t: Trial) -> Expected:
    row = t.find("children", index_child="false")[0]  # a second index child would break more
    header, rows = t.read("children")
    copy = t.append("children", **dict(zip(header, rows[row - 2])))
    child = t.get("children", row, "child_id")
    return one(
        f"children.csv, rows {row}, {copy}: column 'child_id' breaks rule 'unique key (child_id)' "
        f"(found '{child}')"
    )


@kind("family_randomised_twice")
def _(t: Trial) -> Expected:
    first = 2
    family = t.get("randomisation", first, "family_id")
    stratum = t.get("randomisation", first, "stratum")
    arm = {"sffc": "usual", "usual": "sffc"}[t.get("randomisation", first, "arm")]
    again = t.append(
        "randomisation",
        family_id=family,
        randomised_date="2024-12-01",
        arm=arm,
        stratum=stratum,
        block_id=f"{stratum}|B099",
    )
    return one(
        f"randomisation.csv, rows {first}, {again}: column 'family_id' breaks rule "
        f"'unique key (family_id)' (found '{family}')"
    )


@kind("unknown_la_code")
def _(t: Trial) -> Expected:
    t.set("referrals", 3, "la_code", "E99999999")
    return one(
        "referrals.csv, row 3: column 'la_code' breaks rule 'references las.la_code' "
        "(found 'E99999999')"
    )


@kind("unknown_family_id")
def _(t: Trial) -> Expected:
    t.set("support", 2, "family_id", "F99999")
    return one(
        "support.csv, row 2: column 'family_id' breaks rule 'references randomisation.family_id' "
        "(found 'F99999')"
    )


@kind("follow_up_before_randomisation")
def _(t: Trial) -> Expected:
    family = t.get("randomisation", 2, "family_id")
    randomised = t.get("randomisation", 2, "randomised_date")
    row = t.find("measures", family_id=family, timepoint="week8")[0]
    before = str((pd.Timestamp(randomised) - pd.Timedelta(days=10)).date())
    t.set("measures", row, "completed_date", before)
    return one(
        f"measures.csv, row {row}: column 'completed_date' breaks rule "
        f"'week8 on or after the family's randomised_date' (found '{before}' "
        f"(randomised '{randomised}'))"
    )


@kind("end_before_start")
def _(t: Trial) -> Expected:
    start = t.get("support", 4, "start_date")
    end = str((pd.Timestamp(start) - pd.Timedelta(days=3)).date())
    t.set("support", 4, "end_date", end)
    return one(
        f"support.csv, row 4: column 'end_date' breaks rule 'on or after start_date' "
        f"(found '{end}' (start_date '{start}'))"
    )


@kind("outcome_of_a_family_withdrawn_without_data_use_consent")
def _(t: Trial) -> Expected:
    family = t.get("randomisation", 2, "family_id")
    week8 = t.find("measures", family_id=family, timepoint="week8")
    assert week8, "the planted family needs week-8 data"
    randomised = pd.Timestamp(t.get("randomisation", 2, "randomised_date"))
    t.append(
        "withdrawals",
        family_id=family,
        withdrawal_date=str((randomised + pd.Timedelta(days=100)).date()),
        reason="moved away",
        data_use_consent="false",
    )
    return one(
        f"measures.csv, {rows_text(week8)}: column 'family_id' breaks rule "
        f"'no week8 data for a family withdrawn without data-use consent' (found '{family}')"
    )


# --- Hubs: the data against the hub sheet in config -----------------------------------------


@kind("hub_in_the_data_not_in_the_hub_sheet")
def _(t: Trial) -> Expected:
    lines = t.hubs.read_text(encoding="utf-8").splitlines(keepends=True)
    t.hubs.write_text("".join(line for line in lines if not line.startswith("leeds\t")))
    rule = "column 'hub_id' breaks rule 'references hubs.hub_id (the hubs sheet)' (found 'leeds')"
    found = {
        table: rows_text(t.find(table, hub_id="leeds"))
        for table in ("las", "volunteers", "surveys")
    }
    costs = rows_text(t.find("costs", hub_id="leeds"))
    return Expected(
        (
            *(f"{table}.csv, {rows}: {rule}" for table, rows in found.items()),
            f"costs.csv, {costs}: column 'hub_id' breaks rule "
            "'a hub of the hubs sheet, or central' (found 'leeds')",
        ),
        errors=4,
    )


@kind("hub_in_the_hub_sheet_not_in_the_data")
def _(t: Trial) -> Expected:
    with t.hubs.open("a", encoding="utf-8") as f:
        f.write("york\tYork and North Yorkshire\tEngland\t100\n")
    return one(
        "las.csv: column 'hub_id' breaks rule 'every hub of the hubs sheet has an LA' "
        "(found 'york' (in the hubs sheet, no LA here))"
    )


@kind("hub_sheet_value_of_the_wrong_type")
def _(t: Trial) -> Expected:
    text = t.hubs.read_text(encoding="utf-8")
    t.hubs.write_text(text.replace("\t170\n", "\tabout 170\n", 1), encoding="utf-8")
    return one(
        "hubs.tsv, row 2: column 'recruitment_target' breaks rule 'is a whole number' "
        "(found 'about 170')"
    )


# --- Parquet --------------------------------------------------------------------------------


@kind("parquet_date_stored_as_text")
def _(t: Trial) -> Expected:
    t.frame("randomisation").to_parquet(t.folder / "randomisation.parquet")  # every column text
    t.path("randomisation").unlink()
    return one(
        "randomisation.parquet: column 'randomised_date' breaks rule "
        "'Parquet type date or timestamp' (found string)"
    )


@kind("parquet_boolean_stored_as_text")
def _(t: Trial) -> Expected:
    children = t.frame("children")
    children["dob"] = pd.to_datetime(children["dob"])
    children.to_parquet(t.folder / "children.parquet")  # index_child stays "true"/"false"
    t.path("children").unlink()
    return one(
        "children.parquet: column 'index_child' breaks rule 'Parquet type boolean' (found string)"
    )


@kind("parquet_file_corrupt")
def _(t: Trial) -> Expected:
    t.path("volunteers").unlink()
    (t.folder / "volunteers.parquet").write_bytes(b"volunteer_id,hub_id\nV1,leeds\n")
    return one(
        "volunteers.parquet: breaks rule 'readable file' (found ArrowInvalid: Could not open "
        f"Parquet input source '{t.folder / 'volunteers.parquet'}': Parquet magic bytes not found "
        "in footer. Either the file is corrupted or this is not a parquet file.)"
    )


# --- Config and notebook parameters ---------------------------------------------------------


def _workflow_run(config: list[str]):
    """`psp-eval run -n` in a copy of the workflow with these --config overrides."""

    def run(t: Trial, work: Path, capsys) -> list[Ran]:
        project = copy_workflow(ROOT, work / "project")
        env = {"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(work), "LANG": "C.UTF-8"}
        result = subprocess.run(
            [str(BIN / "psp-eval"), "run", "-n", "--config", *config],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        downstream = (project / "results", project / "logs", project / "reports/_site")
        return [Ran(result.returncode, result.stdout + result.stderr, downstream)]

    return run


@kind("config_value_of_the_wrong_type", run=_workflow_run(["sap={alpha: high}"]))
def _(t: Trial) -> Expected:
    return Expected(
        (
            "1 error in config (config/*.yaml with any --configfile and --config):",
            "config (config/*.yaml with any --configfile and --config): key 'sap.alpha' breaks rule"
            " 'is of type number' (found 'high')",
        ),
        errors=None,
    )


def _execute(t: Trial, work: Path, capsys) -> list[Ran]:
    output = work / "out" / "process.ipynb"
    notebook = ROOT / "notebooks/process.ipynb"
    code = main(["execute", str(notebook), str(output), "-p", "bogus=1"])
    printed = capsys.readouterr()
    return [Ran(code, printed.out + printed.err, (output, output.parent))]


@kind("unknown_notebook_parameter", run=_execute)
def _(t: Trial) -> Expected:
    declared = ", ".join(sorted(declared_parameters(ROOT / "notebooks/process.ipynb")))
    return Expected(
        (
            f"psp-eval execute: {ROOT / 'notebooks/process.ipynb'}: unknown parameter(s) bogus; "
            f"the notebook declares {declared}",
        ),
        errors=None,
    )


# --- The catalogue --------------------------------------------------------------------------


def test_the_catalogue_covers_every_kind_the_issue_lists():
    names = {k.name for k in KINDS}
    assert len(names) == len(KINDS) >= 20
    listed = {
        "missing_file", "missing_column", "renamed_column", "extra_unknown_column", "empty_file",
        "not_utf8", "wrong_delimiter", "impossible_date", "follow_up_before_randomisation",
        "arm_misspelt", "arm_with_a_space", "arm_in_capitals", "duplicate_key",
        "unknown_la_code", "unknown_family_id", "item_response_out_of_range", "negative_nights",
        "negative_cost", "family_randomised_twice",
        "outcome_of_a_family_withdrawn_without_data_use_consent",
        "hub_in_the_data_not_in_the_hub_sheet", "hub_in_the_hub_sheet_not_in_the_data",
        "ssda903_code_not_in_the_code_list", "parquet_date_stored_as_text",
        "config_value_of_the_wrong_type", "unknown_notebook_parameter",
    }  # fmt: skip
    assert listed <= names, sorted(listed - names)


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_bad_input_fails_clearly_and_writes_nothing(kind, valid_trial, tmp_path, capsys):
    trial = Trial(tmp_path / "trial")
    shutil.copytree(valid_trial, trial.folder)
    expected = kind.plant(trial)
    for ran in kind.run(trial, tmp_path, capsys):
        assert "Traceback" not in ran.output, ran.output
        for line in expected.lines:
            assert line in ran.output, f"\nexpected: {line}\nin:\n{ran.output}"
        if expected.warning_only:
            assert ran.code == 0, ran.output
            assert all(path.exists() for path in ran.downstream)
            assert not any("stale" in p.read_text() for p in ran.downstream if p.is_file())
            continue
        assert ran.code != 0, ran.output
        if expected.errors is not None:
            heading = re.search(r"(\d+) errors? in ", ran.output)
            assert heading and int(heading[1]) == expected.errors, ran.output
        for path in ran.downstream:
            assert not path.exists(), f"{path} was written"


def test_config_errors_are_one_line_per_key(tmp_path):
    """The Snakefile checks the merged configuration (config files, --configfile, --config)
    before anything runs and words each problem like the data contract: the key, the rule and
    the value, an unknown key without a dump of the schema, every problem at once."""
    project = copy_workflow(ROOT, tmp_path / "project")
    (project / "data/raw/demo").mkdir(parents=True)
    extra = tmp_path / "mine.yaml"
    extra.write_text("sap:\n  imputations: five\nrender:\n  engine: pdf\nalpha: 0.01\n")
    result = run_command(
        [str(BIN / "snakemake"), "-n", "--cores", "1", "--configfile", str(extra)],
        project,
        check=False,
    )
    source = "config (config/*.yaml with any --configfile and --config)"
    out = result.stdout + result.stderr
    assert result.returncode != 0
    assert f"3 errors in {source}:" in out, out
    assert f"  - {source}: key 'alpha' breaks rule 'known key (" in out
    assert (
        f"  - {source}: key 'render.engine' breaks rule 'one of auto, quarto, embedded' (found 'pdf')"
        in out
    )
    assert (
        f"  - {source}: key 'sap.imputations' breaks rule 'is of type integer' (found 'five')"
        in out
    )
    assert "properties" not in out  # no dump of the schema


def test_an_unknown_column_is_left_out_of_the_clean_table(valid_trial, tmp_path, capsys):
    trial = Trial(tmp_path / "trial")
    shutil.copytree(valid_trial, trial.folder)
    header, rows = trial.read("support")
    trial.write("support", [*header, "notes"], [[*r, "called twice"] for r in rows])
    out = tmp_path / "clean"
    assert main(["clean", str(trial.folder), "--hubs", str(trial.hubs), "--out", str(out)]) == 0
    assert "column 'notes'" in capsys.readouterr().err
    assert list(pd.read_parquet(out / "support.parquet").columns) == header


def test_the_valid_trial_passes_both_commands(valid_trial, tmp_path, capsys):
    """The catalogue's starting point is valid, so each failure is the planted fault's."""
    data = [str(valid_trial), "--hubs", str(valid_trial / "hubs.tsv")]
    assert main(["validate", *data, "--report", str(tmp_path / "report.json")]) == 0
    assert main(["clean", *data, "--out", str(tmp_path / "clean")]) == 0
    assert "warning" not in capsys.readouterr().err
    assert len(list((tmp_path / "clean").glob("*.parquet"))) == 14
