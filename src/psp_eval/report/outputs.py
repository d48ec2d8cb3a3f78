"""What an analysis notebook hands to the reports: tables, figures and quoted numbers.

Each notebook makes one `Outputs(out_dir)` and, in a labelled cell, calls `table(...)` or
`figure(...)`: the file is written for reviewers (CSV, SVG) and the returned object displays
as Markdown or SVG, which the report embeds (`{{< embed nb.ipynb#label >}}`). Every number
a report quotes goes through `number(...)` into `numbers.json`.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from IPython.display import Markdown
from matplotlib.figure import Figure

from psp_eval.engine.atomic import temporary_path, write_text
from psp_eval.present.disclosure import SUPPRESSED, printed_counts
from psp_eval.present.tables import WRAP_POINT

NUMERIC = re.compile(r"^[<>≤≥]?[−+-]?(\d+(\.\d*)?|\.\d+)([eE][−+-]?\d+)?%?$")

# Same figure, same bytes: no creation date in the SVG and a fixed id salt.
matplotlib.rcParams["svg.hashsalt"] = "psp-eval"
matplotlib.rcParams["svg.fonttype"] = "none"


# A name such as delivery_cost_per_sffc_family_gbp is one word to the PDF's table layout and
# runs out of a narrow column; a zero-width space after each "_" lets it wrap there.
SNAKE_CASE = re.compile(r"\b[A-Za-z0-9]+(?:_[A-Za-z0-9]+){2,}\b")


def _cell_text(value: object) -> str:
    """A cell as the report prints it: integers with thousands separators, missing as a dash,
    and long snake_case names (a number's key, for reviewers) free to wrap after each "_"."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "–"
    if isinstance(value, int | np.integer) and not isinstance(value, bool):
        return f"{int(value):,}"
    return SNAKE_CASE.sub(lambda match: match[0].replace("_", "_" + WRAP_POINT), str(value))


def _numeric_text(text: str) -> bool:
    return bool(NUMERIC.match(text.replace(",", ""))) or text in ("–", SUPPRESSED)


def markdown_table(frame: pd.DataFrame) -> str:
    """A pipe table that prints every value exactly as the notebook formatted it.

    tabulate would re-parse "0.380" as 0.38; here cells are text, and columns whose values are
    all numbers (or suppressed, or missing) are right-aligned.
    """
    text = frame.map(_cell_text) if len(frame) else frame.astype(str)
    align = [
        "right" if len(text) and text[column].map(_numeric_text).all() else "left"
        for column in text.columns
    ]
    return text.to_markdown(index=False, disable_numparse=True, colalign=align)


class SavedFigure:
    """A figure's SVG file, displayed as its <svg> element as written. IPython's SVG parses
    and writes out the whole file again (minidom) only to drop the XML prolog: a third of a
    second of a hub's notebook at 50,000 families."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _repr_svg_(self) -> str:
        text = self.path.read_text(encoding="utf-8")
        return text[text.index("<svg") :]

    def __repr__(self) -> str:  # the output's text/plain: the same on every run
        return f"<figure {self.path.name}>"


class Outputs:
    """Collects one notebook's tables, figures and numbers under `out_dir`."""

    def __init__(self, out_dir: str | Path) -> None:
        self.out_dir = Path(out_dir)
        (self.out_dir / "tables").mkdir(parents=True, exist_ok=True)
        (self.out_dir / "figures").mkdir(parents=True, exist_ok=True)
        self.numbers: dict[str, object] = {}

    def csv(self, name: str, frame: pd.DataFrame, *, index: bool = False) -> Path:
        """Write `tables/<name>.csv` for reviewers only (the report does not show it)."""
        path = self.out_dir / "tables" / f"{name}.csv"
        with temporary_path(path) as tmp:
            frame.to_csv(tmp, index=index)
        return path

    def table(self, name: str, frame: pd.DataFrame, *, index: bool = False) -> Markdown:
        """Write `tables/<name>.csv` and return the table as Markdown for the report."""
        self.csv(name, frame, index=index)
        shown = frame.reset_index() if index else frame
        return Markdown(markdown_table(shown))

    def figure(self, name: str, fig: Figure) -> SavedFigure:
        """Write `figures/<name>.svg` (no timestamp) and return it for display; the counts
        of people the figure prints (`disclosure.record_printed`) go beside it, in
        `figures/<name>.counts.json`, for reviewers and for `psp-eval audit`."""
        path = self.out_dir / "figures" / f"{name}.svg"
        with temporary_path(path) as tmp:
            fig.savefig(tmp, format="svg", bbox_inches="tight", metadata={"Date": None})
        counts = printed_counts(fig)
        if counts:
            record = {"figure": path.name, "counts": counts}
            write_text(path.with_suffix(".counts.json"), json.dumps(record, indent=2) + "\n")
        matplotlib.pyplot.close(fig)
        return SavedFigure(path)

    def number(self, key: str, value: object) -> object:
        """Record a number the reports quote; plain Python types only, NaN refused."""
        if hasattr(value, "item"):  # numpy scalar
            value = value.item()
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"number {key!r} is {value}: a report cannot quote it")
        self.numbers[key] = value
        return value

    def record(self, numbers: dict[str, object]) -> None:
        """Record several numbers at once (e.g. a presentation function's quoted values)."""
        for key, value in numbers.items():
            self.number(key, value)

    def markdown(self, text: str) -> Markdown:
        """Text for the report (a labelled cell the report embeds): prose built from results."""
        return Markdown(text)

    def save(self) -> Path:
        """Write `numbers.json` (sorted keys, so reruns give identical bytes)."""
        text = json.dumps(self.numbers, indent=2, sort_keys=True, default=str) + "\n"
        return write_text(self.out_dir / "numbers.json", text)
