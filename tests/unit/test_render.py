"""Report instantiation and the embedded renderer (pandoc + Lua filters + typst), offline."""

from __future__ import annotations

import io
import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import matplotlib
import nbformat
import pytest

from psp_eval.report import index, render
from psp_eval.report.render import RenderError

matplotlib.use("Agg")
import matplotlib.pyplot as plt

TEMPLATE = """\
---
title: "Hub report: {{< var scope_name >}}"
subtitle: "Trial {{< var trial >}}"
---

## Recruitment

{{< var scope_name >}} randomised {{< num process.n_randomised >}} families
({{< num process.pct_consented >}}% consented) by {{< num process.data_cut >}};
see @fig-recruitment and @tbl-flow.

{{< embed process.ipynb#fig-recruitment >}}

::: {.callout-note}
## Reading these numbers
Scope `{{< var scope >}}`: exploratory.
:::

::: {.callout-warning title="Small numbers"}
Intervals are wide.
:::

::: {.callout-tip}
Read the trial report too.
:::

## Flow

{{< embed process.ipynb#tbl-flow >}}

```{.python .cell-code}
print("code the reader must not see")
```

{{< provenance >}}
"""

VARIABLES = {"trial": "demo", "scope": "north", "scope_name": 'North "East" & Cumbria'}
PROVENANCE = {
    "data_files": {"data/raw/demo/referrals.csv": "0123456789ab"},
    "config_files": {"config/config.yaml": "ba9876543210"},
    "config_hash": "feedfacecafe",
    "commit": "abc1234 (modified)",
    "versions": {"python": "3.11.7", "pandoc": "3.9"},
    "generated_utc": "2026-01-01 00:00:00 UTC",
}
PROJECT_FILE = Path(__file__).parents[2] / "reports/_quarto.yml"
REMOTE = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.I)


def _svg() -> str:
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.bar(["sffc", "usual"], [10, 12])
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None})
    plt.close(fig)
    return buffer.getvalue()


def _cell(source: str, data: dict) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    cell.outputs = [nbformat.v4.new_output("display_data", data=data)]
    return cell


def make_scope(folder: Path) -> Path:
    """A scope results folder: an executed notebook with labelled cells and its numbers.json."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_markdown_cell("# Process"),
        _cell(
            '#| label: fig-recruitment\n#| fig-cap: "Families randomised, by arm"\nplot()',
            {"image/svg+xml": _svg(), "text/plain": "<Figure>"},
        ),
        _cell(
            '#| label: tbl-flow\n#| tbl-cap: "Flow of families"\ntable()',
            {
                "text/markdown": "| arm | n |\n|:--|--:|\n| sffc | 1,234 |\n| usual | 1,198 |",
                "text/plain": "table",
            },
        ),
        _cell('#| label: tbl-html-only\n#| tbl-cap: "HTML"\nx', {"text/html": "<table/>"}),
        _cell("#| label: fig-no-caption\nplot()", {"image/svg+xml": _svg()}),
    ]
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, folder / "process.ipynb")
    (folder / "process").mkdir(exist_ok=True)
    (folder / "process" / "numbers.json").write_text(
        '{"n_randomised": 1234, "pct_consented": 61.50, "data_cut": "2026-03-31"}'
    )
    return folder


def make_qmd(folder: Path, text: str) -> Path:
    qmd = folder / "hub.qmd"
    qmd.write_text(text, encoding="utf-8")
    return qmd


@pytest.fixture()
def scope(tmp_path: Path) -> Path:
    return make_scope(tmp_path / "results" / "demo" / "north")


@pytest.fixture()
def template(tmp_path: Path) -> Path:
    path = tmp_path / "reports" / "hub.qmd"
    path.parent.mkdir(parents=True)
    path.write_text(TEMPLATE, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One instantiated and rendered report, shared by the output checks."""
    root = tmp_path_factory.mktemp("rendered")
    scope = make_scope(root / "results" / "demo" / "north")
    template = root / "hub.qmd"
    template.write_text(TEMPLATE, encoding="utf-8")
    shutil.copy2(PROJECT_FILE, root)  # the reports' shared options (table of contents...)
    qmd = render.instantiate(
        template, scope / "hub.qmd", variables=VARIABLES, provenance=PROVENANCE, engine="embedded"
    )
    html, pdf = root / "site" / "demo" / "north.html", root / "site" / "demo" / "north.pdf"
    engine = render.render(qmd, html, pdf, engine="embedded")
    return {"qmd": qmd, "html": html, "pdf": pdf, "engine": engine}


