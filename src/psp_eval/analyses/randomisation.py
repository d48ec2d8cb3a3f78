"""Randomisation: a concealed 1:1 allocation sequence and the log that uses it.

Why: allocation must be unpredictable to recruiters (concealment) and reproducible for the
auditor. `allocation_sequence` makes, for every stratum (hub x referral group), a list of
permuted blocks of randomly chosen sizes (2 or 4 by default), each block holding equal numbers
of each arm; the same seed always gives the same sequence, and one stratum's list does not
depend on which other strata exist. The sequence file is kept by the trial statistician (or
the randomisation service), never by recruiters; `allocate` reveals one allocation at a time:
the next unused position of the family's stratum, recorded in an append-only allocation log.
A family already in the log is never allocated again.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from psp_eval.data.contract import ARMS, REFERRAL_GROUPS
from psp_eval.engine.atomic import temporary_path
from psp_eval.errors import PspEvalError

SEQUENCE_COLUMNS = (
    "stratum",
    "hub_id",
    "referral_group",
    "position",
    "block_id",
    "block_size",
    "arm",
)
LOG_COLUMNS = (
    "family_id",
    "stratum",
    "hub_id",
    "referral_group",
    "position",
    "block_id",
    "arm",
    "allocated_at",
)


class RandomisationError(PspEvalError, ValueError):
    """An allocation that must not happen (a family allocated twice, a stratum used up) or a
    sequence that cannot be made."""


def stratum_label(hub_id: str, referral_group: str) -> str:
    """The stratum as the data contract writes it: "hub|referral_group"."""
    return f"{hub_id}|{referral_group}"


def _stratum_rng(seed: int, stratum: str) -> np.random.Generator:
    """A generator for one stratum: seeded by the trial seed and the stratum's name, so adding
    a hub does not change the sequences of the others."""
    return np.random.default_rng([seed, zlib.crc32(stratum.encode("utf-8"))])


def allocation_sequence(
    hubs: Sequence[str],
    per_stratum: int,
    *,
    seed: int,
    groups: Sequence[str] = REFERRAL_GROUPS,
    block_sizes: Sequence[int] = (2, 4),
    arms: Sequence[str] = ARMS,
) -> pd.DataFrame:
    """The allocation sequence: at least `per_stratum` positions per stratum (whole blocks,
    so a stratum may get up to one block more), columns SEQUENCE_COLUMNS."""
    if per_stratum < 1:
        raise RandomisationError("per_stratum must be at least 1")
    if not block_sizes or any(b < len(arms) or b % len(arms) for b in block_sizes):
        raise RandomisationError(
            f"block sizes must be multiples of {len(arms)} (one per arm): {list(block_sizes)}"
        )
    frames = []
    for hub in hubs:
        for group in groups:
            stratum = stratum_label(hub, group)
            rng = _stratum_rng(seed, stratum)
            arm, block, size = [], [], []
            number = 0
            while len(arm) < per_stratum:
                number += 1
                b = int(rng.choice(block_sizes))
                arm += list(rng.permutation(np.repeat(list(arms), b // len(arms))))
                block += [f"{stratum}|B{number:03d}"] * b
                size += [b] * b
            frames.append(
                pd.DataFrame(
                    {
                        "stratum": stratum,
                        "hub_id": hub,
                        "referral_group": group,
                        "position": np.arange(1, len(arm) + 1),
                        "block_id": block,
                        "block_size": size,
                        "arm": arm,
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)


def write_sequence(sequence: pd.DataFrame, path: str | Path, *, overwrite: bool = False) -> str:
    """Write the sequence CSV atomically and return its SHA-256, to record (for the audit)
    before recruitment starts: a later change to the file would show. An existing sequence
    is never replaced unless `overwrite` (allocations may already have been made from it)."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise RandomisationError(f"{path} exists: allocations may have used it; not replaced")
    data = sequence[list(SEQUENCE_COLUMNS)].to_csv(index=False, lineterminator="\n").encode("utf-8")
    with temporary_path(path) as tmp:
        tmp.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def read_sequence(path: str | Path) -> pd.DataFrame:
    return pd.read_csv(
        path,
        dtype={"stratum": str, "hub_id": str, "referral_group": str, "arm": str, "block_id": str},
    )


def read_log(path: str | Path) -> pd.DataFrame:
    """The allocation log (empty when there is none yet)."""
    path = Path(path)
    if not path.exists():
        return pd.DataFrame({c: pd.Series(dtype=object) for c in LOG_COLUMNS})
    return pd.read_csv(path, dtype=str, keep_default_na=False)


@dataclass(frozen=True)
class Allocation:
    family_id: str
    stratum: str
    position: int
    block_id: str
    arm: str


def allocate(
    sequence_path: str | Path,
    log_path: str | Path,
    family_id: str,
    hub_id: str,
    referral_group: str,
    *,
    allocated_at: str,
) -> Allocation:
    """Allocate `family_id` to the next unused position of its stratum and append it to the
    log; RandomisationError if the family is in the log already (whatever its stratum), the
    stratum is unknown, or its positions are used up."""
    family_id = str(family_id).strip()
    if not family_id:
        raise RandomisationError("family_id is empty")
    log = read_log(log_path)
    if family_id in set(log["family_id"]):
        before = log.loc[log["family_id"] == family_id].iloc[0]
        raise RandomisationError(
            f"family {family_id} was allocated already (position {before['position']} of "
            f"{before['stratum']}, {before['allocated_at']}): a family is never reallocated"
        )
    sequence = read_sequence(sequence_path)
    stratum = stratum_label(hub_id, referral_group)
    rows = sequence[sequence["stratum"] == stratum]
    if rows.empty:
        raise RandomisationError(f"no stratum {stratum!r} in the sequence {sequence_path}")
    used = set(log.loc[log["stratum"] == stratum, "position"].astype(int))
    free = rows[~rows["position"].isin(used)].sort_values("position")
    if free.empty:
        raise RandomisationError(
            f"stratum {stratum} has used all {len(rows)} positions: extend the sequence"
        )
    row = free.iloc[0]
    entry = {
        "family_id": family_id,
        "stratum": stratum,
        "hub_id": hub_id,
        "referral_group": referral_group,
        "position": int(row["position"]),
        "block_id": row["block_id"],
        "arm": row["arm"],
        "allocated_at": allocated_at,
    }
    updated = pd.concat([log, pd.DataFrame([entry])], ignore_index=True)[list(LOG_COLUMNS)]
    with temporary_path(Path(log_path)) as tmp:
        updated.to_csv(tmp, index=False, lineterminator="\n")
    return Allocation(family_id, stratum, int(row["position"]), row["block_id"], row["arm"])


def balance(
    allocations: pd.DataFrame,
    *,
    stratum: str = "stratum",
    arm: str = "arm",
    order: str = "position",
    arms: Sequence[str] = ARMS,
) -> pd.DataFrame:
    """Per stratum: n per arm, the final imbalance and the largest imbalance after any number
    of allocations (|n_first arm - n_second arm|, in `order`). With permuted blocks the largest
    is at most half the largest block."""
    first, second = arms
    rows = []
    for name, part in allocations.sort_values([stratum, order]).groupby(stratum, sort=True):
        diff = (part[arm] == first).astype(int) - (part[arm] == second).astype(int)
        running = diff.cumsum()
        rows.append(
            {
                "stratum": name,
                f"n_{first}": int((part[arm] == first).sum()),
                f"n_{second}": int((part[arm] == second).sum()),
                "imbalance": int(abs(running.iloc[-1])),
                "max_imbalance": int(running.abs().max()),
            }
        )
    return pd.DataFrame(rows)
