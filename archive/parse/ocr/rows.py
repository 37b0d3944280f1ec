"""Rows placed by the template: a table whose labels the engine garbled still has the
template's rows, in the template's order.

The State Council's tables print a fixed list of rows in a fixed order
(:mod:`archive.store.templates`), and in a scan each row is a row of ruled cells: its label
in the cells on the left, its numbers in the data columns on the right (table 3's last
seven; table 2's cells right of its one label). So the rows of a table are places in the
template's order, found by the rules, whatever the engine made of their words:

- a row whose label names a row of the template (its phrases, as the table reader
  matches them) is an *anchor*, when the anchors keep the template's order;
- between two anchors (or an anchor and the table's first or last row) there must be as
  many ruled rows as the template has rows there: then each is the template's row at its
  place, one for one. With one row more or fewer (a row lost at a page break, a header
  misread as a row), no row of that stretch is placed: which one is missing is a guess;
- a row so placed is read as the template's row only when its label is at least
  compatible with it: read as nothing or as its number alone (``6`` for 6.属于四类过程性信息),
  or resembling it a little (a quarter of its characters, in order) and naming no other
  row, and printing as many numbers as the template's row has.

Its label cell then holds the template's printed label (and the first row of a group,
the group's label where its merged cell was misread too), with a warning that says so;
its numbers are read as any others are.
"""

from __future__ import annotations

from dataclasses import dataclass

from archive.parse.document import OcrCell, OcrResult, OcrTable
from archive.parse.labels import label_similarity, match_label, numbering
from archive.parse.values import read_cell
from archive.store.templates import TEMPLATES, Entry, template

# A label this much like its place's template label (longest common subsequence over the
# longer) is compatible with it, if it names no other row.
COMPATIBLE = 0.25
# Table 3 has this many data columns, right of its labels.
T3_DATA = 7


@dataclass
class Row:
    """A ruled row of a table that holds numbers: its label cells and its data cells."""

    table: str  # t2 or t3
    labels: list[OcrCell]  # the cells left of the data columns, left to right
    data: list[OcrCell]

    @property
    def label(self) -> OcrCell | None:
        return self.labels[-1] if self.labels else None

    @property
    def text(self) -> str:
        cell = self.label
        if cell is None:
            return ""
        return cell.text or (cell.seen or "").split(" or ")[0]


def _value(cell: OcrCell) -> bool:
    return cell.numeric or read_cell(cell.text).kind in ("number", "blank")


def data_rows(tables: list[OcrTable]) -> list[Row]:
    """The rows of tables 2 and 3 that hold numbers, in reading order.

    A table with at least eight columns whose last seven hold values in three rows or more
    is (a part of) table 3: each of its rows with a value in every one of its last seven
    columns is a data row. Before the first such table, a table of two to four columns is
    table 2: each of its rows with a label in its first column and values in all its
    other cells is a data row."""
    out: list[Row] = []
    seen_t3 = False
    for table in tables:
        width = max((len(r) for r in table.cells), default=0)
        full = [
            r
            for r in table.cells
            if len(r) == width and all(c is not None and _value(c) for c in r[-T3_DATA:])
        ]
        if width > T3_DATA and len(full) >= 3:
            seen_t3 = True
            for r in full:
                labels = [c for c in r[:-T3_DATA] if c is not None]
                out.append(Row("t3", labels, [c for c in r[-T3_DATA:] if c is not None]))
        elif not seen_t3 and 2 <= width <= 4:
            for r in table.cells:
                first, rest = r[0], [c for c in r[1:] if c is not None]
                if first is None or _value(first) and first.text or not rest:
                    continue
                if all(_value(c) for c in rest) and any(c.text or c.numeric for c in rest):
                    out.append(Row("t2", [first], rest))
    return out


def _anchor(row: Row, entries: list[Entry]) -> int | None:
    """The place in ``entries`` the row's label names, or None."""
    texts = [c.text for c in row.labels if c.text and not c.numeric]
    if not texts:
        return None
    found = match_label(texts[-1], entries)
    if found is None:
        return None
    keys = [e.key for e in entries]
    return keys.index(found.entry.key)


