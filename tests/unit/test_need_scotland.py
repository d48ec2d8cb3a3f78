"""The optional scotland_cla table: validated when supplied, an empty table when not."""

import shutil

import pandas as pd
import pytest

from psp_eval.analyses import need
from psp_eval.data import contract, scoring
from psp_eval.data import demo as synth


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    synth.generate(folder, seed=2, n_hubs=2, n_las=3, n_families=40)
    return folder


def _validate(folder):
    hubs = contract.read_hubs(folder / "hubs.tsv")
    return contract.validate_dir(folder, hubs, scoring.load_instruments("config/instruments.yaml"))


def test_the_table_is_optional():
    assert not contract.TABLES["scotland_cla"].required
    assert all(t.required for name, t in contract.TABLES.items() if name != "scotland_cla")


def test_an_absent_optional_table_is_empty_and_no_problem(demo, tmp_path):
    folder = tmp_path / "no_scotland"
    shutil.copytree(demo, folder)
    (folder / "scotland_cla.csv").unlink()
    result = _validate(folder)
    assert result.ok, [str(p) for p in result.errors]
    empty = result.tables["scotland_cla"]
    assert empty.empty and list(empty.columns) == contract.TABLES["scotland_cla"].column_names
    assert str(empty["starts"].dtype) == "Int64"


def test_a_supplied_table_is_validated(demo, tmp_path):
    folder = tmp_path / "bad_scotland"
    shutil.copytree(demo, folder)
    cla = pd.read_csv(folder / "scotland_cla.csv", dtype=str)
    cla.loc[1, "s25_share"] = "1.4"
    cla.to_csv(folder / "scotland_cla.csv", index=False)
    errors = [str(p) for p in _validate(folder).errors]
    assert any("scotland_cla.csv" in e and "s25_share" in e and "<= 1" in e for e in errors), errors


def test_demo_table_gives_a_feasibility_summary_per_la(demo):
    cla = _validate(demo).tables["scotland_cla"]
    out = need.scotland_feasibility(cla, min_profile_per_year=20, years=3)
    assert len(out) == cla["la_code"].nunique()
    assert (out["years"] == 3).all() and (out["last_year"] == "2022-23").all()
    expected = (
        (cla["starts"] * cla["s25_share"] * cla["short_share"] * cla["young_share"])
        .groupby(cla["la_code"])
        .apply(lambda s: s.tail(3).mean())
    )
    assert out.set_index("la_code")["profile_per_year"].to_dict() == pytest.approx(
        expected.to_dict()
    )


def test_read_scotland_takes_the_clean_table_or_gives_an_empty_one(tmp_path):
    assert need.read_scotland(tmp_path).empty  # the trial has no Scottish table
    columns = {c: [1.0] for c in need.SCOTLAND_COLUMNS}
    pd.DataFrame({**columns, "la_name": ["Fife"], "extra": [0]}).to_parquet(
        tmp_path / "scotland_cla.parquet"
    )
    got = need.read_scotland(tmp_path)
    assert list(got.columns) == [*need.SCOTLAND_COLUMNS, "la_name"]  # only what it needs
