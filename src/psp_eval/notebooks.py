"""Execute a parameterised analysis notebook with papermill, failing loudly and cleanly.

papermill only warns on unknown parameters and leaves a half-executed notebook behind on a
failing cell; here an unknown parameter is an error, a failing cell raises `NotebookError`
naming the notebook, the cell and the error, and the output appears only when the run
succeeded (written to a temporary name, then renamed). Cells run in this process
(`psp_eval.inprocess`) unless a kernel is asked for or an IPython shell is already running.
"""

from __future__ import annotations

import os
from pathlib import Path

import papermill
from papermill.exceptions import PapermillExecutionError

from psp_eval import inprocess
from psp_eval.atomic import temporary_path


class NotebookError(RuntimeError):
    """A notebook could not run: bad parameters, or a cell raised an error."""


def declared_parameters(notebook: Path) -> dict[str, str]:
    """Names and default values (as source text) of the notebook's `parameters` cell."""
    found = papermill.inspect_notebook(str(notebook))
    return {name: info["default"] for name, info in found.items()}


def check_parameters(notebook: Path, parameters: dict[str, object]) -> None:
    """Refuse parameters the notebook does not declare (papermill would only warn)."""
    declared = declared_parameters(notebook)
    if not declared:
        raise NotebookError(f"{notebook}: no cell is tagged 'parameters'")
    unknown = sorted(set(parameters) - set(declared))
    if unknown:
        raise NotebookError(
            f"{notebook}: unknown parameter(s) {', '.join(unknown)}; "
            f"the notebook declares {', '.join(sorted(declared))}"
        )


def _cell_label(source: str) -> str:
    """The cell's `#| label:` if it has one, else its first line: how a reader finds it."""
    lines = source.strip().splitlines()
    for line in lines:
        if line.startswith("#| label:"):
            return line.split(":", 1)[1].strip()
    return lines[0] if lines else "(empty cell)"


def execute(
    notebook: Path,
    output: Path,
    parameters: dict[str, object],
    *,
    cwd: Path,
    kernel: bool = False,
) -> Path:
    """Run `notebook` with `parameters` into `output`; raise NotebookError on any failure.

    In this process by default (no kernel to start); `kernel=True` runs a Jupyter kernel, as
    JupyterLab would. A failed run keeps its partly executed copy at `<output>.failed.ipynb`.
    """
    notebook, output = Path(notebook), Path(output)
    check_parameters(notebook, parameters)
    output.parent.mkdir(parents=True, exist_ok=True)
    failed_copy = output.with_suffix(".failed.ipynb")
    with temporary_path(output) as tmp:
        try:
            papermill.execute_notebook(
                str(notebook),
                str(tmp),
                parameters=parameters,
                kernel_name="python3",
                engine_name=None if kernel or not inprocess.available() else inprocess.ENGINE,
                progress_bar=False,
                cwd=str(cwd),
            )
        except PapermillExecutionError as err:
            if tmp.exists():
                os.replace(tmp, failed_copy)
            # papermill counts the injected-parameters cell; report the cell as a reader sees it
            raise NotebookError(
                f"{notebook} failed in cell {err.exec_count} ({_cell_label(err.source)}): "
                f"{err.ename}: {err.evalue}\n  partly executed copy: {failed_copy}"
            ) from None
    failed_copy.unlink(missing_ok=True)
    return output
