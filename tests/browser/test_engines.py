"""Quarto and the embedded engine give the same reports: the same text, sections, numbers,
figure and table captions and cross-references (they differ in the engine they name)."""

import re

import pytest
from browser_check import CHROMIUM, CHROMIUM_ARGS, available
from playwright.sync_api import sync_playwright

pytestmark = pytest.mark.slow

# What a reader reads on a report page, outside the navigation and the title block; the
# provenance table's engine row is a table cell of its own and is left out.
CONTENT = """() => {
  const root = document.querySelector('main') || document.body;
  const outside = el => el.closest('nav, #TOC, #quarto-margin-sidebar, #title-block-header');
  const text = el => el.innerText.replace(/\\s+/g, ' ').trim();
  const all = selector => [...root.querySelectorAll(selector)].filter(el => !outside(el));
  return {
    sections: all('h2, h3').map(text),
    captions: all('figcaption, caption').map(text).filter(t => /^(Figure|Table) \\d+/.test(t)),
    // Quarto also links each caption to itself with an empty anchor: references have text.
    references: all('a[href^="#fig-"], a[href^="#tbl-"]').filter(a => text(a)).map(
      a => `${text(a)} -> ${a.getAttribute('href')}`),
    // A list item's text once: the embedded engine joins a partial's bullets and an embedded
    // cell's into one loose list (<li><p>), Quarto keeps two tight ones (<li>).
    text: all('p, li').filter(el => !(el.tagName === 'P' && el.parentElement.tagName === 'LI'))
      .map(text).filter(Boolean),
    cells: all('td, th').map(text).filter(t => t !== 'quarto' && t !== 'embedded')
      .map(t => t.replace(/\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2} UTC/g, '<render time>')),
  };
}"""


def _content(browser, html):
    page = browser.new_page()
    # nothing remote: only the page's own file (and any file beside it) may load
    page.route(
        "**/*",
        lambda route, request: (
            route.continue_() if request.url.startswith("file:") else route.abort()
        ),
    )
    page.goto(html.as_uri(), wait_until="load")
    content = page.evaluate(CONTENT)
    page.close()
    return content


def test_both_engines_give_the_same_reports(small_site, quarto_site):
    if not available():
        pytest.skip("Chromium is not installed (apt-get install chromium); .ci/run installs it")
    embedded_pages = sorted((small_site / "reports/_site/demo").glob("*.html"))
    assert embedded_pages
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for embedded in embedded_pages:
                quarto = quarto_site / "reports/_site/demo" / embedded.name
                expected, got = _content(browser, embedded), _content(browser, quarto)
                for part in ("sections", "captions", "references", "text", "cells"):
                    assert got[part] == expected[part], f"{embedded.name}: {part} differ"
                assert any(c.startswith("Table 1") for c in expected["captions"])
        finally:
            browser.close()


def test_quarto_pages_name_no_folder_of_this_machine_and_no_run_time_of_a_cell(quarto_site):
    # Quarto copies each embedded cell's notebook path and metadata into the page
    named = set()
    for page in sorted((quarto_site / "reports/_site/demo").glob("*.html")):
        text = page.read_text(encoding="utf-8")
        assert str(quarto_site) not in text and str(quarto_site.resolve()) not in text, page.name
        assert "start_time" not in text and "iopub." not in text, page.name
        named |= set(re.findall(r'data-notebook="([^"]*)"', text))
    assert "process.ipynb" in named and all("/" not in name for name in named), named
