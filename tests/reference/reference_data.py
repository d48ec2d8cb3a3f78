"""The public data sets of tests/reference/data (sources in README.md)."""

from pathlib import Path

import pandas as pd

DATA = Path(__file__).resolve().parent / "data"


def load(name: str) -> pd.DataFrame:
    """A data set as R's write.csv exported it (r_reference.R)."""
    return pd.read_csv(DATA / f"{name}.csv")
