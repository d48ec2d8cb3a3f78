"""Placement mix from the LAs' own SSDA903 episodes, worked by hand."""

import numpy as np
import pandas as pd
import pytest

from psp_eval.analyses import cost_benefit as cba
from psp_eval.analyses import placement
from psp_eval.analyses.cost_benefit import Parameter

D = pd.Timestamp


def _episodes() -> tuple[pd.DataFrame, pd.DataFrame]:
    """LA E1: five children. A (5 at entry) 10 days fostered (U4), then 20 in a children's home
    (K2); B (2) 30 days fostered (U6); C (15) 100 days in a children's home, too old for the
    profile; D (8) 40 days fostered (U4); E (7) in a secure children's home (K1) since
    22/12/2023, still open at the extract date 01/01/2024: 10 days so far."""
    rows = [
        ("A", "2020-01-01", "S", "U4", "2020-01-11", "X1"),
        ("A", "2020-01-11", "P", "K2", "2020-01-31", "E13"),
        ("B", "2020-03-01", "S", "U6", "2020-03-31", "E13"),
        ("C", "2020-01-01", "S", "K2", "2020-04-10", "E13"),
        ("D", "2020-05-01", "S", "U4", "2020-06-10", "E13"),
        ("E", "2023-12-22", "S", "K1", None, None),
    ]
    episodes = pd.DataFrame(
        [{"la_code": "E1", "CHILD": c, "DECOM": D(s), "RNE": r, "LS": "V2", "PLACE": p,
          "DEC": D(e) if e else pd.NaT, "REC": rec} for c, s, r, p, e, rec in rows]
    )  # fmt: skip
    header = pd.DataFrame({"la_code": "E1", "CHILD": list("ABCDE"),
                           "DOB": [D("2015-01-01"), D("2017-06-01"), D("2005-01-01"),
                                   D("2012-01-01"), D("2016-01-01")]})  # fmt: skip
    return episodes, header


def test_share_of_care_days_in_childrens_homes_by_hand():
    episodes, header = _episodes()
    days = placement.care_days_by_child(
        episodes, header, residential_places=("K1", "K2"), max_age=10, extract_date="2024-01-01"
    ).set_index("CHILD")
    # C entered at 15: not in the profile. A 30 days (20 residential), B 30 (0), D 40 (0),
    # E 10 (10, open to the extract date)
    assert days["days"].to_dict() == {"A": 30, "B": 30, "D": 40, "E": 10}
    assert days["residential_days"].to_dict() == {"A": 20, "B": 0, "D": 0, "E": 10}
    stats = placement.share_and_beta(days)
    # R = 30 / 110 = 3/11 = 0.2727. Residuals y - R x: A 20 - 90/11 = 130/11, B -90/11,
    # D -120/11, E 10 - 30/11 = 80/11; squares sum to 45,800/121 = 378.51. Mean days 27.5:
    # V = 378.51 / (4 x 3 x 27.5^2) = 378.51 / 9,075 = 0.041709 (SE 0.2042).
    assert stats["share"] == pytest.approx(3 / 11)
    assert stats["se"] ** 2 == pytest.approx(45800 / 121 / 9075)
    # the beta with that mean and variance: a + b = R (1 - R) / V - 1 = 0.19835 / 0.041709 - 1
    # = 3.7555; a = 3/11 x 3.7555 = 1.0242, b = 8/11 x 3.7555 = 2.7312
    a, b = stats["a"], stats["b"]
    assert a == pytest.approx(1.0242, abs=1e-3) and b == pytest.approx(2.7312, abs=1e-3)
    assert a / (a + b) == pytest.approx(3 / 11)
    assert a * b / ((a + b) ** 2 * (a + b + 1)) == pytest.approx(stats["se"] ** 2)


