"""What "the same results and reports" means when two runs are compared.

The slow tests compare runs with these helpers: a run killed and resumed (test_recovery) and a
run on SLURM (test_slurm) each against the clean local run `small_site`, so they also show that
two runs with the same inputs and seed agree.

Tables, figures, `numbers.json` and the clean Parquet tables are compared byte for byte; the
reports (HTML, the instantiated .qmd and .typ, PDF text) may differ only in the render
timestamp of their provenance section. Executed notebooks carry papermill's run times and
fresh cell ids, so of them only what the reports embed (Markdown and images) is compared.
"""

import json
import re
import shutil
import subprocess
from pathlib import Path

TRIAL = "demo"
# provenance.collect's "generated_utc": the one thing allowed to differ between reports.
RENDER_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC")
TIMESTAMPED = {".html", ".qmd", ".typ"}
EMBEDDED = ("text/markdown", "image/svg+xml", "image/png")


def _without_timestamp(text: str) -> str:
    return RENDER_TIMESTAMP.sub("<render time>", text)


def _embedded_outputs(path: Path) -> list:
    """Each code cell's source and the outputs a report can embed, in order."""
    notebook = json.loads(path.read_text(encoding="utf-8"))
    return [
        (
            "".join(cell["source"]),
            [
                {mime: output["data"][mime] for mime in EMBEDDED if mime in output["data"]}
                for output in cell.get("outputs", [])
                if "data" in output
            ],
        )
        for cell in notebook["cells"]
        if cell["cell_type"] == "code"
    ]


def _pdf_text(path: Path) -> str:
    done = subprocess.run(
        [shutil.which("pdftotext"), str(path), "-"], capture_output=True, text=True, check=True
    )
    return _without_timestamp(done.stdout)


def _files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def _same(first: Path, second: Path) -> bool:
    """Whether two output files count as the same (see the module docstring)."""
    suffix = first.suffix
    if suffix == ".ipynb":
        return _embedded_outputs(first) == _embedded_outputs(second)
    if suffix == ".pdf":
        return _pdf_text(first) == _pdf_text(second)
    if suffix in TIMESTAMPED:
        return _without_timestamp(first.read_text(encoding="utf-8")) == _without_timestamp(
            second.read_text(encoding="utf-8")
        )
    return first.read_bytes() == second.read_bytes()


def differences(first: Path, second: Path) -> list[str]:
    """What differs between the results and reports of two project folders (empty: none)."""
    found = []
    for folder in (f"results/{TRIAL}", "reports/_site"):
        a, b = first / folder, second / folder
        names_a, names_b = _files(a), _files(b)
        found += [f"only in {first.name}: {folder}/{n}" for n in sorted(names_a - names_b)]
        found += [f"only in {second.name}: {folder}/{n}" for n in sorted(names_b - names_a)]
        found += [
            f"differs: {folder}/{n}" for n in sorted(names_a & names_b) if not _same(a / n, b / n)
        ]
    return found


def compared_kinds(project: Path) -> dict[str, int]:
    """How many files of each kind a comparison covers: a guard against comparing nothing."""
    results = project / "results" / TRIAL
    return {
        "numbers": len(list(results.glob("*/*/numbers.json"))),
        "tables": len(list(results.glob("*/*/tables/*.csv"))),
        "figures": len(list(results.glob("*/*/figures/*.svg"))),
        "clean": len(list(results.glob("clean/*.parquet"))),
        "reports": len(list((project / "reports/_site").rglob("*.pdf"))),
    }


def test_the_comparison_sees_a_changed_figure_and_ignores_the_render_time(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    for project, (when, colour) in (
        (first, ("2026-01-01 10:00:00 UTC", "red")),
        (second, ("2026-01-02 11:30:59 UTC", "blue")),
    ):
        figures = project / f"results/{TRIAL}/trial/process/figures"
        figures.mkdir(parents=True)
        (figures / "a.svg").write_text("<svg/>")
        (project / "reports/_site").mkdir(parents=True)
        (project / "reports/_site/index.html").write_text(f"<td>{when}</td>")
        (figures / "b.svg").write_text(f"<svg fill='{colour}'/>")
    assert differences(first, second) == [f"differs: results/{TRIAL}/trial/process/figures/b.svg"]
    (second / "reports/_site/extra.html").write_text("")
    assert "only in second: reports/_site/extra.html" in differences(first, second)
