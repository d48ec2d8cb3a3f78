"""Load the clean tables of a trial for one scope: the whole trial, or one hub."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from psp_eval import blinding
from psp_eval.contract import TABLES

TRIAL_SCOPE = "trial"
# Beside the contract tables, the clean folder holds the scores, and the hub sheet split by
# scope (hubs/<scope>.parquet): a notebook depends on its own hub's row only, so editing one
# hub's target reruns that hub's jobs and the trial's, not every hub's.
EXTRA_TABLES = ("scores", "outcomes")
HUB_SHEETS = "hubs"


class ScopeError(ValueError):
    """The scope names no hub of the trial."""


def hub_sheet_path(clean_dir: str | Path, scope: str) -> Path:
    """Where the hub sheet's rows for `scope` are (all rows for the trial scope)."""
    return Path(clean_dir) / HUB_SHEETS / f"{scope}.parquet"


def load_tables(
    clean_dir: str | Path,
    names: tuple[str, ...] | None = None,
    *,
    hub_sheet_for: str | None = None,
) -> dict[str, pd.DataFrame]:
    """Read clean Parquet tables (the contract's and the scores, by default), and with
    `hub_sheet_for`, that scope's rows of the hub sheet as the table "hubs".

    The folder's blinding marker decides how the library names the arms from here on (true
    names, or A and B for a dummy allocation): see `psp_eval.blinding`."""
    clean_dir = Path(clean_dir)
    blinding.set_blinded(blinding.is_blinded(clean_dir))
    names = names or (*TABLES, *EXTRA_TABLES)
    tables = {name: pd.read_parquet(clean_dir / f"{name}.parquet") for name in names}
    if hub_sheet_for is not None:
        tables[HUB_SHEETS] = pd.read_parquet(hub_sheet_path(clean_dir, hub_sheet_for))
    return tables


def restrict_to_scope(tables: dict[str, pd.DataFrame], scope: str) -> dict[str, pd.DataFrame]:
    """Keep only the rows that belong to `scope`'s hub (everything for the trial scope).

    A family belongs to the hub of the LA that referred it; volunteers, surveys, costs and
    LAs carry their hub directly; SSDA903 rows belong to the hub of their LA. Central costs
    stay with the trial scope only.
    """
    if scope == TRIAL_SCOPE:
        return dict(tables)
    las = tables["las"]
    if scope not in set(las["hub_id"]):
        raise ScopeError(f"scope {scope!r} is neither 'trial' nor a hub with LAs in las")
    hub_las = set(las.loc[las["hub_id"] == scope, "la_code"])
    referrals = tables["referrals"]
    families = set(referrals.loc[referrals["la_code"].isin(hub_las), "family_id"])
    out: dict[str, pd.DataFrame] = {}
    for name, frame in tables.items():
        if "hub_id" in frame.columns:
            keep = frame["hub_id"] == scope
        elif "family_id" in frame.columns:
            keep = frame["family_id"].isin(families)
        elif "la_code" in frame.columns:
            keep = frame["la_code"].isin(hub_las)
        else:
            raise ScopeError(f"table {name!r} has no column that ties it to a hub")
        out[name] = frame.loc[keep.fillna(False).astype(bool)].reset_index(drop=True)
    return out


def load_scope(
    clean_dir: str | Path, scope: str, *, hub_sheet: bool = False
) -> dict[str, pd.DataFrame]:
    """The clean tables of one scope, ready for a notebook (with its hub sheet rows if asked)."""
    tables = load_tables(clean_dir, hub_sheet_for=scope if hub_sheet else None)
    return restrict_to_scope(tables, scope)
