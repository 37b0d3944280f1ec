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
from archive.parse.ocr.engine import LINE_HEIGHT, Engine
from archive.parse.ocr.geometry import Box
from archive.parse.ocr.lexicon import correct_label, names_label
from archive.parse.values import read_cell


def _looks_numeric(text: str) -> bool:
    """Whether a first, unconstrained reading could be a printed number (or a dash): no
    Chinese character but the ones the engine mistakes digits for, and short."""
    folded = unicodedata.normalize("NFKC", text).replace(" ", "")
    if not folded or len(folded) > 12:
        return False
    return all(ch.isdigit() or ch in ",.-—/元万OoIl|" for ch in folded)


def _for_engine(crop, pad: int, dpi: int):
    """One line of a cell as the engine wants it: scaled so that the line is about
    ``LINE_HEIGHT`` pixels high, on a white margin."""
    scale = min(4.0, max(1.0, LINE_HEIGHT / max(crop.shape[0], 1)))
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


def _glyphs(marks) -> int:
    """How many glyphs side by side a cell prints: runs of columns holding ink (touching
    glyphs count as one, so this is a lower bound on the characters printed)."""
    cols = marks.any(axis=0)
    return int(cols[0]) + int(((~cols[:-1]) & cols[1:]).sum()) if len(cols) else 0


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
    that reading, with its confidence, is the one kept."""
    inset = max(2, dpi // 60)
    speck = (dpi / 100) ** 2 * 4  # ink smaller than this is dust, not a mark
    crops: dict[int, list] = {}
    glyphs: dict[int, int] = {}
    dashed: dict[int, bool] = {}
    first: dict[int, tuple[str, float]] = {}
    for i, b in enumerate(boxes):
        ys, xs = slice(b.y0 + inset, b.y1 - inset), slice(b.x0 + inset, b.x1 - inset)
        marks = ink_mask[ys, xs].copy()
        marks[lines[ys, xs] > 0] = 0
        count, _, stats, _ = cv2.connectedComponentsWithStats(marks, connectivity=8)
        printed = [stats[k] for k in range(1, count) if stats[k][4] >= speck]
        if not printed:
            continue  # nothing printed
        dashed[i] = _dash_before(stats[1:count], printed, speck, dpi)
        # Tight around what is printed: recognisers scale a line to their own height.
        top = min(s[1] for s in printed)
        left = min(s[0] for s in printed)
        bottom = max(s[1] + s[3] for s in printed)
        right = max(s[0] + s[2] for s in printed)
        ys = slice(ys.start + top, ys.start + bottom)
        xs = slice(xs.start + left, xs.start + right)
        crop = page[ys, xs].copy()
        crop[lines[ys, xs] > 0] = 255
        pad = max(3, dpi // 30)
        bands = [
            _for_engine(crop[a:b], pad, dpi)
            for a, b in _text_lines(marks[top:bottom, left:right], dpi)
        ]
        crops[i] = bands
        glyphs[i] = _glyphs(marks[top:bottom, left:right])
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
            cells[b.row][b.col] = _number(eng, crops[i], glyphs[i], text, dashed.get(i, False))
    for row in cells:
        _words_among_numbers(row)
    return OcrTable(cells)


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


def _dash_before(components, printed, speck: float, dpi: int) -> bool:
    """Is a minus sign printed before the number? A minus is a short level stroke of about
    the area of a speck of dust (so it is not among the ``printed`` marks the number is
    read from): a mark under the speck size, at least twice as wide as high and 1/40
    inch wide, level with the middle of the printed line, left of it."""
    top = min(s[1] for s in printed)
    bottom = max(s[1] + s[3] for s in printed)
    left = min(s[0] for s in printed)
    height = bottom - top
    for x, y, w, h, area in components:
        if area >= speck or w < 2 * h or w < dpi / 40:
            continue
        middle = y + h / 2
        if top + 0.3 * height <= middle <= top + 0.7 * height and x + w <= left + 2:
            return True
    return False


def _glyph_line(band):
    """A number's line with the specks around it wiped, and how many characters it holds —
    or None where a small mark could be part of the number. Specks are what a seal, dust or
    JPEG leave near the digits; they make the engine read nothing. Digits are the marks at
    least 0.6 of the tallest one's height; marks overlapping side by side are one
    character (a 0 broken in two). A small mark between the digits may be a decimal point,
    or a flat one on the line left of them a minus: then the line is not cleaned (specks
    above or below the line are wiped)."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(
        (band < 128).astype(np.uint8), connectivity=8
    )
    marks = [(k, *stats[k][:4]) for k in range(1, count)]
    if not marks:
        return None
    tallest = max(m[4] for m in marks)
    digits = [m for m in marks if m[4] >= 0.6 * tallest]
    x0, x1 = min(m[1] for m in digits), max(m[1] + m[3] for m in digits)
    y0, y1 = min(m[2] for m in digits), max(m[2] + m[4] for m in digits)
    for _, x, y, w, h in (m for m in marks if m not in digits):
        middle = y + h / 2
        if x0 < x + w / 2 < x1 and y0 <= middle <= y1 + 0.2 * (y1 - y0):
            return None  # a decimal point, a comma, or a piece of a digit
        if x + w <= x0 and y0 <= middle <= y1 and w >= 1.5 * h:
            return None  # a minus
    chars: list[list[int]] = []
    for _, x, _, w, _ in sorted(digits, key=lambda m: m[1]):
        if chars and x < chars[-1][1]:
            chars[-1][1] = max(chars[-1][1], x + w)
        else:
            chars.append([x, x + w])
    clean = np.full_like(band, 255)
    clean[np.isin(labels, [m[0] for m in digits])] = 0
    return clean[max(0, y0 - 2) : y1 + 2, max(0, x0 - 2) : x1 + 2], len(chars)


