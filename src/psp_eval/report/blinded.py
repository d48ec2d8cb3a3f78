"""A blinded report: the instantiated report and the notebooks it embeds with every arm name
replaced by "Arm A" / "Arm B" (`governance.blinding.relabel_text`), opening with the BLINDED
ANALYSIS callout."""

from __future__ import annotations

import re
from pathlib import Path

from psp_eval.engine.atomic import write_text
from psp_eval.governance.blinding import BANNER, BlindingError, relabel_text
from psp_eval.report.render import EMBEDDED_NOTEBOOK, FRONT_MATTER

_OPTION_LINE = re.compile(r"^#\|.*$", re.M)


def relabel_notebook(nb) -> object:
    """An executed notebook (nbformat) with arm names relabelled where a report shows them:
    Markdown cells, the `#|` caption lines of code cells, and text, Markdown, HTML and SVG
    outputs. Code itself is left alone (the reports hide it and it must still read true)."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = relabel_text(cell.source)
        elif cell.cell_type == "code":
            cell.source = _OPTION_LINE.sub(lambda m: relabel_text(m.group(0)), cell.source)
            for output in cell.get("outputs", []):
                data = output.get("data", {})
                for mime in ("text/markdown", "text/plain", "text/html", "image/svg+xml"):
                    if mime in data:
                        value = data[mime]
                        joined = "".join(value) if isinstance(value, list) else value
                        data[mime] = relabel_text(joined)
                if "text" in output:
                    value = output["text"]
                    output["text"] = relabel_text(
                        "".join(value) if isinstance(value, list) else value
                    )
    return nb


def banner_callout() -> str:
    """The callout every blinded report opens with."""
    return f"::: {{.callout-important}}\n## Blinded analysis\n**{BANNER}**\n:::\n"


def blind_report(qmd: str | Path, workdir: str | Path) -> Path:
    """Relabel an instantiated report in place, open it with the BLINDED ANALYSIS callout, and
    write in `workdir` the copy to render: the same text beside relabelled copies of the
    executed notebooks it embeds (the notebooks themselves stay as executed, for reviewers and
    reruns). Returns the copy's path."""
    import nbformat

    qmd, workdir = Path(qmd), Path(workdir)
    text = relabel_text(qmd.read_text(encoding="utf-8"))
    front = FRONT_MATTER.match(text)
    at = front.end() if front else 0
    text = f"{text[:at]}\n{banner_callout()}\n{text[at:].lstrip(chr(10))}"
    write_text(qmd, text)
    for name in sorted(set(EMBEDDED_NOTEBOOK.findall(text))):
        source, dest = qmd.parent / name, workdir / name
        if not source.is_file():
            raise BlindingError(f"{qmd}: embeds {name}, which is not in {qmd.parent}")
        dest.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(relabel_notebook(nbformat.read(source, as_version=4)), dest)
    return write_text(workdir / qmd.name, text)
