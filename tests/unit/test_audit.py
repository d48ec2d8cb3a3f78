"""The disclosure audit: planted small cells and identifiers are caught, legitimate small
numbers are not, and (slow) the real pipeline outputs pass while a planted copy fails."""

import base64
import json
import re
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest

from conftest import run_command
from psp_eval.governance import audit as audit_module
from psp_eval.governance.audit import AuditError, audit
from psp_eval.report.outputs import markdown_table

PDFTOTEXT = shutil.which("pdftotext")
needs_pdftotext = pytest.mark.skipif(PDFTOTEXT is None, reason="needs poppler-utils (pdftotext)")


def _table(caption, header, rows, table_id="tbl-x"):
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>\n" for row in rows)
    return (
        f'<table id="{table_id}"><caption>{caption}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>\n{body}</tbody></table>\n"
    )


def _figure(*texts):
    lines = "".join(f"<text x='0' y='{i}'>{t}</text>" for i, t in enumerate(texts))
    svg = f"<svg xmlns='http://www.w3.org/2000/svg'><g>{lines}</g></svg>"
    data = base64.b64encode(svg.encode()).decode()
    return f'<img role="img" aria-label="A figure" src="data:image/svg+xml;base64,{data}" />\n'


def _page(tmp_path, *parts, name="report.html"):
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    (site / name).write_text(f"<html><body>\n{''.join(parts)}</body></html>\n", encoding="utf-8")
    return site


# A report with nothing to find: every kind of legitimate small number the reports show.
CLEAN_PARTS = (
    "<p>The trial ran in 5 hubs and 25 LAs; 1 in 4 families had an index child aged ≤10 years.</p>\n",
    "<p>Families with 3 children were common; at week 8 children scored 2 points lower "
    "(95% CI 1 to 4; p = 0.03; Hedges’ g 0.2). See Table 3 and page 2, from 2024-01-14.</p>\n",
    _table(
        "Profile of families: number (column %) ([c] = suppressed)",
        ["Characteristic", "Category", "SFFC (n = 348)", "Total (n = 992)"],
        [
            ["Children in the family", "1", "120 (34.5%)", "[c]"],
            ["Children in the family", "2", "0", "[c]"],
            ["Children in the family", "4+", "[c]", "331 (33.4%)"],
        ],
        "tbl-profile",
    ),
    _table(
        "Delivery",
        ["Measure", "Families", "% of SFFC families", "Median (IQR)"],
        [["Resources (episodes), per family", "160", "38.9", "1 (1 to 2)"]],
        "tbl-delivery",
    ),
    _table(
        "Volunteers still volunteering ([c] = suppressed)",
        ["Role", "Months", "At risk", "Still volunteering (%)"],
        [["host", "12", "40", "3"], ["host", "24", "[c]", "2.5"]],
        "tbl-retention",
    ),
    _table(
        "LA context",
        ["LA", "Deprivation rank", "Looked after per 10,000", "Week-8 follow-up (%)"],
        [["Millmouth", "4", "3", "2"]],
        "tbl-context",
    ),
    _table(
        "Model inputs",
        ["Input", "Base value", "95% range", "Distribution"],
        [["Delivery cost, relative to the base", "1", "1 to 2", "normal"]],
        "tbl-inputs",
    ),
    _table(
        "Baseline",
        ["Characteristic", "SFFC", "Services as usual"],
        [
            ["Families randomised, n", "411", "405"],
            ["Age (years), mean (SD)", "7.6 (2.0); n = 411", "7.5"],
        ],
        "tbl-baseline",
    ),
    _table(
        "Scores by child",
        ["Child", "Instrument", "Items"],
        [["index child", "SDQ", "25"], ["sibling", "SDQ", "3"]],
        "tbl-child",
    ),
    _figure("0", "1", "2", "3", "4", "Families randomised (cumulative)", "Allocated (n = 411)"),
    "<p>Randomised (n = 37,726), followed up (n = 12,274).</p>",  # thousands: no small count
)


def test_a_clean_report_passes(tmp_path):
    result = audit(_page(tmp_path, *CLEAN_PARTS))
    assert result.ok, "\n".join(map(str, result.findings))
    assert result.files == [
        {"file": str(tmp_path / "site/report.html"), "kind": "html", "tables": 7, "figures": 1}
    ]


