"""Atomic file output: a reader (or a rerun after a crash) never sees a half-written file."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def temporary_path(final: Path) -> Iterator[Path]:
    """Yield a temporary path beside `final`; rename it onto `final` if the block succeeds.

    The temporary file sits in the same folder so the rename is atomic on one filesystem;
    on error it is removed and `final` is left untouched.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    # keep the suffix: writers such as papermill and typst infer the format from it
    tmp = final.with_name(f".{final.stem}.{os.getpid()}.tmp{final.suffix}")
    try:
        yield tmp
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)


def write_text(path: Path, text: str) -> Path:
    """Write `text` (UTF-8) to `path` atomically."""
    with temporary_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)
