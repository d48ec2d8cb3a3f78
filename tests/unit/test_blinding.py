"""Blinded mode: the dummy allocation, the arm names, the marker, and a blinded pipeline run."""

from __future__ import annotations

import json
import re

import nbformat
import numpy as np
import pandas as pd
import pytest

from conftest import BIN, project_copy, run_command
from psp_eval.analyses.randomisation import allocation_sequence
from psp_eval.governance import blinding
from psp_eval.report import blinded


def randomisation(n_hubs: int = 3, per_stratum: int = 41, seed: int = 5) -> pd.DataFrame:
    """A randomisation table like the contract's, from the trial's own sequence generator,
    with strata of uneven (and odd) sizes."""
    hubs = [f"H{i}" for i in range(n_hubs)]
    seq = allocation_sequence(hubs, per_stratum, seed=seed)
    rng = np.random.default_rng(seed)
    keep = pd.concat(
        g.head(int(rng.integers(per_stratum // 2, per_stratum + 1)))
        for _, g in seq.groupby("stratum")
    )
    return pd.DataFrame(
        {
            "family_id": [f"F{i:04d}" for i in range(len(keep))],
            "randomised_date": pd.Timestamp("2025-01-01")
            + pd.to_timedelta(np.arange(len(keep)), "D"),
            "arm": keep["arm"].to_numpy(),
            "stratum": keep["stratum"].to_numpy(),
            "block_id": keep["block_id"].to_numpy(),
        }
    )


# --- the dummy allocation -------------------------------------------------------------------


def test_dummy_allocation_is_balanced_within_every_stratum():
    true = randomisation()
    dummy = blinding.dummy_allocation(true, seed=1)
    counts = pd.crosstab(dummy["stratum"], dummy["arm"])
    assert set(dummy["arm"]) == {"sffc", "usual"}
    assert ((counts["sffc"] - counts["usual"]).abs() <= 1).all()
    # Strata keep their sizes: the split is within each stratum, never across.
    assert counts.sum(axis=1).to_dict() == true["stratum"].value_counts().to_dict()


def test_dummy_allocation_changes_only_the_arm_column():
    true = randomisation()
    dummy = blinding.dummy_allocation(true, seed=2)
    others = [c for c in true.columns if c != "arm"]
    pd.testing.assert_frame_equal(dummy[others], true[others])
    assert dummy["arm"].dtype == true["arm"].dtype
    assert not dummy["arm"].equals(true["arm"])
    assert true is not dummy and true["arm"].equals(randomisation()["arm"])  # input untouched


def test_dummy_allocation_is_deterministic_for_a_seed():
    true = randomisation()
    first = blinding.dummy_allocation(true, seed=20261123)
    assert first["arm"].equals(blinding.dummy_allocation(true, seed=20261123)["arm"])
    assert not first["arm"].equals(blinding.dummy_allocation(true, seed=20261124)["arm"])


def test_dummy_allocation_is_independent_of_the_true_arms():
    """Over many seeds each family's dummy arm matches its true arm half the time: the split
    says nothing about the true one, whatever the seed."""
    true = randomisation(n_hubs=2, per_stratum=30)
    agreement = np.array(
        [
            (blinding.dummy_allocation(true, seed=seed)["arm"] == true["arm"]).mean()
            for seed in range(200)
        ]
    )
    assert abs(agreement.mean() - 0.5) < 0.02
    # Not a disguised copy or mirror of the true arms for any seed.
    assert agreement.min() > 0.25 and agreement.max() < 0.75
    # The dummy arms do not even read the true ones: flipping them changes nothing.
    flipped = true.assign(arm=true["arm"].map({"sffc": "usual", "usual": "sffc"}))
    assert blinding.dummy_allocation(flipped, seed=3)["arm"].equals(
        blinding.dummy_allocation(true, seed=3)["arm"]
    )


def test_dummy_allocation_refuses_a_table_it_cannot_stratify():
    true = randomisation()
    with pytest.raises(blinding.BlindingError, match="no column stratum"):
        blinding.dummy_allocation(true.drop(columns="stratum"), seed=1)
    broken = true.copy()
    broken.loc[3, "stratum"] = None
    with pytest.raises(blinding.BlindingError, match="row 4: stratum is empty"):
        blinding.dummy_allocation(broken, seed=1)


# --- the marker and the library's arm names -------------------------------------------------


def test_marker_round_trip_and_absent_marker(tmp_path):
    assert blinding.read_marker(tmp_path) == {"blinded": False}
    blinding.write_marker(tmp_path, True, 7)
    assert json.loads((tmp_path / blinding.MARKER).read_text()) == {
        "blinded": True,
        "method": "dummy stratified allocation",
        "seed": 7,
    }
    assert blinding.is_blinded(tmp_path)
    blinding.write_marker(tmp_path, False)
    assert not blinding.is_blinded(tmp_path)
    (tmp_path / blinding.MARKER).write_text('{"blinded": "yes"}')
    with pytest.raises(blinding.BlindingError, match="blinding.json"):
        blinding.read_marker(tmp_path)


def test_arm_labels():
    assert blinding.arm_labels(False) == {"sffc": "SFFC", "usual": "Services as usual"}
    assert blinding.arm_labels(True) == {"sffc": "Arm A", "usual": "Arm B"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("SDQ (points, SFFC minus usual)", "SDQ (points, Arm A minus Arm B)"),
        ("difference, SFFC minus services as usual", "difference, Arm A minus Arm B"),
        ("Difference, SFFC minus usual care (95% CI)", "Difference, Arm A minus Arm B (95% CI)"),
        ("Care-entry risk ratio (SFFC / usual)", "Care-entry risk ratio (Arm A / Arm B)"),
        ("Services as usual per usual-care family", "Arm B per Arm B family"),
        ("compares them with the services-as-usual arm", "compares them with the Arm B"),
        ("SFFC-arm families with support", "Arm A families with support"),
        ("<td>sffc</td><td>usual</td>", "<td>Arm A</td><td>Arm B</td>"),
        (
            "n SFFC | n usual | (7.8% SFFC, 12.8% usual)",
            "n Arm A | n Arm B | (7.8% Arm A, 12.8% Arm B)",
        ),
        ("below 1 favours SFFC), with", "below 1 favours Arm A), with"),
        ("runs as usual; ARMS = ('sffc', 'usual')", "runs as usual; ARMS = ('sffc', 'usual')"),
        # Kept: the service's name, the need profile, numbers' keys, and the banner itself.
        ("Safe Families for Children (SFFC)", "Safe Families for Children (SFFC)"),
        ("children fitting the SFFC profile", "children fitting the SFFC profile"),
        ("process.pct_sffc_supported", "process.pct_sffc_supported"),
        (blinding.BANNER, blinding.BANNER),
    ],
)
def test_relabel_text(text, expected):
    assert blinding.relabel_text(text) == expected


def test_relabel_notebook_keeps_code_and_relabels_what_reports_show():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("Families SFFC supported"),
        nbformat.v4.new_code_cell('#| tbl-cap: "SFFC minus usual care"\nLABELS = {"sffc": "SFFC"}'),
    ]
    nb.cells[1].outputs = [
        nbformat.v4.new_output("display_data", {"text/markdown": "| SFFC | Services as usual |"}),
        nbformat.v4.new_output("stream", text="SFFC\n"),
    ]
    out = blinded.relabel_notebook(nb)
    assert out.cells[0].source == "Families Arm A supported"
    assert out.cells[1].source == '#| tbl-cap: "Arm A minus Arm B"\nLABELS = {"sffc": "SFFC"}'
    assert out.cells[1].outputs[0]["data"]["text/markdown"] == "| Arm A | Arm B |"
    assert out.cells[1].outputs[1]["text"] == "Arm A\n"


def test_blind_report_relabels_and_adds_the_banner(tmp_path):
    scope_dir, work = tmp_path / "trial", tmp_path / "work"
    scope_dir.mkdir()
    work.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell('#| label: tbl-x\n#| tbl-cap: "n SFFC, services as usual"')
    ]
    nbformat.write(nb, scope_dir / "impact.ipynb")
    qmd = scope_dir / "report.qmd"
    qmd.write_text(
        '---\ntitle: "Safe Families for Children: trial report"\n---\n\n## Summary\n\n'
        "SFFC minus services as usual.\n\n{{< embed impact.ipynb#tbl-x >}}\n"
    )
    rendered = blinded.blind_report(qmd, work)
    text = qmd.read_text()
    assert rendered.read_text() == text and rendered.parent == work
    assert text.startswith('---\ntitle: "Safe Families for Children: trial report"\n---\n')
    assert text.index(blinding.BANNER) < text.index("## Summary")
    assert "Arm A minus Arm B." in text and "SFFC minus" not in text
    copy = nbformat.read(work / "impact.ipynb", as_version=4)
    assert copy.cells[0].source.endswith('"n Arm A, Arm B"')
    original = nbformat.read(scope_dir / "impact.ipynb", as_version=4)
    assert original.cells[0].source.endswith('"n SFFC, services as usual"')  # left as executed
    qmd.write_text("{{< embed process.ipynb#tbl-y >}}\n")
    with pytest.raises(blinding.BlindingError, match="embeds process.ipynb"):
        blinded.blind_report(qmd, work)