@pytest.mark.parametrize(
    ("table", "text"),
    [
        # a whole number in a count column of a table under disclosure control
        (
            _table(
                "Flow ([c] = suppressed)", ["Stage", "SFFC", "Total"], [["Withdrew", "3", "[c]"]]
            ),
            "3",
        ),
        # a column named as a count of people
        (_table("Scores by arm", ["Outcome", "n", "Mean"], [["SDQ", "2", "16.1"]]), "2"),
        (_table("Themes", ["Theme", "Families", "Volunteers"], [["trust", "40", "4"]]), "4"),
        # an "n (%)" cell wherever its column is not a rate, mean or the like
        (_table("Baseline", ["Characteristic", "SFFC"], [["black", "1 (0.2%)"]]), "1 (0.2%)"),
        # a whole number in a row counting people
        (_table("Baseline", ["Characteristic", "SFFC"], [["Families randomised, n", "4"]]), "4"),
    ],
)
def test_a_planted_small_cell_is_caught(tmp_path, table, text):
    result = audit(_page(tmp_path, *CLEAN_PARTS, table))
    assert [(f.text, f.rule) for f in result.findings] == [(text, audit_module.RULE_CELL)]
    finding = result.findings[0]
    assert finding.file.endswith("report.html")
    assert re.search(r"table tbl-x, row 1 \(.+\), column '.+', line \d+", finding.location)


@pytest.mark.parametrize(
    "sentence",
    [
        "<p>Of the families, 3 families withdrew.</p>",
        "<p>Week-8 outcome (n = 2).</p>",
        "<p>Referred from the police: 4 (0.4%).</p>",
        "<p>Only 1 SFFC family was hosted.</p>",
    ],
)
def test_a_planted_small_count_in_text_is_caught(tmp_path, sentence):
    result = audit(_page(tmp_path, *CLEAN_PARTS, sentence))
    assert [f.rule for f in result.findings] == [audit_module.RULE_TEXT]
    assert result.findings[0].location.startswith("line ")


def test_a_small_count_in_a_figure_is_caught(tmp_path):
    result = audit(_page(tmp_path, *CLEAN_PARTS, _figure("Lost to follow-up", "n = 3")))
    assert [(f.text, f.rule) for f in result.findings] == [("n = 3", audit_module.RULE_TEXT)]
    assert re.fullmatch(r"figure 2 \(line \d+: A figure\), text 2", result.findings[0].location)


IDENTIFIERS = [
    ("F00042", "family id"),
    ("F00042-C2", "child id"),
    ("V0139", "volunteer id"),
    ("P062987928749", "UPN"),
    ("CHILD 100023", "SSDA903 CHILD"),
    ("DOB 09/03/2004", "date of birth"),
    ("born on 2018-08-29", "date of birth"),
    ("LS1 4AB", "postcode"),
]


@pytest.mark.parametrize(("identifier", "kind"), IDENTIFIERS)
def test_a_planted_identifier_is_caught(tmp_path, identifier, kind):
    result = audit(_page(tmp_path, *CLEAN_PARTS, f"<p>A note on {identifier} here.</p>"))
    assert len(result.findings) == 1, result.findings
    finding = result.findings[0]
    assert identifier in finding.text and kind in finding.rule


def test_wrap_points_in_a_table_cell_hide_no_identifier(tmp_path):
    # markdown_table lets long snake_case names wrap with zero-width spaces; a raw id with
    # underscores must still be seen whole
    data = tmp_path / "raw"
    data.mkdir()
    (data / "referrals.csv").write_text("family_id,la_code\nfam_leeds_0017,E08000035\n")
    cell = markdown_table(pd.DataFrame({"Source": ["fam_leeds_0017"]})).splitlines()[-1]
    assert "\u200b" in cell
    table = _table("Sources", ["Source"], [[cell.strip("| ")]])
    found = audit(_page(tmp_path, *CLEAN_PARTS, table), data_dir=data).findings
    assert [f.text for f in found] == ["fam_leeds_0017"]


def test_an_identifier_column_is_caught(tmp_path):
    # SSDA903's CHILD column: every value is an identifier, whatever its format
    table = _table("Episodes", ["CHILD", "Episodes"], [["100023", "12"], ["[c]", "40"]])
    result = audit(_page(tmp_path, *CLEAN_PARTS, table))
    assert [(f.text, f.rule) for f in result.findings] == [("100023", "identifier column 'CHILD'")]


