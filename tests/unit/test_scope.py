"""scope.isin: pandas' answer, on the Arrow-backed text columns read_clean gives."""

import numpy as np
import pandas as pd
import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from psp_eval.data.scope import isin

TEXT = st.sampled_from(["F1", "F2", "F3", "é", ""])
VALUE = st.one_of(TEXT, st.none(), st.just(np.nan), st.just(pd.NA), st.integers(0, 3))


@given(
    st.lists(st.one_of(TEXT, st.none()), max_size=12),
    st.lists(VALUE, max_size=6),
    st.sampled_from(["list", "set", "series", "arrow series", "index", "generator"]),
)
def test_isin_answers_as_pandas_on_arrow_text(cells, values, kind):
    column = pd.Series(
        pd.arrays.ArrowStringArray(pa.chunked_array([pa.array(cells, type=pa.large_string())])),
        index=np.arange(len(cells))[::-1] * 3,
        name="family_id",
    )
    expected = column.isin(values)
    given_as = {
        "list": lambda: values,
        "set": lambda: {v for v in values if isinstance(v, str)} | {"F1"},
        "series": lambda: pd.Series(values, dtype=object),
        "arrow series": lambda: pd.Series([v for v in values if isinstance(v, str)], dtype="string[pyarrow]"),
        "index": lambda: pd.Index(values, dtype=object),
        "generator": lambda: (v for v in values),
    }[kind]  # fmt: skip
    if kind in ("set", "arrow series"):
        expected = column.isin(list(given_as()))
    assert isin(column, given_as()).equals(expected)


def test_isin_leaves_other_columns_to_pandas():
    numbers = pd.Series([1, 2, None], dtype="Int64")
    assert isin(numbers, [2]).tolist() == [False, True, False]
    text = pd.Series(["a", None], dtype=object)
    assert isin(text, ["a"]).tolist() == [True, False]
