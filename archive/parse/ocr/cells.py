"""Reading the cells of a ruled table: each cell's picture → its text and the engine's
confidence in it.

A cell is read first as a line of Chinese; one that does not read surely as words (or as a
label of the templates) is read again with digits only, by both models of the engine, and
kept only when they agree. A label misread in a character or two is taken for the
template's wording when it is unambiguous (:mod:`archive.parse.ocr.lexicon`). A number the
engine is unsure of is never written down as a guess: the cell is left empty, with what the
engine made of it, for the sums to confirm (:mod:`archive.parse.ocr.sums`) or the report to
leave null with a warning (:mod:`archive.parse.ocr.confidence`).
"""

from __future__ import annotations

import unicodedata

import cv2
import numpy as np

from archive.parse.document import OcrCell, OcrTable
from archive.parse.ocr.confidence import KEEP
from archive.parse.ocr.engine import LINE_HEIGHT, Engine
from archive.parse.ocr.geometry import Box
from archive.parse.ocr.glyphs import MIN_HEIGHT, Line, agrees, lone_one, number_line
from archive.parse.ocr.lexicon import correct_label, names_label
from archive.parse.values import read_cell


def _looks_numeric(text: str) -> bool:
    """Whether a first, unconstrained reading could be a printed number (or a dash): no
    Chinese character but the ones the engine mistakes digits for, and short."""
    folded = unicodedata.normalize("NFKC", text).replace(" ", "")
    if not folded or len(folded) > 12:
        return False
    return all(ch.isdigit() or ch in ",.-—/元万OoIl|" for ch in folded)


