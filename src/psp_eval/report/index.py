"""The index page: one link per rendered report (trial, each hub, the trial-wide reports), for
funders and LAs, readable on a phone."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote

import pandas as pd
import yaml

from psp_eval.data.scope import TRIAL_SCOPE
from psp_eval.report import provenance as provenance_module
from psp_eval.report.render import RenderError, _pandoc

INDEX_KEYS = ("trial", "scope", "scope_name", "kind", "html", "pdf", "data_cut")


def report_title(template: Path) -> str:
    """The `title` of a report template's YAML front matter."""
    text = Path(template).read_text(encoding="utf-8")
    front = text.split("---", 2)[1] if text.startswith("---") else ""
    title = (yaml.safe_load(front) or {}).get("title")
    if not title:
        raise RenderError(f"{template} has no title in its front matter")
    return str(title)


NOT_RECORDED = "not recorded"


def data_cut(scope_dir: str | Path, analyses: Sequence[str]) -> str:
    """The data cut a report is dated by: the first of `analyses` (in order) whose numbers
    record one, else "not recorded"."""
    for analysis in analyses:
        path = Path(scope_dir) / analysis / "numbers.json"
        if path.is_file():
            value = json.loads(path.read_text(encoding="utf-8")).get("data_cut")
            if value is not None:
                return str(value)
    return NOT_RECORDED


def index_entries(
    trial: str,
    hubs: pd.DataFrame | None,
    site_dir: Path,
    results_dir: Path,
    *,
    analyses: Sequence[str] = (),
    standalone: Sequence[str] = (),
    reports_dir: Path = Path("reports"),
    briefs: bool = False,
) -> list[dict[str, str]]:
    """One entry per rendered report of `trial`: with `briefs`, first the funder brief of the
    trial and of each hub, then the trial report and each hub's (when the run has analyses
    with report sections, from `hubs`), then the standalone reports."""
    trial_dir = Path(results_dir) / trial / TRIAL_SCOPE
    scopes = []
    if hubs is not None:
        cut = data_cut(trial_dir, analyses)  # one data cut for the whole trial
        scopes.append((TRIAL_SCOPE, "All hubs", "trial", cut))
        scopes += [(row.hub_id, row.hub_name, "hub", cut) for row in hubs.itertuples()]
        if briefs:
            scopes = [
                (f"{scope}-brief", name, "funder brief", cut) for scope, name, _, cut in scopes
            ] + scopes
    scopes += [
        (
            name,
            report_title(reports_dir / f"{name}.qmd"),
            name,
            data_cut(trial_dir, [name]),  # a standalone report is dated by its own data
        )
        for name in standalone
    ]
    entries = []
    for scope, name, kind, cut in scopes:
        html = Path(site_dir) / trial / f"{scope}.html"
        pdf = html.with_suffix(".pdf")
        for path in (html, pdf):
            if not path.exists():
                raise RenderError(f"report {path} is missing: the index would link nothing")
        entries.append(
            {
                "trial": trial,
                "scope": scope,
                "scope_name": name,
                "kind": kind,
                "html": str(html),
                "pdf": str(pdf),
                "data_cut": cut,
            }
        )
    return entries


def build_index(entries: list[dict], out: Path, *, title: str, provenance: dict) -> Path:
    """Write `out`: one self-contained page linking every report's HTML and PDF, by trial."""
    out = Path(out).absolute()
    for number, entry in enumerate(entries, 1):
        missing = [key for key in INDEX_KEYS if key not in entry]
        if missing:
            raise RenderError(f"index entry {number} for {out} lacks {', '.join(missing)}")

    def href(path: str) -> str:
        return quote(Path(os.path.relpath(Path(path).absolute(), out.parent)).as_posix())

    parts = [
        "Each report is a web page (readable on a phone) and a printable PDF. "
        "Every figure and number comes from the analysis notebooks of the same run.",
    ]
    for trial in dict.fromkeys(entry["trial"] for entry in entries):
        parts.append(f"## Trial {_escape(trial)}")
        items = [
            f"- **{_escape(e['scope_name'])}**: {_escape(_kind_text(e['kind']))}, "
            f"data cut {_escape(e['data_cut'])}  \n"
            f"  {_link('Web page', href(e['html']), e['scope_name'])} · "
            f"{_link('PDF', href(e['pdf']), e['scope_name'])}"
            for e in entries
            if e["trial"] == trial
        ]
        parts.append("::: {.report-list}\n" + "\n".join(items) + "\n:::")
    parts.append(provenance_module.to_markdown(provenance))
    metadata = {"lang": "en-GB", "title": title}
    _pandoc("\n\n".join(parts), out, to="html5", metadata=metadata, cwd=out.parent)
    return out


def _kind_text(kind: object) -> str:
    """ "Trial report", "Hub report", "Funder brief" ..."""
    text = str(kind).capitalize()
    return text if text.endswith("brief") else f"{text} report"


def _link(text: str, url: str, report: str) -> str:
    """A Markdown link whose accessible name says which report it opens."""
    label = f"{report}: {text}".replace("\\", "\\\\").replace('"', '\\"')
    return f'[{text}]({url}){{aria-label="{label}"}}'


def _escape(text: object) -> str:
    """Markdown-escape a value shown as text (names may hold *, _, [ or #)."""
    return re.sub(r"([\\`*_{}\[\]<>()#+!|@$~^-])", r"\\\1", str(text))