def _results(tmp_path, header, rows):
    tables = tmp_path / "results/demo/hub_a/process/tables"
    tables.mkdir(parents=True)
    lines = [",".join(header), *(",".join(row) for row in rows)]
    (tables / "flow.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return tmp_path / "results/demo"


def test_csv_tables_are_audited(tmp_path):
    site = _page(tmp_path, *CLEAN_PARTS)
    clean = _results(
        tmp_path, ["stage", "SFFC", "total"], [["withdrew", "[c]", "[c]"], ["all", "12", "40"]]
    )
    assert audit(site, clean).ok
    shutil.rmtree(tmp_path / "results")
    planted = _results(
        tmp_path,
        ["stage", "family_id", "SFFC", "total"],
        [["withdrew", "F00001", "2", "[c]"], ["all", "", "12", "40"]],
    )
    found = [(Path(f.file).name, f.text, f.rule) for f in audit(site, planted).findings]
    assert found == [
        ("flow.csv", "F00001", "identifier column 'family_id'"),
        ("flow.csv", "2", audit_module.RULE_CELL),
    ]


def test_raw_data_ids_in_their_own_format_are_caught(tmp_path):
    data = tmp_path / "raw"
    data.mkdir()
    (data / "referrals.csv").write_text("family_id,la_code\nLEEDS-17X,E08000035\n")
    (data / "ssda903_header.csv").write_text("la_code,CHILD,UPN\nE08000035,100023,\n")
    site = _page(
        tmp_path, *CLEAN_PARTS, "<p>Case LEEDS-17X; 100023 children live in LA E08000035.</p>"
    )
    assert audit(site).ok  # no demo format, so only the raw data can tell
    found = audit(site, data_dir=data).findings
    assert [f.rule for f in found] == ["identifier: a value of the raw data's id columns"]
    assert "LEEDS-17X" in found[0].text


@needs_pdftotext
def test_pdf_text_is_audited(tmp_path):
    typst = pytest.importorskip("typst")
    source = tmp_path / "report.typ"
    source.write_text(
        "The trial ran in 5 hubs; ages ≤10 years; p = 0.03.\n\n"
        "Allocated to SFFC (n = 3)\n\nA family, F00042, moved away.\n",
        encoding="utf-8",
    )
    site = tmp_path / "site"
    site.mkdir()
    typst.compile(str(source), output=str(site / "report.pdf"))
    clean = tmp_path / "clean.typ"
    clean.write_text("Nothing to see.\n", encoding="utf-8")
    typst.compile(str(clean), output=str(site / "a-clean.pdf"))
    result = audit(site)
    assert [(f.file, f.location, f.rule) for f in result.findings] == [
        (str(site / "report.pdf"), "page 1, line 2", audit_module.RULE_TEXT),
        (str(site / "report.pdf"), "page 1, line 3", "identifier: family id (family_id)"),
    ]
    assert "n = 3" in result.findings[0].text and "F00042" in result.findings[1].text
    # PDFs read side by side give the same findings, in the same order
    assert audit(site, threads=2) == result


def test_pdfs_are_listed_as_unchecked_without_pdftotext(tmp_path, monkeypatch):
    site = _page(tmp_path, *CLEAN_PARTS)
    (site / "report.pdf").write_bytes(b"%PDF-1.7 not read")
    monkeypatch.setattr(audit_module.shutil, "which", lambda name: None)
    result = audit(site)
    assert result.ok and [f["kind"] for f in result.files] == ["html"]
    assert result.unchecked == [
        f"{site / 'report.pdf'}: pdftotext (poppler-utils) is not installed"
    ]


def test_missing_site_is_a_clear_error(tmp_path):
    with pytest.raises(AuditError, match="no such report or site folder"):
        audit(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(AuditError, match="no HTML or PDF report"):
        audit(tmp_path / "empty")


def _cli(*args, cwd):
    return run_command(
        [sys.executable, "-m", "psp_eval", "audit", *map(str, args)], cwd, check=False
    )


def test_cli_fails_and_writes_no_report_on_a_finding(tmp_path):
    site = _page(tmp_path, *CLEAN_PARTS)
    report = tmp_path / "audit.json"
    passed = _cli(site, "--report", report, cwd=tmp_path)
    assert passed.returncode == 0, passed.stderr
    assert json.loads(report.read_text())["ok"] is True
    _page(tmp_path, *CLEAN_PARTS, "<p>Only 2 children were hosted.</p>")
    failed = _cli(site, "--report", report, cwd=tmp_path)
    assert failed.returncode == 1
    assert "site/report.html: line" in failed.stdout and "2 children" in failed.stdout
    assert "must not reach funders" in failed.stderr and "Traceback" not in failed.stderr
    assert not report.exists()
    missing = _cli(tmp_path / "nowhere", cwd=tmp_path)
    assert missing.returncode == 1 and "no such report" in missing.stderr
    assert "Traceback" not in missing.stderr


@pytest.mark.slow
def test_pipeline_outputs_pass_and_a_planted_copy_fails(small_site, tmp_path):
    project = small_site
    recorded = json.loads((project / "results/demo/audit.json").read_text())
    assert recorded["ok"] and len(recorded["files"]) > 10
    # gathered from a part per report: what one audit of everything reads, in its order
    whole = audit(
        project / "reports/_site",
        project / "results/demo",
        project / "data/raw/demo",
        relative_to=project,
    )
    assert whole.ok and recorded == whole.summary()
    # A copy with a small cell in one HTML table and a family id in one CSV must fail.
    site = shutil.copytree(project / "reports/_site/demo", tmp_path / "site")
    results = shutil.copytree(
        project / "results/demo",
        tmp_path / "results",
        ignore=shutil.ignore_patterns("*.ipynb", "*.svg", "*.parquet"),
    )
    html = site / "trial.html"
    text = html.read_text(encoding="utf-8")
    flow = text.index('<table id="tbl-flow"')
    cell = re.compile(r'(<td style="text-align: right;">)([1-9][\d,]*)(</td>)')
    match = cell.search(text, flow)
    html.write_text(
        text[: match.start()] + match[1] + "3" + match[3] + text[match.end() :], encoding="utf-8"
    )
    csv = results / "trial/process/tables/flow.csv"
    lines = csv.read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1].split(",", 1)[0] + " (e.g. F00017)," + lines[1].split(",", 1)[1]
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = _cli(site, "--results", results, cwd=tmp_path)
    assert result.returncode == 1
    assert re.search(
        r"site/trial\.html: table tbl-flow, row 1 .*: '3': count of 1-4 people", result.stdout
    )
    assert re.search(r"results/trial/process/tables/flow\.csv: .*F00017.*family id", result.stdout)
    assert len(result.stdout.strip().splitlines()) == 2, result.stdout


def _tagged_figure(*counts):
    """A figure as matplotlib writes `style.count_text`: each count in a `psp-count-<k>` group."""
    groups = "".join(
        f"<g id='psp-count-{k}'><text x='0' y='{k}'>{c}</text></g>" for k, c in enumerate(counts, 1)
    )
    svg = f"<svg xmlns='http://www.w3.org/2000/svg'><text>4</text>{groups}</svg>"
    data = base64.b64encode(svg.encode()).decode()
    return f'<img role="img" aria-label="KM" src="data:image/svg+xml;base64,{data}" />\n'


def test_a_small_count_printed_in_a_figure_is_caught(tmp_path):
    # the untagged "4" is a tick label; a tagged count reads like a table cell
    assert audit(_page(tmp_path, *CLEAN_PARTS, _tagged_figure("120", "[c]", "0"))).ok
    result = audit(_page(tmp_path, *CLEAN_PARTS, _tagged_figure("120", "3", "[c]")))
    assert [(f.text, f.rule) for f in result.findings] == [("3", audit_module.RULE_FIGURE)]
    assert re.fullmatch(r"figure 2 \(line \d+: KM\), count 2", result.findings[0].location)


def _figure_counts(tmp_path, *shown):
    figures = tmp_path / "results/demo/hub_a/impact/figures"
    figures.mkdir(parents=True, exist_ok=True)
    counts = [
        {"what": f"at risk: SFFC at months = {6 * k}", "shown": s} for k, s in enumerate(shown)
    ]
    record = {"figure": "km.svg", "counts": counts}
    (figures / "km.counts.json").write_text(json.dumps(record), encoding="utf-8")
    return tmp_path / "results/demo"


def test_figure_count_records_are_audited(tmp_path):
    site = _page(tmp_path, *CLEAN_PARTS)
    clean = audit(site, _figure_counts(tmp_path, "40", "1,024", "[c]", "0"))
    assert clean.ok and clean.files[-1]["kind"] == "figure counts"
    found = audit(site, _figure_counts(tmp_path, "40", "2", "[c]")).findings
    assert [(Path(f.file).name, f.location, f.text, f.rule) for f in found] == [
        ("km.counts.json", "at risk: SFFC at months = 6", "2", audit_module.RULE_FIGURE)
    ]
    (tmp_path / "results/demo/hub_a/impact/figures/km.counts.json").write_text("[1, 2]")
    with pytest.raises(AuditError, match="km.counts.json: not a figure's record of counts"):
        audit(site, tmp_path / "results/demo")


def test_raw_identifiers_are_the_id_columns_values_with_letters_and_digits(tmp_path):
    (tmp_path / "children.csv").write_text(
        "family_id,child_id,age\n F0001 ,C0001-1,7\nF0001,,8\n1234,C0001-1,9\n", encoding="utf-8"
    )
    pd.DataFrame({"CHILD": ["100023", "AB12"], "UPN": [None, "X1234"]}).to_parquet(
        tmp_path / "ssda903_header.parquet"
    )
    (tmp_path / "notes.txt").write_text("F9999\n", encoding="utf-8")  # not a table
    found = audit_module.raw_identifiers(tmp_path)
    assert found == {"F0001", "C0001-1", "AB12", "X1234"}  # bare numbers and the age left out
    (tmp_path / "broken.parquet").write_text("not parquet", encoding="utf-8")
    with pytest.raises(AuditError, match="broken.parquet: cannot read its identifier columns"):
        audit_module.raw_identifiers(tmp_path)


def _two_reports(tmp_path):
    """Two pages and the results each embeds, each with something to find."""
    site = _page(tmp_path, *CLEAN_PARTS, "<p>Only 2 children were hosted.</p>", name="b.html")
    _page(tmp_path, *CLEAN_PARTS, "<p>Family F00017 said so; 3 families agreed.</p>", name="a.html")
    results = _figure_counts(tmp_path, "40", "2")
    tables = results / "trial/process/tables"
    tables.mkdir(parents=True)
    (tables / "flow.csv").write_text(
        "Stage,Families\nRandomised,4\nSupported,0\n", encoding="utf-8"
    )
    return site, results


def test_an_audit_gathered_from_parts_is_the_audit_of_everything(tmp_path):
    # The pipeline audits each report as it is rendered, and the last step gathers the parts:
    # the same files, findings and order as one audit of it all, whatever order the parts ran.
    site, results = _two_reports(tmp_path)
    whole = audit(site, results)
    assert len(whole.findings) == 5 and len(whole.files) == 4
    part_b = audit(site / "b.html", results / "hub_a")
    part_a = audit(site / "a.html", results / "trial/process")
    for path, part in (("b.json", part_b), ("a.json", part_a)):
        audit_module.write_part(part, tmp_path / path)
    saved = [audit_module.read_part(tmp_path / name) for name in ("b.json", "a.json")]
    gathered = audit([], parts=saved)
    assert gathered.summary() == whole.summary()
    # pages first (HTML, then PDF), then tables, then figures' counts; by name within each
    found_in = [Path(f.file).name for f in gathered.findings]
    assert found_in == ["a.html", "a.html", "b.html", "flow.csv", "km.counts.json"]
    (tmp_path / "broken.json").write_text('{"files": []}', encoding="utf-8")
    with pytest.raises(AuditError, match="broken.json: not a saved part of an audit"):
        audit_module.read_part(tmp_path / "broken.json")


def test_cli_parts_pass_and_the_gathering_audit_fails_on_their_findings(tmp_path):
    site, results = _two_reports(tmp_path)
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "volunteers.csv").write_text("volunteer_id,role\nVOL-7Q,host\n", encoding="utf-8")
    _page(tmp_path, *CLEAN_PARTS, "<p>Thanks to VOL-7Q.</p>", name="c.html")
    ids = tmp_path / "ids.json"
    made = run_command(
        [
            sys.executable,
            "-m",
            "psp_eval",
            "identifiers",
            "--data-dir",
            str(raw),
            "--out",
            str(ids),
        ],
        tmp_path,
        check=False,
    )
    assert made.returncode == 0 and json.loads(ids.read_text()) == ["VOL-7Q"], made.stderr
    for name, folder in (("a", "trial/process"), ("b", "hub_a")):
        part = _cli(
            *(site / f"{name}.html", "--results", results / folder, "--identifiers", ids),
            *("--part", tmp_path / f"{name}.json"),
            cwd=tmp_path,
        )
        assert part.returncode == 0, part.stderr  # parts pass: the gathering audit fails
    report = tmp_path / "audit.json"
    parts = [tmp_path / "a.json", tmp_path / "b.json"]
    final = _cli(
        site / "c.html", "--identifiers", ids, "--parts", *parts, "--report", report, cwd=tmp_path
    )
    assert final.returncode == 1 and not report.exists()
    assert "site/c.html" in final.stdout and "VOL-7Q" in final.stdout
    assert "flow.csv" in final.stdout and "km.counts.json" in final.stdout
    one_audit = _cli(site, "--results", results, "--data-dir", raw, cwd=tmp_path)
    assert one_audit.returncode == 1
    assert final.stdout == one_audit.stdout
