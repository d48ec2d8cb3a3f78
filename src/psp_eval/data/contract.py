"""The data contract: every raw table a trial folder holds, and the rules it must obey.

`TABLES` is the single source of truth for column names, types and allowed values; the
validator, the cleaner and the synthetic demo generator all read it.
"""

from __future__ import annotations

import csv
import difflib
import io
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from psp_eval.engine.atomic import temporary_path
from psp_eval.errors import PspEvalError


@dataclass(frozen=True)
class Column:
    """One column of a contract table.

    kind: "str", "int", "float", "bool", "date" (ISO yyyy-mm-dd) or "date_dmy" (dd/mm/yyyy,
    the SSDA903 layout). `allowed` lists the permitted values; `min`/`max` bound numbers;
    `nullable` allows empty cells; `references` names a foreign key "table.column" (or
    "hubs.hub_id" for the hub sheet in config).
    """

    name: str
    kind: str
    nullable: bool = False
    allowed: tuple[Any, ...] | None = None
    min: float | None = None
    max: float | None = None
    references: str | None = None
    description: str = ""


@dataclass(frozen=True)
class Table:
    """One contract table: its file stem, columns, and the columns that together are unique."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    description: str = ""
    required: bool = True
    checks: tuple[str, ...] = field(default=())

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


REFERRAL_SOURCES = (
    "children_social_care",
    "early_help",
    "health",
    "education",
    "police",
    "voluntary_sector",
    "self",
    "other",
)
REFERRAL_GROUPS = ("emerging", "edge_of_care")
ARMS = ("sffc", "usual")
SEXES = ("female", "male")
ETHNICITIES = ("white", "mixed", "asian", "black", "other", "not_stated")
TIMEPOINTS = ("baseline", "week8")
SUPPORT_TYPES = ("hosting", "friendship", "resources")
EVENT_TYPES = ("referral", "re_referral", "assessment", "care_entry", "care_exit", "nights_away")
VOLUNTEER_ROLES = ("host", "friend", "resources")
RESPONDENT_TYPES = ("family", "volunteer", "volunteer_child")
SURVEY_TIMEPOINTS = ("baseline", "week8", "month6", "month12")
COST_CATEGORIES = (
    "staff",
    "volunteer_expenses",
    "training",
    "overheads",
    "central",
    "usual_services",
)
NATIONS = ("England", "Scotland", "Wales", "Northern Ireland")
# costs.price_year: the financial year (April-March) of the cash prices, by its first year, as
# the GDP deflator table (HM Treasury, financial years) and the cost-benefit settings write it
FINANCIAL_YEAR = "financial year of the cash prices, by its first year: 2024 = 2024-25"

# SSDA903 code lists (DfE; see shared/REFERENCE.md).
S903_SEX = (1, 2)
S903_ETHNIC = (
    "WBRI", "WIRI", "WOTH", "WIRT", "WROM", "MWBC", "MWBA", "MWAS", "MOTH", "AIND", "APKN",
    "ABAN", "AOTH", "BCRB", "BAFR", "BOTH", "CHNE", "OOTH", "REFU", "NOBT",
)  # fmt: skip
S903_RNE = ("S", "L", "P", "T", "B", "U")
S903_LS = ("C1", "C2", "D1", "E1", "V2", "V3", "V4", "L1", "L2", "L3", "J1", "J2", "J3")
S903_CIN = ("N1", "N2", "N3", "N4", "N5", "N6", "N7", "N8")
S903_PLACE = (
    "A3", "A4", "A5", "A6", "H5", "K1", "K2", "K3", "P1", "P2", "P3", "R1", "R2", "R3", "R5",
    "S1", "T0", "T1", "T2", "T3", "T4", "U1", "U2", "U3", "U4", "U5", "U6", "Z1",
)  # fmt: skip
S903_PLACE_PROVIDER = ("PR0", "PR1", "PR2", "PR3", "PR4", "PR5")
S903_REC = (
    "E11", "E12", "E13", "E14", "E15", "E16", "E17", "E2", "E3", "E41", "E45", "E46", "E47",
    "E48", "E4A", "E4B", "E5", "E6", "E7", "E8", "E9", "X1",
)  # fmt: skip

C = Column
TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "las",
            (
                C("la_code", "str", description="ONS-style LA code, e.g. E08000035"),
                C("la_name", "str"),
                C("hub_id", "str", references="hubs.hub_id"),
                C("nation", "str", allowed=NATIONS),
                C("child_population", "int", min=1),
                C("cla_rate_per_10k", "float", min=0, max=1000),
                C("deprivation_rank", "int", min=1),
            ),
            key=("la_code",),
            description="local authorities and the hub that serves each",
        ),
        Table(
            "referrals",
            (
                C("family_id", "str"),
                C("la_code", "str", references="las.la_code"),
                C("referral_date", "date"),
                C("referral_source", "str", allowed=REFERRAL_SOURCES),
                C("referral_group", "str", allowed=REFERRAL_GROUPS),
                C("n_children", "int", min=1, max=15),
                C("eligible", "bool"),
                C("consented", "bool", nullable=True, description="empty when not eligible"),
                C(
                    "reason_not_randomised",
                    "str",
                    nullable=True,
                    description="required exactly when the family is not randomised",
                ),
            ),
            key=("family_id",),
            description="every family referred to the trial",
            checks=(
                "a family is randomised if and only if reason_not_randomised is empty",
                "only eligible, consenting families are randomised",
            ),
        ),
        Table(
            "randomisation",
            (
                C("family_id", "str", references="referrals.family_id"),
                C("randomised_date", "date"),
                C("arm", "str", allowed=ARMS),
                C("stratum", "str"),
                C("block_id", "str"),
            ),
            key=("family_id",),
            checks=("randomised_date is on or after the family's referral_date",),
        ),
        Table(
            "children",
            (
                C("child_id", "str"),
                C("family_id", "str", references="referrals.family_id"),
                C("dob", "date"),
                C("sex", "str", allowed=SEXES),
                C("ethnicity", "str", allowed=ETHNICITIES),
                C("index_child", "bool"),
            ),
            key=("child_id",),
            checks=("every randomised family has exactly one index child",),
        ),
        Table(
            "measures",
            (
                C("family_id", "str", references="referrals.family_id"),
                C(
                    "child_id",
                    "str",
                    nullable=True,
                    references="children.child_id",
                    description="the child rated (child instruments); empty for parent ones",
                ),
                C("instrument", "str", description="a key of config/instruments.yaml"),
                C("timepoint", "str", allowed=TIMEPOINTS),
                C("item", "int", min=1, description="item number within the instrument"),
                C(
                    "response",
                    "float",
                    nullable=True,
                    description="empty when the item was not answered; range per instrument",
                ),
                C("completed_date", "date"),
            ),
            key=("family_id", "child_id", "instrument", "timepoint", "item"),
            description="item-level questionnaire responses",
            checks=(
                "instrument is configured; item and response within its configured range",
                "child instruments name a child of the same family",
            ),
        ),
        Table(
            "support",
            (
                C("episode_id", "str"),
                C("family_id", "str", references="randomisation.family_id"),
                C("volunteer_id", "str", nullable=True, references="volunteers.volunteer_id"),
                C("support_type", "str", allowed=SUPPORT_TYPES),
                C("start_date", "date"),
                C("end_date", "date", nullable=True, description="empty while ongoing"),
                C("nights", "int", nullable=True, min=0, description="hosting nights"),
                C("hours", "float", nullable=True, min=0, description="friendship hours"),
            ),
            key=("episode_id",),
            description="support episodes recorded in the delivery app",
            checks=("end_date is on or after start_date",),
        ),
        Table(
            "care_events",
            (
                C("family_id", "str", references="randomisation.family_id"),
                C("child_id", "str", nullable=True, references="children.child_id"),
                C("event_type", "str", allowed=EVENT_TYPES),
                C("event_date", "date"),
                C("legal_status", "str", nullable=True, allowed=S903_LS),
                C("nights", "int", nullable=True, min=0),
            ),
            description="local-authority record events to 24 months after randomisation",
        ),
        Table(
            "volunteers",
            (
                C("volunteer_id", "str"),
                C("hub_id", "str", references="hubs.hub_id"),
                C("role", "str", allowed=VOLUNTEER_ROLES),
                C("start_date", "date"),
                C("end_date", "date", nullable=True, description="empty while active"),
                C("has_children", "bool"),
            ),
            key=("volunteer_id",),
            checks=("end_date is on or after start_date",),
        ),
        Table(
            "surveys",
            (
                C("respondent_type", "str", allowed=RESPONDENT_TYPES),
                C("respondent_id", "str"),
                C("hub_id", "str", references="hubs.hub_id"),
                C("timepoint", "str", allowed=SURVEY_TIMEPOINTS),
                C("question_id", "str"),
                C("response", "int", nullable=True, min=1, max=5, description="Likert 1-5"),
                C("theme", "str", nullable=True, description="coded free-text theme"),
            ),
            key=("respondent_type", "respondent_id", "timepoint", "question_id"),
        ),
        Table(
            "costs",
            (
                C("hub_id", "str", description="a hub of config, or 'central'"),
                C("period_start", "date"),
                C("period_end", "date"),
                C("category", "str", allowed=COST_CATEGORIES),
                C("amount_gbp", "float", min=0),
                C("price_year", "int", min=2000, max=2100, description=FINANCIAL_YEAR),
            ),
            checks=("period_end is on or after period_start", "hub_id is a hub or 'central'"),
        ),
        Table(
            "withdrawals",
            (
                C("family_id", "str", references="randomisation.family_id"),
                C("withdrawal_date", "date"),
                C("reason", "str"),
                C("data_use_consent", "bool"),
            ),
            key=("family_id",),
            checks=("withdrawal_date is on or after randomised_date",),
        ),
        Table(
            "ssda903_header",
            (
                C("la_code", "str", references="las.la_code"),
                C("CHILD", "str"),
                C("SEX", "int", allowed=S903_SEX),
                C("DOB", "date_dmy"),
                C("ETHNIC", "str", allowed=S903_ETHNIC),
                C("UPN", "str", nullable=True),
            ),
            key=("la_code", "CHILD"),
            description="SSDA903 header: one row per looked-after child per LA",
        ),
        Table(
            "ssda903_episodes",
            (
                C("la_code", "str", references="las.la_code"),
                C("CHILD", "str", references="ssda903_header.CHILD"),
                C("DECOM", "date_dmy"),
                C("RNE", "str", allowed=S903_RNE),
                C("LS", "str", allowed=S903_LS),
                C("CIN", "str", allowed=S903_CIN),
                C("PLACE", "str", allowed=S903_PLACE),
                C("PLACE_PROVIDER", "str", nullable=True, allowed=S903_PLACE_PROVIDER),
                C("DEC", "date_dmy", nullable=True, description="empty while open"),
                C("REC", "str", nullable=True, allowed=S903_REC),
            ),
            key=("la_code", "CHILD", "DECOM"),
            description="SSDA903 episodes: one row per care episode",
            checks=("DEC is on or after DECOM", "REC is given exactly when DEC is"),
        ),
        Table(
            "scotland_cla",
            (
                C("la_code", "str", description="Scottish LA code, e.g. S12000036"),
                C("la_name", "str"),
                C("year", "str", description="Scottish year, 1 August to 31 July, e.g. 2021-22"),
                C("starts", "int", min=0, description="children starting to be looked after"),
                C("s25_share", "float", min=0, max=1, description="share voluntary (s25)"),
                C(
                    "short_share",
                    "float",
                    min=0,
                    max=1,
                    description="share of s25 starts under 14 days",
                ),
                C(
                    "young_share",
                    "float",
                    nullable=True,
                    min=0,
                    max=1,
                    description="share aged 10 or under",
                ),
            ),
            key=("la_code", "year"),
            description="Scotland variant of need (optional): children looked after per LA and year",
            required=False,
        ),
    )
}


# --- Validation ---------------------------------------------------------------------------
# Every table is read as text into Arrow columns, typed column by column with Arrow compute
# (strict formats, so a date typed the American way is an error, not a silent guess; cells
# other than text are parsed once per distinct text), then checked on whole columns: Arrow for
# text lookups and blanks, NumPy and pandas for the rest. The raw text becomes a pandas frame
# only when a problem quotes its cells, and the slow exact tools (DataFrame.duplicated) run only
# where a fast check found a problem. Problems carry spreadsheet row numbers (the header is
# row 1; for Parquet, row n is record n - 1) so a researcher can open the file and find them.

HUBS_SHEET = Table(
    "hubs",
    (
        C("hub_id", "str"),
        C("hub_name", "str"),
        C("nation", "str", allowed=NATIONS),
        C("recruitment_target", "int", min=0),
    ),
    key=("hub_id",),
    description="config/hubs.tsv: the hubs of the trial (not a data table)",
)

TEXT = pd.StringDtype("pyarrow")
"""Text held in Arrow buffers: a tenth of the memory of Python strings, and no conversion."""

DTYPES = {
    "str": TEXT,
    "int": "Int64",
    "float": "float64",
    "bool": "boolean",
    "date": "datetime64[ns]",
    "date_dmy": "datetime64[ns]",
}
"""The dtype of each column kind in the typed tables (missing values are NA / NaN / NaT)."""

_DATE_FORMATS = {
    "date": ("%Y-%m-%d", r"\d{4}-\d{2}-\d{2}"),
    "date_dmy": ("%d/%m/%Y", r"\d{2}/\d{2}/\d{4}"),
}
_TYPE_RULES = {
    "int": "is a whole number",
    "float": "is a number",
    "bool": "is true or false (or 1/0, yes/no)",
    "date": "is a date (yyyy-mm-dd)",
    "date_dmy": "is a date (dd/mm/yyyy)",
}
_BOOLS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
_SEPARATORS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
_SHOWN = 5  # rows and values quoted per problem
_HUBS_REF = "hubs.hub_id"
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Problem:
    """One broken rule, located the way a researcher looks for it in a spreadsheet.

    rows are spreadsheet row numbers (header = row 1), empty for a problem of the whole file;
    value quotes the offending values (the first few) so stray spaces and case are visible.
    str() gives one line without the level: callers label warnings as they show them.
    """

    file: str
    rows: tuple[int, ...]
    column: str | None
    rule: str
    value: str = ""
    level: str = "error"

    def __str__(self) -> str:
        where = self.file
        if self.rows:
            shown = ", ".join(map(str, self.rows[:_SHOWN]))
            more = f" and {len(self.rows) - _SHOWN} more" if len(self.rows) > _SHOWN else ""
            where += f", row{'s' if len(self.rows) > 1 else ''} {shown}{more}"
        subject = f"column '{self.column}' breaks" if self.column else "breaks"
        found = f" (found {self.value})" if self.value else ""
        return f"{where}: {subject} rule '{self.rule}'{found}"


class ContractError(PspEvalError):
    """Data break the contract; `problems` lists every problem found, not just the first."""

    def __init__(self, problems: Sequence[Problem], where: str | Path) -> None:
        self.problems = list(problems)
        n = len(self.problems)
        heading = f"{n} error{'' if n == 1 else 's'} in {where}:"
        super().__init__("\n".join([heading, *(f"  - {p}" for p in self.problems)]))


@dataclass(frozen=True)
class ValidationResult:
    """The typed tables of a data folder and every problem found in it.

    `tables` holds each table that could be read with all its columns, typed (see DTYPES),
    unknown columns dropped; cells that failed their type are NA.
    """

    folder: Path
    tables: dict[str, pd.DataFrame]
    problems: tuple[Problem, ...]

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.level == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.level == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def raise_if_errors(self) -> None:
        if self.errors:
            raise ContractError(self.errors, self.folder)


def validate_dir(
    data_dir: str | Path, hubs: pd.DataFrame, instruments: Mapping[str, Mapping[str, Any]]
) -> ValidationResult:
    """Read and check every contract table of a trial folder, collecting all problems.

    hubs is the hubs sheet (see read_hubs); instruments is config/instruments.yaml as a dict.
    """
    folder = Path(data_dir)
    if not folder.is_dir():
        missing = Problem(str(folder), (), None, "folder exists", "no such folder")
        return ValidationResult(folder, {}, (missing,))
    loaded: dict[str, _Loaded] = {}
    problems: list[Problem] = []
    for table in TABLES.values():
        path, found = _locate(table, folder)
        problems += found
        if path is not None:
            t, found = _read_file(table, path)
            problems += found
            if t is not None:
                loaded[table.name] = t
    ctx = _Context(loaded, frozenset(hubs["hub_id"].dropna().astype(str)), instruments)
    problems += _foreign_keys(ctx)
    for needs, check in _CROSS_CHECKS:
        if all(name in loaded for name in needs):
            problems += check(ctx)
    order = {name: i for i, name in enumerate(TABLES)}
    problems.sort(key=lambda p: (order.get(Path(p.file).stem, -1), p.rows[:1]))
    tables = {name: t.typed.reset_index(drop=True) for name, t in loaded.items()}
    for table in TABLES.values():  # an optional table not supplied is an empty table
        if not table.required and _locate(table, folder) == (None, []):
            tables[table.name] = _empty(table)
    return ValidationResult(folder, tables, tuple(problems))


def _empty(table: Table) -> pd.DataFrame:
    """A typed table with no rows."""
    return pd.DataFrame({c.name: pd.Series(dtype=DTYPES[c.kind]) for c in table.columns})


def load_dir(
    data_dir: str | Path, hubs: pd.DataFrame, instruments: Mapping[str, Mapping[str, Any]]
) -> dict[str, pd.DataFrame]:
    """The typed tables of a trial folder; raises ContractError listing every error found."""
    result = validate_dir(data_dir, hubs, instruments)
    result.raise_if_errors()
    for warning in result.warnings:
        _log.warning("%s", warning)
    return result.tables


def write_clean(tables: Mapping[str, pd.DataFrame], out_dir: str | Path) -> list[Path]:
    """Write each table to out_dir/<name>.parquet atomically (a temporary file, then a rename),
    so an interrupted run never leaves a half-written table for the next step to read."""
    written = []
    for name, df in tables.items():
        final = Path(out_dir) / f"{name}.parquet"
        with temporary_path(final) as tmp:
            df.to_parquet(tmp, index=False)
        written.append(final)
    return written


def read_hubs(path: str | Path) -> pd.DataFrame:
    """The hubs sheet (tab-separated), typed like a contract table; ContractError if broken."""
    path = Path(path)
    if not path.is_file():
        raise ContractError([Problem(path.name, (), None, "file exists", str(path))], path)
    t, problems = _read_file(HUBS_SHEET, path, sep="\t")
    errors = [p for p in problems if p.level == "error"]
    if errors or t is None:
        raise ContractError(errors, path)
    for warning in problems:
        _log.warning("%s", warning)
    return t.typed.reset_index(drop=True)


# --- Reading and per-table checks ------------------------------------------------------------


class _Text:
    """The cells of a file as text: Arrow columns and their spreadsheet row numbers.

    The checks read the Arrow columns; the pandas frame (`loc`, `[]`), which a problem quotes
    cells from, is built only when one does: a valid file never pays for it.
    """

    def __init__(self, cells: pa.Table, rows: np.ndarray, frame: pd.DataFrame | None = None):
        self.cells = cells
        self.index = pd.Index(rows)
        self._frame = frame

    @classmethod
    def of_frame(cls, frame: pd.DataFrame) -> _Text:
        """Text cells already in a frame (read by the csv module, or rendered from Parquet)."""
        cells = pa.Table.from_pandas(frame, preserve_index=False)
        return cls(cells, frame.index.to_numpy(), frame)

    @property
    def columns(self) -> list[str]:
        return self.cells.column_names

    def column(self, name: str) -> pa.ChunkedArray:
        return self.cells.column(name)

    def select(self, names: list[str]) -> _Text:
        frame = None if self._frame is None else self._frame[names]
        return _Text(self.cells.select(names), self.index.to_numpy(), frame)

    @property
    def frame(self) -> pd.DataFrame:
        if self._frame is None:
            frame = self.cells.to_pandas(types_mapper={pa.large_string(): TEXT}.get)
            self._frame = frame.set_axis(self.index)
        return self._frame

    @property
    def loc(self):
        return self.frame.loc

    def __getitem__(self, key):
        return self.frame[key]


@dataclass(frozen=True)
class _Loaded:
    """A table read with all its columns: raw text and typed values, indexed by spreadsheet row,
    and which cells were left empty."""

    table: Table
    file: str
    raw: _Text
    typed: pd.DataFrame
    blanks: Mapping[str, np.ndarray]

    def blank(self, column: str) -> pd.Series:
        """Cells left empty (as opposed to cells that failed to parse, which are NA too)."""
        return pd.Series(self.blanks[column], index=self.typed.index)


def _locate(table: Table, folder: Path) -> tuple[Path | None, list[Problem]]:
    """The table's file: CSV or Parquet, but not both (which of two copies is the truth?)."""
    csv_path, parquet_path = folder / f"{table.name}.csv", folder / f"{table.name}.parquet"
    if csv_path.is_file() and parquet_path.is_file():
        both = f"both {csv_path.name} and {parquet_path.name}"
        return None, [Problem(csv_path.name, (), None, "one file per table", both)]
    if csv_path.is_file() or parquet_path.is_file():
        return (csv_path if csv_path.is_file() else parquet_path), []
    if not table.required:
        return None, []
    found = f"no {csv_path.name} or {parquet_path.name} in {folder}"
    return None, [Problem(csv_path.name, (), None, "file exists", found)]


