"""What a notebook hands to the reports is the same bytes on every run, and written atomically."""

import json

import matplotlib.pyplot as plt
import pandas as pd

from psp_eval.engine import atomic
from psp_eval.present.figures.style import ARM_COLOURS
from psp_eval.report.outputs import Outputs


def _figure():
    fig, ax = plt.subplots()
    ax.bar(["SFFC", "usual"], [3, 5], color=list(ARM_COLOURS.values()))
    ax.set_title("Families")
    return fig


def _written(folder):
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def _one_run(folder, numbers):
    out = Outputs(folder)
    out.figure("bars", _figure())
    out.table("shown", pd.DataFrame({"arm": ["SFFC", "usual"], "n": [3, 5]}))
    path = out.csv("reviewers", pd.DataFrame({"x": [0.1, 1 / 3]}))
    for key, value in numbers:
        out.number(key, value)
    out.save()
    return path


def test_the_same_outputs_give_the_same_bytes(tmp_path):
    # Numbers recorded in another order, figures made afresh: files identical all the same.
    _one_run(tmp_path / "first", [("b", 2.5), ("a", 1)])
    _one_run(tmp_path / "second", [("a", 1), ("b", 2.5)])
    first, second = _written(tmp_path / "first"), _written(tmp_path / "second")
    assert sorted(first) == [
        "figures/bars.svg",
        "numbers.json",
        "tables/reviewers.csv",
        "tables/shown.csv",
    ]
    assert first == second
    svg = first["figures/bars.svg"].decode()
    assert "<dc:date>" not in svg  # no creation time
    assert list(json.loads(first["numbers.json"])) == ["a", "b"]


def test_outputs_leave_no_temporary_files(tmp_path):
    path = _one_run(tmp_path, [("n", 3)])
    assert path == tmp_path / "tables" / "reviewers.csv"
    assert pd.read_csv(path)["x"].tolist() == [0.1, 1 / 3]
    assert not [p for p in tmp_path.rglob("*") if atomic.is_temporary(p)]


def test_record_and_markdown(tmp_path):
    from psp_eval.report.outputs import Outputs

    out = Outputs(tmp_path)
    out.record({"a": 1, "b": "text"})
    assert out.numbers == {"a": 1, "b": "text"}
    assert out.markdown("- **x:** y").data == "- **x:** y"


def test_write_hub_sheet_keeps_a_scopes_rows(tmp_path):
    import pandas as pd
    import pytest

    from psp_eval.data.scope import ScopeError, write_hub_sheet

    hubs = pd.DataFrame({"hub_id": ["a", "b"], "hub_name": ["A", "B"]})
    assert len(pd.read_parquet(write_hub_sheet(hubs, "trial", tmp_path / "t.parquet"))) == 2
    assert pd.read_parquet(write_hub_sheet(hubs, "b", tmp_path / "b.parquet"))[
        "hub_name"
    ].tolist() == ["B"]
    with pytest.raises(ScopeError, match="no hub 'c'"):
        write_hub_sheet(hubs, "c", tmp_path / "c.parquet")


def test_a_figure_displays_as_the_svg_element_it_wrote(tmp_path):
    from IPython.core.formatters import DisplayFormatter

    shown = Outputs(tmp_path).figure("bars", _figure())
    data, _ = DisplayFormatter().format(shown)
    written = (tmp_path / "figures" / "bars.svg").read_text(encoding="utf-8")
    assert written.startswith("<?xml") and data["image/svg+xml"].startswith("<svg")
    assert written.endswith(data["image/svg+xml"])  # the element as written, prolog dropped
    assert data["text/plain"] == "<figure bars.svg>"  # no memory address: same on every run
