"""Researchers in JupyterLab: every notebook runs top to bottom with its default parameters.

JupyterLab starts a notebook in notebooks/, so the defaults ("../results/demo/...") must
reach the demo's results from there; the test runs each notebook that way, with no
parameters injected, in a project where the pipeline has run.
"""

import shutil

import papermill
import pytest
import yaml

pytestmark = pytest.mark.slow


def test_every_notebook_runs_with_its_defaults_from_the_notebooks_folder(small_site, tmp_path):
    # a copy: the notebooks rewrite results, and the shared project must stay up to date
    project = shutil.copytree(
        small_site, tmp_path / "project", ignore=shutil.ignore_patterns(".snakemake")
    )
    config = yaml.safe_load((project / "config/config.yaml").read_text())
    # in the order the DAG runs them: later analyses read earlier ones' results
    names = config["analyses"]
    assert sorted(names) == sorted(p.stem for p in (project / "notebooks").glob("*.ipynb"))
    for name in names:
        notebook = project / "notebooks" / f"{name}.ipynb"
        papermill.execute_notebook(
            str(notebook),
            str(tmp_path / f"{name}.ipynb"),
            kernel_name="python3",
            progress_bar=False,
            cwd=str(project / "notebooks"),
        )
        assert (project / "results/demo/trial" / name / "numbers.json").exists()
