"""Tables that are pictures, as the PDF and Word readers hand them over: the pictures of a
Word file, and the reading of them into the Document.

Nothing here loads an OCR library: the readers of the pictures
(:mod:`archive.parse.ocr.sources`) are imported only when a document has pictures to read.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

from archive.parse.document import Document, OcrResult
from archive.parse.ocr.rows import place_rows
from archive.parse.ocr.tessdata import OcrUnavailable


def ocr_document(doc: Document, read: Callable[[ModuleType], OcrResult]) -> None:
    """Read a Document's pictures with ``read(sources)`` → OcrResult (``sources`` being
    :mod:`archive.parse.ocr.sources`), and put the tables found in the Document (the hook of
    the PDF and Word readers). Without the engine the Document stays as it was, with a
    warning saying why."""
    try:
        # Imported here, not at the top: it loads OpenCV, numpy and Tesseract, which cost
        # time and memory only a document with pictures needs, and a missing one is the
        # warning below rather than a failure to read the document.
        from archive.parse.ocr import sources

        result = read(sources)
    except (ImportError, OcrUnavailable) as exc:
        doc.warnings.append(f"the tables are pictures and OCR is not available: {exc}")
        return
    place_rows(result)
    doc.meta["ocr_pages"] = str(result.pages)
    doc.meta["ocr_seconds"] = f"{result.seconds:.1f}"
    if not result.tables:
        doc.warnings += result.warnings
        doc.warnings.append(f"OCR found no ruled table in {result.pages} picture(s)")
        return
    doc.tables = result.grids()
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
