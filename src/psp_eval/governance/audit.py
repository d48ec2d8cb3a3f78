"""Disclosure audit: the last check on everything funders see, after the reports are built.

Why: every count shown to funders should already have passed `psp_eval.present.disclosure`, and no
report should quote a record identifier; this audit reads the finished outputs themselves
(not the code that made them), so a notebook or report edit that forgets suppression, or
prints a row of raw data, fails the pipeline instead of reaching a funder.

What is read (`audit`):
- the rendered site: every `*.html` (table cells, text, captions, and the text inside the
  embedded SVG figures) and every `*.pdf` (its text, through poppler's `pdftotext`; where that
  is not installed the PDFs are listed as unchecked: they are rendered from the same source
  as the HTML, which is always checked);
- the tables the reports embed, as written for reviewers:
  `results/<trial>/<scope>/<analysis>/tables/*.csv` (`--results`);
- the counts each figure prints, as the figure recorded them (`disclosure.record_printed`):
  `results/<trial>/<scope>/<analysis>/figures/*.counts.json` (`--results`), and in the
  rendered reports the SVG text tagged `psp-count-<k>` (numbers at risk, box counts): bare
  numbers that no text rule could tell from a tick label.

What fails (each `Finding` names the file, where in it, the offending text and the rule):

1. A count of 1-4 people in a table cell. A cell is a count when its text is a whole number
   ("3", "1,024", "3.0") or a number with a percentage ("3 (2.1%)", as
   `disclosure.count_table` writes it), and it sits in a column of counts:
   - never when the column header (or, for the row rule below, the row label) names something
     other than people: a rate, share or %, mean, median, IQR, SD, SE, CI, p, ratio, odds,
     hazard, estimate, difference, £ / cost / price / saving / value, rank, score, age, a unit
     of time (days, weeks, months, years, nights, hours), "per", target, limit, expected or
     projected numbers, a category, level, item, question or timepoint;
   - otherwise when the header names a count or people: "n", number, count, families,
     children, people, volunteers, respondents, responses, parents, carers, hosts, friends,
     pairs, at risk, events, or a stage people reach (randomised, referred, supported,
     eligible, due, returned, withdrawn, consented, declined, starting care, fitting the
     profile); or when the table is under disclosure control (its caption or a cell shows
     "[c]") and every cell of the column is count-like (whole numbers, "n (%)", "[c]", "–");
   - "n (%)" cells count wherever their header is not excluded, and whole-number cells count
     in a row whose label names people or "n" ("Families randomised, n").
   Zeros are shown (they reveal no one); "[c]" is a suppressed cell.
1b. A count of 1-4 people printed in a figure: a recorded or tagged figure count (rule 1's
   "count cell", every one a count of people) that reads 1-4.
2. A count of 1-4 people in text (paragraphs, captions, figure text, PDF text, any cell):
   "n = 3", "3 (2.1%)", or a number directly before a people noun ("3 families", "2 SFFC
   children") unless the word before it makes it a category or a time ("families with 3
   children", "1 in 4 families", "at least 5", "week 8 children", "Table 3"). Numbers written
   as words are not read.
3. An identifier: a family id (F00001), child id (F00001-C1), volunteer id (V0001), UPN (a
   check letter and 12 characters, e.g. A123456789012), an SSDA903 CHILD id quoted as such
   ("CHILD 100023"), a date of birth ("DOB", "date of birth" or "born" before a date), a UK
   postcode (LS1 4AB), any value of an identifier column of the raw data (`--data-dir`:
   family_id, child_id, volunteer_id, respondent_id, CHILD, UPN values that hold letters and
   digits, so ids in a trial's own format are caught too), and any non-empty cell of a table
   column named like an identifier (family_id, child_id, CHILD, UPN, DOB, postcode, ...).

The pipeline audits each report as soon as it is rendered, with the tables and figure counts
it embeds (`psp-eval audit --part`: saved, findings too), and its last step gathers the parts
and reads the index page (`--parts`, rules/audit.smk): the same files and findings, in the same
order, as one audit of everything. The last step's JSON summary is written only when nothing is
found, so a failing audit fails the run.

Legitimate small numbers are left alone because they are not in count columns or next to a
people noun: hub and LA counts ("5 hubs"), years, percentages, effect sizes, CIs, p-values,
page and row numbers, days, ages ("≤10 years"), Likert points, category labels ("1", "2").
"""

