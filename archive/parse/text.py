"""Reading a plain-text report: tab-separated or space-aligned tables.

Text reports come two ways: copied out of a word processor, with a tab between
cells, or laid out with spaces (``pdftotext -layout`` and similar), with a run
of spaces between cells. Every line is a row (a line with one cell is how
headings reach the table reader). Empty cells in such text are unreliable —
merged cells come out as missing or extra tabs, and a blank is invisible among
spaces — so the Document says its cells are not exact, and the table reader
only places rows it can place for sure.
"""

from __future__ import annotations

import re

from archive.parse.document import Document, Grid, ParseError

# Between cells of a space-aligned line: two or more spaces (or an ideographic space).
_GAP = re.compile(r"(?: {2,}|\u3000+)")
# Numbers set one space apart in a space-aligned line are separate cells, not "1 234".
_SPACED_NUMBERS = re.compile(r"^[\d,.]+(?: [\d,.]+)+$")


def _aligned_cells(line: str) -> list[str]:
    cells: list[str] = []
    for part in _GAP.split(line.strip()):
        cells += part.split(" ") if _SPACED_NUMBERS.match(part) else [part]
    return cells


def read_text(text: str) -> Document:
    lines = [ln.rstrip("\r") for ln in text.split("\n")]
    if not any(ln.strip() for ln in lines):
        raise ParseError("empty", "the document has no text")
    rows = [ln for ln in lines if ln.strip()]
    grid: Grid
    if any("\t" in ln for ln in rows):
        # A line of tabs alone is a row of empty cells (table 4 printed all blank).
        grid = [list(ln.split("\t")) for ln in lines if ln.strip() or "\t" in ln]
        layout = "tab"
    else:
        grid = [list(_aligned_cells(ln)) for ln in rows]
        layout = "spaces"
    title = next((ln.strip() for ln in lines if ln.strip()), None)
    return Document(
        format="text",
        text="\n".join(lines),
        tables=[grid],
        title=title,
        exact_cells=False,
        meta={"layout": layout},
    )