# --- instantiate ---------------------------------------------------------------------------


def test_instantiate_substitutes_numbers_variables_and_provenance(scope, template):
    qmd = render.instantiate(
        template, scope / "hub.qmd", variables=VARIABLES, provenance=PROVENANCE, engine="embedded"
    )
    text = qmd.read_text()
    assert "randomised 1,234 families" in text
    assert "(61.50% consented) by 2026-03-31" in text  # float digits kept as in the JSON
    assert 'North "East" & Cumbria randomised' in text
    assert 'title: "Hub report: North \\"East\\" & Cumbria"' in text  # escaped inside YAML
    assert "Scope `north`" in text
    assert "{{< embed process.ipynb#fig-recruitment >}}" in text  # left for the renderer
    assert "## Provenance {.unnumbered}" in text and "| Rendering engine | embedded |" in text
    assert "{{< num" not in text and "{{< var" not in text and "{{< provenance" not in text


def test_instantiate_missing_key_names_key_and_file(scope, template):
    (scope / "process" / "numbers.json").write_text('{"pct_consented": 1.5}')
    with pytest.raises(RenderError, match="n_randomised") as error:
        render.instantiate(template, scope / "hub.qmd", variables=VARIABLES, provenance=PROVENANCE)
    assert str(scope / "process" / "numbers.json") in str(error.value)
    assert not (scope / "hub.qmd").exists()


def test_instantiate_missing_numbers_file(scope, template):
    (scope / "process" / "numbers.json").unlink()
    with pytest.raises(RenderError, match=r"process/numbers\.json, which does not exist"):
        render.instantiate(template, scope / "hub.qmd", variables=VARIABLES, provenance=PROVENANCE)


def test_instantiate_unknown_shortcode_names_it_and_the_line(scope, template):
    template.write_text("# Title\n\n{{< meta title >}}\n")
    with pytest.raises(RenderError, match=r"hub\.qmd:3: unknown shortcode \{\{< meta title >\}\}"):
        render.instantiate(template, scope / "hub.qmd", variables=VARIABLES, provenance=PROVENANCE)


def test_instantiate_unknown_variable(scope, template):
    with pytest.raises(RenderError, match="var scope_name"):
        render.instantiate(
            template, scope / "hub.qmd", variables={"trial": "demo"}, provenance=PROVENANCE
        )


def test_instantiate_expands_includes_relative_to_the_including_file(scope, template):
    partials = template.parent / "partials"
    partials.mkdir()
    (partials / "flow.qmd").write_text("## Flow\n\n{{< include deeper.qmd >}}\n")
    (partials / "deeper.qmd").write_text("Randomised {{< num process.n_randomised >}}.\n")
    template.write_text("# Title\n\n{{< include partials/flow.qmd >}}\n\nEnd\n")
    qmd = render.instantiate(
        template, scope / "hub.qmd", variables=VARIABLES, provenance=PROVENANCE
    )
    assert qmd.read_text() == "# Title\n\n## Flow\n\nRandomised 1,234.\n\nEnd\n"


def test_instantiate_missing_or_looping_include(scope, template):
    template.write_text("{{< include nowhere.qmd >}}\n")
    with pytest.raises(
        RenderError, match=r"nowhere\.qmd does not exist \(included from .*hub\.qmd\)"
    ):
        render.instantiate(template, scope / "hub.qmd", variables=VARIABLES, provenance=PROVENANCE)
    template.write_text("{{< include hub.qmd >}}\n")
    with pytest.raises(RenderError, match="include loop"):
        render.instantiate(template, scope / "hub.qmd", variables=VARIABLES, provenance=PROVENANCE)


def test_instantiate_refuses_values_that_are_not_numbers_or_text(scope, template):
    (scope / "process" / "numbers.json").write_text(
        '{"n_randomised": [1], "pct_consented": 1.5, "data_cut": "x"}'
    )
    with pytest.raises(RenderError, match="expected a number or text"):
        render.instantiate(template, scope / "hub.qmd", variables=VARIABLES, provenance=PROVENANCE)