def _read_file(table: Table, path: Path, sep: str = ",") -> tuple[_Loaded | None, list[Problem]]:
    """Read, type and check one file; None when it cannot be read or lacks columns."""
    try:
        if path.suffix == ".parquet":
            frame, problems = _parquet_as_text(path, table)
            raw = _Text.of_frame(frame)
        else:
            raw, problems = _read_text(path, sep)
    except Exception as err:  # a corrupt file must become a Problem, not a traceback
        return None, [Problem(path.name, (), None, "readable file", f"{type(err).__name__}: {err}")]
    if raw is None:
        return None, problems
    problems += _check_columns(table, raw, path.name)
    present = [c for c in table.column_names if c in raw.columns]
    raw = raw.select(present)
    columns, unparsed, blanks = {}, {}, {}
    for name in present:
        kind = table.column(name).kind
        columns[name], failed, blanks[name] = _parse(raw.column(name), kind)
        unparsed[name] = pd.Series(failed, index=raw.index)
        if kind != "str":
            problems += _problem(path.name, raw, unparsed[name], name, _TYPE_RULES[kind])
    typed = pd.DataFrame(columns, index=raw.index)
    problems += _cell_rules(table, path.name, raw, typed, unparsed)
    if len(present) < len(table.columns):
        return None, problems
    return _Loaded(table, path.name, raw, typed, blanks), problems


