"""The geometry of a page picture: straightened, cleaned, its ruled tables found as grids of
cell boxes.

OpenCV finds the page's skew from its long rules, straightens it, and finds the ruled lines
by morphology; the cells are the regions the rules enclose, and a cell's row and column
spans (merged cells) follow from which rule positions its box reaches. A red seal stamped
over the numbers is dropped by reading the red channel of a colour scan (red ink is as
bright as the paper there); a rule the seal, JPEG or a faint print dissolved is found
again from what is left of it (:func:`table_boxes` with the page's ink).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import cv2
import numpy as np

# --- the picture → straight, clean grey page ---------------------------------------------


def grey(image, dpi: int = 300):
    """The page in grey levels, a seal's ink dropped: for a colour scan (BGR, as PDFium
    and OpenCV give it) the red channel, where red is as bright as paper and black stays
    black; for a grey scan, the seal's grey ink (:func:`_grey_seal`)."""
    if image.ndim != 3:
        return _grey_seal(image, dpi)
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


# A seal is a round stamp between these sizes (inches across): an official seal is 42 mm,
# a department's 38 mm; a stamp of the date or 附件 is smaller, a table far larger.
SEAL_INCHES = (0.9, 2.4)
# Ink is a black core of a printed stroke when darker than this share of the way from the
# page's black to its paper (a seal's red scanned in grey is about 0.35 of the way).
SEAL_GREY = 0.3


def _grey_seal(page, dpi: int):
    """A grey scan with a seal's ink taken off: paper where the seal's grey is.

    Red ink scanned in grey is a middle grey (about 90 of 255), printed black near 0. The
    print's strokes have black cores; the seal's ink is grey throughout. So the seal is the
    ink lighter than :data:`SEAL_GREY` of the way from the page's black to its paper that
    lies away from any black core, where it gathers into a round stamp an inch or two across;
    that ink is made paper, within the stamp only. Where the seal covers a digit, the
    digit's black stays (the seal's grey beside its strokes may stay as specks, which the
    number reader wipes). A page with no such stamp is left as it is."""
    marks = ink(page) > 0
    values = page[marks]
    if values.size < 1000:
        return page
    black = float(np.percentile(values, 5))
    paper = int(np.median(page[~marks])) if (~marks).any() else 255
    valley = black + SEAL_GREY * (paper - black)
    core = (page <= valley).astype(np.uint8)
    # A printed stroke's core is a run of black pixels; the seal's grain darker than the
    # valley is specks of a few.
    count, labels, stats, _ = cv2.connectedComponentsWithStats(core, connectivity=8)
    grain = np.flatnonzero(stats[:, cv2.CC_STAT_AREA] < (dpi / 100) ** 2 * 3)
    core[np.isin(labels, grain[grain > 0])] = 0
    reach = max(1, dpi // 150)
    near = cv2.dilate(core, np.ones((2 * reach + 1, 2 * reach + 1), np.uint8)) > 0
    light = (marks & ~near).astype(np.uint8)
    k = max(5, dpi // 10)  # the seal's ring and legend, broken by its grain and the rules
    gathered = cv2.morphologyEx(
        light, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    )
    count, blobs, stats, _ = cv2.connectedComponentsWithStats(gathered, connectivity=8)
    least, most = SEAL_INCHES[0] * dpi, SEAL_INCHES[1] * dpi
    out = page
    for i in range(1, count):
        x, y, w, h, _ = stats[i]
        if not (least <= w <= most and least <= h <= most and 0.75 <= w / h <= 1.33):
            continue
        if not _round(blobs[y : y + h, x : x + w] == i):
            continue  # thin grey print gathered into a block (small type at 150 dpi)
        if out is page:
            out = page.copy()
        region = out[y : y + h, x : x + w]
        region[light[y : y + h, x : x + w] > 0] = paper
    return out


def _round(blob) -> bool:
    """Whether a blob of ink, its holes filled, covers most of the circle around it: a
    seal does (a disc), a block of a table (a rectangle: at most 64 %) does not."""
    contours, _ = cv2.findContours(
        blob.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE
    )
    if not contours:
        return False
    outline = max(contours, key=cv2.contourArea)
    _, radius = cv2.minEnclosingCircle(outline)
    return cv2.contourArea(outline) >= 0.75 * np.pi * radius * radius


def ink(grey_page):
    """Dark marks on the page (255) against paper (0), robust to uneven lighting."""
    return cv2.adaptiveThreshold(
        grey_page, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, 31, 15
    )


def skew_angle(ink_mask, limit: float = 5.0) -> float:
    """The page's rotation in degrees (counter-clockwise), from its rules and text lines:
    the angle that makes the rows of ink sharpest (the projection profile's energy),
    searched coarse then fine on a 600-pixel-wide copy."""
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
    lines = cv2.dilate(horizontal | vertical, np.ones((3, 3), np.uint8))
    count, _, stats, _ = cv2.connectedComponentsWithStats(lines, connectivity=8)
    tables = []
    for i in range(1, count):
        x, y, w, h, _ = stats[i]
        if w < dpi or h < dpi * 0.2:
            continue
        region = lines[y : y + h, x : x + w].copy()
        _close_open_ends(
            region, horizontal[y : y + h, x : x + w], vertical[y : y + h, x : x + w], dpi
        )
        boxes = _cells(region, x, y, dpi)
        if len(boxes) >= 2:
            tables.append((y, boxes))
    placed = [_place(boxes, dpi) for _, boxes in sorted(tables, key=lambda t: t[0])]
    if ink_mask is None:
        return placed
    return [_place(_mend(boxes, ink_mask, dpi), dpi) for boxes in placed]


def _close_open_ends(region, horizontal, vertical, dpi: int) -> None:
    """Rule off a table's open ends. Where a table breaks across pages, a browser or a word
    processor draws no rule under its last row on the one page or over its first row on the
    next: the column rules run on past the table's first (or last) row rule, and no cell of
    that row is enclosed. There the row is closed, along where those column rules start
    (end), from the first to the last of them."""
    h, w = region.shape
    rows = np.flatnonzero((horizontal > 0).sum(axis=1) >= 0.3 * w)
    if not len(rows):
        return
    count, _, stats, _ = cv2.connectedComponentsWithStats(
        (vertical > 0).astype(np.uint8), connectivity=8
    )
    rules = [stats[k] for k in range(1, count) if stats[k][3] >= dpi * 0.1]
    least = max(4, int(dpi * 0.1))  # a row is at least a tenth of an inch high
    thick = max(2, dpi // 150)
    for beyond, edge in (
        ([r for r in rules if r[1] < rows[0] - least], "top"),
        ([r for r in rules if r[1] + r[3] > rows[-1] + least], "bottom"),
    ):
        if len(beyond) < 2:
            continue
        ends = [r[1] if edge == "top" else r[1] + r[3] - 1 for r in beyond]
        at = int(np.median(ends))
        left = min(r[0] for r in beyond)
        right = max(r[0] + r[2] for r in beyond)
        region[max(0, at - thick // 2) : min(h, at + thick - thick // 2), left:right] = 255


def _cells(region, x: int, y: int, dpi: int) -> list[Box]:
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
