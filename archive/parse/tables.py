"""Finding the three statistical tables in a document's grids.

Real reports split one table over several ``<table>`` elements or PDF pages, put
all three in one, repeat headers, and merge label cells over many rows. So the
reader does not trust table boundaries: it walks every row of every grid in
reading order and recognises each row by its label, keeping only two pieces of
context — which table it is in, and which merged group label (（三）不予公开 …)
is open. Data cells are the printed cells right of the labels; their count must
equal the row's column count in the template, or the row is set aside with a
warning. Nothing is ever shifted or guessed into place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from archive.parse.document import Grid
from archive.parse.labels import match_label, normalize
from archive.parse.values import CellValue, clean_cell, read_cell
from archive.store.templates import TEMPLATES, Entry, template

T4_WIDTH = 15


@dataclass
class RowReading:
    """One recognised data row, before the template decides its columns."""

    table: str
    key: str
    cells: list[CellValue]
    header_cols: tuple[str, ...] = ()
    label: str = ""


@dataclass
class TableReading:
    rows: list[RowReading] = field(default_factory=list)
    votes: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    local_rows: list[RowReading] = field(default_factory=list)


def _all_entries(axis: str) -> list[Entry]:
    seen: dict[tuple, Entry] = {}
    for tid in TEMPLATES:
        for e in template(tid).entries:
            if e.axis == axis:
                seen.setdefault((e.table, e.key, e.match, e.group, e.cols), e)
    return list(seen.values())


def _template_specific(axis: str) -> dict[tuple[str, str], str]:
    """(table, key) of rows or columns that exist in one template only → that template."""
    owners: dict[tuple[str, str], set[str]] = {}
    for tid in TEMPLATES:
        for e in template(tid).entries:
            if e.axis == axis:
                owners.setdefault((e.table, e.key), set()).add(tid)
    return {k: next(iter(v)) for k, v in owners.items() if len(v) == 1}


# Table 4's rows have no label of their own (its one data row is read by position),
# so only tables 2 and 3 are recognised by row label.
ROWS = [e for e in _all_entries("row") if e.table != "t4"]
COLS = _all_entries("col")
GROUPS = _all_entries("group")
ROW_VOTES = _template_specific("row")
COL_VOTES = _template_specific("col")
# Longer cells are prose, not labels: never read a sentence as a row or column name.
MAX_LABEL = 60
T2_COLS = [e for e in COLS if e.table == "t2"]
T4_HEADER_WORDS = ("行政复议", "行政诉讼", "复议后起诉", "直接起诉")
SECTION_WORDS = {
    "t2": ("主动公开政府信息情况",),
    "t3": ("收到和处理政府信息公开申请情况",),
    "t4": ("行政复议、行政诉讼情况", "行政复议行政诉讼情况"),
}


def _split_labels(cells: list[CellValue]) -> tuple[list[CellValue], list[CellValue]]:
    """Label cells are those up to the last text cell; data cells the rest."""
    last_text = max((i for i, c in enumerate(cells) if not c.is_value), default=-1)
    return cells[: last_text + 1], cells[last_text + 1 :]


def _fit(data: list[CellValue], width: int, exact: bool) -> list[CellValue] | None:
    """The ``width`` data cells of a row, or None when they cannot be located for sure."""
    if len(data) == width:
        return data
    if len(data) > width:
        # Leading blanks are empty label columns (a merged label exported as an
        # empty cell); in text formats trailing blanks are column padding.
        trimmed = list(data)
        while len(trimmed) > width and trimmed[0].kind == "blank":
            trimmed.pop(0)
        while not exact and len(trimmed) > width and trimmed[-1].kind == "blank":
            trimmed.pop()
        if len(trimmed) == width:
            return trimmed
        if not exact:
            # Text formats print a merged cell as extra empty cells. When exactly ``width``
            # cells hold something, they are the row's cells in order: nothing is shifted.
            printed = [c for c in data if c.raw]
            if len(printed) == width:
                return printed
    return None


class _Walker:
    def __init__(self, exact_cells: bool):
        self.exact = exact_cells
        self.out = TableReading()
        self.table: str | None = None
        self.group: str | None = None
        self.t2_header: tuple[str, ...] = ()
        self.t2_padding = 0
        self.cut: RowReading | None = None  # a last row of a grid whose cells were all blank

    def vote(self, template_id: str) -> None:
        self.out.votes[template_id] = self.out.votes.get(template_id, 0) + 1

    def walk(self, grids: list[Grid]) -> TableReading:
        for grid in grids:
            first = True
            for row in grid:
                cells = [read_cell(c) for c in row if c is not None]
                if not any(c.raw for c in cells):
                    if self.table == "t4" and len(cells) == T4_WIDTH:
                        # Table 4's data row with every cell left blank: exactly its 15
                        # cells, right under its header (in text too: nothing is placed).
                        self.unlabelled(cells)
                    continue
                if first and self.rejoin(cells):
                    first = False
                    continue
                first = False
                before = len(self.out.rows)
                self.row(cells)
                grew = len(self.out.rows) > before
                self.cut = (
                    self.out.rows[-1]
                    if grew and all(c.kind == "blank" for c in self.out.rows[-1].cells)
                    else None
                )
        return self.out

    def rejoin(self, cells: list[CellValue]) -> bool:
        """Join a row a page break cut in two: its label and empty cells end one grid,
        its numbers (and no label) start the next, in exactly as many cells."""
        cut, self.cut = self.cut, None
        if cut is None or any(not c.is_value for c in cells):
            return False
        fitted = _fit(cells, len(cut.cells), self.exact)
        if fitted is None or not any(c.kind == "number" for c in fitted):
            return False
        cut.cells = fitted
        self.out.warnings.append(
            f"{cut.table}.{cut.key}: the row's numbers were printed after a page break; "
            f"joined to its label"
        )
        return True

    def row(self, cells: list[CellValue]) -> None:
        labels, data = _split_labels(cells)
        texts = [c.raw for c in labels if c.raw]
        all_blank = all(c.kind == "blank" for c in data)
        if not data or (not self.exact and all_blank):
            if data and texts and self.blank_t3_row(texts, data):
                return
            # No data, or (in text formats) only padding: a heading or column header.
            self.header(texts, padding=len(data))
            return
        if not texts:
            self.unlabelled(data)
            return
        entry = self.recognise(texts)
        if entry is None:
            self.unrecognised(texts, data)
            return
        width = len(entry.cols) if entry.cols else 7
        if entry.table == "t2":
            width = len(self.t2_header) or width
            data = self.unpad_t2(data, width)
        if all_blank and len(data) < width:
            # A header row whose last label happens to name a row (…申请人情况 | 总计).
            self.header(texts, padding=len(data))
            return
        self.table = entry.table
        fitted = _fit(data, width, self.exact)
        if fitted is None and entry.table == "t2":
            # The header in force may be for another block: try the template's own widths.
            for cand in (e for e in ROWS if e.table == "t2" and e.key == entry.key):
                fitted = _fit(data, len(cand.cols), self.exact)
                if fitted is not None:
                    break
        if fitted is None:
            self.out.warnings.append(
                f"{entry.table}.{entry.key}: {len(data)} data cells where the template has "
                f"{width}; row '{' '.join(texts)}' left out"
            )
            return
        if (entry.table, entry.key) in ROW_VOTES:
            self.vote(ROW_VOTES[(entry.table, entry.key)])
        header = self.t2_header if entry.table == "t2" else ()
        self.out.rows.append(RowReading(entry.table, entry.key, fitted, header, " ".join(texts)))

    def blank_t3_row(self, texts: list[str], data: list[CellValue]) -> bool:
        """In text formats, a table-3 row printed with its label and only empty cells.

        Empty cells are unreliable there, so this is read only inside table 3, for a label
        that names a table-3 row, with at least as many cells as the row has columns: then
        nothing is printed in any of them, and each is blank."""
        if self.table != "t3":
            return False
        candidates = [t for t in texts if len(normalize(t)) <= MAX_LABEL]
        entry = next(
            (
                m.entry
                for t in reversed(candidates)
                if (m := match_label(t, self._candidates())) is not None
            ),
            None,
        )
        if entry is None or entry.table != "t3" or len(data) < 7:
            return False
        self.recognise(texts)  # opens or closes the group, as a row with numbers would
        self.out.rows.append(
            RowReading("t3", entry.key, [CellValue("blank", None, "")] * 7, (), " ".join(texts))
        )
        return True

    def unpad_t2(self, data: list[CellValue], width: int) -> list[CellValue]:
        """Drop the empty cells a table-2 block pads its rows with, as its header row does."""
        trimmed = list(data)
        for _ in range(self.t2_padding):
            if len(trimmed) > width and trimmed[-1].kind == "blank" and not trimmed[-1].raw:
                trimmed.pop()
        return trimmed

    def header(self, texts: list[str], padding: int = 0) -> None:
        """A row without data: a section heading, a column header or a block title.

        ``padding`` is the number of empty cells right of the labels: a table-2 block
        header padded that way pads its data rows the same way.
        """
        texts = [t for t in texts if len(normalize(t)) <= MAX_LABEL]
        joined = normalize("".join(texts))
        for table, words in SECTION_WORDS.items():
            if any(normalize(w) in joined for w in words):
                self.table, self.group = table, None
        t2_cols: list[Entry] = []
        for text in texts:
            m = match_label(text, T2_COLS)
            if m and (not t2_cols or t2_cols[-1].key != m.entry.key):
                t2_cols.append(m.entry)
        if t2_cols:
            self.table = "t2"
            self.t2_header = tuple(e.key for e in t2_cols)
            self.t2_padding = padding
            for e in t2_cols:
                if ("t2", e.key) in COL_VOTES:
                    self.vote(COL_VOTES[("t2", e.key)])
        elif any(w in joined for w in T4_HEADER_WORDS) and "申请" not in joined:
            self.table = "t4"
        for text in texts:
            g = match_label(text, GROUPS)
            if g:
                self.group = g.entry.key

    def recognise(self, texts: list[str]) -> Entry | None:
        """The row key of a labelled row: its rightmost label that names a row."""
        found: Entry | None = None
        for text in (t for t in texts if len(normalize(t)) <= MAX_LABEL):
            group = match_label(text, GROUPS)
            row = match_label(text, self._candidates(), fuzzy=True)
            if row:
                found = row.entry
                if row.fuzzy:
                    self.out.warnings.append(
                        f"{found.table}.{found.key}: label '{text}' read with one character "
                        f"misprinted"
                    )
            if group:
                self.group = group.entry.key
        if found and found.table == "t3" and found.group is None:
            self.group = None
        return found

    def _candidates(self) -> list[Entry]:
        """Rows a label may name here: a bare '3.其他' only inside （六）其他处理."""
        return _rows_in_group(self.group)

    def unlabelled(self, data: list[CellValue]) -> None:
        """A row of values with no label: table 4's single data row."""
        fitted = _fit(data, T4_WIDTH, self.exact)
        if fitted is not None and self.table == "t4":
            t4 = template("2021").rows("t4")
            for i, entry in enumerate(t4):
                self.out.rows.append(RowReading("t4", entry.key, fitted[i * 5 : i * 5 + 5]))
            self.table = None
        elif any(c.kind == "number" for c in data) and self.table:
            self.out.warnings.append(
                f"{self.table}: a row of {len(data)} values without a label left out"
            )

    def unrecognised(self, texts: list[str], data: list[CellValue]) -> None:
        if self.table not in ("t2", "t3") or not any(c.kind == "number" for c in data):
            if all(c.kind == "blank" for c in data):
                self.header(texts, padding=len(data))
            return
        label = " ".join(texts)
        self.out.local_rows.append(RowReading(self.table, "local_" + normalize(label), data))
        self.out.warnings.append(
            f"{self.table}: unrecognised row '{label}' with {len(data)} values kept aside"
        )


