"""Where Tesseract's language data is installed, and the error when it is not.

Apart from the engine, which loads Tesseract, OpenCV and numpy as it is imported: whether
OCR can run at all is asked (the tests ask it) without loading them, and the error is caught
(by :func:`~archive.parse.ocr.pictures.ocr_document`) where none of them is imported.
"""

from __future__ import annotations

import os

TESSDATA_DIRS = (
    "/usr/share/tesseract-ocr/5/tessdata",
    "/usr/share/tesseract-ocr/4.00/tessdata",
    "/usr/share/tessdata",
    "/usr/local/share/tessdata",
)


class OcrUnavailable(Exception):
    """The OCR engine or its language data is not installed."""


def tessdata_dir() -> str | None:
    """Where Tesseract's ``chi_sim`` data is installed (TESSDATA_PREFIX first)."""
    candidates = [os.environ.get("TESSDATA_PREFIX", "")] + list(TESSDATA_DIRS)
    for path in candidates:
        if path and os.path.exists(os.path.join(path, "chi_sim.traineddata")):
            return path
    return None
