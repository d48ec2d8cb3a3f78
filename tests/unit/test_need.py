"""Need: periods of care from hand-made SSDA903 episodes, each profile rule and edge case."""

import json
from pathlib import Path

import pandas as pd
import pytest

from conftest import shipped_config
from psp_eval.analyses import need
from psp_eval.analyses.need import NeedError, ProfileRules
from psp_eval.present import disclosure

ROOT = Path(__file__).resolve().parents[2]
EXTRACT = "2025-03-31"


def _episodes(*rows):
    """Episodes from (CHILD, DECOM, RNE, LS, DEC, REC) tuples, all in LA E1."""
    frame = pd.DataFrame(rows, columns=["CHILD", "DECOM", "RNE", "LS", "DEC", "REC"])
    frame.insert(0, "la_code", "E1")
    for col in ("DECOM", "DEC"):
        frame[col] = pd.to_datetime(frame[col])
    return frame


def _header(**dobs):
    return pd.DataFrame(
        {"la_code": "E1", "CHILD": list(dobs), "DOB": pd.to_datetime(list(dobs.values()))}
    )


DEFAULT_RULES = ProfileRules()


def _classify(episodes, header, rules=DEFAULT_RULES, extract=EXTRACT):
    return need.classify_periods(need.periods_of_care(episodes), header, rules, extract)


def test_x1_links_episodes_into_one_period():
    ep = _episodes(
        ("A", "2020-05-01", "S", "V2", "2020-05-06", "X1"),
        ("A", "2020-05-06", "P", "V2", "2020-05-12", "E4A"),
    )
    periods = need.periods_of_care(ep)
    assert len(periods) == 1
    row = periods.iloc[0]
    assert (row["start"], row["end"]) == (pd.Timestamp("2020-05-01"), pd.Timestamp("2020-05-12"))
    assert row["n_episodes"] == 2 and row["ls_all"] == "V2"
    fits = _classify(ep, _header(A="2015-01-01"))
    assert bool(fits["fits"].iloc[0])  # 11 days over two episodes


def test_a_period_over_x1_episodes_can_be_too_long_although_each_episode_is_short():
    ep = _episodes(
        ("A", "2020-05-01", "S", "V2", "2020-05-10", "X1"),
        ("A", "2020-05-10", "T", "V2", "2020-05-20", "E4A"),
    )
    out = _classify(ep, _header(A="2015-01-01"))
    assert out["days"].iloc[0] == 19 and not out["fits"].iloc[0]


def test_rne_s_or_an_end_other_than_x1_starts_a_new_period():
    ep = _episodes(
        ("A", "2020-05-01", "S", "V2", "2020-05-05", "E4A"),
        ("A", "2020-09-01", "S", "V2", "2020-09-03", "E13"),
        ("B", "2020-05-01", "S", "C1", "2020-05-05", "X1"),
        ("B", "2020-05-05", "S", "V2", "2020-05-07", "E4A"),  # RNE S despite X1 before it
        ("C", "2020-05-01", "S", "V2", "2020-05-05", "X1"),
        ("C", "2020-06-01", "P", "V2", "2020-06-05", "E4A"),  # gap: X1 must start the same day
    )
    periods = need.periods_of_care(ep)
    assert periods.groupby("CHILD")["period"].max().to_dict() == {"A": 2, "B": 2, "C": 2}


def test_age_rule_counts_completed_years_and_the_birthday_itself():
    ep = _episodes(
        ("A", "2020-05-01", "S", "V2", "2020-05-03", "E4A"),  # 10 (11th birthday tomorrow)
        ("B", "2020-05-01", "S", "V2", "2020-05-03", "E4A"),  # 11 today
    )
    out = _classify(ep, _header(A="2009-05-02", B="2009-05-01"))
    assert out.set_index("CHILD")["age_at_start"].to_dict() == {"A": 10, "B": 11}
    assert out.set_index("CHILD")["fits"].to_dict() == {"A": True, "B": False}
    older = _classify(ep, _header(A="2009-05-02", B="2009-05-01"), ProfileRules(max_age=11))
    assert older["fits"].all()


def test_duration_rule_is_strictly_under_14_days():
    ep = _episodes(
        ("A", "2020-05-01", "S", "V2", "2020-05-14", "E4A"),  # 13 days
        ("B", "2020-05-01", "S", "V2", "2020-05-15", "E4A"),  # 14 days
        ("C", "2020-05-01", "S", "V2", "2020-05-01", "E4A"),  # same day
    )
    out = _classify(ep, _header(A="2015-01-01", B="2015-01-01", C="2015-01-01"))
    assert out.set_index("CHILD")["fits"].to_dict() == {"A": True, "B": False, "C": True}


