"""Open rendered reports in headless Chromium as a reader would, and list what is wrong.

Used by tests/browser/test_browser.py, and runnable by hand on any site folder:
    .venv/bin/python tests/browser/browser_check.py reports/_site screenshots/
It writes a desktop and a phone screenshot of every page and prints the problems found.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Page, Request, Route, sync_playwright

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Without the background-networking flags Chromium floods the closed network (DESIGN.md).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WIDTHS = {"desktop": 1280, "phone": 375}
LOCAL_SCHEMES = ("file:", "data:", "about:", "blob:")

BROKEN_IMAGES = """[...document.images]
    .filter(img => !img.complete || img.naturalWidth === 0)
    .map(img => img.alt || img.src.slice(0, 80))"""
MISSING_ANCHORS = """[...document.querySelectorAll('a[href^="#"]')]
    .map(a => decodeURIComponent(a.getAttribute('href').slice(1)))
    .filter(id => id && !document.getElementById(id))"""
RELATIVE_LINKS = """[...document.querySelectorAll('a[href]')]
    .map(a => a.getAttribute('href'))
    .filter(h => !h.startsWith('#') && !/^[a-z]+:/i.test(h))"""


@dataclass
class PageCheck:
    """What one page showed at one width."""

    page: Path
    width: str
    problems: list[str] = field(default_factory=list)
    screenshot: Path | None = None


def available() -> bool:
    return Path(CHROMIUM).exists()


def _check_page(page: Page, html: Path, check: PageCheck, pixels: int) -> None:
    page.goto(html.as_uri(), wait_until="load")
    for alt in page.evaluate(BROKEN_IMAGES):
        check.problems.append(f"broken image: {alt}")
    for anchor in page.evaluate(MISSING_ANCHORS):
        check.problems.append(f"link to missing anchor #{anchor}")
    for href in page.evaluate(RELATIVE_LINKS):
        target = (html.parent / href.split("#")[0]).resolve()
        if not target.exists():
            check.problems.append(f"broken link: {href}")
    overflow = page.evaluate("document.documentElement.scrollWidth")
    if overflow > pixels + 1:
        check.problems.append(f"page is {overflow} px wide in a {pixels} px window")


def check_site(site: Path, screenshots: Path) -> list[PageCheck]:
    """Every HTML page under `site`, at desktop and phone widths."""
    site, screenshots = Path(site).resolve(), Path(screenshots)
    screenshots.mkdir(parents=True, exist_ok=True)
    checks = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for html in sorted(site.rglob("*.html")):
                for width, pixels in WIDTHS.items():
                    check = PageCheck(html, width)
                    page = browser.new_page(viewport={"width": pixels, "height": 900})

                    def refuse_remote(route: Route, request: Request, check=check) -> None:
                        if request.url.startswith(LOCAL_SCHEMES):
                            route.continue_()
                        else:
                            check.problems.append(f"request leaving the file: {request.url}")
                            route.abort()

                    page.route("**/*", refuse_remote)
                    page.on(
                        "console",
                        lambda msg, check=check: (
                            msg.type == "error"
                            and check.problems.append(f"console error: {msg.text}")
                        ),
                    )
                    page.on(
                        "pageerror",
                        lambda err, check=check: check.problems.append(f"script error: {err}"),
                    )
                    _check_page(page, html, check, pixels)
                    name = html.relative_to(site).with_suffix("").as_posix().replace("/", "-")
                    check.screenshot = screenshots / f"{name}-{width}.png"
                    page.screenshot(path=str(check.screenshot), full_page=True)
                    page.close()
                    checks.append(check)
        finally:
            browser.close()
    return checks


if __name__ == "__main__":
    results = check_site(Path(sys.argv[1]), Path(sys.argv[2]))
    for result in results:
        status = "ok" if not result.problems else "; ".join(result.problems)
        print(f"{result.page} [{result.width}] {status} -> {result.screenshot}")
    sys.exit(1 if any(r.problems for r in results) else 0)
