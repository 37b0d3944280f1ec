"""Reading tables that are pictures: a scanned page or a pasted image → ruled grids of cells.

Agencies publish scans of the signed paper report, and paste tables into pages and Word
files as pictures. This reader turns such a picture into the same thing every other reader
produces — grids of printed cells — so that the label matching, template detection and
checks of :mod:`archive.parse.tables` and :mod:`archive.checks` read them unchanged.

The work is split by what each library does best:

- OpenCV finds the page's skew from its long rules, straightens it, and finds the ruled
  lines by morphology; the cells are the regions the rules enclose, and a cell's row and
  column spans (merged cells) follow from which rule positions its box reaches.
- Tesseract (its C API through tesserocr, with Debian's ``chi_sim`` and ``eng`` data,
  nothing fetched at run time) reads each cell: labels in Chinese, then anything that is not
  surely words again with digits only, by two models (chi_sim and eng) that must agree, with
  a confidence for every character. A label misread in a character or two is taken for the
  template's wording when it is unambiguous.

A red seal stamped over the numbers is dropped by reading the red channel of a colour scan
(red ink is as bright as the paper there). A number the engine is unsure of is never
written down as a guess: :func:`finish` leaves it null with a warning, and a number that
breaks a sum of table 3 or 4 is kept only when read with near certainty.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field
from functools import lru_cache

from archive.parse.document import Grid, OcrCell, OcrResult, OcrTable

TESSDATA_DIRS = (
    "/usr/share/tesseract-ocr/5/tessdata",
    "/usr/share/tesseract-ocr/4.00/tessdata",
    "/usr/share/tessdata",
    "/usr/local/share/tessdata",
)


@dataclass
class PageReading:
    tables: list[OcrTable] = field(default_factory=list)
    header: str = ""
    skew: float = 0.0
    seconds: float = 0.0


def tessdata_dir() -> str | None:
    """Where Tesseract's ``chi_sim`` data is installed (TESSDATA_PREFIX first)."""
    candidates = [os.environ.get("TESSDATA_PREFIX", "")] + list(TESSDATA_DIRS)
    for path in candidates:
        if path and os.path.exists(os.path.join(path, "chi_sim.traineddata")):
            return path
    return None


# --- the picture → straight, clean grey page ---------------------------------------------


def grey(image):
    """The page in grey levels, a seal's red ink dropped: for a colour scan (BGR, as PDFium
    and OpenCV give it) the red channel, where red is as bright as paper and black stays
    black."""
    import numpy as np

    if image.ndim != 3:
        return image
    blue, green, red = image[..., 0], image[..., 1], image[..., 2]
    page = np.ascontiguousarray(red)
    # Where red clearly outweighs green and blue, the ink is the seal's: paper beneath.
    # (A rule or digit under the seal is dark in red too, and stays.)
    seal = (red > 140) & (red.astype(np.int16) - np.maximum(green, blue) > 60)
    if seal.any():
        # The paper's own grey, not white: a white band where the seal was would be
        # brighter than the paper around it, and its borders would threshold as ink — a
        # curve like a rule through the cells it crosses.
        paper = page[~seal & (page > 128)]
        page[seal] = int(np.median(paper)) if paper.size else 255
    return page


def ink(grey_page):
    """Dark marks on the page (255) against paper (0), robust to uneven lighting."""
    import cv2

    return cv2.adaptiveThreshold(
        grey_page, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, 31, 15
    )