def test_legal_status_at_entry_or_throughout():
    ep = _episodes(
        ("A", "2020-05-01", "S", "V2", "2020-05-04", "X1"),
        ("A", "2020-05-04", "L", "C1", "2020-05-08", "E4A"),  # becomes a care order
        ("B", "2020-05-01", "S", "C2", "2020-05-04", "E4A"),
        ("C", "2020-05-01", "S", "L1", "2020-05-02", "X1"),
        ("C", "2020-05-02", "L", "V2", "2020-05-08", "E4A"),  # police protection, then s20
    )
    header = _header(A="2015-01-01", B="2015-01-01", C="2015-01-01")
    at_entry = _classify(ep, header).set_index("CHILD")["fits"].to_dict()
    assert at_entry == {"A": True, "B": False, "C": False}
    rules = ProfileRules(legal_status_rule="throughout")
    throughout = _classify(ep, header, rules).set_index("CHILD")["fits"].to_dict()
    assert throughout == {"A": False, "B": False, "C": False}
    wider = ProfileRules(legal_status=("V2", "L1"), legal_status_rule="throughout")
    assert _classify(ep, header, wider).set_index("CHILD")["fits"].to_dict()["C"]


def test_open_periods_long_enough_already_do_not_fit_and_recent_ones_are_censored():
    ep = _episodes(
        ("A", "2025-01-01", "S", "V2", None, None),  # open 89 days: known not short
        ("B", "2025-03-25", "S", "V2", None, None),  # open 6 days: censored
        ("C", "2025-03-25", "S", "C2", None, None),  # censored, but not s20: not counted
        ("D", "2025-03-20", "S", "V2", "2025-03-22", "X1"),  # X1 then an open episode
        ("D", "2025-03-22", "P", "V2", None, None),
    )
    header = _header(A="2015-01-01", B="2015-01-01", C="2015-01-01", D="2015-01-01")
    out = _classify(ep, header).set_index("CHILD")
    assert out["status"].to_dict() == {
        "A": "open",
        "B": "open_censored",
        "C": "open_censored",
        "D": "open_censored",
    }
    assert not out["fits"].any()
    assert out["censored"].to_dict() == {"A": False, "B": True, "C": False, "D": True}
    counts = need.count_profile(out.reset_index())
    assert counts[["children_fitting", "children_censored"]].iloc[0].tolist() == [0, 2]
    upper = _classify(ep, header, ProfileRules(open_short="include")).set_index("CHILD")
    assert upper["fits"].to_dict() == {"A": False, "B": True, "C": False, "D": True}


def test_extract_date_defaults_to_the_latest_date_in_the_episodes():
    ep = _episodes(
        ("A", "2025-03-01", "S", "V2", "2025-03-05", "E4A"),
        ("B", "2025-03-10", "S", "V2", None, None),
    )
    out = need.classify_periods(need.periods_of_care(ep), _header(A="2015-01-01", B="2015-01-01"))
    assert out.attrs["extract_date"] == pd.Timestamp("2025-03-10")
    assert out.set_index("CHILD").loc["B", "status"] == "open_censored"


def test_periods_crossing_a_year_end_count_in_the_year_they_start():
    ep = _episodes(
        ("A", "2020-03-28", "S", "V2", "2020-04-03", "E4A"),  # FY 2019-20, ends in 2020-21
        ("B", "2020-04-01", "S", "V2", "2020-04-03", "E4A"),  # first day of FY 2020-21
        ("C", "2019-12-28", "S", "V2", "2020-01-03", "E4A"),
    )
    header = _header(A="2015-01-01", B="2015-01-01", C="2015-01-01")
    out = _classify(ep, header).set_index("CHILD")
    assert out["year"].to_dict() == {"A": "2019-20", "B": "2020-21", "C": "2019-20"}
    calendar = _classify(ep, header, ProfileRules(year_start_month=1)).set_index("CHILD")
    assert calendar["year"].to_dict() == {"A": "2020", "B": "2020", "C": "2019"}


def test_a_child_starting_twice_in_a_year_counts_once():
    ep = _episodes(
        ("A", "2020-05-01", "S", "C1", "2020-08-01", "E4A"),
        ("A", "2020-10-01", "S", "V2", "2020-10-05", "E4A"),  # second period fits
        ("B", "2020-05-01", "S", "V2", "2020-05-03", "E4A"),
        ("B", "2020-06-01", "S", "V2", "2020-06-03", "E4A"),  # fits twice: one child
        ("C", "2020-05-01", "S", "C2", "2020-12-01", "E4A"),
    )
    out = _classify(ep, _header(A="2015-01-01", B="2015-01-01", C="2015-01-01"))
    counts = need.count_profile(out).iloc[0]
    assert counts["children_starting"] == 3
    assert counts["periods_starting"] == 5
    assert counts["children_fitting"] == 2
    assert counts["share_pct"] == pytest.approx(200 / 3)


