"""One page picture → its ruled tables read, and the text above the first (a scan's title).

The page is made grey (a seal's red dropped), straightened and its rules found
(:mod:`archive.parse.ocr.geometry`); then every cell of every table is read
(:mod:`archive.parse.ocr.cells`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import cv2

from archive.parse.document import OcrTable
from archive.parse.ocr.cells import read_table
from archive.parse.ocr.engine import ENGINE_DPI, Engine, engine
from archive.parse.ocr.geometry import grey, ink, rotate, rules, skew_angle, table_boxes


@dataclass
class PageReading:
    """What one page picture gave: its tables, the text above the first, the skew it was
    turned back by, and the CPU seconds it took."""

    tables: list[OcrTable] = field(default_factory=list)
    header: str = ""
    skew: float = 0.0
    seconds: float = 0.0


def read_page(image, dpi: int, page_no: int = 0, header: bool = False) -> PageReading:
    """Every ruled table of one page picture (BGR or grey pixels at ``dpi``); with
    ``header``, also the text above its first table (a scanned report's title)."""
    started = time.process_time()
    page = grey(image, dpi)
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
    if bottom < dpi * 0.3:
        return ""
    top = page[:bottom]
    if dpi < ENGINE_DPI:
        top = cv2.resize(top, None, fx=ENGINE_DPI / dpi, fy=ENGINE_DPI / dpi)
    return eng.read_block(top)
