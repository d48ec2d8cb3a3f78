"""The run's settings: the one path by which configuration reaches any job.

Why: a setting read from `config/` by a notebook would ignore the user's `--config` and
`--configfile` overrides, and a change to it would rerun nothing. So the Snakefile loads every
config file (rules/common.smk) into one merged configuration, checks it here against the
schemas in `config/schema/` (one line per problem), and a rule writes for each analysis the
part of it that analysis reads (`results/<trial>/settings/<analysis>.json`): a declared input
of that analysis's jobs, rewritten (and so rerunning them) only when its content changes.
Notebooks and the library read settings from that file, never from `config/`.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from psp_eval.engine.atomic import write_text
from psp_eval.errors import PspEvalError

#: The analyses catalogue: not merged (it is the workflow's own declaration), but checked.
CATALOGUE = "config/analyses.yaml"
SCHEMA_DIR = Path("config/schema")
#: Top-level keys whose value has a schema of its own, `config/schema/<key>.schema.yaml`.
#: `instruments` is checked by the data layer (`psp_eval.data.scoring.check_instruments`),
#: which owns its schema and the rules a schema cannot express.
SCHEMA_KEYS = (
    "design",
    "sap",
    "cost_benefit",
    "contract",
    "payment",
    "need",
    "power",
    "monitoring",
)


class ConfigError(PspEvalError, ValueError):
    """The configuration breaks its schema; the message has one line per problem."""


def check_config(config: Any, schema: str | Path, *, source: str = "config") -> None:
    """Raise ConfigError naming every key of `config` that breaks `schema` (JSON Schema in
    YAML): the key, the rule and the value found, one line each, where jsonschema's own
    message (as Snakemake's `validate` prints it) would dump the whole schema for an
    unknown key."""
    lines = problems(config, schema, source=source)
    if lines:
        raise ConfigError(_heading(lines, source))


def check_run_config(config: Mapping[str, Any], root: str | Path, *, source: str) -> None:
    """Check the merged configuration: the top level against `config.schema.yaml`, then each
    key of SCHEMA_KEYS against its own schema; every problem of every key at once."""
    schema_dir = Path(root) / SCHEMA_DIR
    lines = problems(config, schema_dir / "config.schema.yaml", source=source)
    for key in SCHEMA_KEYS:
        if key in config:
            lines += problems(
                config[key], schema_dir / f"{key}.schema.yaml", source=source, prefix=[key]
            )
    if lines:
        raise ConfigError(_heading(sorted(dict.fromkeys(lines)), source))


def problems(
    config: Any, schema: str | Path, *, source: str, prefix: Iterable[str] = ()
) -> list[str]:
    """One line per key of `config` that breaks `schema`, keys shown under `prefix`."""
    import jsonschema  # here: `psp-eval run` imports this module without needing it

    spec = yaml.safe_load(Path(schema).read_text(encoding="utf-8"))
    validator = jsonschema.validators.validator_for(spec)(spec)
    lines: list[str] = []
    for error in validator.iter_errors(config):
        lines += _config_problems(error, source, list(prefix))
    return sorted(dict.fromkeys(lines))


def check_table(path: str | Path, schema: str | Path, *, key: str | None = None) -> list[dict]:
    """Read a small CSV table of the config (e.g. the GDP deflators) and check every row
    against `schema` (a JSON Schema of one row, with its column types); its rows, typed.

    Problems name the file, the spreadsheet row (header = row 1), the column and the value.
    Lines starting with # are comments. `key` must then be unique and increasing.
    """
    import jsonschema

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such file (named in the configuration)")
    spec = yaml.safe_load(Path(schema).read_text(encoding="utf-8"))
    columns = spec.get("properties", {})
    lines = path.read_text(encoding="utf-8").splitlines()
    numbered = [(n, line) for n, line in enumerate(lines, 1) if not line.startswith("#")]
    reader = csv.DictReader(line for _, line in numbered)
    validator = jsonschema.validators.validator_for(spec)(spec)
    rows, found = [], []
    header = list(reader.fieldnames or [])
    missing = [c for c in spec.get("required", []) if c not in header]
    for column in missing:
        found.append(f"{path}: column '{column}' breaks rule 'is given' (found no such column)")
    for (row_number, _), raw in zip(numbered[1:], reader, strict=False):
        row = {name: _typed(value, columns.get(name, {})) for name, value in raw.items()}
        for error in validator.iter_errors(row):
            column = ".".join(str(p) for p in error.absolute_path) or "(row)"
            rule = _rule(error)
            shown = raw.get(column, error.instance) if column != "(row)" else raw
            found.append(
                f"{path}, row {row_number}: column '{column}' breaks rule '{rule}' (found {shown!r})"
            )
        rows.append(row)
    if key is not None and not found:
        values = [row[key] for row in rows]
        if values != sorted(set(values)):
            found.append(f"{path}: column '{key}' breaks rule 'unique and increasing'")
    if found:
        raise ConfigError(_heading(found, str(path)))
    return rows


def write(path: str | Path, values: Mapping[str, Any]) -> Path:
    """Write one job's settings as JSON, keys in the configuration's order (the order of
    subgroups, bands and unit costs is the order reports show them): the same settings give
    the same bytes."""
    return write_text(Path(path), json.dumps(values, indent=2) + "\n")


def read(path: str | Path) -> dict[str, Any]:
    """The settings a rule wrote for a job (a notebook's `settings` parameter)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(
            f"settings file {path} does not exist: the pipeline writes it (psp-eval run)"
        )
    return json.loads(path.read_text(encoding="utf-8"))


def load_yaml(path: str | Path, key: str) -> Any:
    """The value under `key` of a YAML (or JSON) file: a config file such as
    config/instruments.yaml or a settings file the pipeline wrote, for the command line."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such file")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from None
    if not isinstance(data, Mapping) or key not in data:
        raise ConfigError(f"{path}: expected a top-level key '{key}'")
    return data[key]


# --- messages --------------------------------------------------------------------------------

_CONFIG_RULES = {
    "type": "is of type {}",
    "enum": "one of {}",
    "const": "equals {}",
    "pattern": "matches {}",
    "minimum": ">= {}",
    "maximum": "<= {}",
    "exclusiveMinimum": "> {}",
    "exclusiveMaximum": "< {}",
    "minItems": "has at least {} item(s)",
    "maxItems": "has at most {} item(s)",
    "uniqueItems": "has no repeated items",
}


def _heading(lines: list[str], source: str) -> str:
    n = len(lines)
    heading = f"{n} error{'' if n == 1 else 's'} in {source}:"
    return "\n".join([heading, *(f"  - {line}" for line in lines)])


def _rule(error) -> str:
    value = error.validator_value
    if error.validator == "enum":
        value = ", ".join(map(str, value))
    template = _CONFIG_RULES.get(str(error.validator))
    return template.format(value) if template else error.message


def _config_problems(error, source: str, prefix: list[str]) -> list[str]:
    """One line per key a jsonschema error is about, in the contract's wording."""
    where = [*prefix, *(str(part) for part in error.absolute_path)]
    instance = error.instance
    if error.validator == "additionalProperties" and isinstance(instance, Mapping):
        known = sorted(error.schema.get("properties", {}))
        rule = f"known key ({', '.join(known)})"
        extra = sorted(set(instance) - set(known))
        return [_config_line(source, [*where, k], rule, repr(instance[k])) for k in extra]
    if error.validator == "required" and isinstance(instance, Mapping):
        missing = [k for k in error.validator_value if k not in instance]
        return [_config_line(source, [*where, k], "is given", "nothing") for k in missing]
    return [_config_line(source, where, _rule(error), repr(instance))]


def _config_line(source: str, key: list[str], rule: str, found: str) -> str:
    name = ".".join(key) if key else "(the whole file)"
    return f"{source}: key '{name}' breaks rule '{rule}' (found {found})"


def _typed(text: str | None, column: Mapping[str, Any]) -> Any:
    """A CSV cell as its column's JSON type, or the text itself if it is not one (so the
    schema names it)."""
    kind = column.get("type")
    kinds = kind if isinstance(kind, list) else [kind]
    if text is None or text == "":
        return None
    for name, convert in (("integer", int), ("number", float)):
        if name in kinds:
            try:
                return convert(text)
            except ValueError:
                pass
    return text