def test_child_ids_are_per_la():
    ep = pd.concat(
        [
            _episodes(("A", "2020-05-01", "S", "V2", "2020-05-03", "E4A")),
            _episodes(("A", "2020-05-01", "S", "C2", "2020-09-03", "E4A")).assign(la_code="E2"),
        ]
    )
    header = pd.concat([_header(A="2015-01-01"), _header(A="2003-01-01").assign(la_code="E2")])
    out = _classify(ep, header)
    by_la = need.count_profile(out, ["la_code"]).set_index("la_code")
    assert by_la["children_fitting"].to_dict() == {"E1": 1, "E2": 0}
    assert need.count_profile(out)["children_starting"].iloc[0] == 2


def test_unknown_rule_and_missing_dob_are_refused():
    with pytest.raises(NeedError, match="unknown profile rule.*max_dayz"):
        ProfileRules.from_mapping({"max_dayz": 14})
    with pytest.raises(NeedError, match="legal_status_rule"):
        ProfileRules(legal_status_rule="sometimes")
    ep = _episodes(("A", "2020-05-01", "S", "V2", "2020-05-03", "E4A"))
    with pytest.raises(NeedError, match="no DOB"):
        _classify(ep, _header(B="2015-01-01"))


def test_shipped_settings_give_the_seed_study_profile():
    config = need.need_settings(shipped_config()["need"])
    assert config["profile"] == ProfileRules()


def test_complete_years_and_trend():
    years = pd.Series(["2018-19", "2019-20", "2024-25"])
    done = need.complete_years(years, pd.Timestamp("2019-04-01"), pd.Timestamp("2025-03-30"))
    assert done.tolist() == [False, True, False]
    t = need.trend(pd.Series([10, 12, 14, 16]))
    assert t.per_year == pytest.approx(2.0) and t.ci_low == pytest.approx(2.0)


def test_reach_per_hub_and_overall():
    supported = pd.DataFrame(
        {"hub_id": ["h1", "h2"], "families_supported": [20, 10], "delivery_years": [2.0, 2.0]}
    )
    need_by_hub = pd.DataFrame(
        {
            "hub_id": ["h1", "h1", "h2", "h2"],
            "year": ["a", "b", "a", "b"],
            "children_fitting": [40, 60, 5, 15],
        }
    )
    out = need.reach(supported, need_by_hub, years=["a", "b"]).set_index("hub_id")
    assert out.loc["h1", "reach_pct"] == pytest.approx(100 * 10 / 50)
    assert out.loc["h2", "reach_pct"] == pytest.approx(100 * 5 / 10)
    assert out.loc["all", "reach_pct"] == pytest.approx(100 * 15 / 60)


def test_scotland_feasibility_per_la():
    cla = pd.DataFrame(
        {
            "la_code": ["S1"] * 4 + ["S2"] * 3,
            "year": ["2018-19", "2019-20", "2020-21", "2021-22"] * 1
            + ["2019-20", "2020-21", "2021-22"],
            "starts": [1000, 400, 400, 400, 100, 100, 100],
            "s25_share": [0.5] * 7,
            "short_share": [0.2] * 7,
        }
    )
    out = need.scotland_feasibility(cla, min_profile_per_year=20, years=3).set_index("la_code")
    assert out.loc["S1", "profile_per_year"] == pytest.approx(40.0)  # the 2018-19 row is too old
    assert out.loc["S1", "first_year"] == "2019-20"
    assert out["feasible"].to_dict() == {"S1": True, "S2": False}
    with pytest.raises(NeedError, match="s25_share"):
        need.scotland_feasibility(cla.assign(s25_share=50), min_profile_per_year=20)


def test_demo_profile_share_is_near_the_planted_value(tmp_path):
    from psp_eval.data import demo as synth

    synth.generate(tmp_path, seed=3, n_hubs=2, n_las=4, n_families=60)
    truth = json.loads((tmp_path / "truth.json").read_text())
    read = {"parse_dates": ["DOB"], "dayfirst": True, "dtype": {"CHILD": str}}
    header = pd.read_csv(tmp_path / "ssda903_header.csv", **read)
    episodes = pd.read_csv(
        tmp_path / "ssda903_episodes.csv",
        parse_dates=["DECOM", "DEC"],
        dayfirst=True,
        dtype={"CHILD": str},
    )
    out = _classify(episodes, header, extract=truth["design"]["ssda903_window"][1])
    fitting_children = out.loc[out["fits"], ["la_code", "CHILD"]].drop_duplicates()
    realised = truth["realised"]["ssda903"]
    assert len(fitting_children) == realised["profile_children"]
    share = len(fitting_children) / realised["children"]
    assert share == pytest.approx(truth["effects"].get("profile_share", 0.15), abs=0.03)


