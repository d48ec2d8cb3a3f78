"""The need report's tables and numbers from hand-made classified periods: the counts, shares
and means each table shows, and the cells disclosure control hides."""

import pandas as pd
import pytest

from psp_eval.analyses.need import NeedError, ProfileRules
from psp_eval.present import need as show

RULES = ProfileRules()
YEARS = ["2022-23", "2023-24", "2024-25"]
LAS = pd.DataFrame({"la_code": ["E1", "E2"], "la_name": ["Bravo", "Alpha"], "hub_id": ["h1", "h2"]})
NAMES = {"h1": "North", "h2": "South"}


def _classified(counts, extract="2025-03-31"):
    """One period per child from {(la, year): (starting, fitting, censored)}; years start in
    April 1, each child is new (CHILD ids per LA)."""
    rows = []
    for (la, year), (starting, fitting, censored) in counts.items():
        start = pd.Timestamp(f"{year[:4]}-04-01")
        for i in range(starting):
            rows.append({
                "la_code": la, "CHILD": f"{year}-{i}", "start": start, "year": year,
                "fits": i < fitting, "censored": fitting <= i < fitting + censored,
                "status": "open_censored" if fitting <= i < fitting + censored else "closed",
            })  # fmt: skip
    frame = pd.DataFrame(rows)
    frame.attrs["extract_date"] = pd.Timestamp(extract)
    return frame


CLASSIFIED = _classified({
    ("E1", "2022-23"): (40, 10, 0), ("E1", "2023-24"): (40, 12, 0), ("E1", "2024-25"): (40, 14, 1),
    ("E2", "2022-23"): (20, 2, 0), ("E2", "2023-24"): (20, 4, 0), ("E2", "2024-25"): (20, 6, 0),
    ("E2", "2025-26"): (10, 1, 2),
}, extract="2025-06-30")  # fmt: skip


def test_whole_years_are_flagged_and_an_extract_without_one_is_refused():
    overall = show.profile_by_year(CLASSIFIED, RULES)
    assert overall["year"].tolist() == [*YEARS, "2025-26"]
    assert overall["complete"].tolist() == [True, True, True, False]
    assert overall["children_fitting"].tolist() == [12, 16, 20, 1]
    part = _classified({("E1", "2024-25"): (10, 2, 0)}, extract="2024-12-31")
    with pytest.raises(NeedError, match="no complete year"):
        show.profile_by_year(part, RULES)


def test_year_numbers_average_the_whole_years_only():
    overall = show.profile_by_year(CLASSIFIED, RULES)
    numbers = show.year_numbers(CLASSIFIED, overall, RULES)
    assert numbers["extract_date"] == numbers["data_cut"] == "2025-06-30"
    assert (numbers["first_year"], numbers["last_year"], numbers["n_years"]) == (
        "2022-23",
        "2024-25",
        3,
    )
    assert numbers["n_las"] == 2
    assert numbers["children_starting_per_year"] == 60
    assert numbers["profile_children_per_year"] == 16  # (12 + 16 + 20) / 3
    assert numbers["profile_share_pct"] == round(100 * 48 / 180, 1)
    assert (numbers["censored_periods"], numbers["open_periods"]) == (3, 3)
    assert (numbers["profile_max_age"], numbers["profile_max_days"]) == (10, 14)


def test_years_table_hides_small_counts_and_their_share():
    table = show.years_table(show.profile_by_year(CLASSIFIED, RULES))
    assert list(table.columns) == list(show.YEAR_LABELS.values())
    first, part = table.iloc[0], table.iloc[3]
    assert (first["Starting care"], first["Fitting the profile"]) == (60, 12)
    assert first["Share fitting (%)"] == 20.0 and first["Whole year"] == "yes"
    assert part["Fitting the profile"] == "[c]" and part["Share fitting (%)"] == "[c]"
    assert part["Censored"] == "[c]" and part["Whole year"] == "no (part year)"


def test_trend_numbers_need_three_whole_years():
    overall = show.profile_by_year(CLASSIFIED, RULES)
    done = overall[overall["complete"]]
    numbers = show.trend_numbers(done)
    assert numbers["trend_per_year"] == 4.0  # 12, 16, 20
    assert numbers["trend_ci_low"] == numbers["trend_ci_high"] == 4.0  # an exact line
    assert numbers["share_trend_per_year"] == round((20 / 60 - 12 / 60) * 50, 2)
    assert show.trend_numbers(done.head(2)) == {}


def test_hub_trend_keeps_the_years_asked_for():
    by_hub = show.hub_trend(CLASSIFIED, LAS, YEARS)
    assert set(by_hub["year"]) == set(YEARS)
    assert by_hub.set_index(["hub_id", "year"]).loc[("h2", "2024-25"), "children_fitting"] == 6


def test_per_hub_adds_the_all_hubs_row_and_names_the_hubs():
    hubs = show.per_hub(CLASSIFIED, LAS, YEARS, NAMES)
    rows = hubs.set_index("hub")
    assert rows.index.tolist() == ["North", "South", "All hubs"]
    assert rows.loc["North", "children_fitting"] == 36
    assert rows.loc["All hubs", "children_fitting"] == 48
    assert rows.loc["All hubs", "children_starting"] == 180
    assert rows.loc["South", "share_pct"] == 20.0 and rows.loc["South", "fitting_per_year"] == 4.0
    table = show.hubs_table(hubs)
    assert table.index.name == "Hub" and list(table.columns) == list(show.PLACE_LABELS.values())
    assert table.loc["All hubs", "Fitting per year"] == 16.0