@lru_cache(maxsize=64)
def _rows_in_group(group: str | None) -> list[Entry]:
    return [
        e
        for e in ROWS
        if not (e.group and any(p.startswith("=") for p in e.match) and e.group != group)
    ]


@lru_cache(maxsize=8)
def _row_cols(template_id: str) -> dict[tuple[str, str], tuple[str, ...]]:
    """Every row's column keys of a template, looked up once."""
    tpl = template(template_id)
    return {(t, r.key): tpl.row_cols(t, r.key) for t in ("t2", "t3", "t4") for r in tpl.rows(t)}


def read_tables(grids: list[Grid], exact_cells: bool = True) -> TableReading:
    """Walk every row of ``grids`` and return the recognised rows and template votes."""
    return _Walker(exact_cells).walk(grids)


def detect_template(reading: TableReading, year: int | None) -> tuple[str | None, list[str]]:
    """The template the content shows, checked against the reporting year."""
    warnings: list[str] = []
    votes = reading.votes
    by_content = max(votes, key=lambda t: votes[t]) if votes else None
    if by_content and len(votes) > 1:
        warnings.append(f"template evidence is mixed: {votes}")
    by_year = None
    if year is not None:
        by_year = "2021" if year >= 2021 else "2019" if year >= 2019 else "pre2019"
    if by_year == "pre2019":
        # The 2019 template did not exist before the 2019 reports: rows that happen to
        # match its labels are not read as its cells. The text is kept.
        if by_content:
            warnings.append(
                f"the reporting year {year} predates the 2019 template; tables "
                f"resembling the {by_content} template were not read as cells"
            )
        return "pre2019", warnings
    if by_content and by_year and by_year != by_content:
        warnings.append(
            f"the tables are in the {by_content} template but the reporting year {year} "
            f"calls for {by_year}"
        )
    return by_content or by_year, warnings


