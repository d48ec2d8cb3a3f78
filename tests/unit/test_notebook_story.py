"""Notebooks read as a story: load, call, show and record, with the logic in the library."""

import json
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
MAX_CODE_LINES = 80


def code_lines(path: Path) -> int:
    """Non-blank, non-comment lines in the notebook's code cells."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return sum(
        1
        for cell in cells
        if cell["cell_type"] == "code"
        for line in "".join(cell["source"]).splitlines()
        if line.strip() and not line.strip().startswith("#")
    )


@pytest.mark.parametrize("name", sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb")))
def test_the_notebook_is_short(name):
    assert code_lines(NOTEBOOKS / f"{name}.ipynb") <= MAX_CODE_LINES
