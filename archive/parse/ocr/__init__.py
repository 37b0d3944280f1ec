"""Reading tables that are pictures: a scanned page or a pasted image → ruled grids of cells.

Agencies publish scans of the signed paper report, and paste tables into pages and Word
files as pictures. This reader turns such a picture into the same thing every other reader
produces — grids of printed cells — so that the label matching, template detection and
checks of :mod:`archive.parse.tables` and :mod:`archive.checks` read them unchanged.

The work is split by what each library does best, one module a step:

- :mod:`~archive.parse.ocr.geometry`: OpenCV finds the page's skew from its long rules,
  straightens it, drops a red seal, and finds the ruled lines by morphology; the cells are
  the regions the rules enclose, a merged cell spanning every rule position its box reaches.
- :mod:`~archive.parse.ocr.engine`: Tesseract (its C API through tesserocr, with Debian's
  ``chi_sim`` and ``eng`` data, nothing fetched at run time; where the data is:
  :mod:`~archive.parse.ocr.tessdata`).
- :mod:`~archive.parse.ocr.cells`: each cell read, labels in Chinese, then anything that is
  not surely words again with digits only, by two models that must agree, with a confidence
  for every character; a label misread in a character or two is taken for the template's
  wording when it is unambiguous (:mod:`~archive.parse.ocr.lexicon`).
- :mod:`~archive.parse.ocr.page` reads one page picture; :mod:`~archive.parse.ocr.sources`
  the pages of a scanned PDF and the pictures of a Word file;
  :mod:`~archive.parse.ocr.pictures` is what the PDF and Word readers call.
- :mod:`~archive.parse.ocr.confidence`, after the table reader: a number the engine is unsure
  of is never written down as a guess: :func:`finish` leaves it null with a warning, and a
  number that breaks a sum of table 3 or 4 is kept only when read with near certainty; the
  sums (:mod:`~archive.parse.ocr.sums`) confirm an unsure reading that makes them hold.

Importing this package loads no OCR library (OpenCV, numpy, Tesseract): they are loaded
with :mod:`~archive.parse.ocr.sources`, when a document has pictures to read.
"""

from __future__ import annotations

from archive.parse.document import OcrCell, OcrResult, OcrTable
from archive.parse.ocr.confidence import finish
from archive.parse.ocr.lexicon import correct_label
from archive.parse.ocr.pictures import docx_pictures, ocr_document
from archive.parse.ocr.sums import confirm_by_sums
from archive.parse.ocr.tessdata import OcrUnavailable, tessdata_dir

__all__ = [
    "OcrCell",
    "OcrResult",
    "OcrTable",
    "OcrUnavailable",
    "confirm_by_sums",
    "correct_label",
    "docx_pictures",
    "finish",
    "ocr_document",
    "tessdata_dir",
]
