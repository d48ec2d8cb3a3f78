"""The foundation's analysis functions on small hand-made tables."""

import json

import numpy as np
import pandas as pd
import pytest

from psp_eval.analyses import cost_benefit as cba
from psp_eval.analyses import impact, process
from psp_eval.data.scope import ScopeError, load_scope, restrict_to_scope
from psp_eval.present import tables
from psp_eval.report.outputs import Outputs

D = pd.Timestamp


def _referrals():
    return pd.DataFrame(
        {
            "family_id": ["F1", "F2", "F3", "F4", "F5", "F6", "F7"],
            "la_code": ["E1", "E1", "E1", "E2", "E2", "E2", "E2"],
            "referral_date": [D("2024-01-10")] * 7,
            "eligible": [False, True, True, True, True, True, True],
            "consented": [pd.NA, False, True, True, True, True, True],
        }
    )


def _randomisation():
    return pd.DataFrame(
        {
            "family_id": ["F4", "F5", "F6", "F7"],
            "randomised_date": [D("2024-01-15"), D("2024-01-20"), D("2024-02-03"), D("2024-03-30")],
            "arm": ["sffc", "usual", "sffc", "usual"],
        }
    )


def test_family_flow_gives_each_family_one_stage():
    withdrawals = pd.DataFrame({"family_id": ["F7"]})
    tables = {
        "referrals": _referrals(),
        "randomisation": _randomisation(),
        "withdrawals": withdrawals,
    }
    flow = process.family_flow(tables, pd.Series(["F4", "F7"]))
    assert flow.set_index("family_id")["stage"].to_dict() == {
        "F1": "not_eligible",
        "F2": "declined",
        "F3": "not_randomised_other",  # eligible and consented, but not randomised
        "F4": "followed_up",
        "F5": "no_followup",
        "F6": "no_followup",
        "F7": "withdrawn",  # withdrawn wins over having an outcome
    }


def test_flow_table_adds_up_both_ways():
    withdrawals = pd.DataFrame({"family_id": ["F7"]})
    tables = {
        "referrals": _referrals(),
        "randomisation": _randomisation(),
        "withdrawals": withdrawals,
    }
    flow = process.family_flow(tables, pd.Series(["F4"]))
    table = process.flow_table(flow, ("sffc", "usual"))
    assert table.loc["All referred", "total"] == 7
    assert table.loc["All referred", "sffc"] == 2 and table.loc["All referred", "usual"] == 2
    body = table.drop(index="All referred")
    assert (body[["sffc", "usual", "not_randomised"]].sum(axis=1) == body["total"]).all()
    assert (body.sum() == table.loc["All referred"]).all()
    assert table.loc["Randomised, no week-8 outcome", "sffc"] == 1  # F6


def test_randomised_by_month_fills_empty_months_and_accumulates():
    by_month = process.randomised_by_month(_randomisation(), ("sffc", "usual"))
    assert by_month["month"].dt.strftime("%Y-%m").tolist() == ["2024-01", "2024-02", "2024-03"]
    assert by_month["sffc"].tolist() == [1, 1, 0]
    assert by_month["cumulative_usual"].tolist() == [1, 1, 2]


def test_data_cut_is_latest_date():
    tables = {
        "referrals": _referrals(),
        "randomisation": _randomisation(),
        "measures": pd.DataFrame({"completed_date": [D("2024-05-01"), pd.NaT]}),
    }
    assert process.data_cut(tables) == "2024-05-01"


def test_means_by_arm_matches_hand_computation():
    outcomes = pd.DataFrame(
        {"family_id": ["F4", "F5", "F6", "F7"], "y": [10.0, 20.0, 14.0, np.nan]}
    )
    means = impact.means_by_arm(outcomes, _randomisation(), "y").set_index("arm")
    # sffc: 10 and 14 -> mean 12, sd = sqrt(8) = 2.828427; t(0.975, 1) = 12.706205
    assert means.loc["sffc", "n"] == 2
    assert means.loc["sffc", "mean"] == pytest.approx(12.0)
    assert means.loc["sffc", "sd"] == pytest.approx(2.828427, rel=1e-6)
    assert means.loc["sffc", "ci_high"] == pytest.approx(
        12 + 12.706205 * 2.828427 / np.sqrt(2), rel=1e-6
    )
    assert means.loc["usual", "n"] == 1 and np.isnan(means.loc["usual", "sd"])


