"""The shipped configuration is valid, and the schema catches what a user could get wrong."""

import re
from pathlib import Path

import jsonschema
import pandas as pd
import pytest
import yaml

from psp_eval.data.scoring import load_instruments

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = yaml.safe_load((ROOT / "config/schema/config.schema.yaml").read_text())


def _config():
    return yaml.safe_load((ROOT / "config/config.yaml").read_text())


def test_shipped_config_is_valid():
    jsonschema.validate(_config(), SCHEMA)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("analyses", "process", "is not of type 'array'"),
        ("analyses", ["process", "tarot"], "'tarot' is not one of"),
        ("trial", "my trial", "does not match"),
        ("render", {"engine": "word"}, "'word' is not one of"),
        ("cores", 4, "Additional properties are not allowed"),
    ],
)
def test_schema_rejects_bad_values(key, value, message):
    config = _config() | {key: value}
    with pytest.raises(jsonschema.ValidationError, match=message):
        jsonschema.validate(config, SCHEMA)


def test_hub_sheet_has_five_unique_hubs():
    hubs = pd.read_csv(ROOT / "config/hubs.tsv", sep="\t")
    assert list(hubs.columns) == ["hub_id", "hub_name", "nation", "recruitment_target"]
    assert hubs["hub_id"].is_unique and len(hubs) == 5


def test_shipped_instruments_load():
    instruments = load_instruments(ROOT / "config/instruments.yaml")
    assert set(instruments) == {"sdq", "gad7", "mspss"}


@pytest.mark.parametrize(
    "path", sorted((ROOT / "reports").rglob("*.qmd")), ids=lambda p: str(p.relative_to(ROOT))
)
def test_no_report_line_starts_with_a_number(path):
    # "850. More text" at the start of a line would become an ordered list in Markdown.
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        assert not re.match(r"\s*\{\{< (num|var) ", line), (
            f"{path.name}:{number} starts with a value"
        )
