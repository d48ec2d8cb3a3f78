"""Load the clean tables of a trial for one scope: the whole trial, or one hub."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from psp_eval.data.contract import TABLES
from psp_eval.errors import PspEvalError

TRIAL_SCOPE = "trial"
# Beside the contract tables, the clean folder holds the scores, and the hub sheet split by
# scope (hubs/<scope>.parquet): a notebook depends on its own hub's row only, so editing one
# hub's target reruns that hub's jobs and the trial's, not every hub's.
EXTRA_TABLES = ("scores", "outcomes")
HUB_SHEETS = "hubs"


class ScopeError(PspEvalError, ValueError):
    """The scope names no hub of the trial."""


class Tables(Mapping[str, pd.DataFrame]):
    """Tables by name, each read (or restricted to a scope) the first time it is used.

    Why: a notebook reads a few of the clean tables, and the others can be large (at 50,000
    families the item responses are 3 million rows); reading every table in every notebook
    job cost more time and memory than the analysis. Used like a read-only dict.
    """

    def __init__(
        self,
        loaders: Mapping[str, Callable[[], pd.DataFrame]],
        column_reader: Callable[[str, list[str]], pd.DataFrame] | None = None,
    ) -> None:
        self._loaders = dict(loaders)
        self._read: dict[str, pd.DataFrame] = {}
        self._column_reader = column_reader

    def columns(self, name: str, columns: list[str]) -> pd.DataFrame:
        """Only `columns` of table `name`: from the file alone when the whole table has not
        been read (a notebook that needs one date of the 3 million item responses reads that
        column), else from the table read."""
        if name in self._read or self._column_reader is None:
            return self[name][columns]
        if name not in self._loaders:
            raise KeyError(name)
        return self._column_reader(name, columns)

    def __getitem__(self, name: str) -> pd.DataFrame:
        if name not in self._read:
            self._read[name] = self._loaders[name]()
        return self._read[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._loaders)

    def __len__(self) -> int:
        return len(self._loaders)


def load_tables(
    clean_dir: str | Path,
    names: tuple[str, ...] | None = None,
    *,
    hub_sheet: str | Path | None = None,
    columns: Mapping[str, Sequence[str]] | None = None,
) -> Tables:
    """The clean Parquet tables (the contract's and the scores, by default), and with
    `hub_sheet` (a scope's rows of the hub sheet, as the hub_sheet rule writes them) the
    table "hubs"; each is read when first used, with only its `columns` where they are given
    (a notebook that uses a few columns of a large table reads only those)."""
    clean_dir = Path(clean_dir)
    paths = {name: clean_dir / f"{name}.parquet" for name in names or (*TABLES, *EXTRA_TABLES)}
    if hub_sheet:
        paths[HUB_SHEETS] = Path(hub_sheet)
    for path in paths.values():
        if not path.exists():  # now, not when a cell first reads the table
            raise FileNotFoundError(f"clean table {path} does not exist (has the pipeline run?)")
    columns = columns or {}
    return Tables(
        {name: _reader(path, columns.get(name)) for name, path in paths.items()},
        lambda name, selected: read_clean(paths[name], columns=list(selected)),
    )


def _reader(path: Path, columns: Sequence[str] | None) -> Callable[[], pd.DataFrame]:
    selected = None if columns is None else list(columns)
    return lambda: read_clean(path, columns=selected)


def read_clean(path: str | Path, columns: list[str] | None = None) -> pd.DataFrame:
    """A clean table as pandas.read_parquet gives it, but with its text columns (pandas'
    "string" when written) backed by the Arrow buffers read (string[pyarrow]) instead of
    turned into a Python string per cell: on a million SSDA903 episodes the need analysis
    took two thirds of the time and of the memory. Text stored from object columns stays
    object, as pandas would read it."""
    table = pq.read_table(path, columns=columns)
    stored = (table.schema.pandas_metadata or {}).get("columns", [])
    text = {c["name"] for c in stored if c.get("numpy_type") == "string"}
    arrow_text = [
        name
        for name, kind in zip(table.column_names, table.schema.types)
        if name in text and (pa.types.is_string(kind) or pa.types.is_large_string(kind))
    ]
    if not arrow_text:
        return table.to_pandas()
    frame = table.drop_columns(arrow_text).to_pandas()
    for name in arrow_text:
        frame[name] = pd.arrays.ArrowStringArray(table.column(name).cast(pa.large_string()))
    return frame[table.column_names]


def isin(column: pd.Series, values: Iterable) -> pd.Series:
    """`column.isin(values)`, the same answer, but fast on the Arrow-backed text columns that
    `read_clean` gives: there pandas 2.3 makes an Arrow scalar of each value in turn (40,000
    family ids: 0.25 s, pyarrow's is_in 5 ms; a hub's notebooks at 50,000 families spent
    about a second on it)."""
    if not isinstance(column.array, pd.arrays.ArrowStringArray):
        return column.isin(values)
    listed = values.array if isinstance(values, pd.Series | pd.Index) else list(values)
    try:
        value_set = pa.array(pd.Series(listed, dtype=object), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # not all text: pandas keeps the text ones
        return column.isin(listed)
    if not (pa.types.is_null(value_set.type) or pa.types.is_string(value_set.type)
            or pa.types.is_large_string(value_set.type)):  # fmt: skip
        return column.isin(listed)
    data = pa.chunked_array(column.array.__arrow_array__())
    found = pc.is_in(data, value_set=value_set.cast(data.type))
    return pd.Series(np.asarray(found, dtype=bool), index=column.index, name=column.name)


def table_columns(
    tables: Mapping[str, pd.DataFrame], name: str, columns: list[str]
) -> pd.DataFrame:
    """`columns` of table `name`, read alone where `tables` can (`Tables.columns`)."""
    if isinstance(tables, Tables):
        return tables.columns(name, columns)
    return tables[name][columns]


def restrict_to_scope(tables: Mapping[str, pd.DataFrame], scope: str) -> Tables:
    """Keep only the rows that belong to `scope`'s hub (everything for the trial scope).

    A family belongs to the hub of the LA that referred it; volunteers, surveys, costs and
    LAs carry their hub directly; SSDA903 rows belong to the hub of their LA. Central costs
    stay with the trial scope only.
    """
    if scope == TRIAL_SCOPE:
        return Tables({name: lambda name=name: tables[name] for name in tables})
    las = tables["las"]
    if scope not in set(las["hub_id"]):
        raise ScopeError(f"scope {scope!r} is neither 'trial' nor a hub with LAs in las")
    hub_las = set(las.loc[las["hub_id"] == scope, "la_code"])
    referrals = tables["referrals"]
    families = set(referrals.loc[isin(referrals["la_code"], hub_las), "family_id"])

    def restricted(name: str) -> pd.DataFrame:
        frame = tables[name]
        if "hub_id" in frame.columns:
            keep = frame["hub_id"] == scope
        elif "family_id" in frame.columns:
            keep = isin(frame["family_id"], families)
        elif "la_code" in frame.columns:
            keep = isin(frame["la_code"], hub_las)
        else:
            raise ScopeError(f"table {name!r} has no column that ties it to a hub")
        return frame.loc[keep.fillna(False).astype(bool)].reset_index(drop=True)

    return Tables({name: lambda name=name: restricted(name) for name in tables})


def load_scope(clean_dir: str | Path, scope: str, *, hub_sheet: str | Path | None = None) -> Tables:
    """The clean tables of one scope, ready for a notebook (with the hub sheet's rows the rule
    hands it, when it reads them)."""
    return restrict_to_scope(load_tables(clean_dir, hub_sheet=hub_sheet), scope)


def write_hub_sheet(hubs: pd.DataFrame, scope: str, out: str | Path) -> Path:
    """Write `scope`'s rows of the hub sheet (all rows for the trial) as Parquet, atomically:
    a notebook that reads its own hub's row reruns when that row changes, not when another's
    does."""
    from psp_eval.engine.atomic import temporary_path

    rows = hubs if scope == TRIAL_SCOPE else hubs[hubs["hub_id"] == scope]
    if rows.empty:
        raise ScopeError(f"the hub sheet has no hub {scope!r}")
    with temporary_path(Path(out)) as tmp:
        rows.to_parquet(tmp, index=False)
    return Path(out)