def test_no_residential_days_gives_the_beta_of_the_counts():
    frame = pd.DataFrame({"days": [10.0, 20.0, 30.0], "residential_days": [0.0, 0.0, 0.0]})
    stats = placement.share_and_beta(frame)
    # share 0 of 3 children: Beta(0 x 3 + 0.5, 3 + 0.5)
    assert (stats["share"], stats["a"], stats["b"]) == (0.0, 0.5, 3.5)


def _assumption() -> Parameter:
    return Parameter("residential_share", 0.05, "triangular", low=0.02, high=0.15,
                     label="Share of care weeks in a children's home", source="assumption: test")  # fmt: skip


def test_each_la_uses_its_own_mix_or_the_assumption():
    episodes, header = _episodes()
    las = pd.DataFrame({"la_code": ["E1", "E2"], "la_name": ["Ash", "Bram"]})
    rules = placement.MixRules(residential_places=("K1", "K2"), max_age=10, min_children=4)
    mix = placement.placement_mix(episodes, header, las, rules, _assumption(),
                                  extract_date="2024-01-01")  # fmt: skip
    table = mix.table.set_index("la_name")
    # Ash has 4 children of the profile (enough): its own share, 3/11; Bram has no episodes:
    # the assumption (5%); the LAs pooled hold Ash's children only: 3/11, own data
    assert table.loc["Ash", "used"] == "own data" and table.loc["Bram", "used"] == "assumption"
    assert mix.by_la["E1"].value == pytest.approx(3 / 11) and mix.by_la["E1"].distribution == "beta"
    assert mix.by_la["E2"].value == 0.05 and mix.by_la["E2"].source.startswith("assumption")
    assert mix.scope.value == pytest.approx(3 / 11) and table.loc["All LAs", "children"] == 4
    assert mix.numbers()["n_las_own_mix"] == 1 and mix.numbers()["n_las_assumed_mix"] == 1
    # with at least 5 children needed, every LA and the scope fall back to the assumption
    strict = placement.placement_mix(episodes, header, las, placement.MixRules(min_children=5),
                                     _assumption())  # fmt: skip
    assert set(strict.table["used"]) == {"assumption"} and strict.scope.value == 0.05
    with pytest.raises(cba.CbaError, match="unknown"):
        placement.MixRules.from_mapping({"min_childs": 3})


def test_the_mix_table_hides_counts_of_one_to_four_children():
    from psp_eval.present import cost_benefit as shown

    episodes, header = _episodes()
    las = pd.DataFrame({"la_code": ["E1", "E2"], "la_name": ["Ash", "Bram"]})
    mix = placement.placement_mix(episodes, header, las, placement.MixRules(min_children=4),
                                  _assumption())  # fmt: skip
    table = shown.placement_mix_shown(mix).set_index("Local authority")
    children = table.columns[0]
    # Ash's 4 children (and the total, which would reveal them) are hidden; Bram's 0 is not
    assert table.at["Ash", children] == "[c]" and table.at["All LAs", children] == "[c]"
    assert table.at["Bram", children] == 0
    assert table.at["Ash", "Placement mix used"] == "own data"
    assert table.at["Ash", "Share of care days in children's homes, as used (%)"] == "[c]"


def test_cashable_savings_by_la_take_each_las_own_mix():
    from test_cba import _fixed_inputs

    inputs = _fixed_inputs()  # no residential care: care £500 per family, all cashable
    draws = cba.simulate(inputs, draws=20, seed=3)
    shares = {"E1": inputs.parameters["residential_share"],
              "E2": Parameter("residential_share", 0.5)}  # fmt: skip
    by_la = cba.cashable_by_la(inputs, draws, shares, seed=3)
    # E1 keeps the scope's share (0): £500. E2: half the weeks at £4,000, half at £1,000:
    # 0.025 entries x 20 weeks x £2,500 = £1,250
    np.testing.assert_allclose(by_la["E1"], 500.0)
    np.testing.assert_allclose(by_la["E2"], 1250.0)
