"""Execute a parameterised analysis notebook with papermill, failing loudly and cleanly.

papermill only warns on unknown parameters and leaves a half-executed notebook behind on a
failing cell; here an unknown parameter is an error, a failing cell raises `NotebookError`
naming the notebook, the cell and the error, and the output appears only when the run
succeeded (written to a temporary name, then renamed). Cells run in this process
(`psp_eval.engine.inprocess`) unless a kernel is asked for or an IPython shell is already running.
"""

from __future__ import annotations

import os
from pathlib import Path

from psp_eval.engine.atomic import temporary_path
from psp_eval.errors import PspEvalError


class NotebookError(PspEvalError, RuntimeError):
    """A notebook could not run: bad parameters, or a cell raised an error."""


def declared_parameters(notebook: Path) -> dict[str, str]:
    """Names and default values (as source text) of the notebook's `parameters` cell."""
    import papermill

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
    import papermill
    from papermill.exceptions import PapermillExecutionError

    from psp_eval.engine import inprocess

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


def _key_value(text: str) -> tuple[str, str]:
    import argparse

    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    key, value = text.split("=", 1)
    return key, value


def add_arguments(parser) -> None:
    """The arguments of `psp-eval execute` (shared by the CLI and the warm worker)."""
    parser.add_argument("notebook", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("-p", "--param", type=_key_value, action="append", metavar="NAME=VALUE")
    parser.add_argument(
        "--kernel", action="store_true", help="run a Jupyter kernel instead of this process"
    )


def main(argv: list[str]) -> int:
    """`psp-eval execute ARGS` run here: in a job's own process or a warm worker's child."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(prog="psp-eval execute")
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        execute(
            args.notebook, args.output, dict(args.param or []), cwd=Path.cwd(), kernel=args.kernel
        )
    except (NotebookError, FileNotFoundError) as err:
        print(f"psp-eval execute: {err}", file=sys.stderr)
        return 1
    print(f"Executed {args.notebook} -> {args.output}")
    return 0
