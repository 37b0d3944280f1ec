"""Finding the three statistical tables in a document's grids.

Real reports split one table over several ``<table>`` elements or PDF pages, put
all three in one, repeat headers, and merge label cells over many rows. So the
reader does not trust table boundaries: it walks every row of every grid in
reading order and recognises each row by its label, keeping only two pieces of
context — which table it is in, and which merged group label (（三）不予公开 …)
is open. Data cells are the printed cells right of the labels; their count must
equal the row's column count in the template, or the row is set aside with a
warning. Nothing is ever shifted or guessed into place.

Where a document departs from the template, the reader uses only what the template
and the document together make certain: a row whose label is misprinted is placed
by its position between the rows around it (``place_by_position``); a label wrapped
across a page break is joined to its other half; an extra 小计 column is located by
its header; digits printed run together are split only where the table's sums allow
a single split (``parse.digits``). Each of these leaves a warning.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import cast

from archive.parse import audit, digits
from archive.parse.document import Grid
from archive.parse.labels import (
    columns_in,
    label_similarity,
    match_label,
    normalize,
    numbering,
    split_run,
)
from archive.parse.values import CellValue, clean_cell, read_cell
from archive.store.templates import TEMPLATES, Entry, template

T4_WIDTH = 15


@dataclass
class RowReading:
    """One data row as read, before the template decides its columns.

    ``tokens`` is set instead of ``cells`` for a row whose digits ran together (text
    formats): it holds its place among the rows, and its cells are decided later, with
    the rest of its table (``parse.digits``).
    ``local`` rows are rows whose label names no row of any template; ``pos`` is how many
    recognised rows preceded them, which places them between their neighbours.
    """

    table: str
    key: str
    cells: list[CellValue]
    header_cols: tuple[str, ...] = ()
    label: str = ""
    tokens: list[str] | None = None
    cols: tuple[str, ...] = ()  # table 3 columns as printed, when they are not the seven
    pos: int = 0
    texts: tuple[str, ...] = ()


@dataclass
class TableReading:
    rows: list[RowReading] = field(default_factory=list)
    votes: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    local_rows: list[RowReading] = field(default_factory=list)
    # Rows refused because their run-together digits could not be split for sure.
    refused: list[str] = field(default_factory=list)


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
# Some agencies add a 法人或其他组织 小计 column to table 3; it is located by its header,
# checked against the five columns it sums, and set aside (it is no cell of the template).
SUBTOTAL = Entry(frozenset(), "t3", "col", "subtotal", 0, None, (), "小计", ("小计",))
T3_COLS = [e for e in COLS if e.table == "t3"] + [SUBTOTAL]
T3_KEYS = tuple(e.key for e in sorted((e for e in COLS if e.table == "t3"), key=lambda e: e.order))
T4_HEADER_WORDS = ("行政复议", "行政诉讼", "复议后起诉", "直接起诉")
SECTION_WORDS = {
    "t2": ("主动公开政府信息情况",),
    "t3": ("收到和处理政府信息公开申请情况",),
    "t4": ("行政复议、行政诉讼情况", "行政复议行政诉讼情况"),
}


def _names_t4(texts: list[str]) -> bool:
    """Whether labels are table 4's header: a label naming 行政复议 / 行政诉讼, not one that
    speaks of 申请 (table 3's). Judged label by label, where text ran a heading into the
    header (四、因政府信息公开工作被申请行政复议、提起行政诉讼情况 | 行政复议 …)."""
    labels = [normalize(t) for t in texts]
    if len(labels) > 1:
        return any(_names_t4([t]) for t in labels)
    joined = "".join(labels)
    return any(w in joined for w in T4_HEADER_WORDS) and "申请" not in joined


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


def _run_together(data: list[CellValue], width: int) -> list[str] | None:
    """The tokens of a text row printed with fewer cells than it has, when the missing
    separators can only be between digits (or a blank cell left no trace): every cell
    printed (no empty one whose place is unknown), each digits (a decimal part and a unit
    on the last number) or a blank mark, and at least one digit among them."""
    while data and not data[0].raw:  # empty label columns of a merged label
        data = data[1:]
    while data and not data[-1].raw:  # padding
        data = data[:-1]
    if not data or len(data) >= width or any(not c.raw for c in data):
        return None
    tokens = [c.raw.replace(" ", "") for c in data]
    if digits.parse_tokens(tokens) is None or not any(ch.isdigit() for t in tokens for ch in t):
        return None
    return tokens


@dataclass
class _Last:
    """The last labelled row of a grid, kept until the next grid shows whether a page
    break cut its label in two."""

    texts: list[str]
    data: list[CellValue]
    outcome: str  # row | local | none
    index: int = -1  # where in out.rows / out.local_rows it went


class _Walker:
    def __init__(self, exact_cells: bool):
        self.exact = exact_cells
        self.out = TableReading()
        self.table: str | None = None
        self.group: str | None = None
        self.t2_header: tuple[str, ...] = ()
        self.t2_padding = 0
        self.t3_header: list[str] = []  # table-3 column keys in header order
        self.subtotal_said = False
        self.cut: RowReading | None = None  # a last row of a grid whose cells were all blank
        self.last: _Last | None = None  # the last labelled row of the grid being walked
        self.tail: _Last | None = None  # the last labelled row of the previous grid

    def vote(self, template_id: str) -> None:
        self.out.votes[template_id] = self.out.votes.get(template_id, 0) + 1

    def walk(self, grids: list[Grid]) -> TableReading:
        for grid in grids:
            first = True
            self.tail, self.last = self.last, None
            for row in grid:
                cells = [read_cell(c) for c in row if c is not None]
                if not any(c.raw for c in cells):
                    if self.table == "t4" and len(cells) == T4_WIDTH:
                        # Table 4's data row with every cell left blank: exactly its 15
                        # cells, right under its header (in text too: nothing is placed).
                        self.unlabelled(cells)
                    continue
                if first and (self.rejoin(cells) or self.join_wrapped(cells)):
                    first = False
                    continue
                first = False
                before = len(self.out.rows)
                self.row(cells)
                grew = len(self.out.rows) > before
                self.cut = (
                    self.out.rows[-1]
                    if grew
                    and self.out.rows[-1].tokens is None
                    and all(c.kind == "blank" for c in self.out.rows[-1].cells)
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

    def join_wrapped(self, cells: list[CellValue]) -> bool:
        """Join a row whose label a page break wrapped: 「4.无正当理由大量反」 ends one grid,
        「复申请」 starts the next, and the numbers are on one side of the break only.

        Joined only when the next grid's first label names no row by itself, the two
        halves together name one, and (if the first half was read as a row) the same one."""
        tail, self.tail = self.tail, None
        labels, data = _split_labels(cells)
        texts = [c.raw for c in labels if c.raw]
        if tail is None or not texts or not tail.texts:
            return False
        if match_label(texts[0], self._candidates()) is not None:
            return False
        joined = tail.texts[-1] + texts[0]
        entry = match_label(joined, self._candidates())
        if (
            entry is None
            or match_label(tail.texts[-1], self._candidates()) is not None
            and (tail.outcome != "row" or self.out.rows[tail.index].key != entry.entry.key)
        ):
            return False
        # The second half must complete the label, not merely follow it (a header row
        # after 行政事业性收费 makes a longer string that still contains the row's phrase).
        if label_similarity(joined, entry.entry.label) <= label_similarity(
            tail.texts[-1], entry.entry.label
        ):
            return False
        printed = [part for part in (tail.data, data) if any(c.kind != "blank" for c in part)]
        if len(printed) > 1:
            return False  # numbers on both sides: not one row
        values = printed[0] if printed else max(tail.data, data, key=len)
        if tail.outcome == "row":
            del self.out.rows[tail.index]
        elif tail.outcome == "local":
            del self.out.local_rows[tail.index]
        merged = [read_cell(t) for t in tail.texts[:-1]] + [read_cell(joined)]
        merged += [read_cell(t) for t in texts[1:]] + values
        self.row(merged)
        self.out.warnings.append(
            f"label '{joined}' was wrapped across a page break ('{tail.texts[-1]}' / "
            f"'{texts[0]}'); its two halves were joined"
        )
        return True

    def row(self, cells: list[CellValue]) -> None:
        labels, data = _split_labels(cells)
        texts = [c.raw for c in labels if c.raw]
        if not self.exact:
            # Text that lost its cell boundaries: a heading, column headers and the row's
            # label may have run into one; each is recognised on its own.
            texts = [piece for t in texts for piece in _label_run(t)]
        all_blank = all(c.kind == "blank" for c in data)
        rows_before, locals_before = len(self.out.rows), len(self.out.local_rows)
        self.last = _Last(texts, data, "none") if texts else None
        self.read_row(texts, data, all_blank)
        if self.last is not None:
            if len(self.out.rows) > rows_before:
                self.last.outcome, self.last.index = "row", len(self.out.rows) - 1
            elif len(self.out.local_rows) > locals_before:
                self.last.outcome, self.last.index = "local", len(self.out.local_rows) - 1

    def read_row(self, texts: list[str], data: list[CellValue], all_blank: bool) -> None:
        if not data or (not self.exact and all_blank):
            if data and texts and self.blank_t3_row(texts, data):
                return
            # No data, or (in text formats) only padding: a heading or column header.
            self.header(texts, padding=len(data))
            return
        if not texts:
            self.unlabelled(data)
            return
        if not self.exact and len(texts) >= 3:
            # A flattened table: its headings and column headers share the first row's line.
            self.header(texts[:-1])
        if self.is_t4_header(texts) and (
            len(data) >= T4_WIDTH // 3
            or (not self.exact and digits.digit_count([c.raw for c in data]) >= T4_WIDTH // 3)
        ):
            # Table 4's header and its one data row on one line (a flattened table).
            self.header(texts)
            self.unlabelled(data)
            return
        entry = self.recognise(texts)
        if entry is None and not self.exact:
            # Text that lost its cell boundaries: a heading, a column header and the row's
            # label may share one label cell; its words are tried one by one.
            words = [w for t in texts for w in t.split()]
            if len(words) > len(texts):
                self.header(words[:-1])
                entry, texts = self.recognise(words), words
        if entry is None:
            self.unrecognised(texts, data)
            return
        cols: tuple[str, ...] = ()
        width = len(entry.cols) if entry.cols else 7
        if entry.table == "t2":
            width = len(self.t2_header) or width
            data = self.unpad_t2(data, width)
        elif entry.table == "t3" and self.t3_layout():
            cols = self.t3_layout()
            width = len(cols)
        if all_blank and len(data) < width:
            # A header row whose last label happens to name a row (…申请人情况 | 总计).
            self.header(texts, padding=len(data))
            return
        self.table = entry.table
        fitted = _fit(data, width, self.exact)
        own = any(
            set(e.cols) == set(self.t2_header)
            for e in ROWS
            if e.table == "t2" and e.key == entry.key
        )
        if fitted is None and entry.table == "t2" and not own:
            # The header in force may be for another block: try the template's own widths.
            for cand in (e for e in ROWS if e.table == "t2" and e.key == entry.key):
                fitted = _fit(data, len(cand.cols), self.exact)
                if fitted is not None:
                    break
        if fitted is None:
            tokens = None if self.exact else _run_together(data, width)
            if tokens is not None:
                if entry.table == "t2":
                    cols = self.t2_cols_of(entry.key)
                self.out.rows.append(
                    RowReading(
                        entry.table,
                        entry.key,
                        [],
                        label=" ".join(texts),
                        tokens=tokens,
                        cols=cols or (T3_KEYS if entry.table == "t3" else ()),
                    )
                )
                self.count_vote(entry)
                return
            self.out.warnings.append(
                f"{entry.table}.{entry.key}: {len(data)} data cells where the template has "
                f"{width}; row '{' '.join(texts)}' left out"
            )
            return
        self.count_vote(entry)
        if cols:
            fitted = self.drop_subtotal(entry.key, cols, fitted)
            if not self.subtotal_said:
                self.subtotal_said = True
                self.out.warnings.append(
                    "t3: a 法人或其他组织 小计 column is printed (not a column of the template); "
                    "checked against the five columns it sums and left out"
                )
        header = self.t2_header if entry.table == "t2" else ()
        self.out.rows.append(
            RowReading(entry.table, entry.key, fitted, header, " ".join(texts), texts=tuple(texts))
        )

    def t2_cols_of(self, key: str) -> tuple[str, ...]:
        """The columns of a table-2 row as the header in force prints them, when they are
        the whole of that row's columns in one of the templates (a 2021 report may print
        table 2 in the 2019 layout: then its cells are not the 2021 ones); otherwise
        none, and the template decides."""
        own = {frozenset(e.cols) for e in ROWS if e.table == "t2" and e.key == key}
        return self.t2_header if frozenset(self.t2_header) in own else ()

    def count_vote(self, entry: Entry) -> None:
        if (entry.table, entry.key) in ROW_VOTES:
            self.vote(ROW_VOTES[(entry.table, entry.key)])

    def t3_layout(self) -> tuple[str, ...]:
        """Table 3's columns as printed when a 小计 column is there: 自然人 first, 总计 last,
        the organisations' columns and 小计 in the order their header printed them."""
        if "subtotal" not in self.t3_header or set(self.t3_header) != {*T3_KEYS, "subtotal"}:
            return ()
        middle = [k for k in self.t3_header if k not in ("natural_person", "total")]
        return ("natural_person", *middle, "total")

    def drop_subtotal(
        self, key: str, cols: tuple[str, ...], cells: list[CellValue]
    ) -> list[CellValue]:
        """Table 3's seven cells of a row printed with a 小计 column; a 小计 that is not the
        sum of its five columns is said (the agency's arithmetic), then set aside."""
        by_col = dict(zip(cols, cells, strict=True))
        subtotal = by_col.pop("subtotal")
        orgs = [
            by_col[c].value or 0 for c in cols if c not in ("natural_person", "total", "subtotal")
        ]
        if subtotal.kind == "number" and subtotal.value != sum(orgs):
            self.out.warnings.append(
                f"t3.{key}: the printed 法人或其他组织 小计 {subtotal.raw} is not the sum of its "
                f"five columns ({sum(orgs):g})"
            )
        return [by_col[c] for c in T3_KEYS]

    def is_t4_header(self, texts: list[str]) -> bool:
        return _names_t4(texts)

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
        width = len(self.t3_layout()) or 7
        if entry is None or entry.table != "t3" or len(data) < width:
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
                self.t3_header = []
        t2_cols: list[Entry] = []
        for text in texts:
            for col in columns_in(text, T2_COLS):
                if not t2_cols or t2_cols[-1].key != col.key:
                    t2_cols.append(col)
        if t2_cols:
            self.table = "t2"
            self.t2_header = tuple(e.key for e in t2_cols)
            self.t2_padding = padding
            for e in t2_cols:
                if ("t2", e.key) in COL_VOTES:
                    self.vote(COL_VOTES[("t2", e.key)])
        elif _names_t4(texts):
            self.table = "t4"
        else:
            if "申请人情况" in joined:  # table 3's header starts (again, after a page break)
                self.table, self.t3_header = "t3", []
            if self.table == "t3":
                self.t3_columns(texts)
        for text in texts:
            g = match_label(text, GROUPS)
            if g:
                self.group = g.entry.key

    def t3_columns(self, texts: list[str]) -> None:
        """Collect table 3's column labels from its header rows, in printed order."""
        for text in texts:
            for col in columns_in(text, T3_COLS):
                if col.key not in self.t3_header:
                    self.t3_header.append(col.key)

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
            return
        tokens = _run_together(data, T4_WIDTH) if self.table == "t4" and not self.exact else None
        if tokens is not None:
            self.out.rows.append(
                RowReading("t4", "t4", [], tokens=tokens, cols=tuple(str(i) for i in range(15)))
            )
            self.table = None
        elif any(c.kind == "number" for c in data) and self.table:
            self.out.warnings.append(
                f"{self.table}: a row of {len(data)} values without a label left out"
            )

    def unrecognised(self, texts: list[str], data: list[CellValue]) -> None:
        if self.table not in ("t2", "t3") or (
            not any(c.kind == "number" for c in data) and not self.exact
        ):
            if all(c.kind == "blank" for c in data):
                self.header(texts, padding=len(data))
            return
        if all(c.kind == "blank" for c in data):
            self.header(texts, padding=len(data))
        label = " ".join(texts)
        self.out.local_rows.append(
            RowReading(
                self.table,
                "local_" + normalize(label),
                data,
                self.t2_header if self.table == "t2" else (),
                label,
                # digits that may have run together, should the row be placed by position
                tokens=None if self.exact else _run_together(data, len(data) + 1),
                pos=len(self.out.rows),
                texts=tuple(texts),
                cols=self.t3_layout() if self.table == "t3" else (),
            )
        )


