"""Where the project's files are, for notebooks run by the pipeline and in JupyterLab alike.

The pipeline runs notebooks from the project's root and JupyterLab from `notebooks/`, so a
notebook finds config files through `project_root()` rather than a relative path.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from psp_eval.errors import PspEvalError

SCHEMA = Path("config/schema/config.schema.yaml")
"""The schema of config/config.yaml, relative to the project root."""


class ProjectNotFound(FileNotFoundError):
    """No folder above the working directory holds the project's Snakefile and config."""


def project_root(start: str | Path | None = None) -> Path:
    """The nearest folder at or above `start` (default: the working directory) with a Snakefile."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "Snakefile").is_file() and (folder / "config").is_dir():
            return folder
    raise ProjectNotFound(f"no psp-eval project (Snakefile and config/) at or above {here}")


def config_file(name: str, start: str | Path | None = None) -> Path:
    """A file of the project's `config/` folder, e.g. config_file("unit_costs.yaml")."""
    path = project_root(start) / "config" / name
    if not path.exists():
        raise FileNotFoundError(f"config file {path} does not exist")
    return path


class ConfigError(PspEvalError, ValueError):
    """The pipeline configuration breaks its schema; the message has one line per problem."""


def load_config(start: str | Path | None = None) -> dict:
    """The pipeline configuration, config/config.yaml, as a dict."""
    return yaml.safe_load(config_file("config.yaml", start).read_text(encoding="utf-8"))


def check_config(config: Any, schema: str | Path, *, source: str = "config") -> None:
    """Raise ConfigError naming every key of `config` that breaks `schema` (JSON Schema in
    YAML): the key, the rule and the value found, one line each, where jsonschema's own
    message (as Snakemake's `validate` prints it) would dump the whole schema for an
    unknown key."""
    import jsonschema  # here: `psp-eval run` imports this module without needing it

    spec = yaml.safe_load(Path(schema).read_text(encoding="utf-8"))
    validator = jsonschema.validators.validator_for(spec)(spec)
    lines = []
    for error in validator.iter_errors(config):
        lines += _config_problems(error, source)
    if lines:
        lines = sorted(dict.fromkeys(lines))
        n = len(lines)
        heading = f"{n} error{'' if n == 1 else 's'} in {source}:"
        raise ConfigError("\n".join([heading, *(f"  - {line}" for line in lines)]))


_CONFIG_RULES = {
    "type": "is of type {}",
    "enum": "one of {}",
    "pattern": "matches {}",
    "minimum": ">= {}",
    "maximum": "<= {}",
    "exclusiveMinimum": "> {}",
    "exclusiveMaximum": "< {}",
    "minItems": "has at least {} item(s)",
    "uniqueItems": "has no repeated items",
}


def _config_problems(error, source: str) -> list[str]:
    """One line per key a jsonschema error is about, in the contract's wording."""
    where = [str(part) for part in error.absolute_path]
    instance = error.instance
    if error.validator == "additionalProperties" and isinstance(instance, Mapping):
        known = sorted(error.schema.get("properties", {}))
        rule = f"known key ({', '.join(known)})"
        extra = sorted(set(instance) - set(known))
        return [_config_line(source, [*where, k], rule, repr(instance[k])) for k in extra]
    if error.validator == "required" and isinstance(instance, Mapping):
        missing = [k for k in error.validator_value if k not in instance]
        return [_config_line(source, [*where, k], "is given", "nothing") for k in missing]
    value = error.validator_value
    if error.validator == "enum":
        value = ", ".join(map(str, value))
    template = _CONFIG_RULES.get(str(error.validator))
    rule = template.format(value) if template else error.message
    return [_config_line(source, where, rule, repr(instance))]


def _config_line(source: str, key: list[str], rule: str, found: str) -> str:
    name = ".".join(key) if key else "(the whole file)"
    return f"{source}: key '{name}' breaks rule '{rule}' (found {found})"
