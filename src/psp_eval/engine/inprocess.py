"""A papermill engine that runs a notebook's cells in this process, without a kernel.

A Jupyter kernel is a second process: it must start, open its ZMQ sockets and import the
analysis libraries again, and every cell is a round trip of messages. For a notebook that
computes for three seconds that is half the job; on a busy machine two kernels starting at
once can also collide on a port and fail the run. The pipeline executes one notebook per job,
so the job's own process can be the kernel: here cells run in an IPython shell and their
outputs (streams, displays, results, errors) are recorded as a kernel would send them, and
papermill does the rest as usual (parameters, cell metadata, the error it raises).

Researchers keep the ordinary kernel in JupyterLab; `psp_eval.engine.execution.execute` falls back
to it when an IPython shell is already running in the process.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import nbformat
from IPython.core.displayhook import DisplayHook
from IPython.core.displaypub import DisplayPublisher
from IPython.core.interactiveshell import InteractiveShell
from papermill.engines import Engine, papermill_engines
from traitlets import Type
from traitlets.config import Config

ENGINE = "psp-eval-inprocess"


class _Stream(io.TextIOBase):
    """stdout or stderr of a cell, recorded as the kernel's `stream` outputs."""

    def __init__(self, shell: _Shell, name: str) -> None:
        self._shell, self.name = shell, name

    def writable(self) -> bool:
        return True

    @property
    def encoding(self) -> str:
        return "utf-8"

    def write(self, text: str) -> int:
        outputs = self._shell.outputs
        if outputs and outputs[-1].output_type == "stream" and outputs[-1].name == self.name:
            outputs[-1].text += text
        elif text:
            outputs.append(nbformat.v4.new_output("stream", name=self.name, text=text))
        return len(text)


class _Publisher(DisplayPublisher):
    """`display(...)` calls, recorded as `display_data` outputs."""

    def publish(self, data, metadata=None, source=None, *, transient=None, update=False, **kw):
        output = nbformat.v4.new_output("display_data", data=data, metadata=metadata or {})
        self.shell.outputs.append(output)

    def clear_output(self, wait: bool = False) -> None:
        self.shell.outputs.clear()


class _ResultHook(DisplayHook):
    """A cell's last expression, recorded as its `execute_result` (a trailing `;` hides it)."""

    def __call__(self, result=None) -> None:
        if result is None or self.quiet():
            return
        data, metadata = self.shell.display_formatter.format(result)
        # the cell's count is known once it has run (see _Shell.run_code_cell)
        self.shell.outputs.append(
            nbformat.v4.new_output("execute_result", data=data, metadata=metadata)
        )


class _Shell(InteractiveShell):
    """An IPython shell whose outputs go to the running cell instead of the terminal."""

    displayhook_class = Type(_ResultHook)
    display_pub_class = Type(_Publisher)

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.outputs: list = []

    def _showtraceback(self, etype, evalue, stb) -> None:
        self.outputs.append(
            nbformat.v4.new_output("error", ename=etype.__name__, evalue=str(evalue), traceback=stb)
        )

    def run_code_cell(self, cell) -> bool:
        """Run one code cell into its outputs; False when it raised."""
        self.outputs = cell.outputs = []
        streams = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = _Stream(self, "stdout"), _Stream(self, "stderr")
        try:
            result = self.run_cell(cell.source, store_history=True)
        finally:
            sys.stdout, sys.stderr = streams
        cell.execution_count = result.execution_count
        for output in cell.outputs:
            if output.output_type == "execute_result":
                output.execution_count = result.execution_count
        return result.success


@contextmanager
def _shell() -> Iterator[_Shell]:
    """A fresh shell for one notebook; the process's `__main__` is restored afterwards."""
    config = Config()
    config.HistoryManager.hist_file = ":memory:"  # no history database on disk
    main = sys.modules["__main__"]
    shell = _Shell.instance(config=config)
    try:
        yield shell
    finally:
        shell.cleanup()
        _Shell.clear_instance()
        sys.modules["__main__"] = main


class InProcessEngine(Engine):
    """papermill's engine interface over `_Shell`: cells run in order, the first error stops."""

    @classmethod
    def execute_managed_notebook(cls, nb_man, kernel_name, **kwargs) -> None:
        # papermill writes the whole notebook at every cell's start and end (process: about 100
        # writes of up to 0.5 MB). The output is a temporary file nobody reads before the job
        # ends, so only papermill's first save and its last (after any error) are kept.
        nb_man.save = lambda **kwargs: None
        try:
            with _shell() as shell:
                for index, cell in enumerate(nb_man.nb.cells):
                    nb_man.cell_start(cell, index)
                    try:
                        if cell.cell_type == "code" and not shell.run_code_cell(cell):
                            nb_man.cell_exception(cell, cell_index=index)
                            break
                    finally:
                        nb_man.cell_complete(cell, cell_index=index)
        finally:
            del nb_man.save  # papermill's own again, for its final save


def available() -> bool:
    """In-process execution needs the process to itself: not inside a running IPython."""
    return not InteractiveShell.initialized()


papermill_engines.register(ENGINE, InProcessEngine)
