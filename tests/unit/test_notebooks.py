"""Notebook execution: parameters checked, failures named, notebooks kept without outputs."""

import json
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from psp_eval.engine.execution import NotebookError, check_parameters, execute

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
REQUIRED_PARAMETERS = {"trial", "scope", "data_dir", "out_dir"}


def _notebook(path: Path, *cells: str) -> Path:
    params = new_code_cell('scope = "trial"\nout_dir = "."')
    params.metadata["tags"] = ["parameters"]
    nb = new_notebook(cells=[params, *(new_code_cell(c) for c in cells)])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)
    return path


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_notebooks_have_no_outputs(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert not cell["outputs"], f"{path.name}: strip outputs before committing"
            assert cell["execution_count"] is None, f"{path.name}: strip execution counts"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_declare_the_pipeline_parameters(path):
    check_parameters(path, dict.fromkeys(REQUIRED_PARAMETERS, "x"))


def test_the_three_analyses_exist():
    assert {p.stem for p in NOTEBOOKS} >= {"process", "impact", "cost_benefit"}


def test_unknown_parameter_is_refused(tmp_path):
    nb = _notebook(tmp_path / "a.ipynb", "x = 1")
    with pytest.raises(
        NotebookError, match=r"unknown parameter\(s\) scoep.*declares out_dir, scope"
    ):
        check_parameters(nb, {"scoep": "leeds"})


def test_notebook_without_parameters_cell_is_refused(tmp_path):
    nb = new_notebook(cells=[new_code_cell("x = 1")])
    nbformat.write(nb, tmp_path / "b.ipynb")
    with pytest.raises(NotebookError, match="no cell is tagged 'parameters'"):
        check_parameters(tmp_path / "b.ipynb", {})


@pytest.mark.parametrize("kernel", [False, True], ids=["in-process", "kernel"])
def test_failing_cell_names_notebook_cell_and_error(tmp_path, kernel):
    nb = _notebook(
        tmp_path / "fails.ipynb", "#| label: tbl-broken\nraise ValueError('no hub called ' + scope)"
    )
    out = tmp_path / "out" / "fails.ipynb"
    with pytest.raises(NotebookError) as err:
        execute(nb, out, {"scope": "york"}, cwd=tmp_path, kernel=kernel)
    message = str(err.value)
    assert "fails.ipynb" in message
    assert "tbl-broken" in message
    assert "ValueError: no hub called york" in message
    assert not out.exists(), "a failed run must leave no output behind"
    assert out.with_suffix(".failed.ipynb").exists()


def test_successful_run_writes_executed_notebook(tmp_path):
    nb = _notebook(tmp_path / "ok.ipynb", "print(scope.upper())")
    out = execute(nb, tmp_path / "ok_out.ipynb", {"scope": "leeds"}, cwd=tmp_path)
    executed = nbformat.read(out, as_version=4)
    printed = "".join(o.get("text", "") for c in executed.cells for o in c.get("outputs", []))
    assert "LEEDS" in printed


def _outputs(path: Path) -> list[list[dict]]:
    """Each code cell's outputs and execution count, without timing metadata.

    A kernel flushes a stream when its buffer or timer says so, so on a busy machine one
    print may arrive in two pieces: consecutive pieces of one stream are joined.
    """
    executed = nbformat.read(path, as_version=4)
    cells = []
    for cell in (c for c in executed.cells if c.cell_type == "code"):
        outputs = []
        for output in map(dict, cell.outputs):
            last = outputs[-1] if outputs else {}
            if output["output_type"] == "stream" and last.get("name") == output["name"]:
                last["text"] += output["text"]
            else:
                outputs.append(output)
        cells.append((cell.execution_count, outputs))
    return cells


def test_in_process_outputs_match_a_kernel(tmp_path):
    """Streams, displays, results (a trailing ; hides one), SVG and cwd as a kernel gives."""
    cells = [
        "print('out', scope)\nprint('more')",
        "import sys\nprint('err', file=sys.stderr)",
        "from IPython.display import Markdown, display\ndisplay(Markdown('**shown**'))\n1 + 1",
        "import pandas as pd\npd.DataFrame({'n': [5, 6]})",
        "40 + 2;",
        "from pathlib import Path\nPath.cwd().name",
        # a fixed SVG: a matplotlib figure would differ with the test process's rcParams
        "from IPython.display import SVG\n"
        'SVG(\'<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><rect width="8" height="8"/></svg>\')',
        "get_ipython().__class__.__name__ != '' and __name__",
    ]
    nb = _notebook(tmp_path / "same.ipynb", *cells)
    here = execute(nb, tmp_path / "here.ipynb", {"scope": "leeds"}, cwd=tmp_path)
    kernel = execute(nb, tmp_path / "kernel.ipynb", {"scope": "leeds"}, cwd=tmp_path, kernel=True)
    assert _outputs(here) == _outputs(kernel)
    outputs = _outputs(here)
    assert outputs[2][1][0]["text"] == "out leeds\nmore\n"  # after parameters, injected cell
    assert outputs[3][1][0]["name"] == "stderr"
    assert outputs[6][1] == []  # 40 + 2; shows nothing
    assert outputs[7][1][0]["data"]["text/plain"] == repr(tmp_path.name)


def test_in_process_run_leaves_the_process_as_it_was(tmp_path):
    import sys

    from IPython.core.interactiveshell import InteractiveShell

    main, stdout = sys.modules["__main__"], sys.stdout
    nb = _notebook(tmp_path / "state.ipynb", "x = 1")
    execute(nb, tmp_path / "state_out.ipynb", {"scope": "leeds"}, cwd=tmp_path)
    assert sys.modules["__main__"] is main and sys.stdout is stdout
    assert not InteractiveShell.initialized()
