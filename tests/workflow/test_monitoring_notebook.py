"""The monitoring notebook on broken, in-progress raw data: a report all the same, and blinded."""

import json
from pathlib import Path

import pandas as pd
import pytest

from conftest import shipped_settings
from psp_eval.analyses import monitoring
from psp_eval.data import contract
from psp_eval.data import demo as synth
from psp_eval.data.scope import write_hub_sheet
from psp_eval.engine import settings as run_settings
from psp_eval.engine.execution import execute

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_monitoring_notebook_reports_broken_data_without_unblinding(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    raw = project / "data" / "raw" / "demo"
    synth.generate(raw, seed=8, n_hubs=2, n_las=4, n_families=150)
    # What the rules hand the notebook: its settings and the hub sheet's rows.
    settings = project / "monitoring.json"
    run_settings.write(settings, shipped_settings("monitoring"))
    hub_sheet = project / "hubs.parquet"
    write_hub_sheet(contract.read_hubs(raw / "hubs.tsv"), "trial", hub_sheet)
    (raw / "costs.csv").unlink()  # not delivered yet
    rand = pd.read_csv(raw / "randomisation.csv", dtype=str)
    rand.loc[2, "arm"] = "SFFC"  # a typo in the source system
    rand.to_csv(raw / "randomisation.csv", index=False)

    out_dir = project / "results" / "demo" / "trial" / "monitoring"
    params = {
        "trial": "demo",
        "scope": "trial",
        "data_dir": str(raw),
        "settings": str(settings),
        "hub_sheet": str(hub_sheet),
        "out_dir": str(out_dir),
    }
    execute(
        ROOT / "notebooks" / "monitoring.ipynb", tmp_path / "monitoring.ipynb", params, cwd=project
    )

    numbers = json.loads((out_dir / "numbers.json").read_text())
    assert numbers["n_errors"] >= 2 and "breaks rules" in numbers["data_status"]
    assert numbers["n_randomised"] == len(rand)  # the family with a broken arm still counts
    issues = pd.read_csv(out_dir / "tables" / "monitoring_quality.csv")
    assert {"costs.csv", "randomisation.csv"} <= set(issues["File"])
    tables = {p.stem: pd.read_csv(p) for p in (out_dir / "tables").glob("*.csv")}
    monitoring.check_blinded(tables, numbers)
    for name, frame in tables.items():
        text = frame.to_csv().lower()
        if name != "monitoring_quality":  # rules may name the arms ("allowed values: sffc, usual")
            assert "usual" not in text, name  # no table is split by arm
        for word in ("sdq", "gad7", "mspss"):
            assert word not in text, (name, word)
        assert not frame.astype(str).apply(lambda c: c.str.fullmatch(r"F\d{5}")).any().any(), (
            "no family_id"
        )
