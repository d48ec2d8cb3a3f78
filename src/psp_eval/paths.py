"""Where the project's files are, for notebooks run by the pipeline and in JupyterLab alike.

The pipeline runs notebooks from the project's root and JupyterLab from `notebooks/`, so a
notebook finds config files through `project_root()` rather than a relative path.
"""

from __future__ import annotations

from pathlib import Path

import yaml


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


def load_config(start: str | Path | None = None) -> dict:
    """The pipeline configuration, config/config.yaml, as a dict."""
    return yaml.safe_load(config_file("config.yaml", start).read_text(encoding="utf-8"))
