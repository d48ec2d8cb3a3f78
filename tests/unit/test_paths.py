"""Notebooks find the project's config from the root and from notebooks/ alike."""

from pathlib import Path

import pytest

from psp_eval.engine.paths import ProjectNotFound, config_file, load_config, project_root

ROOT = Path(__file__).resolve().parents[2]


def test_root_found_from_the_root_and_from_notebooks():
    assert project_root(ROOT) == ROOT
    assert project_root(ROOT / "notebooks") == ROOT


def test_config_file_and_config():
    assert config_file("hubs.tsv", ROOT / "notebooks") == ROOT / "config" / "hubs.tsv"
    assert load_config(ROOT)["trial"] == "demo"
    with pytest.raises(FileNotFoundError, match="nothing.yaml"):
        config_file("nothing.yaml", ROOT)


def test_outside_a_project(tmp_path):
    with pytest.raises(ProjectNotFound, match=str(tmp_path)):
        project_root(tmp_path)