@lru_cache(maxsize=4096)
def _label_run(text: str) -> tuple[str, ...]:
    """A label cell of text cut into the labels that ran into it (``labels.split_run``)."""
    return tuple(split_run(text, COLS))


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
    by_year = None
    if year is not None:
        by_year = "2021" if year >= 2021 else "2019" if year >= 2019 else "pre2019"
    if by_content and len(votes) > 1:
        warnings.append(f"template evidence is mixed: {votes}")
        if by_year in votes:
            # Both layouts are printed (a 2021 report keeping table 2 or （六） of 2019):
            # the year decides between the templates its tables show.
            by_content = by_year
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


# A misprinted label is placed by position only when it resembles the template's label
# at least this much (longest common subsequence over the longer of the two cores) …
SIMILAR = 0.6
# … and, when the gap between its neighbours leaves several rows, the next best is
# at least this much further away.
MARGIN = 0.25


def place_by_position(reading: TableReading, template_id: str) -> list[str]:
    """Read rows whose label matched nothing as the one template row their position allows.

    A row between two recognised rows of its table can only be one of the template's rows
    between those two that the document has not printed. It is read as that row when its
    label resembles that row's label (and, with several candidates, resembles one clearly
    more than the others), its numbering (2.) agrees, and its cell count fits; otherwise it
    stays a local row. Returns the warnings for rows placed this way."""
    tpl = template(template_id)
    warnings: list[str] = []
    placed: list[RowReading] = []
    # Unrecognised rows between the same two neighbours compete for the same gap.
    gap_of = {id(r): (r.table, _neighbour_before(reading, r)) for r in reading.local_rows}
    crowd: dict[tuple[str, int], int] = {}
    for key in gap_of.values():
        crowd[key] = crowd.get(key, 0) + 1
    for local in reading.local_rows:
        order = [r.key for r in tpl.rows(local.table)]
        read = {r.key for r in reading.rows if r.table == local.table}
        before = [r for r in reading.rows[: local.pos] if r.table == local.table]
        after = [r for r in reading.rows[local.pos :] if r.table == local.table]
        lo = order.index(before[-1].key) + 1 if before and before[-1].key in order else 0
        hi = order.index(after[0].key) if after and after[0].key in order else len(order)
        if (before and before[-1].key not in order) or (after and after[0].key not in order):
            continue
        gap = [k for k in order[lo:hi] if k not in read]
        if crowd[gap_of[id(local)]] > len(gap):
            continue  # more unrecognised rows than missing ones: which is which is a guess
        entry = _closest(local, [e for e in tpl.rows(local.table) if e.key in gap])
        if entry is None:
            continue
        cols = _row_cols(template_id)[(local.table, entry.key)]
        cells = local.cells
        if local.cols:  # table 3 with a 小计 column
            if len(cells) != len(local.cols):
                continue
            by_col = dict(zip(local.cols, cells, strict=True))
            cells = [by_col[c] for c in T3_KEYS]
        fitted = _fit(cells, len(cols), True)
        if fitted is None and local.header_cols:
            fitted = _fit(cells, len(local.header_cols), True)
        if fitted is not None:
            row = RowReading(local.table, entry.key, fitted, local.header_cols, local.label)
        elif local.tokens is not None and (
            not local.header_cols or set(local.header_cols) == set(cols)
        ):
            # Its digits ran together: placed, then split with the rest of its table.
            row = RowReading(
                local.table,
                entry.key,
                [],
                label=local.label,
                tokens=local.tokens,
                cols=local.cols or local.header_cols or (T3_KEYS if local.table == "t3" else ()),
            )
        else:
            continue
        reading.rows.insert(local.pos, row)
        for other in reading.local_rows:
            if other is not local and other.pos >= local.pos:
                other.pos += 1
        placed.append(local)
        warnings.append(
            f"{local.table}.{entry.key}: label '{local.label}' matches no row as printed; read "
            f"as '{entry.label}' from its place between the rows around it"
        )
    reading.local_rows = [r for r in reading.local_rows if r not in placed]
    return warnings