def _read_text(path: Path, sep: str) -> tuple[_Text | None, list[Problem]]:
    """Cells as text, indexed by spreadsheet row. A well-formed file is parsed by Arrow; any
    other (wrong widths, bad quoting, not UTF-8, a doubtful header) by the csv module, which
    finds and words each structural problem instead of padding, cutting or guessing."""
    data = path.read_bytes()
    if not data or data.isspace():
        return None, [Problem(path.name, (), None, "has a header row", "an empty file")]
    raw = _arrow_cells(data, sep)
    if raw is None:
        frame, problems = _csv_cells(path.name, data, sep)
        return (None if frame is None else _Text.of_frame(frame)), problems
    return raw, []


def _arrow_cells(data: bytes, sep: str) -> _Text | None:
    """The cells of a well-formed CSV (unique header names, every row as wide as the header,
    UTF-8, strict quotes), parsed by Arrow into text columns; None for any other file."""
    first_line = data[: data.find(b"\n")] if b"\n" in data else data  # no copy of the rest
    try:
        header = next(csv.reader([first_line.decode("utf-8-sig").rstrip("\r")], delimiter=sep))
    except (UnicodeDecodeError, csv.Error, StopIteration):
        return None
    if len(header) < 2 or len(set(header)) < len(header):
        return None
    quoted = b'"' in data
    try:
        cells = pa_csv.read_csv(
            pa.py_buffer(data),
            read_options=pa_csv.ReadOptions(column_names=header, skip_rows=1),
            parse_options=pa_csv.ParseOptions(
                delimiter=sep, newlines_in_values=quoted, ignore_empty_lines=False
            ),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(header, pa.large_string()),
                null_values=[],
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
        if quoted:  # Arrow reads '"a"b' as 'ab'; the csv module's strict mode refuses it
            text = io.StringIO(data.decode("utf-8-sig"), newline="")
            for _ in csv.reader(text, delimiter=sep, strict=True):
                pass
    except (pa.ArrowInvalid, UnicodeDecodeError, csv.Error):
        return None
    rows = np.arange(2, cells.num_rows + 2)
    blank_rows = np.ones(cells.num_rows, dtype=bool)
    for column in cells.columns:
        if not blank_rows.any():  # usually after the first column
            return _Text(cells, rows)
        blank_rows &= _blank(column)
    if not blank_rows.any():
        return _Text(cells, rows)
    return _Text(cells.filter(pa.array(~blank_rows)), rows[~blank_rows])


def _blank(cells: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Cells that are empty or only spaces (the cells utf8_trim_whitespace makes empty, without
    making the trimmed copy)."""
    empty = pc.or_(pc.equal(pc.binary_length(cells), 0), pc.utf8_is_space(cells))
    return empty.to_numpy(zero_copy_only=False)


def _csv_cells(file: str, data: bytes, sep: str) -> tuple[pd.DataFrame | None, list[Problem]]:
    """Cells as text, indexed by spreadsheet row; the csv module (not pandas) so that rows
    with too few or too many fields are reported instead of silently padded or cut."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        return None, _not_utf8(file, data, sep, err)
    records: list[list[str]] = []
    try:
        records.extend(csv.reader(io.StringIO(text, newline=""), delimiter=sep, strict=True))
    except csv.Error as err:
        found = f"{err} (check the quotes on this row)"
        return None, [Problem(file, (len(records) + 1,), None, "well-formed CSV", found)]
    header, body = records[0], records[1:]
    expected = _SEPARATORS[sep]
    if len(header) == 1:
        other = next((s for s in _SEPARATORS if s != sep and s in header[0]), None)
        if other is not None:
            found = f"a {_SEPARATORS[other]}-separated header {header[0]!r}"
            return None, [Problem(file, (), None, f"expected {expected}-separated", found)]
    problems = []
    duplicated = sorted({name for name in header if header.count(name) > 1})
    if duplicated:
        names = ", ".join(map(repr, duplicated))
        problems.append(Problem(file, (1,), None, "column names are unique", names))
    rows = np.arange(2, len(body) + 2)
    widths = np.fromiter(map(len, body), dtype=int, count=len(body))
    empty = np.fromiter((not "".join(r).strip() for r in body), dtype=bool, count=len(body))
    wrong = (widths != len(header)) & ~empty
    if wrong.any():
        counts = ", ".join(f"{n} fields" for n in dict.fromkeys(widths[wrong][:_SHOWN]))
        rule = f"has {len(header)} fields like the header"
        problems.append(Problem(file, tuple(rows[wrong].tolist()), None, rule, counts))
    keep = ~wrong & ~empty
    raw = pd.DataFrame([r for r, k in zip(body, keep) if k], columns=header, index=rows[keep])
    return raw.loc[:, ~raw.columns.duplicated()].astype(TEXT), problems


_NOT_UTF8 = re.compile("[\udc80-\udcff]")  # bytes that failed to decode, kept as surrogates


def _not_utf8(file: str, data: bytes, sep: str, err: UnicodeDecodeError) -> list[Problem]:
    """The cells (row and column) holding bytes that are not UTF-8, shown with those bytes
    escaped ('Gr\\xe9nham'): typically a spreadsheet saved as Windows-1252 'CSV'."""
    rule, advice = "is UTF-8 text", '; save the file as "CSV UTF-8"'
    text = data.decode("utf-8-sig", errors="surrogateescape")
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=sep))
    except csv.Error:
        records = []

    def escaped(cell: str) -> str:
        return cell.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")

    header = [escaped(name) for name in records[0]] if records else []
    found: dict[str | None, list[tuple[int, str]]] = {}
    for i, record in enumerate(records):
        for j, cell in enumerate(record):
            if _NOT_UTF8.search(cell):
                column = header[j] if i > 0 and j < len(header) else None
                found.setdefault(column, []).append((i + 1, f"'{escaped(cell)}'"))
    if not found:  # unparseable as CSV too: at least the row of the first bad byte
        row = data.count(b"\n", 0, err.start) + 1
        return [Problem(file, (row,), None, rule, f"byte 0x{data[err.start]:02x}{advice}")]
    problems = []
    for column, cells in found.items():
        rows = tuple(row for row, _ in cells)
        texts = list(dict.fromkeys(text for _, text in cells))
        more = f" and {len(texts) - _SHOWN} more" if len(texts) > _SHOWN else ""
        found = ", ".join(texts[:_SHOWN]) + more + advice
        problems.append(Problem(file, rows, column, rule, found))
    return problems