def test_pounds_before_a_number_read_as_money_with_a_true_minus(scope, template):
    (scope / "process" / "numbers.json").write_text(
        '{"n_randomised": -2495, "pct_consented": 1234.5, "data_cut": "x"}'
    )
    template.write_text(
        "Net £{{< num process.n_randomised >}}, saved £{{< num process.pct_consented >}}, "
        "price £{{< var scope >}}."
    )
    text = render.instantiate(
        template, scope / "hub.qmd", variables=VARIABLES, provenance=PROVENANCE
    ).read_text()
    assert "Net \u2212£2,495, saved £1,234.5, price £north" in text
    template.write_text("£{{< num process.data_cut >}}")
    with pytest.raises(RenderError, match=r"hub.qmd:1: .*amount of money, not 'x'"):
        render.instantiate(template, scope / "hub.qmd", variables=VARIABLES, provenance=PROVENANCE)


# --- the embedded engine -------------------------------------------------------------------


def test_html_is_self_contained_with_figure_table_callouts_and_crossrefs(rendered):
    page = rendered["html"].read_text(encoding="utf-8")
    assert rendered["engine"] == "embedded"
    assert not REMOTE.search(page), REMOTE.search(page)
    assert "<link " not in page and "<script" not in page
    assert 'src="data:image/svg+xml' in page or "<svg" in page
    assert '<a href="#fig-recruitment">Figure 1</a>' in page
    assert '<a href="#tbl-flow">Table 1</a>' in page
    assert "Figure 1: Families randomised, by arm" in page
    assert "Table 1: Flow of families" in page
    assert '<div class="callout callout-note" role="note">' in page
    assert "Reading these numbers" in page and 'class="callout callout-warning"' in page
    assert "Small numbers" in page
    assert re.search(r'<div class="callout-title">\s*Tip\s*</div>', page)  # default title
    assert "code the reader must not see" not in page
    assert '<h1 class="title">Hub report: North “East” &amp; Cumbria</h1>' in page
    headings = re.findall(r"<h2[^>]*>(.*?)</h2>", page)
    assert headings == ["Contents", "Recruitment", "Flow", "Provenance"]  # callout titles are not
    assert 'name="viewport"' in page and 'lang="en-GB"' in page


def test_pdf_is_written(rendered):
    pdf = rendered["pdf"]
    assert pdf.read_bytes().startswith(b"%PDF")
    assert pdf.stat().st_size > 1000
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
        ).stdout
        for words in (
            "Recruitment",
            "Provenance",
            "Figure 1: Families randomised",
            "Small numbers",
        ):
            assert words in text


def test_figures_are_written_beside_the_qmd(rendered):
    qmd = rendered["qmd"]
    assert (qmd.parent / "hub_figures" / "fig-recruitment.svg").read_text().lstrip().startswith("<")
    assert not list(rendered["html"].parent.glob(".*tmp*"))  # temporary files are gone


def test_auto_chooses_embedded_without_quarto(monkeypatch, scope, template):
    monkeypatch.setattr(shutil, "which", lambda name, *args, **kwargs: None)
    assert render.resolve_engine("auto") == "embedded"
    qmd = render.instantiate(
        template, scope / "hub.qmd", variables=VARIABLES, provenance=PROVENANCE
    )
    assert "| Rendering engine | embedded |" in qmd.read_text()
    assert render.render(qmd, scope / "out.html", scope / "out.pdf") == "embedded"


def test_auto_chooses_quarto_when_on_path(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name, *args, **kwargs: f"/usr/bin/{name}")
    assert render.resolve_engine("auto") == "quarto"
    assert render.resolve_engine("embedded") == "embedded"
    with pytest.raises(RenderError, match="unknown render engine"):
        render.resolve_engine("latex")