def _second_look(eng: Engine, bands: list, dash: bool) -> list[str]:
    """What the engine reads of a number it could not read, once the specks around it are
    wiped (:func:`_glyph_line`): candidates for the table's sums, sorted."""
    if dash or len(bands) != 1:
        return []
    line = _glyph_line(bands[0])
    if line is None:
        return []
    return sorted(eng.readings(*line))


def _unread(eng: Engine, bands: list, seen: str, dash: bool = False) -> OcrCell:
    """A number cell the engine could not read: null, with what it made of it (its
    readings, then the second look's), the candidates
    :func:`~archive.parse.ocr.sums.confirm_by_sums` may confirm."""
    parts = [seen] if seen else []
    parts += [t for t in _second_look(eng, bands, dash) if t not in seen.split(" or ")]
    return OcrCell("", 0.0, numeric=True, seen=" or ".join(parts) or None)


def _number(eng: Engine, bands: list, glyphs: int, first: str, dash: bool = False) -> OcrCell:
    """A cell that is not surely words, read again with digits only. What is not a number
    however read is an empty cell in the grid (so the row keeps its width) marked unsure,
    so that it ends null with a warning, never a guess — unless the first reading had
    Chinese words in it: then it stays text (a label read poorly; the table reader judges)."""
    readings = [eng.read(band, numeric=True) for band in bands]
    text = "".join(t for t, _ in readings).replace(" ", "").strip(".,")
    conf = min((c for _, c in readings), default=0.0)
    if read_cell(text).kind != "number":
        if sum("\u4e00" <= ch <= "\u9fff" for ch in first) >= 2:
            return OcrCell(first, 0.0)
        return _unread(eng, bands, text, dash)
    if len(text) < glyphs:
        # Fewer characters than glyphs printed: a digit was dropped (30 read as 0).
        return _unread(eng, bands, text, dash)
    again = [eng.read(band, numeric=True, second=len(text)) for band in bands]
    other = "".join(t for t, _ in again).replace(" ", "").strip(".,")
    if text.endswith("元"):
        # The second model has no 元 or 万 (it reads 元 as a digit, unsurely): its digits
        # must begin as the first model's do. One model alone read 5460000元 as 95460000元.
        if not other.startswith(text.rstrip("元万")):
            return _unread(eng, bands, f"{text} or {other}", dash)
    elif other != text:  # the two models disagree: neither reading is taken
        return _unread(eng, bands, f"{text} or {other}", dash)
    else:
        conf = min([conf] + [c for _, c in again])
    if dash and not text.startswith("-"):
        # A minus the size of dust, left out of the picture the number was read from:
        # the sign cannot be read, so neither can the number.
        return OcrCell("", 0.0, numeric=True, seen=f"-{text} or {text}")
    return OcrCell(text, conf, numeric=True)
