"""Rendered reports as readers meet them: in a browser (desktop and phone) and as PDF pages."""

import re
import shutil
import subprocess

import pdf_layout
import pytest
from browser_check import available, check_site
from PIL import Image

pytestmark = pytest.mark.slow


def _sections(text: str) -> list[str]:
    return re.findall(r"<h2[^>]*>(.*?)</h2>", text, re.S)


def test_every_page_opens_cleanly_offline_on_desktop_and_phone(rendered_site):
    if not available():
        pytest.skip("Chromium is not installed (apt-get install chromium); .ci/run installs it")
    site = rendered_site / "reports/_site"
    checks = check_site(site, rendered_site / "screenshots")
    pages = {c.page for c in checks}
    # the index, three briefs, the trial and two hub reports, need and monitoring
    assert len(pages) == 1 + 3 + 3 + 2
    problems = [f"{c.page.name} [{c.width}]: {p}" for c in checks for p in c.problems]
    assert not problems, "\n".join(problems)
    assert all(c.screenshot.stat().st_size > 5_000 for c in checks)


def test_pdf_pages_are_not_blank_and_match_the_html_sections(
    rendered_site, tmp_path, request, capsys
):
    if not shutil.which("pdftoppm"):
        pytest.skip(
            "poppler-utils is not installed (apt-get install poppler-utils); .ci/run installs it"
        )
    counted = {}
    for pdf in sorted((rendered_site / "reports/_site/demo").glob("*.pdf")):
        info = subprocess.run(
            ["pdfinfo", str(pdf)], capture_output=True, text=True, check=True
        ).stdout
        pages = counted[pdf.stem] = int(re.search(r"^Pages:\s+(\d+)", info, re.M)[1])
        assert pages >= 2, f"{pdf.name} has {pages} page(s)"
        folder = tmp_path / pdf.stem  # one each: "leeds-*.png" would match leeds-brief's too
        folder.mkdir()
        subprocess.run(["pdftoppm", "-r", "30", "-png", str(pdf), str(folder / "page")], check=True)
        images = sorted(folder.glob("page-*.png"))
        assert len(images) == pages
        for image in images:
            darkest, _ = Image.open(image).convert("L").getextrema()
            assert darkest < 128, f"{image.name} looks blank"
        # Same sections in the PDF as in the web page.
        text = subprocess.run(
            ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
        ).stdout
        html = pdf.with_suffix(".html").read_text()
        for heading in _sections(html):
            plain = re.sub(r"<[^>]+>", "", heading).strip()
            assert plain in text, f"{pdf.name} lacks the section {plain!r}"
    with capsys.disabled():  # for the CI log: each engine's page counts
        engine = request.node.callspec.params["rendered_site"]
        print(f"\n{engine} PDFs, pages: " + ", ".join(f"{k} {v}" for k, v in counted.items()))


def test_pdf_pages_print_no_words_over_each_other_or_off_the_page(rendered_site, request, capsys):
    if not shutil.which("pdftotext"):
        pytest.skip(
            "poppler-utils is not installed (apt-get install poppler-utils); .ci/run installs it"
        )
    pdfs = sorted((rendered_site / "reports/_site/demo").glob("*.pdf"))
    found = [problem for pdf in pdfs for problem in pdf_layout.problems(pdf)]
    assert not found, "\n".join(map(str, found))
    with capsys.disabled():  # for the CI log
        engine = request.node.callspec.params["rendered_site"]
        print(f"\n{engine}: layout checked on {len(pdfs)} PDFs, no words over each other or off")
