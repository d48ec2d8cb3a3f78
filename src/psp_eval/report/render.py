"""Reports: fill a Quarto template for one scope, then render it to HTML and PDF.

Quarto's `params` reach a document only when it executes, and the reports execute nothing, so
`instantiate` writes one .qmd per scope next to that scope's executed notebooks, with the
project shortcodes (`num`, `var`, `provenance`) already replaced. `render` then turns it into
a self-contained HTML page and a PDF with one of two engines that read the same source:

- "quarto", when `quarto` is on PATH;
- "embedded" otherwise (the `quarto-cli` wheel cannot install here): a Python pre-pass expands
  `{{< embed nb.ipynb#label >}}` from the executed notebook, pandoc (pypandoc-binary) applies
  the Lua filters in `assets/` for the Quarto features the reports use (cross-references,
  callouts, hidden code), and the `typst` wheel makes the PDF.

`build_index` writes the page that links every report.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path

import nbformat
import pypandoc
import typst
import yaml

from psp_eval.engine.atomic import temporary_path, write_text
from psp_eval.errors import PspEvalError
from psp_eval.report import provenance as provenance_module

ENGINES = ("quarto", "embedded")
ASSETS = Path(__file__).with_name("assets")
# Order matters: code is dropped and tables wrapped before numbering; callouts go last so
# their titles (taken from headings) leave the table of contents.
LUA_FILTERS = ("presentation.lua", "typst-tables.lua", "crossref.lua", "callout.lua")
# The filter both engines run for the PDF: Typst sizes table columns to their content.
TABLE_WIDTHS_FILTER = ASSETS / "typst-tables.lua"
CSS = ASSETS / "report.css"
TYPST_HEADER = ASSETS / "report.typ"
TIMEOUT_SECONDS = 600

# {{< name args >}}, Quarto's shortcode syntax (one line). A "£" just before a `num` makes it
# money, so that a negative amount reads "−£2,495", as in the tables, not "£-2,495".
SHORTCODE = re.compile(
    r"(?P<pounds>£)?\{\{<\s*(?P<name>[A-Za-z][\w-]*)\s*(?P<argument>.*?)\s*>\}\}"
)
# An embed the embedded engine can expand: alone on its line, naming one labelled cell.
EMBED = re.compile(r"^[ \t]*\{\{<\s*embed\s+([^\s#]+\.ipynb)#([\w-]+)\s*>\}\}[ \t]*$", re.M)
# The project's sections shortcode, alone on its line: the partials of the chosen analyses.
SECTIONS = re.compile(r"^[ \t]*\{\{<\s*sections\s+([\w-]+)\s*>\}\}[ \t]*$", re.M)
# Quarto's include shortcode, alone on its line; expanded first, relative to the including file.
INCLUDE = re.compile(r"^[ \t]*\{\{<\s*include\s+(\S+)\s*>\}\}[ \t]*$", re.M)
# Any embed's notebook, for staging the notebooks a report needs.
EMBEDDED_NOTEBOOK = re.compile(r"\{\{<\s*embed\s+([^\s#>]+\.ipynb)#")
# Outputs that make Quarto load remote scripts.
SCRIPTED_MIMES = ("text/html", "application/javascript")
# A cell's record of its run (papermill's times, Jupyter's), which differs on every run.
EXECUTION_METADATA = ("papermill", "execution")
FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?\n)?(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.S)
# Quarto's own date keywords, which pandoc would print literally.
TODAY = ("today", "now", "last-modified")

# The reports' Quarto project file (beside the templates): the options every report shares.
PROJECT_FILE = "_quarto.yml"
# Typst rules Quarto's own template needs: its table figures may break across pages.
QUARTO_TYPST_HEADER = ASSETS / "quarto.typ"
QUARTO_CSS = ASSETS / "quarto.css"


class RenderError(PspEvalError):
    """A report could not be made; the message names the file and what went wrong."""


def resolve_engine(engine: str = "auto") -> str:
    """The one place that decides the engine: "auto" means Quarto if installed."""
    if engine == "auto":
        return "quarto" if shutil.which("quarto") else "embedded"
    if engine not in ENGINES:
        raise RenderError(f"unknown render engine {engine!r}; use auto, {', '.join(ENGINES)}")
    return engine


# --- instantiate ---------------------------------------------------------------------------


def instantiate(
    template: Path,
    dest: Path,
    *,
    variables: dict[str, str],
    provenance: dict,
    engine: str = "auto",
    sections: Sequence[str] = (),
) -> Path:
    """Write `dest`: `template` with `sections`, `include`, `num`, `var` and `provenance`
    replaced.

    `{{< sections NAME >}}` (alone on its line) includes `partials/<analysis>-NAME.qmd` of
    each analysis in `sections`, in order: a report holds the sections of the analyses the run
    chose, and no others. Numbers come from `dest.parent/<analysis>/numbers.json`; `embed`
    shortcodes stay for the renderer. `engine` (resolved as `render` resolves it) is named in the provenance section,
    so pass the same value to both. Values substituted inside the YAML front matter are
    escaped for a double-quoted YAML string.
    """
    template, dest = Path(template), Path(dest)
    text = _expand_includes(template, (), sections)
    front = FRONT_MATTER.match(text)
    front_end = front.end() if front else 0
    numbers: dict[Path, dict] = {}

    def substitute(match: re.Match[str]) -> str:
        name, argument, pounds = match["name"], match["argument"], match["pounds"] or ""
        where = f"{template}:{_line_of(text, match.start())}"
        if name == "embed":
            return match.group(0)
        if name == "num":
            value = _number(argument, dest.parent, numbers, where)
            if pounds:
                value = _pounds(value, where)
        elif name == "var":
            if argument not in variables:
                known = ", ".join(sorted(variables)) or "none"
                raise RenderError(
                    f"{where}: no value for {{{{< var {argument} >}}}} (known: {known})"
                )
            value = str(variables[argument])
        elif name == "provenance":
            value = provenance_module.to_markdown(provenance, engine=resolve_engine(engine))
        else:
            raise RenderError(
                f"{where}: unknown shortcode {match.group(0)} "
                "(known: include, embed, num, var, provenance)"
            )
        if name != "num":
            value = pounds + value  # a "£" before another shortcode stays as it was
        if match.start() < front_end:
            return value.replace("\\", "\\\\").replace('"', '\\"')
        return value

    result = SHORTCODE.sub(substitute, text)
    metadata, body = _front_matter(result, template)  # still valid YAML after substitution?
    project = project_options(template.parent)
    if not project:
        return write_text(dest, result)
    merged = yaml.safe_dump(_merge(project, metadata), allow_unicode=True, sort_keys=False)
    return write_text(dest, f"---\n{merged}---\n{body}")


def project_options(folder: Path) -> dict:
    """The shared options of `folder/_quarto.yml` (without its `project` key), or none.

    The instantiated report lives in the results folder, outside the Quarto project, so
    `instantiate` copies these into its front matter for either engine to read.
    """
    path = Path(folder) / PROJECT_FILE
    if not path.is_file():
        return {}
    try:
        options = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise RenderError(f"{path} does not parse as YAML:\n{error}") from error
    if not isinstance(options, dict):
        raise RenderError(f"{path} should be a mapping of Quarto options")
    return {key: value for key, value in options.items() if key != "project"}


def _merge(base: dict, over: dict) -> dict:
    """`over` on top of `base`, mappings merged key by key (Quarto's own merge of project and
    document options)."""
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _expand_includes(path: Path, including: tuple[Path, ...], sections: Sequence[str] = ()) -> str:
    """`path`'s text with every `{{< sections NAME >}}` turned into the includes of the chosen
    analyses' partials, and every `{{< include partial.qmd >}}` replaced by that file's text.

    Done before rendering because the instantiated .qmd lives in the results folder, where
    the partials' relative paths would no longer resolve (for Quarto either).
    """
    if path.resolve() in including:
        chain = " -> ".join(str(p) for p in (*including, path))
        raise RenderError(f"include loop: {chain}")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        where = f" (included from {including[-1]})" if including else ""
        raise RenderError(f"report source {path} does not exist{where}") from None

    def include(match: re.Match[str]) -> str:
        return _expand_includes(
            path.parent / match.group(1), (*including, path.resolve()), sections
        ).rstrip("\n")

    def chosen(match: re.Match[str]) -> str:
        return "\n\n".join(
            f"{{{{< include partials/{analysis}-{match.group(1)}.qmd >}}}}" for analysis in sections
        )

    return INCLUDE.sub(include, SECTIONS.sub(chosen, text))


def _number(reference: str, folder: Path, cache: dict[Path, dict], where: str) -> str:
    """Format `<analysis>.<key>` from `folder/<analysis>/numbers.json` for the text."""
    analysis, _, key = reference.partition(".")
    if not analysis or not key:
        raise RenderError(
            f"{where}: write {{{{< num analysis.key >}}}}, not {{{{< num {reference} >}}}}"
        )
    path = folder / analysis / "numbers.json"
    if path not in cache:
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
        except FileNotFoundError:
            raise RenderError(
                f"{where}: {{{{< num {reference} >}}}} needs {path}, which does not exist "
                f"(has the {analysis} notebook run for this scope?)"
            ) from None
        except json.JSONDecodeError as error:
            raise RenderError(f"{path} is not valid JSON: {error}") from None
        if not isinstance(loaded, dict):
            raise RenderError(f"{path} should hold one JSON object of key -> value")
        cache[path] = loaded
    if key not in cache[path]:
        raise RenderError(f"{where}: key {key!r} is not in {path}")
    value = cache[path][key]
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise RenderError(f"{where}: {key!r} in {path} is {value!r}; expected a number or text")
    # Thousands separators; decimals keep exactly the digits the notebook rounded to.
    return value if isinstance(value, str) else f"{value:,}"


def _pounds(number: str, where: str) -> str:
    """ "£2,495" or "−£2,495" (a true minus sign before the £) for a formatted number."""
    negative = number.startswith("-")
    digits = number.removeprefix("-")
    if not re.fullmatch(r"[\d,]+(?:\.\d+)?", digits):
        raise RenderError(f"{where}: £{{{{< num >}}}} needs an amount of money, not {number!r}")
    return f"\u2212£{digits}" if negative else f"£{digits}"


def _line_of(text: str, position: int) -> int:
    return text.count("\n", 0, position) + 1


# --- render --------------------------------------------------------------------------------


def render(qmd: Path, html: Path, pdf: Path, *, engine: str = "auto") -> str:
    """Render `qmd` to `html` (self-contained) and `pdf`; return the engine used."""
    # Absolute, because pandoc and quarto run in the qmd's folder.
    qmd, html, pdf = Path(qmd).absolute(), Path(html).absolute(), Path(pdf).absolute()
    if not qmd.is_file():
        raise RenderError(f"cannot render {qmd}: no such file")
    chosen = resolve_engine(engine)
    if chosen == "quarto":
        _render_quarto(qmd, html, pdf)
    else:
        _render_embedded(qmd, html, pdf)
    return chosen


def _render_quarto(qmd: Path, html: Path, pdf: Path) -> None:
    """One `quarto render` to both formats in a folder of its own (each call starts Deno and
    Quarto again: 3 s of a report's 20), then move each output where it was asked for.

    The folder holds the report, with our stylesheet, Typst header and table filter in its
    formats' options, and copies of the notebooks it embeds without their HTML outputs:
    Quarto adds remote jQuery and RequireJS to a page when any cell of an embedded notebook
    has one (a DataFrame shown for the notebook's reader), and the report embeds only
    Markdown and SVG.
    """
    metadata, body = _front_matter(qmd.read_text(encoding="utf-8"), qmd)
    ours = {
        "html": {"css": [str(QUARTO_CSS)]},
        "typst": {
            "include-in-header": str(QUARTO_TYPST_HEADER),
            "filters": [str(TABLE_WIDTHS_FILTER)],
        },
    }
    metadata = _merge(metadata, {"format": ours})
    front = yaml.safe_dump(metadata, allow_unicode=True, sort_keys=False)
    with tempfile.TemporaryDirectory(prefix=".quarto-", dir=qmd.parent) as folder:
        staged = Path(folder) / qmd.name
        staged.write_text(f"---\n{front}---\n{body}", encoding="utf-8")
        for name in sorted(set(EMBEDDED_NOTEBOOK.findall(body))):
            _without_html_outputs(qmd.parent / name, Path(folder) / name)
        _run(
            ["quarto", "render", staged.name, "--to", ",".join(ours)],
            cwd=staged.parent,
            what=f"quarto render {qmd} --to {','.join(ours)}",
        )
        _without_folder(staged.with_suffix(".html"), Path(folder))
        for dest in (html, pdf):
            with temporary_path(dest) as tmp:
                shutil.move(staged.with_suffix(dest.suffix), tmp)


def _without_folder(page: Path, folder: Path) -> None:
    """Quarto names each embedded cell's notebook by its absolute path (`data-notebook`): the
    staging folder's, random and on this machine. The page names the notebook alone: it does
    not change with the folder's name, and a funder's copy shows no folder of ours."""
    text = page.read_text(encoding="utf-8")
    for path in {str(folder.absolute()), str(folder.resolve())}:
        text = text.replace(f"{path}/", "")
    page.write_text(text, encoding="utf-8")


def _without_html_outputs(source: Path, dest: Path) -> None:
    """Copy an executed notebook, dropping HTML and JavaScript outputs that have another
    representation (DataFrames keep their text) and each cell's execution record (papermill's
    start and end times: Quarto copies a cell's metadata into the page)."""
    if not source.is_file():
        raise RenderError(f"{dest.parent}: the report embeds {source}, which does not exist")
    notebook = nbformat.read(source, as_version=4)
    for cell in notebook.cells:
        for key in EXECUTION_METADATA:
            cell.metadata.pop(key, None)
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if set(data) - set(SCRIPTED_MIMES):
                for mime in SCRIPTED_MIMES:
                    data.pop(mime, None)
    dest.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, dest)


def _render_embedded(qmd: Path, html: Path, pdf: Path) -> None:
    """Pre-pass, then pandoc to HTML and to Typst, then the typst wheel to PDF."""
    text = _expand_embeds(qmd.read_text(encoding="utf-8"), qmd)
    metadata, body = _front_matter(text, qmd)
    _pandoc(body, html, to="html5", metadata=_format_metadata(metadata, "html"), cwd=qmd.parent)
    typ = qmd.with_suffix(".typ")  # kept beside the qmd: typst's errors point into it
    _pandoc(body, typ, to="typst", metadata=_format_metadata(metadata, "typst"), cwd=qmd.parent)
    _compile_typst(typ, pdf, root=qmd.parent)


def _expand_embeds(text: str, qmd: Path) -> str:
    """Replace each `{{< embed nb.ipynb#label >}}` with the Markdown of that cell's output.

    Figures are written to `<qmd stem>_figures/` beside `qmd` and referenced from there.
    Any other shortcode left in the text is an error: the embedded engine would print it.
    """
    spans = [match.span() for match in EMBED.finditer(text)]
    for match in SHORTCODE.finditer(text):
        if not any(start <= match.start() < end for start, end in spans):
            raise RenderError(
                f"{qmd}:{_line_of(text, match.start())}: the embedded renderer cannot expand "
                f"{match.group(0)} (it expands {{{{< embed notebook.ipynb#label >}}}} alone "
                "on a line; instantiate the template first for num/var/provenance)"
            )
    notebooks: dict[Path, list[tuple[nbformat.NotebookNode, dict]]] = {}

    def expand(match: re.Match[str]) -> str:
        notebook, label = qmd.parent / match.group(1), match.group(2)
        where = f"{qmd}:{_line_of(text, match.start())}: {{{{< embed {match.group(1)}#{label} >}}}}"
        if notebook not in notebooks:
            if not notebook.is_file():
                raise RenderError(f"{where}: notebook {notebook} does not exist")
            try:
                executed = nbformat.read(notebook, as_version=4)
            except (OSError, ValueError) as error:  # nbformat's read errors are ValueErrors
                raise RenderError(f"{where}: cannot read {notebook}: {error}") from error
            # each cell's options parsed once, not once per embed
            notebooks[notebook] = [
                (cell, _cell_options(cell.source, notebook))
                for cell in executed.cells
                if cell.cell_type == "code"
            ]
        cell, options = _labelled_cell(notebooks[notebook], label, notebook, where)
        return "\n" + _cell_markdown(cell, label, options, qmd, f"{where} (in {notebook})") + "\n"

    return EMBED.sub(expand, text)


def _labelled_cell(
    cells: list[tuple[nbformat.NotebookNode, dict]], label: str, path: Path, where: str
) -> tuple[nbformat.NotebookNode, dict]:
    """The one code cell (of `cells`, with their options) whose options say `label: <label>`."""
    found, labels = [], []
    for cell, options in cells:
        if "label" in options:
            labels.append(str(options["label"]))
        if options.get("label") == label:
            found.append((cell, options))
    if len(found) != 1:
        problem = "no cell" if not found else f"{len(found)} cells"
        known = ", ".join(labels) or "none"
        raise RenderError(
            f"{where}: {problem} labelled {label!r} in {path} (labels there: {known})"
        )
    return found[0]


def _cell_options(source: str, notebook: Path) -> dict:
    """Quarto cell options: the YAML in the cell's leading `#|` comment lines."""
    lines = []
    for line in source.splitlines():
        if not line.startswith("#|"):
            break
        lines.append(line[2:])
    try:
        options = yaml.safe_load("\n".join(lines)) if lines else {}
    except yaml.YAMLError as error:
        raise RenderError(f"{notebook}: bad '#|' cell options:\n{error}") from error
    return options if isinstance(options, dict) else {}


def _cell_markdown(
    cell: nbformat.NotebookNode, label: str, options: dict, qmd: Path, where: str
) -> str:
    """Markdown for one cell's display output: a figure, a captioned table, or plain Markdown.

    `fig-*` cells need an SVG (or PNG) output and a `fig-cap`; `tbl-*` cells a Markdown table
    output and a `tbl-cap`; other labels insert their Markdown outputs as they are.
    """
    shown = [o.data for o in cell.outputs if o.output_type in ("display_data", "execute_result")]
    if label.startswith("fig-"):
        caption = _caption(options, "fig", where)
        for data in shown:
            if "image/svg+xml" in data or "image/png" in data:
                return f"![{caption}](<{_write_figure(data, label, qmd)}>){{#{label}}}"
        raise RenderError(f"{where}: the cell has no SVG or PNG output ({_mimes(shown)})")
    markdown = [data["text/markdown"].strip() for data in shown if "text/markdown" in data]
    if not markdown:
        raise RenderError(f"{where}: the cell has no text/markdown output ({_mimes(shown)})")
    if label.startswith("tbl-"):
        return f"{markdown[0]}\n\n: {_caption(options, 'tbl', where)} {{#{label}}}"
    return "\n\n".join(markdown)


def _caption(options: dict, kind: str, where: str) -> str:
    """The `fig-cap`/`tbl-cap` cell option on one line; numbered items must have one."""
    caption = options.get(f"{kind}-cap")
    if not isinstance(caption, str) or not caption.strip():
        raise RenderError(f"{where}: the cell needs a '#| {kind}-cap: \"...\"' caption")
    return " ".join(caption.split())


def _write_figure(data: dict, label: str, qmd: Path) -> str:
    """Write one figure beside `qmd`; return its path relative to `qmd`'s folder."""
    folder = qmd.parent / f"{qmd.stem}_figures"
    if "image/svg+xml" in data:
        path = folder / f"{label}.svg"
        write_text(path, data["image/svg+xml"])
    else:
        path = folder / f"{label}.png"
        with temporary_path(path) as tmp:
            tmp.write_bytes(base64.b64decode(data["image/png"]))
    return path.relative_to(qmd.parent).as_posix()


def _mimes(shown: list[dict]) -> str:
    found = sorted({mime for data in shown for mime in data})
    return "found: " + ", ".join(found) if found else "it has no display output"


def _front_matter(text: str, source: Path) -> tuple[dict, str]:
    """Split a document into its YAML front matter (a dict) and the body."""
    match = FRONT_MATTER.match(text)
    if not match:
        return {}, text
    try:
        metadata = yaml.safe_load(match.group(1) or "") or {}
    except yaml.YAMLError as error:
        raise RenderError(f"{source}: the YAML front matter does not parse:\n{error}") from error
    if not isinstance(metadata, dict):
        raise RenderError(f"{source}: the YAML front matter should be a mapping")
    return metadata, text[match.end() :]


def _format_metadata(metadata: dict, to: str) -> dict:
    """Front matter for one output format: top-level keys < `format.<to>` keys."""
    formats = metadata.get("format")
    specific = formats.get(to) if isinstance(formats, dict) else None
    merged = {
        **{key: value for key, value in metadata.items() if key != "format"},
        **(specific if isinstance(specific, dict) else {}),
    }
    if merged.get("date") in TODAY:
        today = date.today()
        merged["date"] = f"{today.day} {today:%B %Y}"
    return merged


def _pandoc(body: str, output: Path, *, to: str, metadata: dict, cwd: Path) -> None:
    """Run pandoc on Markdown `body` with `metadata` as its front matter; write `output`."""
    args = [f"--to={to}", "--standalone", "--wrap=none", "--fail-if-warnings"]
    args += [f"--lua-filter={ASSETS / name}" for name in LUA_FILTERS]
    if to == "html5":
        args += ["--embed-resources", "--section-divs", f"--css={CSS}"]
    else:
        args += [f"--include-in-header={TYPST_HEADER}"]
    if metadata.get("toc"):
        args += ["--toc", f"--toc-depth={int(metadata.get('toc-depth', 3))}"]
    if metadata.get("number-sections"):
        args += ["--number-sections"]
    document = f"---\n{yaml.safe_dump(metadata, allow_unicode=True)}---\n\n{body}"
    with temporary_path(output) as tmp:
        _run(
            [_pandoc_path(), "--from=markdown", *args, f"--output={tmp}"],
            cwd=cwd,
            what=f"pandoc ({to}) for {output}",
            stdin=document,
        )


def _compile_typst(typ: Path, pdf: Path, *, root: Path) -> None:
    """Typst source to PDF with only bundled fonts (Typst's and matplotlib's DejaVu, which
    the figures' SVG text names), so the PDF looks the same on every machine."""
    with temporary_path(pdf) as tmp:
        try:
            typst.compile(
                str(typ),
                output=str(tmp),
                root=str(root),
                font_paths=_figure_fonts(),
                ignore_system_fonts=True,
            )
        except typst.TypstError as error:
            raise RenderError(f"typst could not compile {typ} to {pdf}: {error}") from error


def _figure_fonts() -> list[str]:
    """matplotlib's bundled font folder, found without importing matplotlib."""
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or not spec.submodule_search_locations:
        return []
    folder = Path(next(iter(spec.submodule_search_locations))) / "mpl-data" / "fonts" / "ttf"
    return [str(folder)] if folder.is_dir() else []


def _pandoc_path() -> str:
    try:
        return pypandoc.get_pandoc_path()
    except OSError as error:
        raise RenderError(f"pandoc (from pypandoc-binary) is not available: {error}") from error


def _run(args: list[str], *, cwd: Path, what: str, stdin: str | None = None) -> None:
    """Run a command; any failure becomes a RenderError carrying its stderr."""
    try:
        done = subprocess.run(
            args,
            cwd=cwd,
            input=stdin,
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise RenderError(f"{what}: {error}") from error
    if done.returncode != 0:
        raise RenderError(f"{what} failed (exit {done.returncode}):\n{done.stderr.strip()}")


# --- index ---------------------------------------------------------------------------------