def _neighbour_before(reading: TableReading, local: RowReading) -> int:
    """Index of the last recognised row of the local row's table before it (-1: none)."""
    return max(
        (i for i, r in enumerate(reading.rows[: local.pos]) if r.table == local.table),
        default=-1,
    )


def _closest(local: RowReading, gap: list[Entry]) -> Entry | None:
    """The gap's row whose label the local row's label clearly resembles, or None."""
    texts = [t for t in local.texts if match_label(t, GROUPS) is None] or list(local.texts)
    if not texts or not gap:
        return None
    text = texts[-1]
    number = numbering(text)
    scored = sorted(
        ((label_similarity(text, e.label), e) for e in gap),
        key=lambda pair: pair[0],
        reverse=True,
    )
    best_score, best = scored[0]
    if best_score < SIMILAR:
        return None
    if len(scored) > 1 and best_score - scored[1][0] < MARGIN:
        return None
    if number and numbering(best.label) and number != numbering(best.label):
        return None
    return best


def split_run_together(reading: TableReading, template_id: str) -> list[str]:
    """Decide the rows whose digits ran together (``parse.digits``); returns warnings.

    Each such row holds its place among the rows; it becomes a row with cells, or is
    taken out and named in ``reading.refused``. When some row prints fewer digits than it
    has cells, this rendering evidently lost blank cells, and every row's readings then
    consider blanks that left no trace."""
    pending = [r for r in reading.rows if r.tokens is not None]
    if not pending:
        return []
    tpl = template(template_id)
    warnings: list[str] = []
    runs_all: list[digits.RunTogether] = []
    for r in pending:
        cols = r.cols or _row_cols(template_id).get((r.table, r.key), ())
        run = digits.RunTogether(r.table, r.key, r.tokens or [], cols, r.label)
        if cols:
            runs_all.append(run)
            continue
        reading.refused.append(f"{r.table}.{r.key}")
        warnings.append(
            f"{r.table}.{r.key}: digits printed run together ('{' '.join(run.tokens)}') in a "
            f"row the {template_id} template does not have; row left out"
        )
    short = [r for r in runs_all if digits.digit_count(r.tokens) < len(r.cols)]
    blanks = bool(short)
    if short:
        warnings.append(
            f"{short[0].table}.{short[0].key} prints {digits.digit_count(short[0].tokens)} "
            f"digits for its {len(short[0].cols)} cells: blank cells leave no trace in this "
            f"text, so every split of run-together digits allows for them"
        )
    decided: dict[tuple[str, str], list[RowReading]] = {}
    plain: dict[str, list[str]] = {}  # rows whose digits are one a cell, by table
    for table in ("t2", "t3", "t4"):
        runs = [r for r in runs_all if r.table == table]
        if not runs:
            continue
        fixed: dict[str, digits.Values] = {}
        rules: list[digits.Rule] = []
        if table == "t3":
            for row in reading.rows:
                if row.table == "t3" and row.tokens is None:
                    # table 3 counts requests: its cells are whole numbers or blank
                    fixed.setdefault(row.key, tuple(cast(int | None, c.value) for c in row.cells))
            present = set(fixed) | {r.key for r in runs}
            rules = digits.t3_rules(audit.result_rows_printed(tpl, present), present)
        outcome = digits.solve(runs, fixed, rules, 7, blanks=blanks or table == "t2")
        for run in runs:
            printed = " ".join(run.tokens)
            if table == "t4" and run.key in outcome.blocks:
                t4_rows = tpl.rows("t4")
                for b, values in outcome.blocks[run.key].items():
                    decided.setdefault((table, run.key), []).append(
                        RowReading("t4", t4_rows[b].key, _cells(values))
                    )
                    warnings.append(
                        f"t4.{t4_rows[b].key}: digits printed run together ('{printed}'); "
                        f"read as {digits.describe(values)}, {outcome.how[run.key]}"
                    )
                for b, entry in enumerate(t4_rows):
                    if b not in outcome.blocks[run.key]:
                        reading.refused.append(f"t4.{entry.key}")
                        warnings.append(
                            f"t4.{entry.key}: digits printed run together ('{printed}'); "
                            f"{outcome.refused[run.key]}: row left out"
                        )
                continue
            if run.key not in outcome.read:
                # table 4's one run of digits holds its three rows: each is named
                keys = [e.key for e in tpl.rows("t4")] if table == "t4" else [run.key]
                for key in keys:
                    reading.refused.append(f"{table}.{key}")
                    warnings.append(
                        f"{table}.{key}: digits printed run together ('{printed}'); "
                        f"{outcome.refused.get(run.key, 'not split')}: row left out"
                    )
                continue
            values = outcome.read[run.key]
            cells = _cells(values)
            if table == "t4":
                decided[(table, run.key)] = [
                    RowReading("t4", entry.key, cells[i * 5 : i * 5 + 5])
                    for i, entry in enumerate(tpl.rows("t4"))
                ]
            else:
                # the columns in the order printed (a 小计 column is checked and set aside)
                order = tuple(c for c in run.cols if c != "subtotal")
                decided[(table, run.key)] = [RowReading(table, run.key, cells, order, run.label)]
            where = "t4" if table == "t4" else f"{table}.{run.key}"
            if digits.digit_count(run.tokens) == len(values) and None not in values:
                plain.setdefault(table, []).append(where)  # one digit a cell: said once
                continue
            warnings.append(
                f"{where}: digits printed run together ('{printed}'); read as "
                f"{digits.describe(values)}, {outcome.how.get(run.key, 'the only split')}"
            )
    for table, wheres in plain.items():
        warnings.append(
            f"{table}: {len(wheres)} row{'s' if len(wheres) > 1 else ''} printed with their "
            f"digits run together, as many digits as cells, read one digit a cell "
            f"({', '.join(wheres)})"
        )
    rows: list[RowReading] = []
    for row in reading.rows:
        if row.tokens is None:
            rows.append(row)
        else:
            rows += decided.pop((row.table, row.key), [])
    reading.rows = rows
    return warnings