# --- the whole pipeline, blinded ------------------------------------------------------------

# Arm wording that must not reach a blinded report (monitoring excepted: it reads the raw data,
# never compares arms and reads the same blinded or not). The service's name may still appear
# in titles and in "Safe Families for Children (SFFC)" and "SFFC profile" (need): neither
# names an arm.
FORBIDDEN = re.compile(r"services[- ]as[- ]usual|usual[- ]care|SFFC minus|SFFC\s*/\s*usual", re.I)
ALLOWED_SFFC = re.compile(r"Children \(SFFC\)|SFFC profile|anything about SFFC")


@pytest.mark.slow
def test_blinded_pipeline(tmp_path):
    project = project_copy(tmp_path / "project", n_hubs=2, n_las=4, n_families=200)
    result = run_command([str(BIN / "psp-eval"), "run", "--cores", "2", "--blinded"], project)
    assert "reports/_site/blinded/index.html" in result.stdout
    site = project / "reports/_site/blinded/demo"
    clean = project / "results/blinded/demo/clean"
    assert json.loads((clean / "blinding.json").read_text())["blinded"] is True
    assert (project / "results/blinded/demo/audit.json").is_file()  # the audit passed
    assert not (project / "results/demo").exists() and not (project / "reports/_site/demo").exists()

    names = {p.stem for p in site.glob("*.html")} - {"monitoring"}
    # trial, need and 2 hubs, and the funder briefs of the trial and the hubs (blinded too)
    assert {"trial", "need", "trial-brief"} < names and len(names) == 4 + 3
    for name in sorted(names):
        html = (site / f"{name}.html").read_text(encoding="utf-8")
        text = re.sub(r"<[^>]+>", " ", html)
        assert blinding.BANNER.split(":")[0] in html, name
        assert FORBIDDEN.search(text) is None, (name, FORBIDDEN.search(text))
        leftover = [m.start() for m in re.finditer(r"\bSFFC\b", text)]
        for start in leftover:
            assert ALLOWED_SFFC.search(text[max(0, start - 40) : start + 40]), (
                name,
                text[max(0, start - 80) : start + 80],
            )
    trial = (site / "trial.html").read_text(encoding="utf-8")
    assert "Arm A" in trial and "Arm B" in trial

    # The data behind it: a dummy split, not the true one.
    from psp_eval.data.contract import read_hubs, validate_dir
    from psp_eval.data.scoring import load_instruments

    raw = validate_dir(
        project / "data/raw/demo",
        read_hubs(project / "config/hubs.tsv"),
        load_instruments(project / "config/instruments.yaml"),
    ).tables["randomisation"]
    dummy = pd.read_parquet(clean / "randomisation.parquet")
    assert dummy["family_id"].tolist() == raw["family_id"].tolist()
    assert 0.3 < (dummy["arm"] == raw["arm"]).mean() < 0.7


def test_run_blinded_sets_its_own_folders_and_user_overrides_win(tmp_path, monkeypatch):
    from psp_eval.engine import pipeline

    (tmp_path / "Snakefile").write_text("")
    calls = []

    def fake_run(cmd, **kwargs):
        calls.append(cmd)
        return type("Done", (), {"returncode": 0})()

    monkeypatch.setattr(pipeline.subprocess, "run", fake_run)
    assert pipeline.run(cores=1, config=[], dry_run=True, root=tmp_path, blinded=True) == 0
    config = calls[-1][calls[-1].index("--config") + 1 : calls[-1].index("--dry-run")]
    assert config == [
        "blinded=True",
        "results_dir=results/blinded",
        "site_dir=reports/_site/blinded",
    ]
    pipeline.run(cores=1, config=["site_dir=elsewhere"], dry_run=True, root=tmp_path, blinded=True)
    config = calls[-1][calls[-1].index("--config") + 1 : calls[-1].index("--dry-run")]
    assert config == ["blinded=True", "results_dir=results/blinded", "site_dir=elsewhere"]
    pipeline.run(cores=1, config=[], dry_run=True, root=tmp_path)
    assert "--config" not in calls[-1]
