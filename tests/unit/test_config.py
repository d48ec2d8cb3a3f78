"""The shipped configuration is valid, and the checks catch what a user could get wrong: every
config file against its schema, and the rules that tie them together, one line per problem."""

import re
from pathlib import Path

import pytest

from conftest import ROOT, shipped_config
from psp_eval.data import plan
from psp_eval.engine.settings import ConfigError

SOURCE = "config"


def _check(config):
    plan.check_run(config, ROOT, plan.load_catalogue(ROOT), source=SOURCE)


def test_shipped_config_is_valid():
    _check(shipped_config())


def _with(path: str, value):
    """The shipped config with the dotted key `path` set to `value`."""
    config = shipped_config()
    *parents, last = path.split(".")
    node = config
    for key in parents:
        node = node[key]
    node[last] = value
    return config


@pytest.mark.parametrize(
    ("key", "value", "line"),
    [
        ("analyses", "process", "key 'analyses' breaks rule 'is of type array' (found 'process')"),
        ("trial", "my trial", "key 'trial' breaks rule 'matches ^[A-Za-z0-9_-]+$'"),
        (
            "render",
            {"engine": "word"},
            "key 'render.engine' breaks rule 'one of auto, quarto, embedded'",
        ),
        ("cores", 4, "key 'cores' breaks rule 'known key ("),
        (
            "sap.multiplicity",
            "sidak",
            "key 'sap.multiplicity' breaks rule 'one of holm, bonferroni",
        ),
        (
            "sap.imputations",
            "five",
            "key 'sap.imputations' breaks rule 'is of type integer' (found 'five')",
        ),
        ("power.rho", 1.2, "key 'power.rho' breaks rule '< 1' (found 1.2)"),
        ("need.profile.max_days", 0, "key 'need.profile.max_days' breaks rule '>= 1' (found 0)"),
        (
            "monitoring.target_date",
            "31/01/2026",
            "key 'monitoring.target_date' breaks rule 'matches",
        ),
        (
            "cost_benefit.price_year",
            "2024",
            "key 'cost_benefit.price_year' breaks rule 'is of type integer'",
        ),
        ("contract.further_years", 0, "key 'contract.further_years' breaks rule '>= 1' (found 0)"),
        (
            "contract.investor.public_money",
            "yes",
            "key 'contract.investor.public_money' breaks rule 'is of type boolean'",
        ),
        (
            "design.follow_up_months",
            -1,
            "key 'design.follow_up_months' breaks rule '> 0' (found -1)",
        ),
    ],
)
def test_a_bad_value_in_any_config_file_is_one_line(key, value, line):
    with pytest.raises(ConfigError) as caught:
        _check(_with(key, value))
    lines = str(caught.value).splitlines()
    assert re.match(r"\d+ errors? in config:", lines[0])
    assert any(line in x for x in lines[1:]), str(caught.value)


def test_every_problem_of_every_file_at_once():
    config = _with("sap.alpha", 2)
    config["power"]["icc"] = -1
    config["payment"]["targets"][0]["comparison"] = "about"
    with pytest.raises(ConfigError) as caught:
        _check(config)
    assert str(caught.value).startswith("3 errors in config:")


@pytest.mark.parametrize(
    ("change", "line"),
    [
        (
            lambda c: c.update(analyses=["process", "tarot"]),
            "key 'analyses' breaks rule 'names analyses of config/analyses.yaml",
        ),
        (
            lambda c: c.update(analyses=["cost_benefit"]),
            "cost_benefit reads impact, so impact is chosen too",
        ),
        (
            lambda c: c["payment"]["targets"][2].update(effect="happiness"),
            "effects are outcomes of the design' (found 'happiness')",
        ),
        (
            lambda c: c["power"]["primary"].update(mspss_total={"sd": 1, "effect": 0.3}),
            "key 'power.primary.mspss_total' breaks rule 'a primary outcome",
        ),
        (
            lambda c: c["design"]["arms"]["control"].update(value="waitlist"),
            "key 'design.arms' breaks rule 'values of the data contract's arm column",
        ),
        (
            lambda c: c["design"]["outcomes"][0].update(score="total"),
            "outcome 'sdq_total_difficulties': a questionnaire outcome's id is <instrument>_<score>",
        ),
        (lambda c: c["instruments"]["sdq"].update(items=3), "instrument 'sdq'"),
    ],
)
def test_the_files_must_agree_with_each_other(change, line):
    config = shipped_config()
    change(config)
    with pytest.raises(ConfigError) as caught:
        _check(config)
    assert line in str(caught.value), str(caught.value)


def test_a_bad_deflator_row_names_its_file_row_and_column(tmp_path):
    table = tmp_path / "deflators.csv"
    table.write_text("# comment\nyear,index,status\n2020,100,outturn\n2021,high,outturn\n")
    config = _with("cost_benefit.deflators", str(table))
    with pytest.raises(
        ConfigError,
        match=rf"{table}, row 4: column 'index' breaks rule 'is of type number' \(found 'high'\)",
    ):
        _check(config)


def test_a_bad_hub_sheet_is_named(tmp_path):
    sheet = tmp_path / "hubs.tsv"
    sheet.write_text("hub_id\thub_name\tnation\trecruitment_target\nh1\tOne\tEngland\tlots\n")
    with pytest.raises(ConfigError, match="recruitment_target"):
        _check(_with("hubs", str(sheet)))


def test_the_catalogue_is_checked(tmp_path):
    (tmp_path / "config" / "schema").mkdir(parents=True)
    for path in (ROOT / "config" / "schema").glob("*.yaml"):
        (tmp_path / "config" / "schema" / path.name).write_text(path.read_text())
    (tmp_path / "config" / "analyses.yaml").write_text(
        "process: {title: P, scopes: sometimes, reads: {tables: clean, settings: []}, report: sections}\n"
    )
    with pytest.raises(ConfigError, match="key 'process.scopes' breaks rule 'one of every, trial'"):
        plan.load_catalogue(tmp_path)


@pytest.mark.parametrize(
    "path", sorted((ROOT / "reports").rglob("*.qmd")), ids=lambda p: str(p.relative_to(ROOT))
)
def test_no_report_line_starts_with_a_number(path: Path):
    # "850. More text" at the start of a line would become an ordered list in Markdown.
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        assert not re.match(r"\s*\{\{< (num|var) ", line), (
            f"{path.name}:{number} starts with a value"
        )


def test_no_template_types_a_method_word():
    """Method words come from the numbers the notebooks write (issue 14): the templates never
    name a multiplicity method or an outcome the trial definition declares."""
    words = re.compile(r"\b(Holm|Bonferroni|Hommel|Benjamini|SDQ|GAD-7|MSPSS)\b")
    for path in sorted((ROOT / "reports").rglob("*.qmd")):
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            assert not words.search(line), f"{path.relative_to(ROOT)}:{number}: {line}"


def test_steps_to_report_count_the_longest_chain_of_readers():
    # impact -> cost_benefit -> payment -> render; process -> payment -> render; need -> render
    steps = {a: plan.steps_to_report(plan.load_catalogue(ROOT), a) for a in ("impact", "process", "cost_benefit", "payment", "need")}  # fmt: skip
    assert steps == {"impact": 4, "process": 3, "cost_benefit": 3, "payment": 2, "need": 2}
    catalogue = {
        "a": {"reads": {}},
        "b": {"reads": {"results": ["a"]}},
        "c": {"reads": {"results": ["a", "b"]}},
    }
    assert [plan.steps_to_report(catalogue, x) for x in "abc"] == [4, 3, 2]