def skew_angle(ink_mask, limit: float = 5.0) -> float:
    """The page's rotation in degrees (counter-clockwise), from its rules and text lines:
    the angle that makes the rows of ink sharpest (the projection profile's energy),
    searched coarse then fine on a 600-pixel-wide copy."""
    import cv2
    import numpy as np

    scale = 600 / ink_mask.shape[1]
    small = cv2.resize(ink_mask, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    small = small.astype(np.float32)
    h, w = small.shape

    def sharpness(angle: float) -> float:
        m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
        rows = cv2.warpAffine(small, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=0).sum(1)
        return float((rows * rows).sum())

    best = max(np.arange(-limit, limit + 0.01, 0.25), key=sharpness)
    best = max(np.arange(best - 0.25, best + 0.26, 0.02), key=sharpness)
    return round(float(best), 2)


def rotate(page, angle: float):
    """``page`` turned by ``angle`` degrees about its centre, new corners white."""
    import cv2

    if not angle:
        return page
    h, w = page.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    return cv2.warpAffine(page, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=255)


# --- rules → cells → grid -----------------------------------------------------------------


@dataclass
class Box:
    """A cell's box in page pixels and its place in the grid (half-open spans)."""

    x0: int
    y0: int
    x1: int
    y1: int
    row: int = 0
    col: int = 0
    rows: int = 1
    cols: int = 1


def rules(ink_mask, dpi: int):
    """The ruled lines of the page: ink that runs straight for longer than any stroke of
    a printed character does (a quarter inch across, a seventh of an inch down)."""
    import cv2
    import numpy as np

    across = cv2.getStructuringElement(cv2.MORPH_RECT, (max(8, int(dpi * 0.25)), 1))
    down = cv2.getStructuringElement(cv2.MORPH_RECT, (1, max(6, int(dpi * 0.14))))
    horizontal = cv2.morphologyEx(ink_mask, cv2.MORPH_OPEN, across)
    vertical = cv2.morphologyEx(ink_mask, cv2.MORPH_OPEN, down)
    # Rejoin a rule broken by a faint print or a speck of JPEG (a gap of 1/50 inch).
    gap = max(2, dpi // 50)
    horizontal = cv2.morphologyEx(horizontal, cv2.MORPH_CLOSE, np.ones((1, gap), np.uint8))
    vertical = cv2.morphologyEx(vertical, cv2.MORPH_CLOSE, np.ones((gap, 1), np.uint8))
    return horizontal, vertical


def _edges(values: list[int], tolerance: int) -> list[int]:
    """Positions within ``tolerance`` of each other are one rule: their median."""
    out: list[list[int]] = []
    for v in sorted(values):
        if out and v - out[-1][-1] <= tolerance:
            out[-1].append(v)
        else:
            out.append([v])
    return [sorted(g)[len(g) // 2] for g in out]


def _nearest(edges: list[int], v: int) -> int:
    return min(range(len(edges)), key=lambda i: abs(edges[i] - v))


def table_boxes(horizontal, vertical, dpi: int, ink_mask=None) -> list[list[Box]]:
    """The ruled tables of a page, top to bottom, each as its cells' boxes placed in a grid.

    A table is a connected network of rules at least an inch wide holding two rows; its
    cells are the regions of paper the rules enclose. Row and column edges are the
    cells' own sides, so a merged cell spans every edge its box reaches. Given the page's
    ``ink_mask``, a box that spans an edge only because the rule there was dissolved (by a
    seal, JPEG or a faint print) is parted again (see ``_mend``)."""
    import cv2
    import numpy as np

    lines = cv2.dilate(horizontal | vertical, np.ones((3, 3), np.uint8))
    count, _, stats, _ = cv2.connectedComponentsWithStats(lines, connectivity=8)
    tables = []
    for i in range(1, count):
        x, y, w, h, _ = stats[i]
        if w < dpi or h < dpi * 0.2:
            continue
        region = lines[y : y + h, x : x + w]
        boxes = _cells(region, x, y, dpi)
        if len(boxes) >= 2:
            tables.append((y, boxes))
    placed = [_place(boxes, dpi) for _, boxes in sorted(tables, key=lambda t: t[0])]
    if ink_mask is None:
        return placed
    return [_place(_mend(boxes, ink_mask, dpi), dpi) for boxes in placed]


def _cells(region, x: int, y: int, dpi: int) -> list[Box]:
    import cv2

    paper = cv2.bitwise_not(region)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(paper, connectivity=4)
    h, w = region.shape
    smallest = dpi * 0.06  # a cell is at least 1/16 inch each way
    boxes = []
    for i in range(1, count):
        cx, cy, cw, ch, area = stats[i]
        if cx == 0 or cy == 0 or cx + cw >= w or cy + ch >= h:
            continue  # the paper around the table, or a notch of it
        if cw < smallest or ch < smallest or area < 0.5 * cw * ch:
            continue
        boxes.append(Box(x + cx, y + cy, x + cx + cw, y + cy + ch))
    return boxes


def _grid_edges(boxes: list[Box], dpi: int) -> tuple[list[int], list[int]]:
    """The table's row and column edges (page positions): the boxes' sides, those within
    1/30 inch of each other taken as one."""
    tolerance = max(3, dpi // 30)
    rows = _edges([b.y0 for b in boxes] + [b.y1 for b in boxes], tolerance)
    cols = _edges([b.x0 for b in boxes] + [b.x1 for b in boxes], tolerance)
    return rows, cols


def _place(boxes: list[Box], dpi: int) -> list[Box]:
    """Give each box its row and column, and its spans over the table's edges."""
    rows, cols = _grid_edges(boxes, dpi)
    for b in boxes:
        top, bottom = _nearest(rows, b.y0), _nearest(rows, b.y1)
        left, right = _nearest(cols, b.x0), _nearest(cols, b.x1)
        b.row, b.rows = top, max(1, bottom - top)
        b.col, b.cols = left, max(1, right - left)
    boxes.sort(key=lambda b: (b.row, b.col))
    return boxes


def _edge_beside(boxes: list[Box], b: Box, at: int, across: bool, after: bool, tol: int):
    """Whether the boxes beside ``b`` (to its left, or right with ``after``; above or below
    when not ``across``) have an edge at page position ``at``: True if one of them ends or
    starts there, False if one runs across it, None if there is no box beside."""
    beside = []
    for o in boxes:
        if o is b:
            continue
        if across:  # an edge along a row: neighbours left and right
            touching = abs(o.x0 - b.x1) <= tol if after else abs(o.x1 - b.x0) <= tol
            if touching and o.y0 - tol <= at <= o.y1 + tol:
                beside.append(abs(o.y0 - at) <= tol or abs(o.y1 - at) <= tol)
        else:  # an edge down a column: neighbours above and below
            touching = abs(o.y0 - b.y1) <= tol if after else abs(o.y1 - b.y0) <= tol
            if touching and o.x0 - tol <= at <= o.x1 + tol:
                beside.append(abs(o.x0 - at) <= tol or abs(o.x1 - at) <= tol)
    return any(beside) if beside else None


def _broken_rule(strip, dpi: int) -> bool:
    """Does ``strip`` (ink across a box, centred on where a rule would run, the rule's
    direction along axis 1) hold what is left of a rule? Ink in a band thinner than any
    character about its densest line near the middle, on that very line along at least a
    fifth of the strip and in both its end quarters (a character sits in the middle of its
    cell; a rule runs end to end), and a line of paper, all but specks, on both sides of
    the band."""
    import numpy as np

    band = max(2, dpi // 75)
    margin = max(3, dpi // 40)
    length = strip.shape[1]
    if length < dpi * 0.1 or strip.shape[0] < 2 * (band + margin) + 1:
        return False  # too short to tell, or cut off by the picture's edge
    density = (strip > 0).mean(axis=1)
    middle = strip.shape[0] // 2
    near = range(max(0, middle - band), min(len(density), middle + band + 1))
    at = max(near, key=lambda y: density[y])
    lo, hi = at - band, at + band + 1
    if lo - margin < 0 or hi + margin > len(density):
        return False
    # The pieces of a rule lie on one straight line (the page is deskewed): a curve (a
    # bracket, a seal's edge) passes through that line, it does not run along it.
    core = max(1, dpi // 150)
    along = (strip[at - core : at + core + 1] > 0).any(axis=0)
    quarter = max(1, length // 4)
    if along.mean() < 0.2 or not along[:quarter].any() or not along[-quarter:].any():
        return False
    return bool(np.min(density[lo - margin : lo]) <= 0.05) and bool(
        np.min(density[hi : hi + margin]) <= 0.05
    )


def _mend(boxes: list[Box], ink_mask, dpi: int) -> list[Box]:
    """Part the boxes that span an edge only because its rule was dissolved.

    At 150 dpi a rule is one pixel wide; a seal's red over it, JPEG and skew can leave it
    in pieces shorter than ``rules`` keeps, and two cells become one box: a row then has a
    cell too few, or two numbers (or a label and its neighbour's) read as one. A box is
    parted along an inner edge of the grid where a box beside it has an edge too and the
    page shows pieces of a rule: ink along the edge from end to end, in a band thinner than
    any character, with paper on both sides of the band. A merged cell (申请人情况, 总计
    over two rows, （六）其他处理 beside its three rows) has no ink on the edge, or a
    character across it, or in its middle only."""
    tol = max(3, dpi // 30)
    rows_at, cols_at = _grid_edges(boxes, dpi)
    inset = max(2, dpi // 60)  # off the rules that bound the box
    reach = max(9, dpi // 15)  # half the strip examined on each side of the edge
    out: list[Box] = []
    for b in boxes:
        cuts: list[int] = []
        across = b.rows > 1
        if across:
            for y in (rows_at[k] for k in range(b.row + 1, b.row + b.rows)):
                strip = ink_mask[max(0, y - reach) : y + reach + 1, b.x0 + inset : b.x1 - inset]
                if _broken_rule(strip, dpi) and any(
                    _edge_beside(boxes, b, y, True, after, tol) for after in (False, True)
                ):
                    cuts.append(y)
        elif b.cols > 1:
            for x in (cols_at[k] for k in range(b.col + 1, b.col + b.cols)):
                strip = ink_mask[b.y0 + inset : b.y1 - inset, max(0, x - reach) : x + reach + 1].T
                if _broken_rule(strip, dpi) and any(
                    _edge_beside(boxes, b, x, False, after, tol) for after in (False, True)
                ):
                    cuts.append(x)
        out += _split(b, cuts, across)
    return out


def _split(b: Box, at: list[int], across: bool) -> list[Box]:
    """``b`` cut at the given page positions (rows when ``across``, else columns)."""
    if not at:
        return [b]
    ends = [b.y0 if across else b.x0, *at, b.y1 if across else b.x1]
    if across:
        return [Box(b.x0, lo, b.x1, hi) for lo, hi in itertools.pairwise(ends)]
    return [Box(lo, b.y0, hi, b.y1) for lo, hi in itertools.pairwise(ends)]


# --- reading the cells ----------------------------------------------------------------------

DIGITS = "0123456789,.-元万"


class Engine:
    """Tesseract's C API, loaded once per process: one instance for labels (Chinese, a block
    of lines) and one for numbers (digits only, one line)."""

    def __init__(self) -> None:
        from tesserocr import OEM, PSM, PyTessBaseAPI

        path = tessdata_dir()
        if path is None:
            raise OcrUnavailable(
                "Tesseract's Chinese data (chi_sim.traineddata) is not installed: "
                "install the Debian package tesseract-ocr-chi-sim"
            )
        self.labels = PyTessBaseAPI(
            path=path, lang="chi_sim", psm=PSM.SINGLE_BLOCK, oem=OEM.LSTM_ONLY
        )
        self.numbers = PyTessBaseAPI(
            path=path, lang="chi_sim", psm=PSM.SINGLE_LINE, oem=OEM.LSTM_ONLY
        )
        self.numbers.SetVariable("tessedit_char_whitelist", DIGITS)
        # A second, independent model for numbers (the English one): a number is taken
        # only when both read the same digits. Without it chi_sim alone reads 26 as 20 with
        # high confidence on real fonts, so OCR is not done at all.
        if not os.path.exists(os.path.join(path, "eng.traineddata")):
            raise OcrUnavailable(
                f"Tesseract's English data (eng.traineddata) is not in {path}: "
                "install the Debian package tesseract-ocr-eng"
            )
        self.second = PyTessBaseAPI(path=path, lang="eng", psm=PSM.SINGLE_LINE, oem=OEM.LSTM_ONLY)
        self.second.SetVariable("tessedit_char_whitelist", DIGITS[:-2])
        for api in (self.labels, self.numbers, self.second):
            api.SetVariable("user_defined_dpi", "300")

    def read(self, crop, numeric: bool, second: int = 0) -> tuple[str, float]:
        """The text of one cell's picture and the confidence of its least sure character
        (``second``: by the second model for numbers, expecting that many characters)."""
        from tesserocr import PSM, RIL, iterate_level

        api = (self.second if second else self.numbers) if numeric else self.labels
        if second:  # a lone digit is read as a character: as a line the model drops it
            api.SetPageSegMode(PSM.SINGLE_CHAR if second == 1 else PSM.SINGLE_LINE)
        h, w = crop.shape
        api.SetImageBytes(crop.tobytes(), w, h, 1, w)
        api.Recognize()
        text = (api.GetUTF8Text() or "").strip()
        confidences = []
        iterator = api.GetIterator()
        for symbol in iterate_level(iterator, RIL.SYMBOL):
            confidences.append(symbol.Confidence(RIL.SYMBOL))
        if not text:
            return "", 0.0
        return text, (min(confidences) / 100.0) if confidences else 0.0

    def readings(self, picture, chars: int) -> set[str]:
        """Every number of ``chars`` characters the two models make of one cleaned picture,
        each read as a character, a line and a word, on a narrow and on a wide margin.

        Tesseract is erratic on a lone digit: the same clean "0" reads as nothing in one of
        these modes and as "0" in the next. Each reading is only a candidate for the sums of
        the table to confirm (:func:`confirm_by_sums`), never a value by itself."""
        import cv2
        import numpy as np
        from tesserocr import PSM

        from archive.parse.values import read_cell

        found: set[str] = set()
        modes = (
            (self.second, PSM.SINGLE_CHAR),
            (self.second, PSM.SINGLE_LINE),
            (self.second, PSM.SINGLE_WORD),
            (self.numbers, PSM.SINGLE_CHAR),
        )
        # both models are left in the mode they were in: the cells read after this one
        # are read as before
        kept = [(api, api.GetPageSegMode()) for api in (self.second, self.numbers)]
        try:
            for pad in (LINE_HEIGHT // 3, LINE_HEIGHT * 3 // 4):
                framed = np.ascontiguousarray(
                    cv2.copyMakeBorder(picture, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=255)
                )
                h, w = framed.shape
                for api, mode in modes:
                    api.SetPageSegMode(mode)
                    api.SetImageBytes(framed.tobytes(), w, h, 1, w)
                    text = (api.GetUTF8Text() or "").strip()
                    if len(text) == chars and read_cell(text).kind == "number":
                        found.add(text)
        finally:
            for api, mode in kept:
                api.SetPageSegMode(mode)
        return found

    def read_block(self, image) -> str:
        """The text of a block of lines (a page's heading), line breaks kept."""
        import numpy as np

        image = np.ascontiguousarray(image)
        h, w = image.shape
        self.labels.SetImageBytes(image.tobytes(), w, h, 1, w)
        return (self.labels.GetUTF8Text() or "").strip()


class OcrUnavailable(Exception):
    """The OCR engine or its language data is not installed."""


_ENGINE: Engine | None = None


def engine() -> Engine:
    global _ENGINE
    if _ENGINE is None:
        _ENGINE = Engine()
    return _ENGINE


def _looks_numeric(text: str) -> bool:
    """Whether a first, unconstrained reading could be a printed number (or a dash): no
    Chinese character but the ones the engine mistakes digits for, and short."""
    import unicodedata

    folded = unicodedata.normalize("NFKC", text).replace(" ", "")
    if not folded or len(folded) > 12:
        return False
    return all(ch.isdigit() or ch in ",.-—/元万OoIl|" for ch in folded)


ENGINE_DPI = 300  # the resolution the header of a page is read at
LINE_HEIGHT = 40  # pixels: Tesseract drops or merges digits of lines much smaller


def _for_engine(crop, pad: int, dpi: int):
    """One line of a cell as the engine wants it: scaled so that the line is about
    ``LINE_HEIGHT`` pixels high, on a white margin."""
    import cv2
    import numpy as np

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


def _names_label(text: str) -> bool:
    """A first reading that is a label of the templates, or holds a label's phrases (a row
    read with a character wrong but its phrases whole): words whatever the engine's
    confidence, since the table reader matches labels by their phrases."""
    from archive.parse.labels import match_label, normalize

    return normalize(text) in _lexicon() or match_label(text, list(_entries())) is not None


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
    import cv2

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
        elif not _looks_numeric(text) and (_sure_words(text, conf) or _names_label(text)):
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
        (k for k, c in enumerate(cells) if c.corrected_from or (c.text and _names_label(c.text))),
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
    import cv2
    import numpy as np

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
    readings, then the second look's), the candidates :func:`confirm_by_sums` may confirm."""
    parts = [seen] if seen else []
    parts += [t for t in _second_look(eng, bands, dash) if t not in seen.split(" or ")]
    return OcrCell("", 0.0, numeric=True, seen=" or ".join(parts) or None)


def _number(eng: Engine, bands: list, glyphs: int, first: str, dash: bool = False) -> OcrCell:
    """A cell that is not surely words, read again with digits only. What is not a number
    however read is an empty cell in the grid (so the row keeps its width) marked unsure,
    so that it ends null with a warning, never a guess — unless the first reading had
    Chinese words in it: then it stays text (a label read poorly; the table reader judges)."""
    from archive.parse.values import read_cell

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


def read_page(image, dpi: int, page_no: int = 0, header: bool = False) -> PageReading:
    """Every ruled table of one page picture (BGR or grey pixels at ``dpi``); with
    ``header``, also the text above its first table (a scanned report's title)."""
    import time

    started = time.process_time()
    page = grey(image)
    angle = skew_angle(ink(page))
    page = rotate(page, angle)
    marks = ink(page)
    horizontal, vertical = rules(marks, dpi)
    lines = horizontal | vertical
    eng = engine()
    reading = PageReading(skew=angle)
    found = table_boxes(horizontal, vertical, dpi, marks)
    for boxes in found:
        table = read_table(page, marks, lines, boxes, dpi, eng)
        table.page = page_no
        reading.tables.append(table)
    if header:
        top = min((b.y0 for b in found[0]), default=page.shape[0]) if found else page.shape[0]
        reading.header = _header(page, min(top, page.shape[0] // 4), dpi, eng)
    reading.seconds = time.process_time() - started
    return reading


def _header(page, bottom: int, dpi: int, eng: Engine) -> str:
    """The lines at the top of a page (above its first table, at most its first quarter):
    where a report prints its title, which names the agency and the year."""
    import cv2

    if bottom < dpi * 0.3:
        return ""
    top = page[:bottom]
    if dpi < ENGINE_DPI:
        top = cv2.resize(top, None, fx=ENGINE_DPI / dpi, fy=ENGINE_DPI / dpi)
    return eng.read_block(top)


# --- labels: the template's wording as the engine's dictionary ------------------------------


@lru_cache(maxsize=1)
def _entries() -> tuple:
    from archive.store.templates import TEMPLATES, template

    return tuple(e for tid in TEMPLATES for e in template(tid).entries)


@lru_cache(maxsize=1)
def _lexicon() -> dict[str, str]:
    """Every printed label of the templates (rows, columns, groups), by its normalised form
    (numbering kept: （七）总计 is told from 总计 by its 七)."""
    from archive.parse.labels import normalize

    return {normalize(e.label): e.label for e in _entries() if e.label}


def correct_label(text: str) -> str | None:
    """The template label a misread label cell stands for, or None.

    Recognisers misread a character or two of a long label (逾期 → 让期); the table reader
    would then not know the row. A reading that already names a row, column or group is
    left alone; one that is a label spaced differently is given the label's printed form.
    Otherwise it is taken for a label of the templates when it is close to
    that one (similarity ≥ 0.8) and clearly closer to it than to any other (by 0.15).
    Readings of fewer than three characters are never corrected."""
    from difflib import SequenceMatcher

    from archive.parse.labels import match_label, normalize

    core = normalize(text)
    if core in _lexicon():
        # The template's label, spaced differently ((六 ) 其他处理): its printed form, which
        # the table reader's numbering rules know.
        label = _lexicon()[core]
        return label if label != text else None
    if len(core) < 3 or match_label(text, list(_entries())):
        return None
    scored = []
    for known, label in _lexicon().items():
        if abs(len(known) - len(core)) > max(len(known), len(core)) * 0.4:
            continue
        scored.append((SequenceMatcher(None, core, known, autojunk=False).ratio(), label))
    scored.sort(reverse=True)
    if not scored or scored[0][0] < 0.8:
        return None
    if len(scored) > 1 and scored[0][0] - scored[1][0] < 0.15:
        return None
    return scored[0][1]


# --- where pictures come from: PDF pages, Word pictures -------------------------------------

# A page is read at the resolution it was scanned at, within these bounds: under 100 dpi
# the digits of a table are a few pixels high; over 400 dpi costs time and memory for
# nothing the engine needs.
MIN_DPI, MAX_DPI = 100, 400
# The OCR of one document stops after this many seconds (wall clock, as the parse worker's
# 60 s limit is), and says how far it got: a 300-page scan costs pages, not the worker.
TIME_BUDGET = 40.0
# Pixels of one picture: over this (an A0 poster at 300 dpi) it is not a table of a report.
MAX_PIXELS = 60_000_000


def _page_dpi(page) -> int:
    """The resolution a scanned page was stored at: its largest picture's pixels over the
    inches it covers on the page (300 when the page holds no picture)."""
    import pypdfium2 as pdfium

    best, dpi = 0.0, 300.0
    for obj in page.get_objects(filter=[pdfium.raw.FPDF_PAGEOBJ_IMAGE], max_depth=3):
        left, bottom, right, top = obj.get_bounds()
        width_in = (right - left) / 72
        if width_in <= 0:
            continue
        try:
            pixels = obj.get_metadata().width
        except Exception:  # an image PDFium cannot describe: keep the default
            continue
        if width_in > best:
            best, dpi = width_in, pixels / width_in
    return int(min(MAX_DPI, max(MIN_DPI, round(dpi))))


def read_pdf_pages(data: bytes, pages: list[int]) -> OcrResult:
    """OCR the given pages (0-based) of a PDF: each rendered at its scan resolution."""
    import time

    import pypdfium2 as pdfium

    result = OcrResult()
    engine()  # loaded once per process, before the clock starts
    started, wall = time.process_time(), time.monotonic()
    pdf = pdfium.PdfDocument(data)
    try:
        last = 0.0
        for n, i in enumerate(pages):
            # Stop before a page that would likely end past the budget (a page takes about
            # as long as the one before).
            if time.monotonic() - wall + last > TIME_BUDGET:
                result.warnings.append(
                    f"OCR stopped after {n} of {len(pages)} pictured pages "
                    f"({TIME_BUDGET:g} s); the tables of pages "
                    f"{', '.join(str(p + 1) for p in pages[n:])} were not read"
                )
                break
            began = time.monotonic()
            page = pdf[i]
            dpi = _page_dpi(page)
            image = page.render(scale=dpi / 72).to_numpy()[..., :3]
            page.close()
            _read_picture(result, image, dpi, i, first=n == 0)
            last = time.monotonic() - began
    finally:
        pdf.close()
    result.seconds = time.process_time() - started
    return result


def read_pictures(pictures: list[tuple[bytes, float | None]]) -> OcrResult:
    """OCR pictures given as encoded bytes (PNG, JPEG …) with the width in inches they are
    shown at, when known (then their resolution follows; else 200 dpi is assumed)."""
    import time

    import cv2
    import numpy as np

    result = OcrResult()
    engine()
    started, wall = time.process_time(), time.monotonic()
    for n, (data, width_in) in enumerate(pictures):
        if time.monotonic() - wall > TIME_BUDGET:
            result.warnings.append(
                f"OCR stopped after {n} of {len(pictures)} pictures ({TIME_BUDGET:g} s)"
            )
            break
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        if image is None:
            result.warnings.append(f"picture {n + 1} could not be decoded; not read")
            continue
        if image.shape[0] * image.shape[1] > MAX_PIXELS:
            result.warnings.append(f"picture {n + 1} is too large to be a table; not read")
            continue
        dpi = image.shape[1] / width_in if width_in else 200
        _read_picture(result, image, int(min(MAX_DPI, max(MIN_DPI, dpi))), n, first=n == 0)
    result.seconds = time.process_time() - started
    return result


def _read_picture(result: OcrResult, image, dpi: int, number: int, first: bool) -> None:
    reading = read_page(image, dpi, number, header=first)
    result.tables += reading.tables
    result.pages += 1
    if first:
        result.header = reading.header


# --- after the table reader: confidence per cell, the unsure left null, the sums ------------

# A number read with at least this confidence (that of its least sure character) is kept;
# below it the cell is null with a warning. Set on the scans of benchmarks/ocr_bench.py so
# that no cell kept is wrong there.
KEEP = 0.90
# A number kept that breaks a sum of table 3 or 4 (which holds otherwise) must be surer
# than this, or it is taken for a misreading rather than the agency's arithmetic.
SURE = 0.97


def grids(result: OcrResult) -> list[Grid]:
    return [t.grid() for t in result.tables]


def _row_cells(result: OcrResult, template_id: str | None) -> dict[tuple[str, str], list[OcrCell]]:
    """The OCR cells behind each row the table reader recognised, by (table, row key).

    The reader is walked again over the same grids (with the rows it placed by position
    between their neighbours, as the report's were); each of its rows is found in the grid
    rows, in order, as the run of cells whose text it holds."""
    from archive.parse.tables import place_by_position, read_tables
    from archive.parse.values import clean_cell
    from archive.store.templates import TEMPLATES

    rows = [[c for c in row if c is not None] for t in result.tables for row in t.cells]
    reading = read_tables(grids(result))
    if template_id in TEMPLATES:
        place_by_position(reading, template_id)
    found: dict[tuple[str, str], list[OcrCell]] = {}
    at, offset = 0, 0
    for rr in reading.rows:
        want = [c.raw for c in rr.cells]
        for q in range(at, len(rows)):
            texts = [clean_cell(c.text) for c in rows[q]]
            # In a new row the data cells are the rightmost; table 4's one row holds three
            # rows of the template side by side, taken left to right.
            if q == at:
                places = range(offset, len(texts) - len(want) + 1)
            elif rr.table == "t4":
                places = range(0, len(texts) - len(want) + 1)
            else:
                places = range(len(texts) - len(want), -1, -1)
            hit = next((k for k in places if texts[k : k + len(want)] == want), None)
            if hit is not None:
                found.setdefault((rr.table, rr.key), rows[q][hit : hit + len(want)])
                at, offset = q, hit + len(want)
                break
    return found


def finish(report, result: OcrResult) -> None:
    """Give an OCR-read report its confidences, and leave null (with a warning) every number
    the engine was unsure of, or that breaks a sum no other cell explains."""
    from archive.parse.values import read_cell

    report.cell_source = "ocr"
    report.warnings += result.warnings
    if not report.tables:
        report.warnings.append(
            f"OCR found {len(result.tables)} ruled table(s) in {result.pages} picture(s) but "
            f"no row of the report's tables in them"
        )
    corrected = [
        f"'{c.corrected_from}' → '{c.text}'"
        for t in result.tables
        for row in t.cells
        for c in row
        if c is not None and c.corrected_from
    ]
    if corrected:
        report.warnings.append(
            f"OCR: {len(corrected)} label(s) read with misrecognised characters taken for the "
            f"template's wording: {'; '.join(corrected[:3])}{' …' if len(corrected) > 3 else ''}"
        )
    cells = _row_cells(result, report.template)
    confidence: dict[str, dict[str, dict[str, float]]] = {}
    candidates: dict[Key, set] = {}  # what the engine made of the cells it left null
    for table, rows in report.tables.items():
        for row, values in rows.items():
            read = cells.get((table, row))
            if read is None or len(read) != len(values):
                for col in values:
                    values[col] = None
                    confidence.setdefault(table, {}).setdefault(row, {})[col] = 0.0
                report.warnings.append(
                    f"{table}.{row}: the OCR cells of the row could not be told apart; "
                    f"its {len(values)} cells left null"
                )
                continue
            for col, cell in zip(list(values), read, strict=True):
                confidence.setdefault(table, {}).setdefault(row, {})[col] = round(
                    cell.confidence, 3
                )
                if values[col] is None and not cell.text:
                    if cell.confidence < KEEP:  # ink the engine could not read
                        readings = _numbers(cell.seen)
                        if readings:
                            candidates[(table, row, col)] = readings
                        seen = f" (it made {cell.seen!r} of it)" if cell.seen else ""
                        report.warnings.append(
                            f"{table}.{row}.{col}: something is printed that OCR could not "
                            f"read{seen}; left null"
                        )
                    continue
                if cell.confidence < KEEP or read_cell(cell.text).kind != "number":
                    if values[col] is not None:
                        candidates[(table, row, col)] = {values[col]}
                    values[col] = None
                    report.warnings.append(
                        f"{table}.{row}.{col}: OCR read {cell.text!r} with confidence "
                        f"{cell.confidence:.2f}; left null"
                    )
    _cross_check(report, confidence)
    confirmed = confirm_by_sums(report, candidates)
    if confirmed:
        named = {f"{t}.{r}.{c}: " for t, r, c in confirmed}
        report.warnings = [w for w in report.warnings if not any(w.startswith(n) for n in named)]
        shown = ", ".join(f"{t}.{r}.{c} = {v}" for (t, r, c), v in list(confirmed.items())[:5])
        report.warnings.append(
            f"OCR: {len(confirmed)} cell(s) read unsurely and confirmed by the table's sums "
            f"(the one number that makes a sum of surely read cells hold, and one the engine "
            f"read): {shown}{' …' if len(confirmed) > 5 else ''}"
        )
    report.confidence = confidence
    unsure = sum(
        1
        for t, rows in report.tables.items()
        for r, values in rows.items()
        for c, v in values.items()
        if v is None
        and confidence.get(t, {}).get(r, {}).get(c, 1.0) < KEEP
        or (v is None and any(w.startswith(f"{t}.{r}.{c}: OCR") for w in report.warnings))
    )
    report.meta["ocr_unsure_cells"] = str(unsure)
    if unsure and report.status == "ok":
        report.status = "partial"  # every cell found, not every cell read


T3_APPLICANTS = (
    "natural_person",
    "enterprise",
    "research",
    "public_interest",
    "legal_service",
    "other_org",
)
T4_PARTS = ("upheld", "corrected", "other", "pending")


def broken_sums(
    tables: dict, template_id: str | None, unknown: frozenset = frozenset()
) -> list[list[tuple[str, str, str]]]:
    """The sums of tables 3 and 4 (the rules of ``docs/report-json.md``) that do not hold on
    the numbers read, each as the cells it adds up, a blank counting as 0; also a total
    printed blank over parts that add up to more than 0. A sum holding an ``unknown`` cell
    (printed, but not read) says nothing and is not listed. (The checks stage judges the
    agency's arithmetic; this only asks which readings the arithmetic casts doubt on.)"""
    broken = []
    for left, right in sum_rules(tables, template_id):
        cells = left + right
        values = _values(tables, cells)
        if "absent" in values or all(v is None for v in values):
            continue
        if unknown.intersection(cells):
            continue
        a = sum(v or 0 for v in values[: len(left)])
        b = sum(v or 0 for v in values[len(left) :])
        if round(a - b, 4) != 0:
            broken.append(cells)
    return broken


Key = tuple[str, str, str]


def _values(tables: dict, cells: list[Key]) -> list:
    """The values of a sum's cells as read: a number, None (blank or not read), or
    ``"absent"`` where the report has no such row or column."""
    return [tables.get(t, {}).get(r, {}).get(c, "absent") for t, r, c in cells]


def _numbers(seen: str | None) -> set:
    """The numbers among what the engine made of an unsure cell ("30", "3 or 8")."""
    from archive.parse.values import read_cell

    found = set()
    for part in (seen or "").split(" or "):
        cell = read_cell(part.strip())
        if cell.kind == "number" and cell.value is not None:
            found.add(cell.value)
    return found


def sum_rules(tables: dict, template_id: str | None) -> list[tuple[list[Key], list[Key]]]:
    """The sums of tables 3 and 4 as (cells added on the left, cells on the right)."""
    from archive.store.templates import TEMPLATES, template

    if template_id not in TEMPLATES:
        return []
    tpl = template(template_id)
    t3, t4 = tables.get("t3", {}), tables.get("t4", {})
    rules: list[tuple[list[Key], list[Key]]] = []
    for col in (c.key for c in tpl.cols("t3")):
        rules.append(
            (
                [("t3", "new_requests", col), ("t3", "carried_over", col)],
                [("t3", "results_total", col), ("t3", "carried_forward", col)],
            )
        )
        rules.append(([("t3", r, col) for r in tpl.result_rows()], [("t3", "results_total", col)]))
    for row in t3:
        rules.append(([("t3", row, c) for c in T3_APPLICANTS], [("t3", row, "total")]))
    for row in t4:
        rules.append(([("t4", row, c) for c in T4_PARTS], [("t4", row, "total")]))
    return rules


# At most this many unknown cells in one sum are solved together (their readings' product).
MAX_UNKNOWN = 3


def confirm_by_sums(report, candidates: dict[Key, set]) -> dict[Key, int | float]:
    """Unsure cells the table's arithmetic confirms: the cells left null in a sum (at most
    :data:`MAX_UNKNOWN`) whose every other cell was read surely are filled when exactly one
    combination of the numbers the engine read in them (its unsure reading, or either of
    two readings its models disagreed on) makes the sum hold. Two readers agreeing — the
    engine and the agency's own sums — is what makes it a number rather than a guess; the
    sum alone is never enough (the agency's arithmetic may be wrong). Repeats while cells
    are filled."""
    confirmed: dict[Key, int | float] = {}
    rules = sum_rules(report.tables, report.template)
    progress = True
    while progress:
        progress = False
        for left, right in rules:
            cells = left + right
            values = _values(report.tables, cells)
            if "absent" in values:
                continue
            unknown = [k for k, v in zip(cells, values, strict=True) if v is None]
            known = dict(zip(cells, values, strict=True))
            if len(unknown) > 1 and _zeros(left, right, known, unknown, candidates):
                for table, row, col in unknown:
                    report.tables[table][row][col] = 0
                    confirmed[(table, row, col)] = 0
                progress = True
                continue
            if not unknown or len(unknown) > MAX_UNKNOWN:
                continue
            if any(k not in candidates for k in unknown):
                continue
            fits = []
            for combo in itertools.product(*(sorted(candidates[k]) for k in unknown)):
                known.update(zip(unknown, combo, strict=True))
                if round(sum(known[k] for k in left) - sum(known[k] for k in right), 4) == 0:
                    fits.append(combo)
            if len(fits) != 1:
                continue
            if len(unknown) > 1 and not _each_checked_again(report, rules, unknown, fits[0]):
                continue
            for (table, row, col), value in zip(unknown, fits[0], strict=True):
                report.tables[table][row][col] = value
                confirmed[(table, row, col)] = value
            progress = True
    return confirmed


def _zeros(left: list[Key], right: list[Key], known: dict, unknown: list[Key], candidates) -> bool:
    """Whether several unsure cells, all on one side of a sum, must each be 0: the sum's
    other cells leave them 0 to add up to, and the engine read 0 in each (among its
    readings). Counts are never negative, so no other numbers fit: misreadings that still
    balance (523 → 923 with 507 → 907) need cells on both sides, or one below 0. Any number
    of cells: a row of zeros under a seal is the commonest thing a scan leaves unread."""
    if not (set(unknown) <= set(left) or set(unknown) <= set(right)):
        return False
    if any(0 not in candidates.get(k, ()) for k in unknown):
        return False
    rest = sum(known[k] for k in left if k not in unknown) - sum(
        known[k] for k in right if k not in unknown
    )
    return round(rest, 4) == 0


def _each_checked_again(report, rules, unknown: list[Key], values: tuple) -> bool:
    """Whether each of several cells filled together is also in another sum that, with
    them filled, has every cell known and holds. Two unsure cells of one sum can be misread
    alike (5 read 9 in both totals of a column: 523 → 923 and 507 → 907 still balance), so
    one sum does not confirm several readings; a second sum over each one does."""
    filled = dict(zip(unknown, values, strict=True))
    for key in unknown:
        checked = False
        for left, right in rules:
            cells = left + right
            if key not in cells or all(k in cells for k in unknown):
                continue  # not over this cell, or over all of them as the confirming sum is
            read = _values(report.tables, cells)
            got = [filled.get(k, v) for k, v in zip(cells, read, strict=True)]
            if any(v is None or v == "absent" for v in got):
                continue
            if round(sum(got[: len(left)]) - sum(got[len(left) :]), 4) == 0:
                checked = True
                break
        if not checked:
            return False
    return True


def _cross_check(report, confidence: dict) -> None:
    """A number that takes part in a sum that does not hold, not read with near certainty,
    is a likelier misreading than the agency's error: null, with a warning. A sum with a
    cell printed but not read is not held against the others: the unread cell may be what
    makes it hold."""
    suspects: dict[tuple[str, str, str], int] = {}
    unknown = frozenset(
        (t, r, c)
        for t, rows in report.tables.items()
        for r, values in rows.items()
        for c, v in values.items()
        if v is None and confidence.get(t, {}).get(r, {}).get(c, 1.0) < KEEP
    )
    for cells in broken_sums(report.tables, report.template, unknown):
        for key in cells:
            suspects[key] = suspects.get(key, 0) + 1
    for (table, row, col), failing in sorted(suspects.items()):
        value = report.tables.get(table, {}).get(row, {}).get(col)
        sure = confidence.get(table, {}).get(row, {}).get(col, 1.0)
        if value is None or sure >= SURE:
            continue
        report.tables[table][row][col] = None
        report.warnings.append(
            f"{table}.{row}.{col}: OCR read {value!r} (confidence {sure:.2f}), which breaks "
            f"{failing} sum(s) of the table; left null as a likely misreading"
        )


def ocr_document(doc, read) -> None:
    """Read a Document's pictures with ``read(ocr module)`` → OcrResult, and put the tables
    found in the Document (the hook of the PDF and Word readers). Without the engine the
    Document stays as it was, with a warning saying why."""
    import sys

    try:
        result = read(sys.modules[__name__])
    except (ImportError, OcrUnavailable) as exc:
        doc.warnings.append(f"the tables are pictures and OCR is not available: {exc}")
        return
    doc.meta["ocr_pages"] = str(result.pages)
    doc.meta["ocr_seconds"] = f"{result.seconds:.1f}"
    if not result.tables:
        doc.warnings += result.warnings
        doc.warnings.append(f"OCR found no ruled table in {result.pages} picture(s)")
        return
    doc.tables = grids(result)
    doc.ocr = result
    if result.header and not doc.text.strip():
        doc.text = result.header
    elif result.header:
        doc.text = result.header + "\n" + doc.text


def docx_pictures(word) -> list[tuple[bytes, float | None]]:
    """The pictures placed in a Word document's text (python-docx ``inline_shapes``), with
    the width in inches each is shown at."""
    out = []
    for shape in word.inline_shapes:
        try:
            rid = shape._inline.graphic.graphicData.pic.blipFill.blip.embed
            blob = word.part.related_parts[rid].blob
        except (AttributeError, KeyError):  # a chart or a linked picture: nothing to read
            continue
        width = shape.width.inches if shape.width else None
        out.append((blob, width or None))
    return out