_PARQUET_TYPES: dict[str, tuple[str, tuple[Callable[[pa.DataType], bool], ...]]] = {
    "str": ("text", (pa.types.is_string, pa.types.is_large_string, pa.types.is_integer)),
    "int": ("integer", (pa.types.is_integer, pa.types.is_floating)),  # NA-holding ints are floats
    "float": ("number", (pa.types.is_integer, pa.types.is_floating, pa.types.is_decimal)),
    "bool": ("boolean", (pa.types.is_boolean,)),
    "date": ("date or timestamp", (pa.types.is_date, pa.types.is_timestamp)),
    "date_dmy": ("date or timestamp", (pa.types.is_date, pa.types.is_timestamp)),
}
"""The Parquet (Arrow) types each column kind accepts; an all-empty (null) column fits any."""


def _parquet_types(schema: pa.Schema, table: Table, file: str) -> list[Problem]:
    """Columns whose stored type is not their kind's: a Parquet file carries its types, so a
    date stored as text or a count stored as text is an export error, even where the text
    would parse (the same column would be typed differently by the next export)."""
    problems = []
    for col in table.columns:
        if col.name not in schema.names:
            continue
        stored = schema.field(col.name).type
        if pa.types.is_dictionary(stored):
            stored = stored.value_type
        expected, fits = _PARQUET_TYPES[col.kind]
        if not pa.types.is_null(stored) and not any(fit(stored) for fit in fits):
            problems.append(Problem(file, (), col.name, f"Parquet type {expected}", str(stored)))
    return problems