from __future__ import annotations

import base64
import csv
import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from psp_eval.errors import PspEvalError
from psp_eval.present.disclosure import DEFAULT_THRESHOLD, SUPPRESSED
from psp_eval.present.tables import WRAP_POINT

SMALL = range(1, DEFAULT_THRESHOLD)  # counts 1-4 must not be shown

# --- rule texts (a finding names the one it broke) ---
RULE_CELL = f"count of 1-{DEFAULT_THRESHOLD - 1} people in a count cell (suppress it: {SUPPRESSED})"
RULE_TEXT = f"count of 1-{DEFAULT_THRESHOLD - 1} people in text (suppress it: {SUPPRESSED})"
RULE_FIGURE = (
    f"count of 1-{DEFAULT_THRESHOLD - 1} people printed in a figure (suppress it: {SUPPRESSED})"
)
FIGURE_COUNT_ID = re.compile(r"^psp-count-\d+$")

# --- counts ---
_INT = r"\d{1,3}(?:,\d{3})+|\d+"
COUNT_CELL = re.compile(rf"^(?P<n>{_INT})(?:\.0+)?(?:\s*\(\s*[\d.]+\s*%\s*\))?$")
PERCENT_CELL = re.compile(rf"^(?P<n>{_INT})\s*\(\s*[\d.]+\s*%\s*\)$")
COUNT_LIKE = re.compile(rf"^(?:(?:{_INT})(?:\.0+)?(?:\s*\(\s*[\d.]+\s*%\s*\))?|\[c\]|–|-|—|)$")
NOT_COUNT = re.compile(
    r"%|£|\b(?:percent|percentage|rates?|share|proportion|mean|median|iqr|sd|se|ci|p|"
    r"ratios?|odds|hazard|estimated?|estimates|difference|cost|costs|price|prices|savings?|"
    r"values?|rank|score|scores|age|aged|days|weeks|months|years|nights|hours|per|target|"
    r"targets|limits?|expected|projected|projection|category|level|item|question|timepoint|"
    r"power)\b",
    re.I,
)
PEOPLE = re.compile(
    r"\b(?:n|number|count|families|family|children|child|people|persons?|individuals?|"
    r"parents?|carers?|volunteers?|respondents?|responses|hosts?|friends|households?|pairs|"
    r"at risk|events|randomi[sz]ed|referred|supported|eligible|due|returned|withdrawn|withdrew|"
    r"consented|declined|starting care|fitting the profile)\b",
    re.I,
)
PEOPLE_NOUNS = (
    r"families|family|children|child|people|persons?|young people|parents?|carers?|"
    r"volunteers?|respondents?|households?|mothers?|fathers?|girls?|boys?"
)
TEXT_COUNTS = (
    re.compile(r"(?<![\w.,])[nN]\s*=\s*(?P<n>\d+)(?![\d.,]?\d)"),
    re.compile(r"(?<![\w.,\-–])(?P<n>\d+)\s*\(\s*\d+(?:\.\d+)?\s*%\s*\)"),
    re.compile(
        rf"(?<![\w.,\-–/])(?P<n>\d+)\s+(?:(?:SFFC|more|other|further|new)\s+)?(?:{PEOPLE_NOUNS})\b",
        re.I,
    ),
)
# "families with 3 children", "1 in 4 families", "at week 8 children": the number is no count.
CATEGORY_BEFORE = re.compile(
    r"\b(?:with|in|of|to|and|or|per|every|each|than|aged|age|under|over|least|most|up|day|week|"
    r"month|year|wave|phase|stage|step|table|figure|page|item|question|hub|la)\s*$",
    re.I,
)

