"""Find PDF pages a reader cannot read: words printed over each other, words off the page, and
content run past the page foot (a table row cut at the page end), from the word boxes of
poppler's `pdftotext -bbox-layout`.

Used by tests/browser/test_browser.py, and runnable by hand:
    .venv/bin/python tests/browser/pdf_layout.py reports/_site/demo/*.pdf
It prints one line per problem and, last, the number of pages with problems in each PDF.
"""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

# Two words overlap when their boxes share at least this share of the smaller box's area
# (glyph boxes of neighbouring words on a line touch, but never cover each other).
OVERLAP_SHARE = 0.25
# Words smaller than this (points of box height) are tick marks or superscripts: still
# checked against each other, but a touch is tolerated.
TOLERANCE_PT = 0.5
XHTML = "{http://www.w3.org/1999/xhtml}"


@dataclass(frozen=True)
class Word:
    text: str
    x0: float
    y0: float
    x1: float
    y1: float

    def area(self) -> float:
        return max(self.x1 - self.x0, 0) * max(self.y1 - self.y0, 0)


@dataclass(frozen=True)
class Problem:
    pdf: Path
    page: int
    what: str

    def __str__(self) -> str:
        return f"{self.pdf.name} page {self.page}: {self.what}"


def pages(pdf: Path) -> list[tuple[float, float, list[Word]]]:
    """Each page of `pdf` as (width, height, words) in points, origin at the top left."""
    xml = subprocess.run(
        ["pdftotext", "-bbox-layout", str(pdf), "-"],
        capture_output=True,
        check=True,
    ).stdout
    root = ET.fromstring(xml)
    result = []
    for page in root.iter(f"{XHTML}page"):
        words = []
        for word in page.iter(f"{XHTML}word"):
            box = [float(word.get(key)) for key in ("xMin", "yMin", "xMax", "yMax")]
            words.append(Word((word.text or "").strip(), *box))
        result.append((float(page.get("width")), float(page.get("height")), words))
    return result


def _shared_area(a: Word, b: Word) -> float:
    width = min(a.x1, b.x1) - max(a.x0, b.x0) - TOLERANCE_PT
    height = min(a.y1, b.y1) - max(a.y0, b.y0) - TOLERANCE_PT
    return width * height if width > 0 and height > 0 else 0.0


def overlapping(words: list[Word]) -> list[tuple[Word, Word]]:
    """Pairs of words whose boxes cover each other (sweep over words sorted by top edge)."""
    ordered = sorted((w for w in words if w.text and w.area() > 0), key=lambda w: w.y0)
    pairs = []
    for i, a in enumerate(ordered):
        for b in ordered[i + 1 :]:
            if b.y0 >= a.y1:
                break
            shared = _shared_area(a, b)
            if shared > OVERLAP_SHARE * min(a.area(), b.area()):
                pairs.append((a, b))
    return pairs


def page_problems(pdf: Path, number: int, width: float, height: float, words) -> list[Problem]:
    """What is wrong on one page: overlaps, words off the page, text under the page number."""
    found = []
    for a, b in overlapping(words):
        found.append(Problem(pdf, number, f"{a.text!r} and {b.text!r} overlap at y={a.y0:.0f}"))
    for word in words:
        if word.x0 < 0 or word.y0 < 0 or word.x1 > width + 1 or word.y1 > height + 1:
            found.append(
                Problem(
                    pdf,
                    number,
                    f"{word.text!r} runs off the page at ({word.x0:.0f}, {word.y0:.0f})",
                )
            )
    footer = _page_number(words, number, height)
    if footer is not None:
        below = [w for w in words if w is not footer and w.y0 > footer.y0 - 1 and w.text]
        if below:
            shown = " ".join(w.text for w in below[:6])
            found.append(Problem(pdf, number, f"text past the page foot: {shown!r}"))
    return found


def _page_number(words: list[Word], number: int, height: float) -> Word | None:
    """The page number printed in the bottom margin, if the page has one."""
    candidates = [w for w in words if w.text == str(number) and w.y0 > 0.85 * height]
    return max(candidates, key=lambda w: w.y0) if candidates else None


def problems(pdf: Path) -> list[Problem]:
    """Every layout problem of every page of `pdf`."""
    pdf = Path(pdf)
    found = []
    for number, (width, height, words) in enumerate(pages(pdf), 1):
        found += page_problems(pdf, number, width, height, words)
    return found


def failing_pages(found: list[Problem]) -> dict[Path, set[int]]:
    by_pdf: dict[Path, set[int]] = {}
    for problem in found:
        by_pdf.setdefault(problem.pdf, set()).add(problem.page)
    return by_pdf


if __name__ == "__main__":
    everything = []
    for argument in sys.argv[1:]:
        found = problems(Path(argument))
        everything += found
        for problem in found:
            print(problem)
    failing = failing_pages(everything)
    for pdf in map(Path, sys.argv[1:]):
        print(f"{pdf}: {len(failing.get(pdf, ()))} page(s) with layout problems")
    print(f"total: {sum(len(p) for p in failing.values())} page(s) with layout problems")
    sys.exit(1 if everything else 0)