def _parquet_as_text(path: Path, table: Table) -> tuple[pd.DataFrame, list[Problem]]:
    """A Parquet table rendered as the text a CSV would hold, so one set of checks serves both,
    and the problems of its stored column types."""
    arrow = pq.read_table(path)
    problems = _parquet_types(arrow.schema, table, path.name)
    df = arrow.to_pandas(date_as_object=False).reset_index(drop=True)
    kinds = {c.name: c.kind for c in table.columns}
    text = {}
    for name, values in df.items():
        if pd.api.types.is_datetime64_any_dtype(values):
            fmt = _DATE_FORMATS["date_dmy" if kinds.get(name) == "date_dmy" else "date"][0]
            text[name] = values.dt.strftime(fmt).fillna("")
        else:
            text[name] = values.astype(object).map(lambda v: "" if pd.isna(v) else str(v))
    return pd.DataFrame(text, dtype=TEXT).set_axis(np.arange(2, len(df) + 2)), problems


def _check_columns(table: Table, raw: _Text, file: str) -> list[Problem]:
    """Missing columns are errors (naming a near miss like 'Arm '); unknown ones are warnings."""
    extra = [c for c in raw.columns if c not in table.column_names]
    problems = []
    for name in table.column_names:
        if name not in raw.columns:
            near = [c for c in extra if c.strip().lower() == name.lower()]
            found = f"not in the header, which has {near[0]!r}" if near else "not in the header"
            problems.append(Problem(file, (), name, "column is present", found))
    for name in extra:
        found = f"not a column of {table.name}; ignored"
        problems.append(Problem(file, (), name, "known column", found, "warning"))
    return problems


_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"


