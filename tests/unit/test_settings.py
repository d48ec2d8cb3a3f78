"""The run's settings: written for a job, read back, and small config tables checked row by row."""

import json

import pytest

from conftest import ROOT, shipped_config, shipped_settings
from psp_eval.data import plan
from psp_eval.engine import settings
from psp_eval.engine.settings import ConfigError


def test_each_analysis_gets_the_sections_it_reads_and_nothing_else():
    catalogue = plan.load_catalogue(ROOT)
    for name, entry in catalogue.items():
        values = shipped_settings(name)
        assert set(values) == {"labels", *entry["reads"]["settings"]}, name
    assert shipped_settings("cost_benefit")["deflators"][0] == {
        "year": 2000,
        "index": 54.3697,
        "status": "outturn",
    }
    assert plan.data_settings(shipped_config(), ["a", "b"]) == {
        "instruments": shipped_config()["instruments"], "hub_ids": ["a", "b"],
    }  # fmt: skip


def test_blinded_runs_name_the_arms_a_and_b():
    config = shipped_config()
    assert plan.arm_labels(config) == {"sffc": "SFFC", "usual": "Services as usual"}
    assert plan.arm_labels(config, ("Arm A", "Arm B")) == {"sffc": "Arm A", "usual": "Arm B"}


def test_written_settings_keep_the_configurations_order_and_read_back(tmp_path):
    values = {"subgroups": {"referral_group": "R", "age_band": "A"}, "labels": {"sffc": "SFFC"}}
    path = settings.write(tmp_path / "s.json", values)
    assert list(json.loads(path.read_text())["subgroups"]) == ["referral_group", "age_band"]
    assert settings.read(path) == values
    with pytest.raises(ConfigError, match="the pipeline writes it"):
        settings.read(tmp_path / "missing.json")


def test_load_yaml_takes_one_section(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("instruments:\n  a: 1\n")
    assert settings.load_yaml(path, "instruments") == {"a": 1}
    with pytest.raises(ConfigError, match="expected a top-level key 'power'"):
        settings.load_yaml(path, "power")
    path.write_text("a: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        settings.load_yaml(path, "a")


def test_check_table_types_rows_and_names_bad_cells(tmp_path):
    schema = ROOT / "config/schema/deflators.schema.yaml"
    good = tmp_path / "good.csv"
    good.write_text("# source\nyear,index,status\n2020,100,outturn\n2021,101.5,outturn\n")
    assert settings.check_table(good, schema, key="year") == [
        {"year": 2020, "index": 100.0, "status": "outturn"},
        {"year": 2021, "index": 101.5, "status": "outturn"},
    ]
    bad = tmp_path / "bad.csv"
    bad.write_text("year,index\n2021,0\n2020,100\n")
    with pytest.raises(ConfigError) as caught:
        settings.check_table(bad, schema, key="year")
    text = str(caught.value)
    assert f"{bad}: column 'status' breaks rule 'is given' (found no such column)" in text
    assert f"{bad}, row 2: column 'index' breaks rule '> 0' (found '0')" in text
    unordered = tmp_path / "unordered.csv"
    unordered.write_text("year,index,status\n2021,1,o\n2020,1,o\n")
    with pytest.raises(ConfigError, match="column 'year' breaks rule 'unique and increasing'"):
        settings.check_table(unordered, schema, key="year")