def test_part_of_whole_suppression_hides_small_parts_and_small_rests():
    frame = pd.DataFrame(
        {
            "children_starting": [100, 50, 40, 190],
            "children_fitting": [3, 48, 10, 61],
            "share_pct": [3.0, 96.0, 25.0, 32.1],
        },
        index=["a", "b", "c", "all"],
    )
    shown = disclosure.suppress_part_of_whole(
        frame, "children_fitting", "children_starting", total_row="all", derived=("share_pct",)
    )
    assert shown.loc["a", "children_fitting"] == "[c]" and shown.loc["a", "share_pct"] == "[c]"
    assert shown.loc["b", "share_pct"] == "[c]"  # 2 not fitting: 48 of 50 would reveal them
    # a second row goes too, so the total cannot give a's hidden count back
    assert (shown.loc[["b", "c"], "children_fitting"] == "[c]").any()
    assert shown.loc["all", "children_fitting"] == 61


def test_families_supported_by_hub_counts_sffc_families_with_support():
    referrals = pd.DataFrame(
        {"family_id": ["f1", "f2", "f3", "f4"], "la_code": ["E1", "E1", "E2", "E2"]}
    )
    randomisation = pd.DataFrame({
        "family_id": ["f1", "f2", "f3", "f4"], "arm": ["sffc", "sffc", "usual", "sffc"],
        "randomised_date": pd.to_datetime(["2023-01-01", "2023-07-02", "2024-01-01", "2025-01-01"]),
    })  # fmt: skip
    support = pd.DataFrame({"family_id": ["f1", "f1", "f3", "f4"]})
    las = pd.DataFrame({"la_code": ["E1", "E2"], "hub_id": ["h1", "h2"]})
    out = need.families_supported_by_hub(referrals, randomisation, support, las, treated="sffc")
    assert out.set_index("hub_id")["families_supported"].to_dict() == {"h1": 1, "h2": 1}
    assert out["delivery_years"].tolist() == pytest.approx([731 / 365.25] * 2)


def test_periods_list_their_legal_statuses_as_one_join_per_period_would():
    """The vectorised ls_all is what a "|".join of each period's distinct statuses (in order)
    gives, on demo-drawn episodes with legal-status changes; and the counts follow."""
    from psp_eval.data import demo as synth

    tables = synth.national_ssda903(n_las=8, n_episodes=8_000, seed=2).tables
    episodes, header = tables["ssda903_episodes"], tables["ssda903_header"]
    periods = need.periods_of_care(episodes)
    ordered = episodes.sort_values(["la_code", "CHILD", "DECOM"], kind="stable")
    period = periods.index.repeat(periods["n_episodes"])
    joined = ordered.groupby(period)["LS"].agg(lambda ls: "|".join(dict.fromkeys(ls)))
    assert periods["ls_all"].tolist() == joined.tolist()
    assert periods["ls_all"].str.contains("|", regex=False).any()  # changes are exercised
    throughout = ProfileRules(legal_status_rule="throughout")
    out = need.classify_periods(periods, header, throughout)
    expected = periods["ls_all"].map(lambda s: set(s.split("|")) <= {"V2"})
    assert out["legal"].tolist() == expected.tolist()


def test_arrow_backed_text_as_the_contract_types_it_gives_the_same_counts(tmp_path):
    """The contract's tables hold Arrow-backed text (its comparisons give Arrow booleans);
    the need analysis counts them exactly as Python-backed text."""
    from psp_eval.data import contract
    from psp_eval.data import demo as synth

    synth.write_national_ssda903(tmp_path, n_las=6, n_episodes=4_000, seed=4)
    typed = contract.validate_dir(tmp_path, contract.read_hubs(tmp_path / "hubs.tsv"), {}).tables
    arrow = {name: typed[name] for name in ("ssda903_episodes", "ssda903_header")}
    assert str(arrow["ssda903_episodes"]["LS"].dtype.storage) == "pyarrow"
    python = {
        name: table.astype({c: "string[python]" for c in table if table[c].dtype == "string"})
        for name, table in arrow.items()
    }
    for rules in (DEFAULT_RULES, ProfileRules(legal_status_rule="throughout")):
        counted = [
            need.count_profile(
                _classify(t["ssda903_episodes"], t["ssda903_header"], rules), ["la_code"]
            )
            for t in (arrow, python)
        ]
        pd.testing.assert_frame_equal(*counted, check_dtype=False)
        assert counted[0]["children_fitting"].sum() > 0