def _parse(cells: pa.ChunkedArray, kind: str) -> tuple[Any, np.ndarray, np.ndarray]:
    """Typed values of a text column, NA where the cell is blank or does not parse; the mask of
    cells that did not parse; and the mask of blank cells.

    Strings are kept exactly (' sffc' stays ' sffc' and fails its allowed values); other kinds
    ignore surrounding spaces. Whole numbers may be written 3.0 (as spreadsheets export them).
    Other kinds than text are parsed once per distinct cell: a column of dates, scores or item
    numbers holds few distinct texts however long it is.
    """
    if kind == "str":
        blank = _blank(cells)
        if blank.any():
            cells = pc.if_else(pa.array(blank), pa.scalar(None, pa.large_string()), cells)
        return pd.arrays.ArrowStringArray(cells), np.zeros(len(blank), dtype=bool), blank
    distinct = pc.unique(cells)
    at = pc.index_in(cells, value_set=distinct).to_numpy(zero_copy_only=False)
    values, known, blank = _parse_distinct(distinct, kind)
    known, blank = known[at], blank[at]
    if kind == "int":
        typed = pd.arrays.IntegerArray(values[at], ~known)
    elif kind == "bool":
        typed = pd.arrays.BooleanArray(values[at], ~known)
    else:
        typed = values[at]
    return typed, ~known & ~blank, blank