def test_welch_difference_against_r_sleep_example():
    # R's own example, t.test(extra ~ group, data = sleep) (Student's sleep data, Welch test):
    # mean difference 0.75 - 2.33 = -1.58, 95% CI -3.3654832 to 0.2054832, p-value = 0.07939.
    group1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0]
    group2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4]
    ids = [f"P{i}" for i in range(20)]
    randomisation = pd.DataFrame({"family_id": ids, "arm": ["sffc"] * 10 + ["usual"] * 10})
    outcomes = pd.DataFrame({"family_id": ids, "y": group1 + group2})
    diff = impact.welch_difference(outcomes, randomisation, "y")
    assert diff["estimate"] == pytest.approx(-1.58)
    assert diff["ci_low"] == pytest.approx(-3.3654832, abs=1e-7)
    assert diff["ci_high"] == pytest.approx(0.2054832, abs=1e-7)
    assert diff["p_value"] == pytest.approx(0.07939, abs=1e-5)
    assert (diff["n_treated"], diff["n_control"]) == (10, 10)


def test_cost_per_family_counts_only_delivery_and_supported_families():
    costs = pd.DataFrame(
        {
            "category": ["staff", "training", "usual_services", "central"],
            "amount_gbp": [6000.0, 1000.0, 50000.0, 2000.0],
            "price_year": [2024, 2024, 2024, 2025],
            "period_start": [D("2024-01-01"), D("2024-04-01"), D("2024-01-01"), D("2025-01-01")],
        }
    )
    support = pd.DataFrame({"family_id": ["F4", "F4", "F5"]})  # F5 is in usual care
    n = cba.families_supported(_randomisation(), support, treated="sffc")
    assert n == 1
    assert cba.cost_per_family(costs, n) == pytest.approx(9000.0)
    table = cba.delivery_costs(costs)
    assert table.loc["staff", "gbp_2024"] == 6000 and table.loc["central", "gbp_2025"] == 2000
    assert table["total_gbp"].sum() == 9000
    assert np.isnan(cba.cost_per_family(costs, 0))


def test_scope_keeps_only_the_hub():
    tables = {
        "las": pd.DataFrame({"la_code": ["E1", "E2"], "hub_id": ["leeds", "york"]}),
        "referrals": _referrals(),
        "randomisation": _randomisation(),
        "costs": pd.DataFrame({"hub_id": ["leeds", "central"], "amount_gbp": [1.0, 2.0]}),
        "ssda903_episodes": pd.DataFrame({"la_code": ["E1", "E2", "E2"]}),
    }
    york = restrict_to_scope(tables, "york")
    assert york["randomisation"]["family_id"].tolist() == ["F4", "F5", "F6", "F7"]
    assert york["costs"].empty
    assert len(york["ssda903_episodes"]) == 2
    assert restrict_to_scope(tables, "trial")["costs"].shape[0] == 2
    with pytest.raises(ScopeError, match="'hull'"):
        restrict_to_scope(tables, "hull")


def test_a_scope_reads_only_the_tables_used(tmp_path, monkeypatch):
    """Large tables a notebook never uses (item responses, scores) are never read."""
    from psp_eval.data.contract import TABLES
    from psp_eval.data.scope import EXTRA_TABLES

    frames = {
        "las": pd.DataFrame({"la_code": ["E1", "E2"], "hub_id": ["leeds", "york"]}),
        "referrals": _referrals(),
        "randomisation": _randomisation(),
    }
    for name in (*TABLES, *EXTRA_TABLES):
        frames.get(name, pd.DataFrame({"family_id": ["F1"]})).to_parquet(
            tmp_path / f"{name}.parquet"
        )
    from psp_eval.data import scope

    read = []
    real_read = scope.read_clean
    monkeypatch.setattr(
        scope, "read_clean", lambda path, **kw: read.append(path.stem) or real_read(path, **kw)
    )
    york = load_scope(tmp_path, "york")
    assert york["randomisation"]["family_id"].tolist() == ["F4", "F5", "F6", "F7"]
    assert york["randomisation"] is york["randomisation"]  # read and restricted once
    assert sorted(read) == ["las", "randomisation", "referrals"]
    assert set(york) == {*TABLES, *EXTRA_TABLES}
    (tmp_path / "measures.parquet").unlink()
    with pytest.raises(FileNotFoundError, match="measures.parquet does not exist"):
        load_scope(tmp_path, "york")