def test_quarto_engine_moves_its_outputs(tmp_path, monkeypatch):
    """A stand-in `quarto` writes <stem>.html and <stem>.pdf in one call (each call starts
    Deno and Quarto again); render moves them into place."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "quarto"
    calls = tmp_path / "calls"
    fake.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> {calls}\n'
        'stem="${2%.qmd}"\n'
        # as Quarto does, the page names an embedded cell's notebook by its absolute path
        'if [ "$4" = html,typst ]; then echo "<html>$stem $PWD/process.ipynb</html>" '
        '> "$stem.html"; printf "%%PDF-fake" > "$stem.pdf"; fi\n'
    )
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    qmd = make_qmd(tmp_path, "# Hello\n")
    html, pdf = tmp_path / "site" / "a.html", tmp_path / "site" / "a.pdf"
    assert render.render(qmd, html, pdf) == "quarto"
    assert html.read_text() == "<html>hub process.ipynb</html>\n"  # no folder of this machine
    assert pdf.read_bytes() == b"%PDF-fake"
    assert not (tmp_path / "hub.html").exists() and not (tmp_path / "hub.pdf").exists()
    assert calls.read_text() == "render hub.qmd --to html,typst\n"


def test_quarto_gets_the_notebooks_without_their_run_times(tmp_path):
    notebook = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("1")
    cell.metadata.update({"papermill": {"start_time": "2026-12-03T16:17:04"}, "tags": ["x"]})
    cell.metadata["execution"] = {"iopub.status.busy": "2026-12-03T16:17:04"}
    notebook.cells.append(cell)
    nbformat.write(notebook, tmp_path / "run.ipynb")
    render._without_html_outputs(tmp_path / "run.ipynb", tmp_path / "staged" / "run.ipynb")
    staged = nbformat.read(tmp_path / "staged" / "run.ipynb", as_version=4)
    assert staged.cells[0].metadata == {"tags": ["x"]}


@pytest.mark.parametrize(
    ("embed", "message"),
    [
        ("missing.ipynb#fig-recruitment", r"missing\.ipynb does not exist"),
        ("process.ipynb#fig-nope", r"no cell labelled 'fig-nope' in .*process\.ipynb"),
        ("process.ipynb#fig-no-caption", r"needs a '#\| fig-cap"),
        ("process.ipynb#tbl-html-only", r"no text/markdown output \(found: text/html\)"),
    ],
)
def test_embed_errors_name_notebook_and_label(scope, embed, message):
    qmd = make_qmd(scope, f"# Title\n\n{{{{< embed {embed} >}}}}\n")
    with pytest.raises(RenderError, match=message) as error:
        render.render(qmd, scope / "out.html", scope / "out.pdf", engine="embedded")
    assert embed.split("#")[1] in str(error.value) and "hub.qmd:3" in str(error.value)


def test_unresolved_crossref_fails_and_keeps_the_old_output(scope):
    qmd = make_qmd(scope, "---\ntitle: T\n---\n\nSee @fig-absent.\n")
    html = scope / "out.html"
    html.write_text("previous report")
    with pytest.raises(RenderError, match="@fig-absent") as error:
        render.render(qmd, html, scope / "out.pdf", engine="embedded")
    assert "pandoc" in str(error.value) and "out.html" in str(error.value)
    assert html.read_text() == "previous report"
    assert not list(scope.glob(".out*"))


def test_leftover_project_shortcode_is_an_error(scope):
    qmd = make_qmd(scope, "# T\n\nWe saw {{< num process.n_randomised >}} families.\n")
    with pytest.raises(RenderError, match=r"hub\.qmd:3: .*cannot expand \{\{< num"):
        render.render(qmd, scope / "out.html", scope / "out.pdf", engine="embedded")


def test_missing_qmd_is_an_error(tmp_path):
    with pytest.raises(RenderError, match="no such file"):
        render.render(tmp_path / "nope.qmd", tmp_path / "a.html", tmp_path / "a.pdf")


# --- index ---------------------------------------------------------------------------------


def test_index_links_every_report_relative_to_the_page(tmp_path):
    site = tmp_path / "site"
    entries = [
        {
            "trial": "demo",
            "scope": scope_id,
            "scope_name": name,
            "kind": kind,
            "html": str(site / "demo" / f"{scope_id}.html"),
            "pdf": str(site / "demo" / f"{scope_id}.pdf"),
            "data_cut": "2026-03-31",
        }
        for scope_id, name, kind in [
            ("trial", "Trial: demo", "trial"),
            ("north", 'North *East* "NE"', "hub"),
        ]
    ]
    out = index.build_index(
        entries, site / "index.html", title="PSP evaluation", provenance=PROVENANCE
    )
    page = out.read_text(encoding="utf-8")
    assert 'href="demo/trial.html"' in page and 'href="demo/north.pdf"' in page
    assert "North *East*" in page  # shown as typed, not as emphasis
    assert 'aria-label="North *East* &quot;NE&quot;: PDF"' in page
    assert "Hub report" in page and "data cut 2026-03-31" in page
    assert '<h1 class="title">PSP evaluation</h1>' in page and ">Provenance</h2>" in page
    assert not REMOTE.search(page) and "<link " not in page
    assert 'name="viewport"' in page and "max-width: 48rem" in page


def test_index_lists_the_funder_briefs_first(tmp_path):
    import pandas as pd

    site, results = tmp_path / "site", tmp_path / "results"
    for name in ("trial", "north", "trial-brief", "north-brief"):
        for ext in ("html", "pdf"):
            (site / "demo").mkdir(parents=True, exist_ok=True)
            (site / "demo" / f"{name}.{ext}").write_text("x")
    hubs = pd.DataFrame({"hub_id": ["north"], "hub_name": ["North"]})
    entries = index.index_entries("demo", hubs, site, results, briefs=True)
    assert [e["scope"] for e in entries] == ["trial-brief", "north-brief", "trial", "north"]
    assert entries[0]["kind"] == "funder brief" and entries[1]["scope_name"] == "North"
    out = index.build_index(entries, site / "index.html", title="t", provenance=PROVENANCE)
    assert "Funder brief, data cut" in out.read_text(encoding="utf-8")
    assert "brief" not in str(index.index_entries("demo", hubs, site, results))


def test_index_entry_missing_a_key(tmp_path):
    with pytest.raises(RenderError, match="entry 1 .* lacks pdf"):
        index.build_index(
            [
                {
                    "trial": "t",
                    "scope": "s",
                    "scope_name": "S",
                    "kind": "hub",
                    "html": "a.html",
                    "data_cut": "x",
                }
            ],
            tmp_path / "index.html",
            title="T",
            provenance=PROVENANCE,
        )


def test_numbers_get_separators_and_keep_their_digits(tmp_path):
    folder = tmp_path / "scope"
    (folder / "cba").mkdir(parents=True)
    (folder / "cba" / "numbers.json").write_text(
        '{"ratio": 2.50, "n": 1200000, "cost": 12345.6, "cut": "2026-03-31"}'
    )
    template = tmp_path / "t.qmd"
    template.write_text(
        "{{< num cba.ratio >}}; {{< num cba.n >}}; £{{< num cba.cost >}}; {{< num cba.cut >}}"
    )
    out = render.instantiate(template, folder / "t.qmd", variables={}, provenance=PROVENANCE)
    assert out.read_text() == "2.50; 1,200,000; £12,345.6; 2026-03-31"


def test_sections_include_the_chosen_analyses_partials_in_order(scope, template):
    partials = template.parent / "partials"
    partials.mkdir()
    for name in ("process", "impact"):
        (partials / f"{name}-summary-hub.qmd").write_text(f"- {name} summary\n")
        (partials / f"{name}-hub.qmd").write_text(f"## {name}\n")
    template.write_text("# T\n\n{{< sections summary-hub >}}\n\n{{< sections hub >}}\n")
    qmd = render.instantiate(
        template, scope / "hub.qmd", variables=VARIABLES, provenance=PROVENANCE,
        sections=["impact", "process"],
    )  # fmt: skip
    assert qmd.read_text() == (
        "# T\n\n- impact summary\n\n- process summary\n\n## impact\n\n## process\n"
    )
    only = render.instantiate(
        template, scope / "hub.qmd", variables=VARIABLES, provenance=PROVENANCE,
        sections=["process"],
    )  # fmt: skip
    assert "impact" not in only.read_text()


def test_project_options_reach_the_report_and_the_template_wins(scope, template):
    shutil.copy2(PROJECT_FILE, template.parent)
    text = template.read_text().replace("---\n\n", "format:\n  typst:\n    toc: false\n---\n\n", 1)
    template.write_text(text)
    qmd = render.instantiate(
        template, scope / "hub.qmd", variables=VARIABLES, provenance=PROVENANCE, engine="embedded"
    )
    metadata, _ = render._front_matter(qmd.read_text(), qmd)
    assert metadata["title"] == 'Hub report: North "East" & Cumbria'
    assert (
        metadata["format"]["html"]["toc"] is True
        and metadata["format"]["html"]["format-links"] is False
    )
    assert metadata["format"]["typst"]["toc"] is False  # the template's own option
    assert metadata["format"]["typst"]["papersize"] == "a4"
    assert "project" not in metadata
