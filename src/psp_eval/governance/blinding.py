"""Blinded analysis: run the whole pipeline on a dummy allocation, with arms named A and B.

Why: the analysis code should be checked end to end before the true allocation is revealed.
Relabelling the true arms would not blind anything: support episodes, volunteers and delivery
costs exist only for families truly allocated to SFFC, so the process and cost results would
say which label is SFFC. The clean step therefore replaces the `arm` of every randomised family
with a fresh allocation, balanced within each stratum (hub x referral group, as in the trial)
and drawn independently of the true arms (`dummy_allocation`): every downstream number is
computed on a meaningless split, whatever the seed. The clean folder records which it holds
(`blinding.json`). `arm_labels` names the arms for the run's settings, so notebooks and
figures are handed "Arm A" and "Arm B"; `relabel_text` renames the arms in the prose of a
blinded report (`report.blinded` applies it to a report and the notebooks it embeds).
"""

from __future__ import annotations

import json
import re
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from psp_eval.data.contract import ARMS
from psp_eval.engine.atomic import write_text
from psp_eval.errors import PspEvalError

MARKER = "blinding.json"
METHOD = "dummy stratified allocation"
TRUE_LABELS = {"sffc": "SFFC", "usual": "Services as usual"}
BLINDED_NAMES = ("Arm A", "Arm B")  # the treated arm, then the control arm, in a blinded run
BLINDED_LABELS = dict(zip(ARMS, BLINDED_NAMES, strict=True))
BANNER = (
    "BLINDED ANALYSIS: arms are a dummy allocation labelled A and B;"
    " no result here says anything about SFFC."
)


class BlindingError(PspEvalError, ValueError):
    """A randomisation table or blinding marker that blinded mode cannot use."""


def arm_labels(blinded: bool) -> dict[str, str]:
    """The arms' display names: "SFFC" / "Services as usual", or "Arm A" / "Arm B"."""
    return dict(BLINDED_LABELS if blinded else TRUE_LABELS)


# --- the dummy allocation -------------------------------------------------------------------


def dummy_allocation(randomisation: pd.DataFrame, *, seed: int) -> pd.DataFrame:
    """`randomisation` with `arm` replaced by a balanced shuffle within each `stratum`.

    Each stratum of n families gets floor(n/2) of each arm, the odd family's arm drawn at
    random, in an order drawn from a generator seeded by `seed` and the stratum's name (so one
    stratum's split does not depend on the others). The true arms are never read: the new split
    is independent of them. Every other column and the row order are unchanged.
    """
    missing = [c for c in ("family_id", "stratum", "arm") if c not in randomisation.columns]
    if missing:
        raise BlindingError(f"randomisation has no column {', '.join(missing)}")
    if randomisation["stratum"].isna().any():
        row = int(np.flatnonzero(randomisation["stratum"].isna().to_numpy())[0])
        raise BlindingError(f"randomisation row {row + 1}: stratum is empty; cannot stratify")
    out = randomisation.copy()
    arms = np.empty(len(out), dtype=object)
    positions = pd.Series(np.arange(len(out)), index=out.index)
    for stratum, rows in positions.groupby(out["stratum"].astype(str), sort=True):
        rng = np.random.default_rng([seed, zlib.crc32(str(stratum).encode("utf-8"))])
        n = len(rows)
        labels = list(ARMS) * (n // 2)
        if n % 2:
            labels.append(ARMS[int(rng.integers(2))])
        arms[rows.to_numpy()] = rng.permutation(np.array(labels, dtype=object))
    out["arm"] = pd.Series(arms, index=out.index, dtype=randomisation["arm"].dtype)
    return out


# --- the marker written with the clean data -------------------------------------------------


def marker(blinded: bool, seed: int | None = None) -> dict:
    """What `blinding.json` says: blinded or not, and how the dummy allocation was made."""
    if not blinded:
        return {"blinded": False}
    return {"blinded": True, "method": METHOD, "seed": int(seed) if seed is not None else None}


def write_marker(clean_dir: str | Path, blinded: bool, seed: int | None = None) -> Path:
    """Write `clean_dir/blinding.json`, for every later step to know what the data hold."""
    text = json.dumps(marker(blinded, seed), indent=2, sort_keys=True) + "\n"
    return write_text(Path(clean_dir) / MARKER, text)


def read_marker(clean_dir: str | Path) -> dict:
    """The clean folder's blinding marker; an absent one means unblinded (older folders)."""
    path = Path(clean_dir) / MARKER
    if not path.is_file():
        return {"blinded": False}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise BlindingError(f"{path}: not valid JSON ({error})") from None
    if not isinstance(data, dict) or not isinstance(data.get("blinded"), bool):
        raise BlindingError(f'{path}: expected {{"blinded": true or false, ...}}')
    return data


def is_blinded(clean_dir: str | Path) -> bool:
    """Whether the clean folder holds a dummy allocation."""
    return bool(read_marker(clean_dir)["blinded"])


# --- relabelling a blinded report -----------------------------------------------------------

# Ordered: whole phrases first. Kept on purpose: the service's full name ("Safe Families for
# Children (SFFC)", titles), "SFFC profile" (a description of children in LA data, not an
# arm) and the banner's own "anything about SFFC". Everything else that names an arm, in any
# wording the reports use, becomes A or B.
_A, _B = BLINDED_LABELS["sffc"], BLINDED_LABELS["usual"]
_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"\bSFFC\s+minus\s+(?:services\s+as\s+usual|usual\s+care|usual)\b", f"{_A} minus {_B}"),
        (r"\bSFFC\s*/\s*usual\b", f"{_A} / {_B}"),
        (r"\b[Ss]ervices[- ]as[- ]usual(?:\s+arm)?\b", _B),
        (r"\b[Uu]sual[- ]care(?:\s+arm)?\b", _B),
        (r"\bSFFC-arm\b", _A),
        (r"(?<!Children \()(?<!anything about )\bSFFC\b(?! profile)", _A),
        (r"(?<![\w\"'-])sffc(?![\w\"'-])", _A),
        (r"(?<![\w\"'-])(?<!as )usual(?![\w\"'-])", _B),
    )
)


def relabel_text(text: str) -> str:
    """`text` with every arm name replaced by "Arm A" (SFFC) or "Arm B" (services as usual)."""
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text
