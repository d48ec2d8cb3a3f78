"""Monitoring: runs on partial and broken data, projects recruitment, never unblinds."""

import shutil

import pandas as pd
import pytest

from conftest import shipped_config
from psp_eval.analyses import monitoring
from psp_eval.analyses.monitoring import BlindingError, MonitoringConfig
from psp_eval.data import contract, scoring
from psp_eval.data import demo as synth

HUBS = pd.DataFrame(
    {
        "hub_id": ["h1", "h2"],
        "hub_name": ["One", "Two"],
        "nation": "England",
        "recruitment_target": [10, 20],
    }
)


def _tables():
    dates = pd.to_datetime(
        ["2025-01-06", "2025-02-03", "2025-02-10", "2025-03-03", "2025-03-10", "2025-03-17"]
    )
    rand = pd.DataFrame(
        {
            "family_id": [f"F{i}" for i in range(6)],
            "randomised_date": dates,
            "arm": ["sffc", "usual"] * 3,
            "stratum": ["h1|emerging"] * 4 + ["h2|emerging"] * 2,
            "block_id": "b",
        }
    )
    measures = pd.DataFrame(
        {
            "family_id": ["F0", "F1", "F4"],
            "timepoint": "week8",
            "completed_date": pd.to_datetime(["2025-03-03", "2025-04-01", "2025-05-12"]),
        }
    )
    support = pd.DataFrame(
        {
            "family_id": ["F0", "F0", "F2"],
            "start_date": pd.to_datetime(["2025-01-16", "2025-01-10", "2025-03-01"]),
        }
    )
    withdrawals = pd.DataFrame(
        {"family_id": ["F2"], "withdrawal_date": pd.to_datetime(["2025-03-01"])}
    )
    return {
        "randomisation": rand,
        "measures": measures,
        "support": support,
        "withdrawals": withdrawals,
    }


def test_recruitment_against_target_with_a_projection():
    cut = pd.Timestamp("2025-03-31")
    table = monitoring.recruitment(
        _tables(), HUBS, cut=cut, target_date=pd.Timestamp("2025-06-30"), recent_weeks=5
    )
    h1 = table.set_index("hub_id").loc["h1"]
    assert (h1["randomised"], h1["target"], h1["pct_of_target"]) == (4, 10, 40.0)
    assert h1["per_week_recent"] == pytest.approx(
        1 / 5
    )  # one family (03 March) in the 5 weeks after 24 February
    assert h1["projected_at_target_date"] == pytest.approx(4 + 0.2 * 91 / 7)
    assert h1["target_reached_by"] == cut + pd.Timedelta(weeks=6 / 0.2)
    total = table.set_index("hub_id").loc[monitoring.ALL_HUBS]
    assert (total["randomised"], total["target"]) == (6, 30)


def test_followup_due_excludes_recent_and_withdrawn_families():
    table = monitoring.followup_completion(
        _tables(), HUBS, cut=pd.Timestamp("2025-05-20"), due_days=70
    )
    # due: randomised on or before 2025-03-11, not withdrawn: F0, F1, F3 (h1), F4 (h2); F2 withdrew
    got = table.set_index("hub_id")
    assert got.loc["h1", ["due", "returned"]].tolist() == [3, 2]
    assert got.loc["h2", ["due", "returned"]].tolist() == [1, 1]
    assert got.loc[monitoring.ALL_HUBS, "pct"] == pytest.approx(75.0)


def test_support_started_counts_sffc_families_and_the_first_episode():
    table = monitoring.support_started(_tables(), HUBS, cut=pd.Timestamp("2025-05-20"), due_days=42)
    got = table.set_index("hub_id")
    assert got.loc["h1", ["sffc_due", "support_started"]].tolist() == [2, 2]  # F0 and F2
    assert got.loc["h1", "median_days_to_support"] == pytest.approx(
        (4 + 19) / 2
    )  # F0 from its first episode


def test_as_of_drops_later_rows():
    early = monitoring.as_of(_tables(), pd.Timestamp("2025-02-28"))
    assert len(early["randomisation"]) == 3
    assert monitoring.data_cut(early) == pd.Timestamp("2025-02-10")


def test_blinding_check_refuses_outcomes_by_arm():
    by_arm = pd.DataFrame({"arm": ["sffc", "usual"], "sdq_mean": [12.0, 14.0]})
    with pytest.raises(BlindingError):
        monitoring.check_blinded({"means": by_arm})
    wide = pd.DataFrame({"hub_id": ["h1"], "sffc_gad7": [8.0], "usual_gad7": [9.0]})
    with pytest.raises(BlindingError):
        monitoring.check_blinded({"x": wide})
    with pytest.raises(BlindingError):
        monitoring.check_blinded({}, {"sdq_total_sffc": 12.0})
    monitoring.check_blinded({"pooled": pd.DataFrame({"hub_id": ["h1"], "sdq_returned": [3]})})
    monitoring.check_blinded({"support": pd.DataFrame({"hub_id": ["h1"], "sffc_due": [3]})})


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    synth.generate(folder, seed=5, n_hubs=2, n_las=4, n_families=120)
    return folder


def test_summaries_of_the_demo_hold_no_arm_split_outcome(demo):
    hubs = contract.read_hubs(demo / "hubs.tsv")
    result = contract.validate_dir(demo, hubs, scoring.load_instruments("config/instruments.yaml"))
    config = MonitoringConfig(
        target_date=pd.Timestamp("2026-01-31"), as_of=pd.Timestamp("2025-03-31")
    )
    out = monitoring.summaries(result.tables, hubs, config)
    for name, frame in out.items():
        assert "arm" not in frame.columns, name
        text = frame.to_csv().lower()
        for word in ("sdq", "gad7", "mspss", "usual"):
            assert word not in text, (name, word)
    assert out["recruitment"]["randomised"].iloc[-1] > 0


def test_a_folder_that_fails_validation_still_gives_every_summary(demo, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(demo, broken)
    (broken / "surveys.csv").unlink()  # a missing table
    measures = (broken / "measures.csv").read_text().splitlines()
    measures[3] = measures[3].replace("week8", "week9").replace("baseline", "basline")
    (broken / "measures.csv").write_text("\n".join(measures) + "\n")
    rand = pd.read_csv(broken / "randomisation.csv", dtype=str)
    rand.loc[0, "randomised_date"] = "31/01/2025"  # wrong date format: the cell becomes empty
    rand.to_csv(broken / "randomisation.csv", index=False)
    hubs = contract.read_hubs(demo / "hubs.tsv")
    result = contract.validate_dir(
        broken, hubs, scoring.load_instruments("config/instruments.yaml")
    )
    assert not result.ok
    issues = monitoring.data_quality(result.problems)
    assert {"surveys.csv", "measures.csv", "randomisation.csv"} <= set(issues["file"])
    assert rand.loc[0, "family_id"] not in issues.to_csv(), "no identifiers in the issues table"
    config = MonitoringConfig(target_date=pd.Timestamp("2026-01-31"))
    out = monitoring.summaries(result.tables, hubs, config)
    assert (
        out["recruitment"].set_index("hub_id").loc[monitoring.ALL_HUBS, "randomised"]
        == len(rand) - 1
    )
    assert out["followup"]["due"].iloc[-1] > 0


def test_shipped_settings_load():
    config = MonitoringConfig.from_settings(shipped_config()["monitoring"])
    assert config.target_date == pd.Timestamp("2026-01-31") and config.as_of is None
