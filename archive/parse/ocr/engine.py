"""The OCR engine: Tesseract's C API through tesserocr, with Debian's ``chi_sim`` and ``eng``
data (nothing fetched at run time), loaded once per process.

Labels are read in Chinese as a block of lines; numbers with digits only, as one line, by two
models (chi_sim and eng) that must agree, with a confidence for every character. A number
the engine cannot read is looked at again in several page modes (:meth:`Engine.readings`),
as candidates for the table's sums to confirm, never as a value by itself.
"""

from __future__ import annotations

import os

import cv2
import numpy as np
from tesserocr import OEM, PSM, RIL, PyTessBaseAPI, iterate_level

from archive.parse.ocr.tessdata import OcrUnavailable, tessdata_dir
from archive.parse.values import read_cell

DIGITS = "0123456789,.-元万"

ENGINE_DPI = 300  # the resolution the header of a page is read at
LINE_HEIGHT = 40  # pixels: Tesseract drops or merges digits of lines much smaller


class Engine:
    """Tesseract's C API, loaded once per process: one instance for labels (Chinese, a block
    of lines) and one for numbers (digits only, one line)."""

    def __init__(self) -> None:
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

    def read(self, crop, numeric: bool, second: int = 0, chars: int = 0) -> tuple[str, float]:
        """The text of one cell's picture and the confidence of its least sure character
        (``second``: by the second model for numbers, expecting that many characters;
        ``chars``: the first model for numbers, expecting that many)."""
        api = (self.second if second else self.numbers) if numeric else self.labels
        if second:  # a lone digit is read as a character: as a line the model drops it
            api.SetPageSegMode(PSM.SINGLE_CHAR if second == 1 else PSM.SINGLE_LINE)
        elif numeric and chars:  # the first model drops a lone digit as a character too
            api.SetPageSegMode(PSM.SINGLE_WORD if chars == 1 else PSM.SINGLE_LINE)
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
        the table to confirm (:func:`~archive.parse.ocr.sums.confirm_by_sums`), never a
        value by itself."""
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
        image = np.ascontiguousarray(image)
        h, w = image.shape
        self.labels.SetImageBytes(image.tobytes(), w, h, 1, w)
        return (self.labels.GetUTF8Text() or "").strip()


_ENGINE: Engine | None = None


def engine() -> Engine:
    global _ENGINE
    if _ENGINE is None:
        _ENGINE = Engine()
    return _ENGINE
