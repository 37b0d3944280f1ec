"""Reading a plain-text report: tab-separated tables as copied from a word processor.

Every line is a row (a line without tabs is a one-cell row, which is how
headings reach the table reader). Empty cells in such text are unreliable —
merged cells come out as missing or extra tabs — so the Document says its cells
are not exact, and the table reader only places rows it can place for sure.
"""

from __future__ import annotations

from archive.parse.document import Document, ParseError


def read_text(text: str) -> Document:
    lines = [ln.rstrip("\r") for ln in text.split("\n")]
    if not any(ln.strip() for ln in lines):
        raise ParseError("empty", "the document has no text")
    grid = [ln.split("\t") for ln in lines if ln.strip()]
    title = next((ln.strip() for ln in lines if ln.strip()), None)
    return Document(format="text", text="\n".join(lines), tables=[grid], title=title,
                    exact_cells=False)
