"""A number's line in a cell picture, measured without the recogniser: how many characters
are printed, where the small marks between them stand, and the shape of each.

The recogniser can drop a digit (21 read as 2) or invent a decimal point (10 read as 1.0)
with full confidence, and both of its models alike. What the ink itself says is evidence
of another kind: each digit of a printed number is a mark of its own as tall as the line
(a 0 broken in two is still one character: its pieces overlap side by side), a decimal
point or a thousands comma is a small mark on the baseline between two of them, a minus is
a short level stroke before them, and each digit has its shape (a 0 encloses one large
hole, a 1 is a narrow stroke, an 8 encloses two holes). A reading is kept only when it
agrees with this (:func:`agrees`). Specks of dust, JPEG or a seal around the line are wiped
from the picture the recogniser reads (:func:`number_line`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import cv2
import numpy as np

from archive.parse.ocr.engine import LINE_HEIGHT

# A character of a number is at least this tall (inches): a digit printed in 7 pt.
MIN_HEIGHT = 0.045
# Marks at least this share of the tallest one's height are characters; smaller ones are
# points, commas, a minus, or specks.
TALL = 0.55
# A digit's ink is at most this wide for its height (0 and 4 of the widest fonts are
# about 0.75): a wider character is two digits touching, or not a digit.
WIDE = 0.95
# A digit's ink is at least this wide for its height, but for a 1: measured on the
# real-derived scans (serif and sans, 150 to 300 dpi), every 0 and 2–9 was 0.52 of its
# height or wider, every 1 but one (a speck beside it) 0.42 or narrower. A mark narrower
# than this can only be a 1; one narrower than THIN is a rule's remnant, not a digit.
NARROW = 0.47
THIN = 0.2
# The digits of one printed number are as tall as each other and stand on one line:
# within this share of the tallest one's height (a glyph measured a pixel or two short at
# 150 dpi is well within it; a seal's legend left in a blank cell, two marks 33 and 43
# pixels high read as 72, is not).
SAME_SIZE = 0.15
# How many holes a digit's mark can enclose, as printed and as a small or blurred print
# leaves it (a 4 of some fonts is open; the small hole of a 6, 8 or 9 fills in at 150 dpi,
# a seal's grain or JPEG may close a gap in a 2, 3 or 5 for a pixel). A reading is refused
# only against what no print of the digit shows: a 0 or an 8 enclosing nothing, a 1 or a
# 7 enclosing a hole.
HOLES = {
    "0": (1,),
    "1": (0,),
    "2": (0, 1),
    "3": (0, 1),
    "4": (0, 1),
    "5": (0, 1),
    "6": (0, 1),
    "7": (0,),
    "8": (1, 2),
    "9": (0, 1),
}


@dataclass
class Glyph:
    """One printed character of the line: its extent in the line's picture and its shape."""

    x0: int
    x1: int
    y0: int
    y1: int
    holes: int  # closed regions of paper it encloses (a 0 one, an 8 two)
    run: int = 0  # the run of inked columns it was parted from (two digits that touch: one)

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0


@dataclass
class Line:
    """A number's line: its picture with only its own marks, and what they measure."""

    picture: np.ndarray  # grey, the line's marks on paper-white, a margin around
    glyphs: list[Glyph]  # the characters, left to right
    height: int  # the tallest character's height, pixels
    points: list[int] = field(default_factory=list)  # a point or comma after that many chars
    dash: bool = False  # a level stroke before the first character: a minus
    loose: int = 0  # small marks inside the line that are neither a point nor a minus
    wiped: int = 0  # specks wiped around the line

    @property
    def chars(self) -> int:
        return len(self.glyphs)


