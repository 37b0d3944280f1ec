"""Reading a plain-text report: tab-separated, space-aligned, or flattened tables.

Text reports come several ways: copied out of a word processor, with a tab between
cells; laid out with spaces (``pdftotext -layout`` and similar), with a run of
spaces between cells; with a single space between cells (``（一）予以公开 0 0 0 0 0
0 0``); or flattened by a web page or a PDF extractor, a whole table on one line
and the digits of a row run together (``一、本年新收政府信息公开申请数量142000016``).
Every line is a row (a line with one cell is how headings reach the table reader);
a table line holding several rows is cut where a label follows numbers. A page's text
rendering puts the whole report, prose and tables, on one line: its clauses are cut at
the ends of sentences, and the clauses where labels are followed by bare numbers are
the tables, read as rows. Text with its cells on lines of their own is read as one such
line. Empty cells
in such text are unreliable — merged cells come out as missing or extra tabs, and a
blank is invisible among spaces — so the Document says its cells are not exact, and
the table reader only places rows it can place for sure (run-together digits only
where the table's own sums leave one way to split them, see ``parse.digits``).
"""

from __future__ import annotations

import re

from archive.parse.document import Document, Grid, ParseError

# Between cells of a space-aligned line: two or more spaces (or an ideographic space).
_GAP = re.compile(r"(?: {2,}|\u3000+)")
# What a data cell of a text table can be: a number, or a mark for "nothing" (/ — - 无).
_VALUE = r"(?:[+-]?\d[\d,]*(?:\.\d+)?(?:万元|元|件|个|项|次)?|[/／\\]|[-—–－─]{1,2}|无)"
_VALUE_TOKEN = re.compile(rf"^{_VALUE}$")
# A page number line: "- 3 -", "第 2 页", "3/6" (its dashes are no blank cells).
_PAGE_NUMBER = re.compile(r"^\s*(?:[-—–]\s*\d+\s*[-—–]|第\s*\d+\s*页.*|\d+\s*/\s*\d+)\s*$")
# Where digits touch a label without a space. A digit followed by 、/. and a Chinese
# character is a label's numbering ("2.其他法律…"), and digits followed by a unit or
# a date word are prose ("2024年", "3件"), so neither is a cell boundary.
_UNIT = "年月日件个项次条份人元万%％号期"
_TOUCHING = re.compile(
    rf"(?<=[\u4e00-\u9fff）)”\"])(?=\d)|(?<=\d)(?![\d,.]|[{_UNIT}])(?=[\u4e00-\u9fff（(])"
    # a number with the unit of its cell (1个, 246900元, 45.82万元), then the next label
    r"|(?<=\d[元个件项次])(?=[\u4e00-\u9fff（(])|(?<=\d万元)(?=[\u4e00-\u9fff（(])"
)
_NUMBERING = re.compile(r"(\d)(?=[.．、][\u4e00-\u9fff])")
# Prose, not a table line: sentence punctuation.
_PROSE = re.compile(r"[。；;！？]")
# Where a clause of prose ends; a table flattened into a page's text is one long clause.
_CLAUSE_END = re.compile(r"(?<=[。；;！？])")
# A clause is a flattened table when at least this many labels are followed by a bare
# number: prose states its figures with a unit (55条, 2021年, 3件).
TABLE_RUN = 3
_BARE_NUMBER = re.compile(r"^\d+$")
# Text laid out one cell per line (a PDF extractor's): this many lines holding a single
# value, and at least this share of the lines, make the text read as one stream of cells.
CELL_LINES = 20
CELL_LINE_SHARE = 1 / 3
MAX_LABEL = 60  # as the table reader: longer is not one label


def _aligned_cells(line: str) -> list[str]:
    cells: list[str] = []
    for part in _GAP.split(line.strip()):
        cells += _spaced_cells(part)
    return cells