# --- identifiers (formats of psp_eval.data.contract / psp_eval.data.demo) ---
_DATE = (
    r"\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{2,4}|\d{1,2}\s+(?:jan|feb|mar|apr|may|jun|jul|aug|"
    r"sep|oct|nov|dec)[a-z]*\.?\s+\d{4}"
)
IDENTIFIERS: tuple[tuple[str, re.Pattern], ...] = (
    ("child id (child_id)", re.compile(r"\bF\d{5,}-C\d+\b")),
    ("family id (family_id)", re.compile(r"\bF\d{5,}\b(?!-C\d)")),
    ("volunteer id (volunteer_id)", re.compile(r"\bV\d{4,}(?:-C\d+)?\b")),
    ("UPN", re.compile(r"\b[A-HJ-NP-RT-Z]\d{11}[0-9A-HJ-NP-RT-Z]\b")),
    ("SSDA903 CHILD id", re.compile(r"\bCHILD\b(?:\s+id)?\s*[:=#]?\s*\d[A-Za-z0-9]{3,}\b")),
    (
        "date of birth",
        re.compile(rf"\b(?:dob|date of birth|birth ?date|born(?: on)?)\b[\s:,]*(?:{_DATE})", re.I),
    ),
    (
        "postcode",
        re.compile(r"\b(?:[A-PR-UWYZ][A-HK-Y]?\d[A-HJKPSTUW\d]?) ?\d[ABD-HJLNP-UW-Z]{2}\b"),
    ),
)
# All of them in one search, asked first: most texts hold none (the audit of 50,000
# families reads 200,000), and where no alternative matches, no pattern does.
ANY_IDENTIFIER = re.compile(
    "|".join(
        f"(?i:{pattern.pattern})" if pattern.flags & re.I else f"(?:{pattern.pattern})"
        for _, pattern in IDENTIFIERS
    )
)
# Columns whose every value is an identifier (SSDA903's CHILD only in capitals: a report's
# "Child" column names which child, not who).
ID_COLUMNS = re.compile(
    r"^(?:(?i:family_id|child_id|volunteer_id|respondent_id|episode_id|index_child_id|upn|dob|"
    r"date of birth|date_of_birth|birth_date|postcode|post code|family id|child id)|CHILD)$"
)
# Raw-data columns whose values are looked for in every output (--data-dir).
RAW_ID_COLUMNS = ("family_id", "child_id", "volunteer_id", "respondent_id", "CHILD", "UPN")
TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-]*[A-Za-z0-9]")


class AuditError(PspEvalError):
    """The audit could not read what it was asked to audit."""


@dataclass(frozen=True)
class Finding:
    """One thing a funder must not see: where it is, what it says, which rule it breaks."""

    file: str
    location: str
    text: str
    rule: str

    def __str__(self) -> str:
        return f"{self.file}: {self.location}: {self.text!r}: {self.rule}"


@dataclass
class Table:
    """A table as read from HTML or CSV: header row, body rows, caption."""

    where: str
    header: list[str]
    rows: list[list[str]]
    caption: str = ""
    lines: list[int] = field(default_factory=list)  # source line of each body row (HTML)


@dataclass
class Audit:
    """What was read and what was found; `ok` when nothing was."""

    findings: list[Finding]
    files: list[dict]
    unchecked: list[str]

    @property
    def ok(self) -> bool:
        return not self.findings

    def summary(self) -> dict:
        return {
            "ok": self.ok,
            "rules": [
                RULE_CELL,
                RULE_FIGURE,
                RULE_TEXT,
                "no identifier of a family, child or volunteer",
            ],
            "files": self.files,
            "unchecked": self.unchecked,
            "findings": [asdict(f) for f in self.findings],
        }


# ---------------------------------------------------------------- reading