def _for_engine(crop, pad: int, dpi: int, larger: float = 1.0):
    """One line of a cell as the engine wants it: scaled so that the line is about
    ``LINE_HEIGHT`` pixels high (or as printed, when larger), then ``larger`` times that,
    on a white margin."""
    scale = min(4.0, max(1.0, LINE_HEIGHT / max(crop.shape[0], 1))) * larger
    if scale > 1.05:
        crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    pad = max(pad, LINE_HEIGHT // 3)
    # Black on white, thresholded here (Otsu, after scaling): on a small grey crop the
    # engine's own thresholding loses thin glyphs and then reads nothing.
    if crop.size:
        _, crop = cv2.threshold(crop, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return np.ascontiguousarray(
        cv2.copyMakeBorder(crop, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=255)
    )


def _sure_words(text: str, confidence: float) -> bool:
    """A first reading that is surely words (a column header), not a misread number: two
    Chinese characters or more, read with confidence."""
    return confidence >= 0.8 and sum("\u4e00" <= ch <= "\u9fff" for ch in text) >= 2


def _rules_from_edge(lines):
    """The pixels of a cell's picture that belong to its rules: the marks ``rules`` found
    straight and long enough that reach the picture's edge (a rule the inset did not clear,
    on a skewed or warped page). A stroke of a large character is as long as a short rule
    (申 or 开 printed 12 pt high at 300 dpi), but it stands inside the cell, clear of its
    edges: it is part of the text, and left in it."""
    mask = lines > 0
    if not mask.any():
        return mask
    count, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    edge = np.unique(np.concatenate((labels[0], labels[-1], labels[:, 0], labels[:, -1])))
    return np.isin(labels, edge[edge > 0])


def _text_lines(marks, dpi: int) -> list[tuple[int, int]]:
    """The printed lines of a cell (a label wrapped over two lines is two), as row ranges:
    runs of rows holding ink, parted by blank rows; a run too thin to be a line of text
    (a stray dot) joins its neighbour."""
    rows = marks.any(axis=1)
    runs: list[list[int]] = []
    start = None
    for y, inked in enumerate(rows):
        if inked and start is None:
            start = y
        elif not inked and start is not None:
            runs.append([start, y])
            start = None
    if start is not None:
        runs.append([start, len(rows)])
    if len(runs) <= 1:
        return [(0, len(rows))]
    tallest = max(b - a for a, b in runs)
    merged: list[list[int]] = []
    for run in runs:
        if merged and (
            run[1] - run[0] < tallest * 0.4 or merged[-1][1] - merged[-1][0] < tallest * 0.4
        ):
            merged[-1][1] = run[1]
        else:
            merged.append(run)
    return [(a, b) for a, b in merged]


def read_table(page, ink_mask, lines, boxes: list[Box], dpi: int, eng: Engine) -> OcrTable:
    """Read every cell of one table: first as a line of Chinese; a cell that does not read
    surely as words (or as a label of the templates) is read again with digits only, and
    kept as a number only on the evidence :func:`_number` asks for."""
    inset = max(2, dpi // 60)
    speck = (dpi / 100) ** 2 * 4  # ink smaller than this is dust, not a mark
    crops: dict[int, list] = {}
    numbers: dict[int, Line | None] = {}
    first: dict[int, tuple[str, float]] = {}
    for i, b in enumerate(boxes):
        ys, xs = slice(b.y0 + inset, b.y1 - inset), slice(b.x0 + inset, b.x1 - inset)
        marks = ink_mask[ys, xs].copy()
        ruled = _rules_from_edge(lines[ys, xs])
        marks[ruled] = 0
        count, _, stats, _ = cv2.connectedComponentsWithStats(marks, connectivity=8)
        printed = [stats[k] for k in range(1, count) if stats[k][4] >= speck]
        if not printed:
            continue  # nothing printed
        grey = page[ys, xs].copy()
        grey[ruled] = 255
        numbers[i] = number_line(grey, marks, dpi)
        # Tight around what is printed (specks away from it left out): recognisers scale
        # a line to their own height.
        top, left, bottom, right = _text_box(stats[1:count], printed, dpi)
        crop = grey[top:bottom, left:right]
        pad = max(3, dpi // 30)
        bands = [
            _for_engine(crop[a:b], pad, dpi)
            for a, b in _text_lines(marks[top:bottom, left:right], dpi)
        ]
        crops[i] = bands
        readings = [eng.read(band, numeric=False) for band in bands]
        first[i] = (
            "".join(t for t, _ in readings),
            min((c for _, c in readings), default=0.0),
        )
    nrows = max(b.row + b.rows for b in boxes)
    ncols = max(b.col + b.cols for b in boxes)
    cells: list[list[OcrCell | None]] = [[None] * ncols for _ in range(nrows)]
    for i, b in enumerate(boxes):
        if i not in crops:
            cells[b.row][b.col] = OcrCell("", 1.0)
            continue
        text, conf = first[i][0].replace("\n", ""), first[i][1]
        label = None if _looks_numeric(text) else correct_label(text)
        if label is not None:
            cells[b.row][b.col] = OcrCell(label, conf, corrected_from=text)
        elif not _looks_numeric(text) and (_sure_words(text, conf) or names_label(text)):
            cells[b.row][b.col] = OcrCell(text, conf)
        else:
            cells[b.row][b.col] = _number(eng, numbers[i], text, dpi)
    for row in cells:
        _words_among_numbers(row)
    return OcrTable(cells)


def _text_box(components, printed, dpi: int) -> tuple[int, int, int, int]:
    """(top, left, bottom, right) of what a cell prints: its marks as tall as a character,
    and the small ones among or beside them (points, commas, a minus, the dots of 、and
    。); specks further off are left out. A cell with no mark as tall as a character: all
    its marks larger than dust."""
    least = max(3, int(dpi * MIN_HEIGHT))
    tall = [s for s in components if s[3] >= least]
    if not tall:
        tall = printed
    top = min(s[1] for s in tall)
    left = min(s[0] for s in tall)
    bottom = max(s[1] + s[3] for s in tall)
    right = max(s[0] + s[2] for s in tall)
    near = max(s[3] for s in tall) // 2
    for x, y, w, h, _ in components:
        if x + w >= left - near and x <= right + near and y + h >= top - near and y <= bottom:
            top, left = min(top, y), min(left, x)
            bottom, right = max(bottom, y + h), max(right, x + w)
    return top, left, bottom, right


def _words_among_numbers(row: list[OcrCell | None]) -> None:
    """Words read right of a row's label, where only numbers are printed, are not words:
    what is left of a seal's legend, or marks the engine took for characters (要Ps人). Such
    a cell is an unreadable number (null with a warning), not a text that would make the
    table reader drop the whole row."""
    cells = [c for c in row if c is not None]
    last_label = max(
        (k for k, c in enumerate(cells) if c.corrected_from or (c.text and names_label(c.text))),
        default=None,
    )
    if last_label is None:
        return
    for c in cells[last_label + 1 :]:  # none of them a label: the last one is left of them
        if c.text and not c.numeric and not _looks_numeric(c.text):
            c.text, c.confidence, c.numeric, c.seen = "", 0.0, True, None


# A number read with at least this confidence by both models, agreeing with the ink, is
# kept on that; read less surely, it needs a second reading at another scale as well.
SURE_READ = 0.97
# The line is read a second time this much larger than the first.
RESCALE = 1.6


def _digits(text: str) -> str:
    return text.replace(" ", "").strip(".,")


def _same(first: str, second: str) -> bool:
    """Whether the two models read the same number. The second has no 元 or 万 (it reads
    each as a digit): an amount's digits must begin its reading, one character for each
    (one model alone read 5460000元 as 95460000元)."""
    if first.endswith(("元", "万")):
        digits = first.rstrip("元万")
        return second.startswith(digits) and len(second) == len(first)
    return first == second


def _number(eng: Engine, line: Line | None, first: str, dpi: int) -> OcrCell:
    """A cell that is not surely words, read again with digits only, by two models, and
    kept as a number only on evidence that would catch a digit dropped or doubled, a point
    invented, a digit taken for another:

    - the ink agrees with the reading (:func:`~archive.parse.ocr.glyphs.agrees`: one
      printed character for each read, the points and the minus where they are printed,
      each digit's shape), and
    - both models read the same, with near certainty (:data:`SURE_READ`); or else, read
      again :data:`RESCALE` times larger, by both models, every reading that agrees with
      the ink is the same number, both models read it, and (read with less than
      :data:`~archive.parse.ocr.confidence.KEEP`'s confidence) three of the four readings
      did.

    Anything else is an empty cell in the grid (so the row keeps its width) marked unsure,
    with the readings that agree with the ink for the sums to confirm
    (:func:`~archive.parse.ocr.sums.confirm_by_sums`), never a guess — unless the first
    reading had Chinese words in it: then it stays text (a label read poorly; the table
    reader judges)."""
    chinese = sum("\u4e00" <= ch <= "\u9fff" for ch in first)
    words = OcrCell(first, 0.0) if chinese >= 2 else None
    if line is None:
        return words or OcrCell("", 0.0, numeric=True)
    pad = max(3, dpi // 30)
    reads: list[tuple[str, float, str]] = []  # (text, confidence, model)
    band = _for_engine(line.picture, pad, dpi)
    text, conf = eng.read(band, numeric=True, chars=line.chars)
    reads.append((_digits(text), conf, "first"))
    text, conf = eng.read(band, numeric=True, second=line.chars)
    reads.append((_digits(text), conf, "second"))
    (a, ca, _), (b, cb, _) = reads
    if read_cell(a).kind != "number" and read_cell(b).kind != "number" and words:
        return words
    if (
        read_cell(a).kind == "number"
        and _same(a, b)
        and agrees(a, line, shapes=False) is None
        and min(ca, cb) >= SURE_READ
    ):
        return OcrCell(a, min(ca, cb), numeric=True)
    large = _for_engine(line.picture, pad, dpi, larger=RESCALE)
    text, conf = eng.read(large, numeric=True, chars=line.chars)
    reads.append((_digits(text), conf, "first"))
    text, conf = eng.read(large, numeric=True, second=line.chars)
    reads.append((_digits(text), conf, "second"))
    fitting = _fitting(reads, line)
    if len(fitting) == 1:
        value = next(iter(fitting))
        by = [(c, model) for t, c, model in _as_first(reads) if t == value]
        sure = min(c for c, _ in by)
        if {m for _, m in by} == {"first", "second"} and (len(by) >= 3 or sure >= KEEP):
            return OcrCell(value, sure, numeric=True, evidence="read again larger")
    ones = [c for t, c, _ in reads if t == "1"]
    if ones and fitting <= {"1"} and lone_one(line) and not _SLASHES & set(first):
        # A lone narrow stroke: only a 1 is printed so, and a model read it, none another
        # number (the engine drops a thin serif 1 far more often than it misreads one).
        # A slash (printed for "not applicable") is as narrow: read as one, it is not 1.
        return OcrCell("1", max(ones), numeric=True, evidence="a lone 1 by its ink's shape")
    candidates = sorted(fitting | _second_look(eng, line))
    return OcrCell("", 0.0, numeric=True, seen=" or ".join(candidates) or None)


_SLASHES = set("/\\／＼")


def _as_first(reads: list[tuple[str, float, str]]) -> list[tuple[str, float, str]]:
    """The readings with the second model's reading of an amount in 元 written as the first
    model's, where they agree (see :func:`_same`)."""
    firsts = [t for t, _, m in reads if m == "first" and t.endswith(("元", "万"))]
    out = []
    for t, c, m in reads:
        match = next((f for f in firsts if m == "second" and _same(f, t)), None)
        out.append((match or t, c, m))
    return out


def _fitting(reads: list[tuple[str, float, str]], line: Line) -> set[str]:
    """The numbers among the readings that agree with the ink; with a minus printed the
    size of a speck (left out of what the models read), each also with the minus, since
    the sign cannot be read, only seen."""
    out = set()
    for text, _, _ in _as_first(reads):
        if read_cell(text).kind != "number":
            continue
        if agrees(text, line) is None:
            out.add(text)
        elif line.dash and not text.startswith("-") and agrees("-" + text, line) is None:
            out.add("-" + text)
    return out


def _second_look(eng: Engine, line: Line) -> set[str]:
    """What the engine reads of the number in other page modes and margins, that agrees
    with the ink: more candidates for the table's sums, never a value by itself."""
    if line.loose:
        return set()  # a mark between the digits that is neither point nor minus
    pad = max(3, LINE_HEIGHT // 10)
    found = eng.readings(_for_engine(line.picture, pad, 300), line.chars)
    return {t for t in found if agrees(t, line) is None}