def _in_order(anchors: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The longest run of (row, place) anchors whose places rise with their rows."""
    best: list[list[tuple[int, int]]] = []
    for a in anchors:
        chain = max((c for c in best if c[-1][1] < a[1]), key=len, default=[])
        best.append([*chain, a])
    return max(best, key=len, default=[])


def _compatible(row: Row, entry: Entry, entries: list[Entry], width: int) -> bool:
    """Whether a row may be the template's ``entry``: as many numbers, and a label read as
    nothing, as the entry's number alone, or like the entry's label and naming no other."""
    if len(row.data) != width or row.label is None:
        return False
    text = row.text.strip()
    wanted = numbering(entry.label)
    if not text or read_cell(text).kind == "number":
        digits = text.rstrip(".")
        return not digits or (wanted is not None and digits == wanted)
    named = match_label(text, entries)
    if named is not None and named.entry.key != entry.key:
        return False
    read = numbering(text)
    if read is not None and wanted is not None and read != wanted:
        return False
    return label_similarity(text, entry.label) >= COMPATIBLE or (
        read is not None and read == wanted
    )


def _plan(rows: list[Row], template_id: str) -> list[tuple[Row, Entry]]:
    """The rows whose place in the template is certain and whose label is compatible with
    it, each with its template row (anchors included)."""
    tpl = template(template_id)
    out: list[tuple[Row, Entry]] = []
    for table in ("t2", "t3"):
        mine = [r for r in rows if r.table == table]
        entries = tpl.rows(table)
        if not mine or not entries:
            continue
        anchors = _in_order(
            [(i, p) for i, r in enumerate(mine) if (p := _anchor(r, entries)) is not None]
        )
        if not anchors:
            continue
        bounds = [(-1, -1), *anchors, (len(mine), len(entries))]
        for (i0, p0), (i1, p1) in zip(bounds, bounds[1:], strict=False):
            if (i1, p1) in anchors:
                out.append((mine[i1], entries[p1]))
            if i1 - i0 != p1 - p0:
                continue  # a row more or fewer than the template has here: no place is sure
            for k in range(1, i1 - i0):
                row, entry = mine[i0 + k], entries[p0 + k]
                width = len(tpl.row_cols(table, entry.key))
                if _compatible(row, entry, entries, width):
                    out.append((row, entry))
    return out


def place_rows(result: OcrResult) -> None:
    """Give the rows whose place in the template is certain the template's labels (see the
    module's docstring), in the template whose places fit the most rows; warn for each."""
    rows = data_rows(result.tables)
    plans = {tid: _plan(rows, tid) for tid in TEMPLATES}
    best = max(TEMPLATES, key=lambda tid: len(plans[tid]))
    placed = []
    for row, entry in plans[best]:
        cell = row.label
        assert cell is not None  # a row without a label cell is never placed
        if match_label(row.text, [entry]) is not None and not cell.numeric:
            continue  # read as the template prints it: nothing to do
        _group_label(row, entry, best)
        was = row.text
        cell.text, cell.numeric, cell.seen = entry.label, False, None
        cell.corrected_from = was or "(nothing)"
        placed.append(f"'{was}' → '{entry.label}'")
    if placed:
        shown = "; ".join(placed[:4]) + (" …" if len(placed) > 4 else "")
        result.warnings.append(
            f"OCR: {len(placed)} row label(s) misread, read as the template's row at their "
            f"place (the rows around them and their count are the template's): {shown}"
        )


def _group_label(row: Row, entry: Entry, template_id: str) -> None:
    """The first row of a group (（三）不予公开 …) carries the group's merged label cell left
    of its own: where that was misread, it is given the group's label too."""
    if entry.group is None or len(row.labels) < 2:
        return
    tpl = template(template_id)
    members = [e for e in tpl.rows(entry.table) if e.group == entry.group]
    if members[0].key != entry.key:
        return
    group = next(g for g in tpl.groups(entry.table) if g.key == entry.group)
    cell = row.labels[-2]
    if match_label(cell.text, [group]) is None:
        cell.corrected_from = cell.text or "(nothing)"
        cell.text, cell.numeric, cell.seen = group.label, False, None