class _Html(HTMLParser):
    """Tables, text (with line numbers) and embedded SVG figures of one HTML page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[Table] = []
        self.texts: list[tuple[str, str]] = []  # (location, text)
        self.figures: list[tuple[str, str]] = []  # (label, svg source)
        self._skip = 0
        self._table: Table | None = None
        self._caption: list[str] | None = None
        self._row: list[tuple[str, str]] | None = None
        self._row_line = 0
        self._cell: list[str] | None = None
        self._cell_tag = ""
        self._text: list[str] = []
        self._text_line = 1

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attributes = dict(attrs)
        if tag in ("script", "style"):
            self._skip += 1
        elif tag == "table":
            self._flush_text()
            name = attributes.get("id") or f"table {len(self.tables) + 1}"
            self._table = Table(f"table {name}", [], [])
        elif self._table is not None and tag == "caption":
            self._caption = []
        elif self._table is not None and tag == "tr":
            self._row, self._row_line = [], self.getpos()[0]
        elif self._table is not None and tag in ("td", "th"):
            self._cell, self._cell_tag = [], tag
        elif tag == "img" and (attributes.get("src") or "").startswith("data:image/svg+xml"):
            src = attributes["src"]
            label = attributes.get("aria-label") or attributes.get("alt") or ""
            where = f"figure {len(self.figures) + 1} (line {self.getpos()[0]}: {label[:60]})"
            head, _, data = src.partition(",")
            try:
                svg = base64.b64decode(data).decode("utf-8") if ";base64" in head else data
            except ValueError as err:
                raise AuditError(f"{where}: the embedded SVG cannot be decoded: {err}") from err
            self.figures.append((where, svg))
        elif tag in ("p", "div", "li", "br", "h1", "h2", "h3", "h4", "h5", "h6", "section"):
            self._flush_text()

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
        elif tag == "table" and self._table is not None:
            self.tables.append(self._table)
            self._table = None
        elif tag == "caption" and self._caption is not None and self._table is not None:
            self._table.caption = _squash("".join(self._caption))
            self._caption = None
        elif tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append((self._cell_tag, _squash("".join(self._cell))))
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table is not None:
            cells = [text for _, text in self._row]
            if (
                not self._table.header
                and not self._table.rows
                and all(t == "th" for t, _ in self._row)
            ):
                self._table.header = cells
            else:
                self._table.rows.append(cells)
                self._table.lines.append(self._row_line)
            self._row = None
        elif tag in ("p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "section"):
            self._flush_text()

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        data = data.replace(WRAP_POINT, "")  # wrap points in long names hide nothing
        if self._cell is not None:
            self._cell.append(data)
        elif self._caption is not None:
            self._caption.append(data)
        elif self._table is None:
            if not self._text:
                self._text_line = self.getpos()[0]
            self._text.append(data)

    def _flush_text(self) -> None:
        text = _squash("".join(self._text))
        if text:
            self.texts.append((f"line {self._text_line}", text))
        self._text = []

    def close(self) -> None:
        super().close()
        self._flush_text()


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _svg_text(svg: str, where: str) -> str:
    """The words an SVG figure shows (its <text> elements), one line each."""
    try:
        root = ElementTree.fromstring(svg)
    except ElementTree.ParseError as err:
        raise AuditError(f"{where}: the embedded SVG is not valid XML: {err}") from err
    lines = []
    for element in root.iter():
        if element.tag.rsplit("}", 1)[-1] == "text":
            lines.append(_squash("".join(element.itertext())))
    return "\n".join(line for line in lines if line)


def _svg_counts(svg: str) -> list[str]:
    """The texts of an SVG figure tagged as counts of people (`style.count_text`)."""
    root = ElementTree.fromstring(svg)  # _svg_text has already checked it parses
    return [
        _squash("".join(element.itertext()))
        for element in root.iter()
        if FIGURE_COUNT_ID.match(element.get("id") or "")
    ]


def read_csv_table(path: Path) -> Table:
    """A CSV table for the cell rules: header and rows as text."""
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
    except (UnicodeDecodeError, csv.Error) as err:
        raise AuditError(f"{path}: not a readable CSV table: {err}") from err
    if not rows:
        return Table("table", [], [])
    return Table("table", [c.strip() for c in rows[0]], [[c.strip() for c in r] for r in rows[1:]])


def pdf_text(path: Path) -> str | None:
    """The text of a PDF (pdftotext, layout kept so table rows stay on one line), or None
    when poppler's pdftotext is not installed."""
    tool = shutil.which("pdftotext")
    if tool is None:
        return None
    result = subprocess.run(
        [tool, "-layout", "-enc", "UTF-8", str(path), "-"],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise AuditError(f"{path}: pdftotext could not read it: {result.stderr.strip()}")
    return result.stdout.replace(WRAP_POINT, "")


def raw_identifiers(data_dir: Path) -> set[str]:
    """Values of the raw data's identifier columns that hold letters and digits (so a bare
    number such as an SSDA903 CHILD of 100023 is not looked for in every figure). Read with
    Arrow, the identifier columns only (50,000 families: 4 s with pandas' reader, under 1 s)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    values: set[str] = set()
    for path in sorted(Path(data_dir).glob("*.*")):
        if path.suffix not in (".csv", ".parquet"):
            continue
        try:
            if path.suffix == ".csv":
                options = pacsv.ConvertOptions(
                    include_columns=list(RAW_ID_COLUMNS),
                    include_missing_columns=True,  # as empty columns
                    column_types=dict.fromkeys(RAW_ID_COLUMNS, pa.string()),
                )
                table = pacsv.read_csv(path, convert_options=options)
            else:
                names = set(pq.read_schema(path).names)
                wanted = [c for c in RAW_ID_COLUMNS if c in names]
                table = pq.read_table(path, columns=wanted)
        except Exception as err:  # any unreadable table is the user's to fix
            raise AuditError(f"{path}: cannot read its identifier columns: {err}") from err
        for column in table.itercolumns():
            text = pc.unique(pc.utf8_trim_whitespace(pc.cast(column, pa.string()))).drop_null()
            long_enough = pc.greater_equal(pc.utf8_length(text), 4)
            digit = pc.match_substring_regex(text, r"\p{Nd}")  # Python's \d: any decimal digit
            letter = pc.match_substring_regex(text, "[A-Za-z]")
            values.update(text.filter(pc.and_(pc.and_(long_enough, digit), letter)).to_pylist())
    return values


# ---------------------------------------------------------------- rules


def _leading_count(cell: str) -> int | None:
    match = COUNT_CELL.match(cell)
    return int(match["n"].replace(",", "")) if match else None


def _count_columns(table: Table) -> list[bool]:
    """For each column: are its cells counts of people (module docstring, rule 1)?"""
    controlled = SUPPRESSED in table.caption or any(c == SUPPRESSED for r in table.rows for c in r)
    width = max([len(table.header), *(len(r) for r in table.rows)], default=0)
    header = table.header + [""] * (width - len(table.header))
    result = []
    for j, name in enumerate(header):
        cells = [r[j] for r in table.rows if j < len(r)]
        if NOT_COUNT.search(name):
            result.append(False)
        elif PEOPLE.search(name):
            result.append(True)
        else:
            result.append(
                controlled
                and bool(cells)
                and all(COUNT_LIKE.match(c) for c in cells)
                and any(_leading_count(c) is not None for c in cells)
            )
    return result


def table_findings(table: Table, file: str, ids: set[str] = frozenset()) -> list[Finding]:
    """Small counts and identifiers in one table's cells."""
    findings = []
    counts = _count_columns(table)
    header = table.header + [""] * (len(counts) - len(table.header))
    excluded = [bool(NOT_COUNT.search(name)) for name in header]
    id_columns = [bool(ID_COLUMNS.match(name.strip())) for name in header]
    for i, row in enumerate(table.rows):
        label = row[0] if row else ""
        people_row = bool(PEOPLE.search(label)) and not NOT_COUNT.search(label)
        for j, cell in enumerate(row):
            where = _cell_where(table, i, header[j] if j < len(header) else f"column {j + 1}")
            if j < len(id_columns) and id_columns[j]:
                if cell not in ("", SUPPRESSED, "–"):
                    findings.append(Finding(file, where, cell, f"identifier column {header[j]!r}"))
                continue
            n = _leading_count(cell)
            is_count = (
                n is not None
                and j < len(counts)
                and (
                    counts[j]
                    or (not excluded[j] and PERCENT_CELL.match(cell) is not None)
                    or (people_row and j > 0 and not excluded[j])
                )
            )
            if is_count and n in SMALL:
                findings.append(Finding(file, where, cell, RULE_CELL))
            elif n is None:  # a cell of text: the text rules (identifiers, "n = 3")
                findings += text_findings(cell, file, where, ids)
            else:
                findings += _identifier_findings(cell, file, where, ids)
    if table.caption:
        findings += text_findings(table.caption, file, f"{table.where}, caption", ids)
    return findings


def figure_count_findings(shown: str, file: str, where: str) -> list[Finding]:
    """A count a figure prints: a finding when it reads 1-4 (it is always a count)."""
    n = _leading_count(shown.strip())
    return [Finding(file, where, shown, RULE_FIGURE)] if n in SMALL else []


def _cell_where(table: Table, i: int, column: str) -> str:
    row = table.rows[i]
    label = f" ({row[0][:40]})" if row and row[0] else ""
    line = f", line {table.lines[i]}" if i < len(table.lines) else ""
    return f"{table.where}, row {i + 1}{label}, column {column!r}{line}"


def text_findings(text: str, file: str, where: str, ids: set[str] = frozenset()) -> list[Finding]:
    """Small counts of people and identifiers in running text."""
    findings = []
    for pattern in TEXT_COUNTS:
        for match in pattern.finditer(text):
            if int(match["n"]) not in SMALL:
                continue
            if CATEGORY_BEFORE.search(text[max(0, match.start() - 12) : match.start()]):
                continue
            findings.append(Finding(file, where, _context(text, match), RULE_TEXT))
    return findings + _identifier_findings(text, file, where, ids)


def _identifier_findings(text: str, file: str, where: str, ids: set[str]) -> list[Finding]:
    findings = []
    for name, pattern in IDENTIFIERS if ANY_IDENTIFIER.search(text) else ():
        for match in pattern.finditer(text):
            findings.append(Finding(file, where, _context(text, match), f"identifier: {name}"))
    if ids and not ids.isdisjoint(TOKEN.findall(text)):  # most texts name no identifier
        seen = {f.text for f in findings}
        for match in TOKEN.finditer(text):
            if match[0] in ids and _context(text, match) not in seen:
                findings.append(
                    Finding(
                        file,
                        where,
                        _context(text, match),
                        "identifier: a value of the raw data's id columns",
                    )
                )
    return findings


def _context(text: str, match: re.Match) -> str:
    """The match with a little text either side, so a reader can find it."""
    start, end = max(0, match.start() - 30), min(len(text), match.end() + 30)
    return ("…" if start else "") + text[start:end].strip() + ("…" if end < len(text) else "")


# ---------------------------------------------------------------- files


def audit_html(
    path: Path, ids: set[str] = frozenset(), name: str | None = None
) -> tuple[list[Finding], dict]:
    """Findings in one HTML page: its tables, its text and its SVG figures."""
    name = name or str(path)
    parser = _Html()
    try:
        parser.feed(Path(path).read_text(encoding="utf-8"))
        parser.close()
    except UnicodeDecodeError as err:
        raise AuditError(f"{path}: not UTF-8 HTML: {err}") from err
    findings = []
    for table in parser.tables:
        findings += table_findings(table, name, ids)
    for where, text in parser.texts:
        findings += text_findings(text, name, where, ids)
    for where, svg in parser.figures:
        for k, line in enumerate(_svg_text(svg, f"{name}: {where}").splitlines(), 1):
            findings += text_findings(line, name, f"{where}, text {k}", ids)
        for k, shown in enumerate(_svg_counts(svg), 1):
            findings += figure_count_findings(shown, name, f"{where}, count {k}")
    info = {
        "file": name,
        "kind": "html",
        "tables": len(parser.tables),
        "figures": len(parser.figures),
    }
    return findings, info


def audit_pdf(
    path: Path, ids: set[str] = frozenset(), name: str | None = None, *, text: str | None = None
) -> tuple[list[Finding], dict] | None:
    """Findings in one PDF's text (page and line; `text` when already read), or None without
    pdftotext."""
    name = name or str(path)
    text = pdf_text(path) if text is None else text
    if text is None:
        return None
    findings = []
    pages = text.split("\f")
    for page_number, page in enumerate(pages, 1):
        for line_number, line in enumerate(page.splitlines(), 1):
            if line.strip():
                findings += text_findings(
                    line, name, f"page {page_number}, line {line_number}", ids
                )
    return findings, {"file": name, "kind": "pdf", "pages": len([p for p in pages if p.strip()])}


def audit_csv(
    path: Path, ids: set[str] = frozenset(), name: str | None = None
) -> tuple[list[Finding], dict]:
    """Findings in one CSV table's cells."""
    name = name or str(path)
    table = read_csv_table(path)
    findings = table_findings(table, name, ids)
    return findings, {"file": name, "kind": "csv", "rows": len(table.rows)}


def audit_figure_counts(path: Path, name: str | None = None) -> tuple[list[Finding], dict]:
    """Findings in the counts one figure recorded (`<figure>.counts.json`)."""
    name = name or str(path)
    try:
        record = json.loads(Path(path).read_text(encoding="utf-8"))
        counts = [(str(c["what"]), str(c["shown"])) for c in record["counts"]]
    except (UnicodeDecodeError, ValueError, KeyError, TypeError) as err:
        raise AuditError(
            f"{path}: not a figure's record of counts "
            f'({{"figure": ..., "counts": [{{"what": ..., "shown": ...}}]}}): {err}'
        ) from err
    findings = []
    for what, shown in counts:
        findings += figure_count_findings(shown, name, what)
    return findings, {"file": name, "kind": "figure counts", "counts": len(counts)}


def figure_count_records(results_dir: Path) -> list[Path]:
    """The counts the reports' figures print, anywhere under `results_dir` (the trial's
    results or one analysis's): <scope>/<analysis>/figures/*.counts.json."""
    return sorted(Path(results_dir).glob("**/figures/*.counts.json"))


def funder_csvs(results_dir: Path) -> list[Path]:
    """The tables the reports embed, anywhere under `results_dir` (the trial's results or one
    analysis's): <scope>/<analysis>/tables/*.csv."""
    return sorted(Path(results_dir).glob("**/tables/*.csv"))


def write_identifiers(data_dir: Path, path: Path) -> int:
    """Save `raw_identifiers(data_dir)` (sorted JSON) for audits that run apart: the raw data
    are read once, not once per part (50,000 families: over a second each)."""
    from psp_eval.engine.atomic import write_text

    values = sorted(raw_identifiers(data_dir))
    write_text(Path(path), json.dumps(values, indent=0) + "\n")
    return len(values)


def read_identifiers(path: Path) -> set[str]:
    """Identifier values saved by `write_identifiers`."""
    try:
        values = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise AuditError(f"{path}: cannot read the saved identifier values: {err}") from err
    if not isinstance(values, list):
        raise AuditError(f"{path}: not a list of identifier values (psp-eval identifiers)")
    return {str(value) for value in values}


def write_part(result: Audit, path: Path) -> None:
    """Save an audit to be gathered later (`read_part`, `audit(parts=...)`): what it read and
    found, findings included, since the final audit is the one that fails."""
    from psp_eval.engine.atomic import write_text

    write_text(Path(path), json.dumps(result.summary(), indent=2) + "\n")


def read_part(path: Path) -> Audit:
    """An audit saved by `write_part`."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return Audit(
            [Finding(**finding) for finding in data["findings"]],
            list(data["files"]),
            list(data["unchecked"]),
        )
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as err:
        raise AuditError(
            f"{path}: not a saved part of an audit (psp-eval audit --part): {err}"
        ) from err


def audit(
    site: Path | Iterable[Path],
    results_dir: Path | Iterable[Path] | None = None,
    data_dir: Path | None = None,
    *,
    relative_to: Path | None = None,
    threads: int = 1,
    identifiers: Iterable[str] = (),
    parts: Iterable[Audit] = (),
) -> Audit:
    """Audit every HTML and PDF in `site` (folders, searched recursively, or single files)
    and every embedded table's CSV and figure's counts under `results_dir` (the trial's
    results folder, or several analyses' folders); `data_dir` adds the raw data's identifier
    values to the identifier rules (`identifiers`, values already read: the same). `threads`
    pdftotext processes read the PDFs meanwhile. `parts` are audits run before (the pipeline
    audits each report as it is rendered): the result holds them too, in the same order as
    one audit of everything would."""
    paths = [Path(site)] if isinstance(site, str | Path) else [Path(p) for p in site]
    parts = list(parts)
    reports: list[Path] = []
    for path in paths:
        if path.is_dir():
            reports += sorted(p for p in path.rglob("*") if p.suffix in (".html", ".pdf"))
        elif path.is_file() and path.suffix in (".html", ".pdf"):
            reports.append(path)
        elif path.exists():
            raise AuditError(f"{path}: not an HTML or PDF report")
        else:
            raise AuditError(f"{path}: no such report or site folder (render the reports first)")
    if not reports and not parts:
        raise AuditError(f"{', '.join(map(str, paths))}: no HTML or PDF report to audit")
    if results_dir is None:
        results = []
    elif isinstance(results_dir, str | Path):
        results = [Path(results_dir)]
    else:
        results = [Path(r) for r in results_dir]
    for folder in results:
        if not folder.is_dir():
            raise AuditError(f"{folder}: no such results folder")
    ids = set(identifiers) | (raw_identifiers(data_dir) if data_dir is not None else set())

    def shown(path: Path) -> str:
        if relative_to is not None:
            try:
                return str(path.absolute().relative_to(Path(relative_to).absolute()))
            except ValueError:
                pass
        return str(path)

    findings: list[Finding] = [f for part in parts for f in part.findings]
    files: list[dict] = [info for part in parts for info in part.files]
    unchecked: list[str] = [note for part in parts for note in part.unchecked]
    ordered = sorted(set(reports), key=lambda p: (p.suffix != ".html", str(p)))
    with ThreadPoolExecutor(max_workers=max(threads, 1)) as pool:
        pdf_texts = {path: pool.submit(pdf_text, path) for path in ordered if path.suffix == ".pdf"}
        for path in ordered:
            if path.suffix == ".html":
                found, info = audit_html(path, ids, shown(path))
            else:
                result = audit_pdf(path, ids, shown(path), text=pdf_texts[path].result())
                if result is None:
                    unchecked.append(f"{shown(path)}: pdftotext (poppler-utils) is not installed")
                    continue
                found, info = result
            findings += found
            files.append(info)
    for path in sorted({p for folder in results for p in funder_csvs(folder)}):
        found, info = audit_csv(path, ids, shown(path))
        findings += found
        files.append(info)
    for path in sorted({p for folder in results for p in figure_count_records(folder)}):
        found, info = audit_figure_counts(path, shown(path))
        findings += found
        files.append(info)
    return _in_order(Audit(_unique(findings), files, unchecked))


# The order of what an audit lists: pages (HTML, then PDF), tables, figures' counts, each by name.
KIND_ORDER = {"html": 0, "pdf": 1, "csv": 2, "figure counts": 3}


def _in_order(result: Audit) -> Audit:
    """Files in `KIND_ORDER`, each file's findings together and in the order found: one
    audit of everything and the same audit gathered from parts list the same lines."""
    files = sorted(result.files, key=lambda info: (KIND_ORDER.get(info["kind"], 9), info["file"]))
    rank = {info["file"]: i for i, info in enumerate(files)}
    findings = sorted(result.findings, key=lambda f: rank.get(f.file, len(rank)))
    return Audit(findings, files, sorted(result.unchecked))


def _unique(findings: Iterable[Finding]) -> list[Finding]:
    seen: set[Finding] = set()
    return [f for f in findings if not (f in seen or seen.add(f))]


def iter_report(result: Audit) -> Iterator[str]:
    """Lines to print: every finding, then what was left unchecked."""
    for finding in result.findings:
        yield str(finding)
    for note in result.unchecked:
        yield f"not checked: {note}"