def _spaced_cells(part: str) -> list[str]:
    """A part of a line between wide gaps, cut into cells at single spaces: every value
    ("0", "/", "—") is a cell; the words between values make one label cell."""
    cells: list[str] = []
    words: list[str] = []
    for token in part.split():
        if _VALUE_TOKEN.match(token):
            if words:
                cells.append(" ".join(words))
                words = []
            cells.append(token)
        else:
            words.append(token)
    if words:
        cells.append(" ".join(words))
    return cells


def _label_words(cells: list[str]) -> list[str]:
    """A label cell longer than any label (a flattened table's headings, column headers
    and row label run into one) is left as its words, so each can be recognised."""
    out: list[str] = []
    for cell in cells:
        out += cell.split() if len(cell) > MAX_LABEL and not _is_value(cell) else [cell]
    return out


def _touching_cells(line: str) -> list[str]:
    """Cells of a table line whose labels and numbers touch (no space between them)."""
    marked = _NUMBERING.sub(lambda m: "\x00" + m.group(1), line)  # keep "2." with its label
    out: list[str] = []
    for piece in marked.split("\x00"):
        out += [p for p in _TOUCHING.split(piece) if p]
    # A numbering digit split off above rejoins the label it starts.
    cells: list[str] = []
    for cell in out:
        cells += _aligned_cells(cell)
    return [c for c in cells if c.strip()]


def _is_value(cell: str) -> bool:
    return bool(_VALUE_TOKEN.match(cell.strip()))


def _rows_of_line(cells: list[str]) -> list[list[str]]:
    """Cut a line into rows where a label follows numbers: a flattened table is one line,
    and a row's cells never go on with a label after its numbers."""
    rows: list[list[str]] = [[]]
    for i, cell in enumerate(cells):
        if i and not _is_value(cell) and _is_value(cells[i - 1]):
            rows.append([])
        rows[-1].append(cell)
    return rows


def _space_rows(line: str) -> list[list[str]]:
    if _PAGE_NUMBER.match(line):
        return [[line.strip()]]
    if _PROSE.search(line):
        return _prose_rows(line)
    cells = _touching_cells(line)
    return _rows_of_line(_label_words(cells)) if any(_is_value(c) for c in cells) else [cells]


def _prose_rows(line: str) -> list[list[str]]:
    """A line with sentences. A page's text rendering puts the whole report on one line:
    its tables are then clauses of their own (no sentence ends inside a table), read as
    table rows; every other clause is prose, where only wide gaps separate anything."""
    clauses = [c for c in _CLAUSE_END.split(line) if c.strip()]
    tables = {i: _touching_cells(c) for i, c in enumerate(clauses)}
    tables = {i: cells for i, cells in tables.items() if _is_table_run(cells)}
    if not tables:
        return [_GAP.split(line.strip())]  # a sentence: only wide gaps separate anything
    rows: list[list[str]] = []
    for i, clause in enumerate(clauses):
        if i in tables:
            rows += _rows_of_line(_label_words(tables[i]))
        else:
            rows.append(_GAP.split(clause.strip()))
    return rows


def _is_table_run(cells: list[str]) -> bool:
    """Whether a clause's cells are a flattened table: labels followed by bare numbers,
    ``TABLE_RUN`` times at least."""
    runs = sum(
        1
        for before, cell in zip(cells, cells[1:], strict=False)
        if _BARE_NUMBER.match(cell.strip()) and not _is_value(before)
    )
    return runs >= TABLE_RUN


def _one_cell_per_line(lines: list[str]) -> bool:
    """Whether the text puts its table cells on lines of their own."""
    single = sum(1 for ln in lines if _is_value(ln))
    return single >= CELL_LINES and single >= CELL_LINE_SHARE * len(lines)


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
        if _one_cell_per_line(rows):
            # Cells on lines of their own: the lines are read as one flattened run, a line
            # break separating cells as a space does.
            rows = [" ".join(ln.strip() for ln in rows)]
            layout = "lines"
        else:
            layout = "spaces"
        grid = [list(row) for ln in rows for row in _space_rows(ln)]
    title = next((ln.strip() for ln in lines if ln.strip()), None)
    return Document(
        format="text",
        text="\n".join(lines),
        tables=[grid],
        title=title,
        exact_cells=False,
        meta={"layout": layout},
    )