def test_clean_text_is_read_arrow_backed_and_only_the_columns_asked_for(tmp_path):
    """Text the clean step wrote as pandas strings comes back Arrow-backed, equal to what
    read_parquet gives; object text and every other column come back as read_parquet has them."""
    from psp_eval.data.scope import load_tables, read_clean

    frame = pd.DataFrame(
        {
            "family_id": pd.array(["F1", None, "F3"], dtype=pd.StringDtype("pyarrow")),
            "label": ["a", None, "c"],  # object text, as scores has
            "n": pd.array([1, pd.NA, 3], dtype="Int64"),
            "when": [D("2024-01-10"), pd.NaT, D("2024-03-01")],
            "ok": pd.array([True, pd.NA, False], dtype="boolean"),
            "x": [0.5, np.nan, 2.0],
        }
    )
    frame.to_parquet(tmp_path / "referrals.parquet", index=False)
    read = read_clean(tmp_path / "referrals.parquet")
    usual = pd.read_parquet(tmp_path / "referrals.parquet")
    assert read["family_id"].dtype == pd.StringDtype("pyarrow")
    assert usual["family_id"].dtype == pd.StringDtype("python")
    pd.testing.assert_frame_equal(read, usual.astype({"family_id": pd.StringDtype("pyarrow")}))
    tables = load_tables(tmp_path, ("referrals",), columns={"referrals": ["n", "family_id"]})
    assert list(tables["referrals"].columns) == ["n", "family_id"]
    pd.testing.assert_frame_equal(tables["referrals"], read[["n", "family_id"]])


def test_outputs_write_tables_figures_and_numbers(tmp_path):
    import matplotlib.pyplot as plt

    out = Outputs(tmp_path)
    shown = out.table("t", pd.DataFrame({"a": [1, 2]}))
    assert "| a |" in shown.data.replace("|   a |", "| a |")
    fig, ax = plt.subplots()
    ax.plot([1, 2])
    svg = out.figure("f", fig)
    assert (tmp_path / "figures" / "f.svg").exists() and svg._repr_svg_().startswith("<svg")
    assert "<dc:date>" not in (tmp_path / "figures" / "f.svg").read_text()
    out.number("n", np.int64(3))
    with pytest.raises(ValueError, match="cannot quote"):
        out.number("bad", float("nan"))
    out.save()
    assert json.loads((tmp_path / "numbers.json").read_text()) == {"n": 3}


@pytest.mark.parametrize(
    ("p", "text"), [(0.0004, "<0.001"), (0.001, "0.001"), (0.04418, "0.044"), (1.0, "1.000")]
)
def test_format_p(p, text):
    assert tables.format_p(p) == text


def test_markdown_table_prints_cells_as_formatted():
    from psp_eval.report.outputs import markdown_table

    frame = pd.DataFrame(
        {
            "arm": ["SFFC", "usual"],
            "n": [np.int64(1234), 5],
            "p": ["0.380", "<0.001"],
            "m": [1.5, np.nan],
            "c": ["[c]", 7],
        }
    )
    lines = markdown_table(frame).splitlines()
    assert lines[1] == "|:------|------:|-------:|----:|----:|"  # text left, numbers right
    assert lines[2] == "| SFFC  | 1,234 |  0.380 | 1.5 | [c] |"  # "0.380" kept, not 0.38
    assert lines[3] == "| usual |     5 | <0.001 |   – |   7 |"
    wrapped = markdown_table(pd.DataFrame({"key": ["cost_benefit: npv_per_family_gbp", "a_b"]}))
    assert "npv_\u200bper_\u200bfamily_\u200bgbp" in wrapped  # may wrap in a narrow column
    assert "cost_benefit:" in wrapped and "| a_b " in wrapped  # one "_": short, left whole


def test_one_column_of_a_large_table_is_read_alone(tmp_path, monkeypatch):
    """The data cut needs one date of the item responses: that column is read, not the table."""
    from psp_eval.analyses.process import data_cut
    from psp_eval.data.scope import load_tables

    day = pd.Timestamp
    pd.DataFrame({"referral_date": [day("2024-01-05")]}).to_parquet(tmp_path / "referrals.parquet")
    pd.DataFrame({"randomised_date": [day("2024-02-01")]}).to_parquet(
        tmp_path / "randomisation.parquet"
    )
    measures = pd.DataFrame({"completed_date": [day("2024-03-09"), pd.NaT], "response": [1, 2]})
    measures.to_parquet(tmp_path / "measures.parquet")
    from psp_eval.data import scope

    read = []
    real_read = scope.read_clean
    monkeypatch.setattr(
        scope, "read_clean",
        lambda path, **kw: read.append((path.stem, kw.get("columns"))) or real_read(path, **kw),
    )  # fmt: skip
    tables = load_tables(tmp_path, ("referrals", "randomisation", "measures"))
    assert data_cut(tables) == "2024-03-09"
    assert ("measures", ["completed_date"]) in read and ("measures", None) not in read
    whole = tables["measures"]  # once read whole, columns come from it
    assert tables.columns("measures", ["response"]).equals(whole[["response"]])
    assert data_cut({"referrals": pd.DataFrame({"referral_date": [day("2024-01-05")]}),
                     "randomisation": pd.DataFrame({"randomised_date": [pd.NaT]}),
                     "measures": measures}) == "2024-03-09"  # fmt: skip