def test_per_la_is_ordered_by_hub_then_name_and_shows_the_share_range():
    las = pd.DataFrame({"la_code": ["E1", "E2"], "la_name": ["Bravo", "Alpha"], "hub_id": "h1"})
    counts = show.per_la(CLASSIFIED, las, YEARS, NAMES)
    assert counts["la_name"].tolist() == ["Alpha", "Bravo"]
    assert counts["hub"].tolist() == ["North", "North"]
    assert show.la_numbers(counts) == {"la_share_min": 20.0, "la_share_max": 30.0}
    table = show.las_table(counts)
    assert table.index.name == "Local authority"
    assert table.loc["Bravo", "Fitting the profile"] == 36 and table.loc["Alpha", "Hub"] == "North"


def test_per_la_hides_an_la_with_few_children_fitting():
    few = _classified({("E1", y): (30, 10, 0) for y in YEARS} | {("E2", "2022-23"): (30, 3, 0)})
    table = show.las_table(show.per_la(few, LAS, YEARS, NAMES))
    assert table.loc["Alpha", "Fitting the profile"] == "[c]"
    assert table.loc["Alpha", "Share fitting (%)"] == "[c]"
    assert table.loc["Bravo", "Fitting the profile"] == 30


REACH = pd.DataFrame({
    "hub_id": ["h1", "h2", "all"],
    "families_supported": [30, 3, 33],
    "delivery_years": [2.0, 2.0, 2.0],
    "profile_children_per_year": [40.0, 20.0, 60.0],
    "supported_per_year": [15.0, 1.5, 16.5],
    "reach_pct": [37.5, 7.5, 27.5],
})  # fmt: skip


def test_reach_table_hides_a_hub_with_few_families_but_keeps_zero():
    table = show.reach_table(REACH, NAMES)
    assert table.index.tolist() == ["North", "South", "All hubs"]
    assert table.loc["North"].tolist() == [30, 15, 40, 37.5]
    assert table.loc["South"].tolist() == ["[c]"] * 4
    zero = show.reach_table(REACH.assign(families_supported=[30, 0, 30]), NAMES)
    assert zero.loc["South", "Families supported"] == 0
    assert zero.loc["South", "Reach (%)"] == "[c]"


def test_reach_numbers_quote_the_all_hubs_row():
    assert show.reach_numbers(REACH, YEARS) == {
        "reach_years": "2022-23 to 2024-25",
        "families_supported": 33,
        "delivery_years": 2.0,
        "supported_per_year": 16,
        "reach_profile_per_year": 60,
        "reach_pct": 27.5,
    }


def test_scotland_without_its_table_says_so():
    table, numbers = show.scotland(pd.DataFrame(), {"min_profile_per_year": 20, "years": 3})
    assert table.iloc[0, 0] == show.NO_SCOTLAND
    assert numbers == {"scotland_threshold": 20, "scotland_n_las": 0, "scotland_n_feasible": 0}


def test_scotland_estimates_each_la_over_the_latest_years():
    cla = pd.DataFrame({
        "la_code": ["S1", "S1", "S2"], "la_name": ["Glen", "Glen", "Firth"],
        "year": ["2021-22", "2022-23", "2022-23"], "starts": [100, 300, 50],
        "s25_share": [0.5, 0.5, 0.2], "short_share": [0.5, 0.5, 0.5], "young_share": [1.0, 1.0, 1.0],
    })  # fmt: skip
    table, numbers = show.scotland(cla, {"min_profile_per_year": 20, "years": 2})
    assert numbers == {
        "scotland_threshold": 20,
        "scotland_n_las": 2,
        "scotland_n_feasible": 1,
        "scotland_years": "2021-22 to 2022-23",
    }
    glen = table.set_index("Local authority").loc["Glen"]
    assert glen["Years"] == "2021-22 to 2022-23" and glen["Starting care a year"] == 200
    assert glen["Fitting the profile a year (estimate)"] == 50.0  # mean of 25 and 75
    assert glen["Voluntary s25 (%)"] == 50.0 and glen["Enough for a hub"] == "yes"
    assert table.set_index("Local authority").loc["Firth", "Enough for a hub"] == "no"


def test_trend_figure_draws_the_years_and_each_hub_by_name():
    import matplotlib.pyplot as plt

    from psp_eval.present.figures import need as need_figures

    overall = show.profile_by_year(CLASSIFIED, RULES)
    done = overall[overall["complete"]]
    fig = need_figures.trend_figure(done, show.hub_trend(CLASSIFIED, LAS, YEARS), NAMES)
    left, right = fig.axes
    assert [t.get_text() for t in left.get_xticklabels()] == YEARS
    assert [b.get_height() for b in left.patches] == [60, 60, 60, 12, 16, 20]
    legend = [t.get_text() for t in right.get_legend().get_texts()]
    assert legend == ["North", "South", "All LAs"]
    south = right.get_lines()[1].get_ydata()
    assert list(south) == [10.0, 20.0, 30.0]
    plt.close(fig)
