"""A researcher's own trial, as the README's recipe runs it: hubs whose ids and names are not
the demo's, its own hub sheet, and a settings file on top of the config (another multiplicity
method). Every setting must reach every report: no report, index or table names a demo hub, and
every report's tables, summary and method text use the method the settings file gives."""

import re
import shutil

import pandas as pd
import pytest

from conftest import BIN, ROOT, run_command
from psp_eval.data.demo import generate
from psp_eval.engine.pipeline import copy_workflow

OWN_HUBS = {"north_vale": "North Vale Partnership", "east_moor": "East Moor and Coast"}


@pytest.fixture(scope="module")
def own_trial(tmp_path_factory):
    """A 2-hub trial renamed away from the demo's hubs, run with Bonferroni instead of Holm."""
    project = copy_workflow(ROOT, tmp_path_factory.mktemp("own") / "project")
    raw = project / "data/raw/mytrial"
    generate(raw, seed=11, n_hubs=2, n_las=4, n_families=200)
    demo_ids = list(pd.read_csv(raw / "hubs.tsv", sep="\t")["hub_id"])
    renames = dict(zip(demo_ids, OWN_HUBS, strict=True))
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, renames)) + r")\b")
    for path in raw.glob("*.csv"):
        path.write_text(pattern.sub(lambda m: renames[m[1]], path.read_text()))
    (raw / "hubs.tsv").unlink()
    (raw / "truth.json").unlink()  # a real trial has no planted truth
    sheet = ["hub_id\thub_name\tnation\trecruitment_target"]
    sheet += [f"{hub}\t{name}\tEngland\t120" for hub, name in OWN_HUBS.items()]
    (project / "config/mytrial-hubs.tsv").write_text("\n".join(sheet) + "\n")
    (project / "bonferroni.yaml").write_text("sap:\n  multiplicity: bonferroni\n")
    run_command(
        [str(BIN / "psp-eval"), "run", "--cores", "2", "--config", "trial=mytrial",
         "hubs=config/mytrial-hubs.tsv", "--", "--configfile", "bonferroni.yaml"],
        project,
    )  # fmt: skip
    return project


def _site_texts(project):
    site = project / "reports/_site"
    return {p: p.read_text(encoding="utf-8") for p in site.rglob("*.html")}


@pytest.mark.slow
def test_no_report_index_or_table_names_a_demo_hub(own_trial):
    demo = pd.read_csv(ROOT / "config/hubs.tsv", sep="\t")
    words = re.compile(
        r"\b(" + "|".join([*demo["hub_id"], *map(re.escape, demo["hub_name"])]) + r")\b"
    )
    texts = _site_texts(own_trial)
    texts |= {p: p.read_text() for p in (own_trial / "results/mytrial").rglob("tables/*.csv")}
    # the index, the trial's and each hub's report and brief, need and monitoring
    assert len([p for p in texts if p.suffix == ".html"]) == 1 + (1 + 2) * 2 + 2
    found = {
        str(p.relative_to(own_trial)): words.findall(t) for p, t in texts.items() if words.search(t)
    }
    assert not found, found
    monitoring = (own_trial / "reports/_site/mytrial/monitoring.html").read_text()
    index = (own_trial / "reports/_site/index.html").read_text()
    for name in OWN_HUBS.values():
        assert name in monitoring and name in index


@pytest.mark.slow
def test_the_settings_files_method_reaches_every_report(own_trial):
    for scope in ("trial", *OWN_HUBS):
        primary = pd.read_csv(own_trial / f"results/mytrial/{scope}/impact/tables/primary.csv")
        methods = dict(zip(primary["Outcome"], primary["p method"], strict=True))
        assert methods["SDQ total difficulties (primary)"] == "bonferroni", methods
        assert methods["MSPSS (secondary)"] == "unadjusted"
    texts = _site_texts(own_trial)
    trial = texts[own_trial / "reports/_site/mytrial/trial.html"]
    assert "Bonferroni-adjusted" in trial  # the summary and the method text
    summary = trial.split('id="summary"', 1)[1].split("</section>", 1)[0]
    assert "Bonferroni-adjusted p" in summary
    need = texts[own_trial / "reports/_site/mytrial/need.html"]
    assert "Bonferroni over two primary outcomes" in need
    for path, text in texts.items():
        assert "Holm" not in text, f"{path.name} still says Holm"
    shutil.rmtree(own_trial / "results/mytrial/clean")  # a large folder, not needed further