def assemble(reading: TableReading, template_id: str | None):
    """Turn recognised rows into ``tables`` / ``raw`` dicts under the template's column keys."""
    tables: dict[str, dict[str, dict]] = {}
    raw: dict[str, dict[str, dict]] = {}
    warnings: list[str] = []
    if template_id not in TEMPLATES:
        if reading.rows:
            warnings.append("tables found but no template could be determined; cells left out")
        return tables, raw, warnings
    tpl = template(template_id)
    known = {(r.table, r.key) for t in ("t2", "t3", "t4") for r in tpl.rows(t)}
    conflicts: set[tuple[str, str]] = set()
    for row in reading.rows:
        if (row.table, row.key) not in known:
            warnings.append(
                f"{row.table}.{row.key} is not a row of the {template_id} template; left out"
            )
            continue
        cols = _row_cols(template_id)[(row.table, row.key)]
        if (
            row.header_cols
            and len(row.header_cols) == len(row.cells)
            and set(row.header_cols) <= set(cols)
        ):
            cols = row.header_cols
        if len(cols) != len(row.cells):
            warnings.append(
                f"{row.table}.{row.key}: {len(row.cells)} cells for {len(cols)} columns; left out"
            )
            continue
        values = {c: cell.value for c, cell in zip(cols, row.cells, strict=True)}
        raws = {c: cell.raw for c, cell in zip(cols, row.cells, strict=True)}
        existing = tables.get(row.table, {}).get(row.key)
        if existing is not None:
            if existing != values:
                conflicts.add((row.table, row.key))
            continue
        tables.setdefault(row.table, {})[row.key] = values
        raw.setdefault(row.table, {})[row.key] = raws
    for table, key in sorted(conflicts):
        warnings.append(f"{table}.{key} printed twice with different numbers; left out")
        del tables[table][key]
        del raw[table][key]
    for row in reading.local_rows:
        raw.setdefault(row.table, {})[row.key] = {str(i): c.raw for i, c in enumerate(row.cells)}
    return tables, raw, warnings


__all__ = ["read_tables", "detect_template", "assemble", "TableReading", "clean_cell"]