def _cells(values: digits.Values) -> list[CellValue]:
    return [
        CellValue("blank", None, "") if v is None else CellValue("number", v, str(v))
        for v in values
    ]


def _other_layout(row: RowReading, cols: tuple[str, ...]) -> bool:
    """Whether a row was printed under the whole set of another template's columns for it,
    as its header named them (not this template's: their cells are not these)."""
    header = set(row.header_cols)
    return (
        bool(header)
        and header != set(cols)
        and len(row.header_cols) == len(row.cells)
        and any(header == set(e.cols) for e in ROWS if (e.table, e.key) == (row.table, row.key))
    )


HYBRID_ROWS = audit.HYBRID_ROWS


def assemble(reading: TableReading, template_id: str | None):
    """Turn recognised rows into ``tables`` / ``raw`` dicts under the template's column keys."""
    tables: dict[str, dict[str, dict]] = {}
    raw: dict[str, dict[str, dict]] = {}
    warnings: list[str] = []
    if template_id not in TEMPLATES:
        if reading.rows:
            warnings.append("tables found but no template could be determined; cells left out")
        return tables, raw, warnings
    warnings += place_by_position(reading, template_id)
    warnings += split_run_together(reading, template_id)
    tpl = template(template_id)
    known = {(r.table, r.key) for t in ("t2", "t3", "t4") for r in tpl.rows(t)}
    keys = {(r.table, r.key) for r in reading.rows}
    hybrid = (
        template_id == "2021"
        and ("t3", "other_handling") in keys
        and not any(("t3", k) in keys for k in HYBRID_ROWS)
    )
    if hybrid:
        known.add(("t3", "other_handling"))
        warnings.append(
            "t3.other_handling: （六）其他处理 is printed as one row (the 2019 layout) in a "
            "2021-template report; kept as other_handling, in place of its three rows "
            "(other_no_correction, other_unpaid_fee, other_other)"
        )
    conflicts: set[tuple[str, str]] = set()
    for row in reading.rows:
        if (row.table, row.key) not in known:
            warnings.append(
                f"{row.table}.{row.key} is not a row of the {template_id} template; left out"
            )
            continue
        if hybrid and (row.table, row.key) == ("t3", "other_handling"):
            cols = T3_KEYS
        else:
            cols = _row_cols(template_id)[(row.table, row.key)]
        # The header's columns are used only when they are the row's own columns (in their
        # printed order): a header read in part must not put a number under another column.
        if (
            row.header_cols
            and len(row.header_cols) == len(row.cells)
            and set(row.header_cols) == set(cols)
        ):
            cols = row.header_cols
        elif _other_layout(row, cols):
            # Printed under the other template's columns (a 2021 report keeping table 2 of
            # 2019): only a column both have (处理决定数量) is this template's cell.
            shared = [c for c in row.header_cols if c in cols]
            warnings.append(
                f"{row.table}.{row.key}: printed under the columns "
                f"{', '.join(row.header_cols)} of the other template"
                + (f"; {', '.join(shared)} kept" if shared else "; left out")
            )
            if not shared:
                continue
            cells = dict(zip(row.header_cols, row.cells, strict=True))
            row = RowReading(row.table, row.key, [cells[c] for c in shared], (), row.label)
            cols = tuple(shared)
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
        if not any(c.kind == "number" for c in row.cells):
            continue  # a heading the table happened to print with empty cells
        raw.setdefault(row.table, {})[row.key] = {str(i): c.raw for i, c in enumerate(row.cells)}
        warnings.append(
            f"{row.table}: unrecognised row '{row.label}' with {len(row.cells)} values kept aside"
        )
    return tables, raw, warnings


__all__ = ["read_tables", "detect_template", "assemble", "TableReading", "clean_cell"]
