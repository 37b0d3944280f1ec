"""Where the pictures come from: the pages of a scanned PDF, the pictures of a Word file.

Each is read at the resolution it was scanned or shown at, within bounds, against a time
budget per document: a 300-page scan costs pages, not the parse worker. The engine is
loaded before the clock starts, once per process.

This module loads OpenCV, numpy and Tesseract as it is imported: it is imported only when
there are pictures to read (by :func:`archive.parse.ocr.pictures.ocr_document`).
"""

from __future__ import annotations

import time

import cv2
import numpy as np
import pypdfium2 as pdfium

from archive.parse.document import OcrResult
from archive.parse.ocr.engine import engine
from archive.parse.ocr.page import read_page

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


def _scanned_picture(page):
    """A scanned page's picture as the scanner stored it, and its resolution: the pixels of
    the one picture that covers the page, unturned, decoded but not rendered (rendering
    resamples them, and smooths digits a few pixels high). (None, 0) for any other page,
    or a resolution out of bounds: then the page is rendered."""
    width, height = page.get_size()
    pictures = list(page.get_objects(filter=[pdfium.raw.FPDF_PAGEOBJ_IMAGE], max_depth=3))
    if len(pictures) != 1 or width <= 0:
        return None, 0
    picture = pictures[0]
    m = picture.get_matrix()
    left, bottom, right, top = picture.get_bounds()
    if m.b or m.c or m.a <= 0 or m.d <= 0:
        return None, 0  # turned or mirrored on the page
    if (right - left) * (top - bottom) < 0.95 * width * height:
        return None, 0
    try:
        bitmap = picture.get_bitmap(render=False)
        pixels = bitmap.to_numpy()
    except Exception:  # a picture PDFium cannot decode as it is: render the page
        return None, 0
    dpi = round(pixels.shape[1] / ((right - left) / 72))
    if not MIN_DPI <= dpi <= MAX_DPI:
        return None, 0
    if pixels.ndim == 3:
        pixels = np.ascontiguousarray(pixels[..., :3])  # BGR, as a rendered page is
    return pixels, dpi


def read_pdf_pages(data: bytes, pages: list[int]) -> OcrResult:
    """OCR the given pages (0-based) of a PDF: each rendered at its scan resolution."""
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
            image, dpi = _scanned_picture(page)
            if image is None:
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
    """Read one picture's tables into ``result``; the first picture's header is the
    document's title."""
    reading = read_page(image, dpi, number, header=first)
    result.tables += reading.tables
    result.pages += 1
    if first:
        result.header = reading.header