def number_line(grey, marks, dpi: int) -> Line | None:
    """The one line of characters printed in a cell, or None when the cell holds no mark as
    tall as a character, or characters on more than one line (a wrapped label).

    ``grey`` is the cell's picture (rules cleared), ``marks`` its ink (255) on paper (0).
    The line is found in ``marks`` (specks around it wiped); its characters are measured on
    the picture the recogniser reads: the line scaled to :data:`LINE_HEIGHT` pixels and
    thresholded there, where the grey edges of a small print part digits that touch in
    ``marks`` and open the hole of a 0."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(
        (marks > 0).astype(np.uint8), connectivity=8
    )
    comps = [(k, *stats[k][:4]) for k in range(1, count)]
    least = max(3, int(dpi * MIN_HEIGHT))
    tall = [c for c in comps if least <= c[4] <= 0.95 * marks.shape[0]]
    if not tall:
        return None
    height = max(c[4] for c in tall)
    chars = [c for c in tall if c[4] >= TALL * height]
    top = min(c[2] for c in chars)
    bottom = max(c[2] + c[4] for c in chars)
    if bottom - top > 1.6 * height:
        return None  # more than one line
    x0 = min(c[1] for c in chars)
    x1 = max(c[1] + c[3] for c in chars)
    keep, wiped = [c[0] for c in chars], 0
    for k, x, y, w, h in comps:
        if k in keep:
            continue
        cy = y + h / 2
        beside = x0 - height <= x + w and x <= x1 + height / 2
        if beside and top - 0.1 * height <= cy <= bottom + 0.25 * height:
            keep.append(k)  # a point, a comma, a minus, a piece of a digit (or a speck on it)
        else:
            wiped += 1
    left = min(stats[k][0] for k in keep)
    right = max(stats[k][0] + stats[k][2] for k in keep)
    margin = max(2, height // 6)
    ys = slice(max(0, top - margin), min(marks.shape[0], bottom + margin))
    xs = slice(max(0, left - margin), min(marks.shape[1], right + margin))
    own = np.isin(labels[ys, xs], keep)
    own = cv2.dilate(own.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    paper = float(np.median(grey[marks == 0])) if (marks == 0).any() else 255.0
    picture: np.ndarray = np.full(own.shape, int(paper), np.uint8)
    picture[own] = grey[ys, xs][own]
    scale = max(1.0, LINE_HEIGHT / height)
    if scale > 1.05:
        picture = cv2.resize(picture, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    line = _measure(picture, dpi * scale)
    if line is not None:
        line.wiped = wiped
    return line


def _measure(picture, dpi: float) -> Line | None:
    """The characters and small marks of a line's grey picture, thresholded as the
    recogniser reads it (Otsu's level).

    Characters are runs of columns holding ink; a run as wide as two digits is two digits
    of a small print whose grey edges meet, parted where the ink is lightest."""
    _, read = cv2.threshold(picture, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    ink = read < 128
    columns = ink.any(axis=0)
    runs: list[tuple[int, int, int, int]] = []  # x0, x1, y0, y1
    x = 0
    while x < len(columns):
        if not columns[x]:
            x += 1
            continue
        start = x
        while x < len(columns) and columns[x]:
            x += 1
        rows = np.flatnonzero(ink[:, start:x].any(axis=1))
        runs.append((start, x, int(rows[0]), int(rows[-1]) + 1))
    if not runs:
        return None
    height = max(y1 - y0 for _, _, y0, y1 in runs)
    whole = [r for r in runs if r[3] - r[2] >= TALL * height]
    parts = [(n, p) for n, r in enumerate(whole) for p in _parted(r, picture, ink)]
    chars = [p for _, p in parts]
    top = min(r[2] for r in chars)
    line = Line(read, [], height)
    for x0, x1, y0, y1 in runs:
        if (x0, x1, y0, y1) in whole:
            continue
        w, h, cy = x1 - x0, y1 - y0, (y0 + y1) / 2
        at = sum(1 for r in chars if r[0] < x0)
        if 0 < at < len(chars) and cy >= top + 0.6 * height:
            line.points.append(at)
        elif (
            at == 0
            and top + 0.3 * height <= cy <= top + 0.75 * height
            and w >= 1.5 * h
            and w >= dpi / 40
        ):
            line.dash = True
        else:
            line.loose += 1
    for n, (x0, x1, y0, y1) in parts:
        line.glyphs.append(Glyph(x0, x1, y0, y1, _holes(ink[y0:y1, x0:x1]), n))
    return line


def _parted(run: tuple[int, int, int, int], picture, ink) -> list[tuple[int, int, int, int]]:
    """A run of columns as wide as two digits or more, parted where its ink is lightest
    (two digits of a small print whose edges meet): each part at least a third as wide as
    the run is high. Parted again while a part is that wide."""
    x0, x1, y0, y1 = run
    height = y1 - y0
    if x1 - x0 <= WIDE * height:
        return [run]
    least = max(1, int(height / 3))
    darkest = picture[y0:y1, x0:x1].min(axis=0).astype(float)
    inner = range(least, x1 - x0 - least)
    if not inner:
        return [run]
    cut = x0 + max(inner, key=lambda i: darkest[i])
    out = []
    for a, b in ((x0, cut), (cut + 1, x1)):
        rows = np.flatnonzero(ink[y0:y1, a:b].any(axis=1))
        if not len(rows):
            return [run]
        out += _parted((a, b, y0 + int(rows[0]), y0 + int(rows[-1]) + 1), picture, ink)
    return out


def _holes(ink) -> int:
    """The closed regions of paper a character's ink encloses (specks of paper of a pixel or
    two are JPEG, not holes)."""
    paper = np.pad(~ink, 1, constant_values=True).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(paper, connectivity=4)
    least = max(2, ink.size // 200)
    return sum(1 for k in range(1, count) if labels[0, 0] != k and stats[k][4] >= least)


_NOT_COUNTED = re.compile(r"[.,\-]")


def agrees(text: str, line: Line, shapes: bool = True) -> str | None:
    """Why a reading of a number cannot be what the line prints, or None when it agrees:
    one character read for each printed (a digit dropped or doubled, otherwise), a point
    or comma read where one is printed and nowhere else, a minus read when one is printed,
    and (with ``shapes``) each digit's mark enclosing as many holes as that digit can."""
    shown = _NOT_COUNTED.sub("", text)
    glyphs = line.glyphs
    unit = len(shown) - len(shown.rstrip("元万"))
    if unit:
        # 元 and 万 are wide characters with gaps in them, parted as if two digits: the
        # digits are the characters before the last runs of ink, one run for each.
        runs = sorted({g.run for g in glyphs})
        if len(runs) < unit:
            return f"{len(shown)} characters read, fewer printed"
        glyphs = [g for g in glyphs if g.run < runs[-unit]]
        shown = shown[:-unit]
    if len(shown) != len(glyphs):
        return f"{len(shown)} characters read, {len(glyphs)} printed"
    if glyphs and not _one_size(glyphs):
        return "marks of different sizes or on different lines: not one printed number"
    read_points = []
    seen = 0
    for ch in text:
        if ch in ".,":
            read_points.append(seen)
        elif ch != "-":
            seen += 1
    if sorted(read_points) != sorted(line.points):
        return "a point or comma read where none is printed, or not read where one is"
    if text.startswith("-") != line.dash:
        return "a minus read but not printed, or printed but not read"
    for ch, glyph in zip(shown, glyphs, strict=True):
        if ch not in HOLES:
            return f"{ch} read among the digits"
        if glyph.width > WIDE * glyph.height:
            return f"a {ch} printed as wide as two digits"
        if shapes and glyph.holes not in HOLES[ch]:
            return f"a {ch} read where the mark encloses {glyph.holes} hole(s)"
        if shapes and ch != "1" and glyph.width < NARROW * glyph.height:
            return f"a {ch} read where the mark is as narrow as a 1"
    return None


def _one_size(glyphs: list[Glyph]) -> bool:
    """Whether the marks are as tall as each other and stand on one baseline."""
    tallest = max(g.height for g in glyphs)
    slack = SAME_SIZE * tallest
    bottoms = [g.y1 for g in glyphs]
    return min(g.height for g in glyphs) >= tallest - slack and max(bottoms) - min(bottoms) <= slack


def lone_one(line: Line) -> bool:
    """Whether the line prints a lone 1 and nothing else, by its ink alone: one character
    with no hole, narrower than any other digit (:data:`NARROW`) yet no bare stroke, no
    point, minus or loose mark beside it. The recogniser drops a lone thin 1 (a serif
    one most of all) or reads it as 7; its shape says what it is."""
    if line.chars != 1 or line.points or line.dash or line.loose:
        return False
    (glyph,) = line.glyphs
    return glyph.holes == 0 and THIN * glyph.height <= glyph.width < NARROW * glyph.height