def _parse_distinct(cells: pa.Array, kind: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """_parse's work on distinct cells of a kind other than text: the values as NumPy (int64,
    float64 with NaN, bool or datetime64 with NaT), where they are known, and the blank cells."""
    clean = pc.utf8_trim_whitespace(cells)
    blank = pc.equal(clean, "").to_numpy(zero_copy_only=False)
    if kind in ("int", "float"):
        well_formed = pc.match_substring_regex(clean, _NUMBER)
        number = pc.cast(pc.if_else(well_formed, clean, None), pa.float64())
        number = number.to_numpy(zero_copy_only=False)  # nulls become NaN
        ok = np.isfinite(number)
        if kind == "int":
            ok &= np.round(number) == number
            return np.where(ok, number, 0).astype("int64"), ok, blank
        return np.where(ok, number, np.nan), ok, blank
    if kind == "bool":
        code = pc.index_in(pc.utf8_lower(clean), value_set=pa.array(list(_BOOLS)))
        code = code.to_numpy(zero_copy_only=False)  # nulls become NaN
        truth = np.array(list(_BOOLS.values()))
        known = ~np.isnan(code)
        return truth[np.where(known, code, 0).astype(int)], known, blank
    fmt, pattern = _DATE_FORMATS[kind]
    well_formed = pc.match_substring_regex(clean, f"^{pattern}$")
    date = pc.strptime(pc.if_else(well_formed, clean, None), fmt, "ns", error_is_null=True)
    real = pc.equal(pc.strftime(date, fmt), clean)  # Arrow reads 2024-02-30 as 1 March
    values = pc.if_else(real, date, None).to_numpy(zero_copy_only=False)
    return values, ~np.isnat(values), blank


def _cell_rules(
    table: Table,
    file: str,
    raw: _Text,
    typed: pd.DataFrame,
    unparsed: Mapping[str, pd.Series],
) -> list[Problem]:
    """Empty cells, allowed values, bounds and the unique key, checked on the typed values.
    Cells that failed their type are NA but were reported already, so they are not 'empty'."""
    problems = []
    for col in table.columns:
        if col.name not in typed:
            continue
        values = typed[col.name]
        if not col.nullable:
            empty = values.isna() & ~unparsed[col.name]
            problems += _problem(file, raw, empty, col.name, "not empty")
        if col.allowed is not None:
            rule = "allowed values: " + ", ".join(map(str, col.allowed))
            shown = _near_miss(raw, col.name, col.allowed) if col.kind == "str" else None
            not_allowed = values.notna() & ~values.isin(col.allowed)
            problems += _problem(file, raw, not_allowed, col.name, rule, shown)
        if col.min is not None:
            problems += _problem(file, raw, values < col.min, col.name, f">= {col.min:g}")
        if col.max is not None:
            problems += _problem(file, raw, values > col.max, col.name, f"<= {col.max:g}")
    if table.key and set(table.key) <= set(typed.columns):
        key = list(table.key)
        if _any_repeated(typed, key):  # then duplicated finds the rows, as it always did
            repeated = typed.duplicated(key, keep=False)
            names = ", ".join(key)
            shown = _key_text(raw, key)
            problems += _problem(file, raw, repeated, names, f"unique key ({names})", shown)
    return problems


def _any_repeated(typed: pd.DataFrame, key: list[str]) -> bool:
    """Whether two rows share their key (missing values equal, as in DataFrame.duplicated):
    each row's key as one integer, sorted. A third of the time of duplicated on item responses,
    which only a table that fails needs."""
    codes, size = np.zeros(len(typed), dtype="int64"), 1
    for name in key:
        column, distinct = _codes(typed[name])
        if size * (distinct + 1) >= 2**62:  # keep the combined codes in int64
            codes, uniques = pd.factorize(codes)
            size = len(uniques)
        codes, size = codes * (distinct + 1) + column, size * (distinct + 1)
    codes.sort()
    return bool((codes[1:] == codes[:-1]).any())


def _codes(values: pd.Series) -> tuple[np.ndarray, int]:
    """An integer per cell, equal for equal values (one code for all missing ones), and how
    many distinct codes there are."""
    cells = _arrow_text(values)
    if cells is None:
        codes, uniques = pd.factorize(values, use_na_sentinel=False)
        return codes.astype("int64"), len(uniques)
    distinct = pc.unique(cells)
    codes = pc.index_in(cells, value_set=distinct, skip_nulls=False)
    return codes.to_numpy(zero_copy_only=False).astype("int64"), len(distinct)


def _near_miss(raw: _Text, column: str, allowed: Sequence[Any]) -> _Shown:
    """Quote each cell with the allowed value it most likely stands for, "'Usual ' (meant
    'usual'?)": stray spaces, capitals and typos are why hand-typed labels fail."""
    choices = {str(a).casefold(): str(a) for a in allowed}

    def meant(cell: str) -> str:
        close = difflib.get_close_matches(cell.strip().casefold(), choices, n=1, cutoff=0.75)
        return f"{cell!r} (meant {choices[close[0]]!r}?)" if close else repr(cell)

    return lambda rows: raw.loc[rows, column].map(meant)


def _key_text(raw: _Text, key: list[str]) -> _Shown:
    """_Shown texts of a (possibly composite) key: 'F1' or ('F1', 'C1', 'sdq')."""

    def texts(rows: pd.Index) -> pd.Series:
        cells = raw.loc[rows, key].map(repr)
        return cells.iloc[:, 0] if len(key) == 1 else "(" + cells.agg(", ".join, axis=1) + ")"

    return texts


_Shown = Callable[[pd.Index], pd.Series]
"""Gives the texts a Problem quotes for the selected rows (computed only when a rule breaks)."""


def _problem(
    file: str,
    raw: _Text,
    mask: pd.Series,
    column: str | None,
    rule: str,
    shown: _Shown | None = None,
) -> list[Problem]:
    """A Problem for the rows where mask holds (none if it never does), quoting the raw cells of
    `column` or, when given, the texts from `shown`."""
    if not mask.any():  # the usual case, so tested first: it is the cheapest test
        return []
    mask = mask.fillna(False).astype(bool)
    selected = mask.index[mask]
    texts = raw.loc[selected, column].map(repr) if shown is None else shown(selected)
    rows = tuple(int(r) for r in selected)
    return [Problem(file, rows, column, rule, _first_values(texts))]


def _first_values(texts: pd.Series) -> str:
    distinct = texts.drop_duplicates()
    more = f" and {len(distinct) - _SHOWN} more" if len(distinct) > _SHOWN else ""
    return ", ".join(distinct.iloc[:_SHOWN]) + more


# --- Checks across tables -------------------------------------------------------------------
# Each check runs only when every table it needs was read with all its columns, and looks
# only at cells that parsed (failed cells are NA and compare as unknown).


@dataclass(frozen=True)
class _Context:
    tables: dict[str, _Loaded]
    hub_ids: frozenset[str]
    instruments: Mapping[str, Mapping[str, Any]]

    def problem(
        self, name: str, mask: pd.Series, column: str | None, rule: str, shown: _Shown | None = None
    ) -> list[Problem]:
        t = self.tables[name]
        return _problem(t.file, t.raw, mask, column, rule, shown)


_CROSS_CHECKS: list[tuple[tuple[str, ...], Callable[[_Context], list[Problem]]]] = []


def _cross_check(*needs: str):
    """Register a check that needs the named tables."""

    def register(check: Callable[[_Context], list[Problem]]):
        _CROSS_CHECKS.append((needs, check))
        return check

    return register


def _arrow_text(values: pd.Series) -> pa.Array | None:
    """The Arrow array behind a column of contract text (TEXT), None for any other column."""
    return pa.array(values.array) if values.dtype == TEXT else None


def _isin(values: pd.Series, others: pd.Series) -> pd.Series:
    """values.isin(others), by Arrow for text: pandas makes a Python object of each of `others`
    first, seconds for the key column of a large table."""
    cells, value_set = _arrow_text(values), _arrow_text(others)
    if cells is None or value_set is None:
        return values.isin(others)
    found = pc.is_in(cells, value_set=value_set).to_numpy(zero_copy_only=False)
    return pd.Series(found, index=values.index, name=values.name)


def _lookup(keys: pd.Series, table: _Loaded, key: str, column: str) -> pd.Series:
    """For each of `keys`, `column` in the row of `table` with that `key` (NA if none)."""
    ref = table.typed.dropna(subset=[key]).drop_duplicates(key)
    cells, value_set = _arrow_text(keys), _arrow_text(ref[key])
    if cells is None or value_set is None:
        return keys.map(ref.set_index(key)[column])
    at = pc.index_in(cells, value_set=value_set).fill_null(-1).to_numpy(zero_copy_only=False)
    return pd.Series(ref[column].array.take(at, allow_fill=True), index=keys.index, name=keys.name)


def _cell_and(t: _Loaded, column: str, label: str, other: pd.Series) -> _Shown:
    """_Shown texts like "'2024-01-03' (start_date '2024-02-01')": a cell and what it broke."""

    def texts(rows: pd.Index) -> pd.Series:
        against = other.loc[rows]
        if pd.api.types.is_datetime64_any_dtype(against):
            against = against.dt.strftime(_DATE_FORMATS[t.table.column(column).kind][0])
        quoted = against.astype("string").fillna("").map(repr)
        return t.raw.loc[rows, column].map(repr) + f" ({label} " + quoted + ")"

    return texts


def _not_before(
    ctx: _Context, name: str, column: str, earliest: pd.Series, rule: str, label: str
) -> list[Problem]:
    """Rows of a table whose date `column` is before `earliest` (both known)."""
    t = ctx.tables[name]
    later = t.typed[column]
    before = later.notna() & earliest.notna() & (later < earliest)
    return ctx.problem(name, before, column, rule, _cell_and(t, column, label, earliest))


def _foreign_keys(ctx: _Context) -> list[Problem]:
    """Every `references` of TABLES, matched on the target's whole key where the source holds
    it too (an SSDA903 episode's CHILD must be a child of the same LA's header)."""
    problems = []
    for name, t in ctx.tables.items():
        for col in t.table.columns:
            if col.references is None:
                continue
            values = t.typed[col.name]
            if col.references == _HUBS_REF:
                unknown = values.notna() & ~values.isin(sorted(ctx.hub_ids))
                rule = f"references {_HUBS_REF} (the hubs sheet)"
                problems += ctx.problem(name, unknown, col.name, rule)
                continue
            target_name, target_column = col.references.split(".")
            if target_name not in ctx.tables:
                continue
            target = ctx.tables[target_name]
            others = [k for k in target.table.key if k != target_column]
            if target_column in target.table.key and others and set(others) <= set(t.typed.columns):
                on = [*others, col.name]
                source = pd.MultiIndex.from_frame(t.typed[on])
                known = target.typed[[*others, target_column]].set_axis(on, axis=1)
                unknown = values.notna() & ~source.isin(pd.MultiIndex.from_frame(known))
                rule = f"references {target_name} ({', '.join(on)})"
                problems += ctx.problem(name, unknown, col.name, rule, _key_text(t.raw, on))
            else:
                unknown = values.notna() & ~_isin(values, target.typed[target_column].dropna())
                problems += ctx.problem(name, unknown, col.name, f"references {col.references}")
    return problems


@_cross_check("las")
def _every_hub_has_las(ctx: _Context) -> list[Problem]:
    """A hub configured without LAs would get an empty report: the data or config is wrong."""
    las = ctx.tables["las"]
    missing = sorted(ctx.hub_ids - set(las.typed["hub_id"].dropna()))
    if not missing:
        return []
    found = ", ".join(map(repr, missing)) + " (in the hubs sheet, no LA here)"
    return [Problem(las.file, (), "hub_id", "every hub of the hubs sheet has an LA", found)]


@_cross_check("costs")
def _cost_hubs(ctx: _Context) -> list[Problem]:
    hub_id = ctx.tables["costs"].typed["hub_id"]
    unknown = hub_id.notna() & ~hub_id.isin([*ctx.hub_ids, "central"])
    return ctx.problem("costs", unknown, "hub_id", "a hub of the hubs sheet, or central")


@_cross_check("measures")
def _measures_fit_instruments(ctx: _Context) -> list[Problem]:
    """Instrument, item and response as configured in instruments.yaml; child-rated
    instruments must say which child."""
    t = ctx.tables["measures"]
    m = t.typed
    configured = ", ".join(sorted(ctx.instruments))
    unknown = m["instrument"].notna() & ~m["instrument"].isin(list(ctx.instruments))
    rule = f"configured instrument ({configured})"
    problems = ctx.problem("measures", unknown, "instrument", rule)
    for name, spec in ctx.instruments.items():
        this = m["instrument"] == name
        items, low, high = spec["items"], spec["response_min"], spec["response_max"]
        rule = f"item 1..{items} for {name}"
        problems += ctx.problem("measures", this & (m["item"] > items), "item", rule)
        outside = this & ((m["response"] < low) | (m["response"] > high))
        problems += ctx.problem(
            "measures", outside, "response", f"response {low}..{high} for {name}"
        )
        if spec.get("rates") == "child":
            rule = f"not empty for {name} (it rates a child)"
            problems += ctx.problem("measures", this & t.blank("child_id"), "child_id", rule)
    return problems


@_cross_check("children")
def _children_of_the_family(ctx: _Context) -> list[Problem]:
    """A child named on a family's row must be that family's child."""
    problems = []
    children = ctx.tables["children"]
    for name, t in ctx.tables.items():
        if name == "children" or not {"family_id", "child_id"} <= set(t.typed.columns):
            continue
        family = _lookup(t.typed["child_id"], children, "child_id", "family_id")
        other = family.notna() & t.typed["family_id"].notna() & (family != t.typed["family_id"])
        shown = _cell_and(t, "child_id", "child of", family)
        problems += ctx.problem(name, other, "child_id", "a child of the row's family_id", shown)
    return problems


@_cross_check("referrals", "randomisation")
def _randomised_referrals(ctx: _Context) -> list[Problem]:
    """Randomised exactly when no reason is given, and only if eligible and consenting."""
    t = ctx.tables["referrals"]
    r = t.typed
    randomised = _isin(r["family_id"], ctx.tables["randomisation"].typed["family_id"].dropna())
    has_reason = ~t.blank("reason_not_randomised")
    mismatch = r["family_id"].notna() & (randomised == has_reason)
    rule = "empty exactly when the family is randomised"

    def shown(rows: pd.Index) -> pd.Series:
        status = np.where(randomised.loc[rows], " (randomised)", " (not randomised)")
        return t.raw.loc[rows, "reason_not_randomised"].map(repr) + status

    problems = ctx.problem("referrals", mismatch, "reason_not_randomised", rule, shown)
    not_eligible = randomised & r["eligible"].eq(False)
    problems += ctx.problem("referrals", not_eligible, "eligible", "true for a randomised family")
    not_consented = randomised & (r["consented"].eq(False) | t.blank("consented"))
    problems += ctx.problem("referrals", not_consented, "consented", "true for a randomised family")
    return problems


@_cross_check("referrals", "randomisation")
def _randomised_after_referral(ctx: _Context) -> list[Problem]:
    r = ctx.tables["randomisation"].typed
    referred = _lookup(r["family_id"], ctx.tables["referrals"], "family_id", "referral_date")
    rule = "on or after the family's referral_date"
    return _not_before(ctx, "randomisation", "randomised_date", referred, rule, "referral_date")


@_cross_check("children", "randomisation")
def _one_index_child(ctx: _Context) -> list[Problem]:
    """The index child is the one whose outcomes are primary: exactly one per randomised family."""
    children = ctx.tables["children"]
    kids = children.typed
    undecided = kids.loc[kids["index_child"].isna(), "family_id"]  # reported as cell problems
    counts = kids.loc[kids["index_child"].fillna(False).astype(bool), "family_id"].value_counts()
    families = ctx.tables["randomisation"].typed["family_id"].dropna().drop_duplicates()
    families = families[~families.isin(undecided)]
    n = families.map(counts).fillna(0).astype(int)
    wrong = n != 1
    if not wrong.any():
        return []
    found = pd.Series([f"{f!r} has {k}" for f, k in zip(families[wrong], n[wrong])])
    rows = tuple(int(r) for r in kids.index[kids["family_id"].isin(families[wrong])])
    rule = "exactly one index child per randomised family"
    return [Problem(children.file, rows, "index_child", rule, _first_values(found))]


@_cross_check()
def _dates_in_order(ctx: _Context) -> list[Problem]:
    problems = []
    for name, start, end in (
        ("support", "start_date", "end_date"),
        ("volunteers", "start_date", "end_date"),
        ("costs", "period_start", "period_end"),
        ("ssda903_episodes", "DECOM", "DEC"),
    ):
        if name in ctx.tables:
            earliest = ctx.tables[name].typed[start]
            problems += _not_before(ctx, name, end, earliest, f"on or after {start}", start)
    return problems


@_cross_check("withdrawals", "randomisation")
def _withdrawn_after_randomisation(ctx: _Context) -> list[Problem]:
    w = ctx.tables["withdrawals"].typed
    randomised = _lookup(
        w["family_id"], ctx.tables["randomisation"], "family_id", "randomised_date"
    )
    rule = "on or after the family's randomised_date"
    return _not_before(ctx, "withdrawals", "withdrawal_date", randomised, rule, "randomised_date")


@_cross_check("ssda903_episodes")
def _reason_for_every_end(ctx: _Context) -> list[Problem]:
    t = ctx.tables["ssda903_episodes"]
    mismatch = t.blank("DEC") != t.blank("REC")
    if not mismatch.any():  # the usual case: the raw text is not needed
        return []
    shown = _cell_and(t, "REC", "DEC", t.raw["DEC"])
    return ctx.problem("ssda903_episodes", mismatch, "REC", "given exactly when DEC is", shown)


@_cross_check("measures", "randomisation")
def _followup_after_randomisation(ctx: _Context) -> list[Problem]:
    """A week-8 questionnaire dated before randomisation cannot be a follow-up."""
    m = ctx.tables["measures"].typed
    randomised = _lookup(
        m["family_id"], ctx.tables["randomisation"], "family_id", "randomised_date"
    )
    randomised = randomised.where(m["timepoint"].eq("week8").fillna(False).astype(bool))
    rule = "week8 on or after the family's randomised_date"
    return _not_before(ctx, "measures", "completed_date", randomised, rule, "randomised")


@_cross_check("measures", "withdrawals")
def _no_data_without_consent(ctx: _Context) -> list[Problem]:
    """A family that withdrew and refused use of its data must have no follow-up data."""
    w = ctx.tables["withdrawals"].typed
    refused = w.loc[w["data_use_consent"].eq(False).fillna(False).astype(bool), "family_id"]
    m = ctx.tables["measures"].typed
    kept = m["timepoint"].eq("week8") & _isin(m["family_id"], refused.dropna())
    rule = "no week8 data for a family withdrawn without data-use consent"
    return ctx.problem("measures", kept, "family_id", rule)
