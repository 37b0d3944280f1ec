"""Reading one printed table cell into a number, a blank, or text.

The archive keeps the difference between a cell printed ``0``, a cell printed
empty or with a dash (``None``), and a cell that is not a number at all. Amounts
may carry their unit (``251000元``) or thousands separators; counts may be
printed in full-width digits.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache

# What agencies print for "nothing here": blank, dashes, slash, 无, 不适用.
_NOT_APPLICABLE = {"", "/", "-", "--", "—", "——", "–", "无", "不适用", "n/a", "na", "\\"}
_NUMBER = re.compile(r"^([+-]?)(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(万元|元|件|个|项|次)?$")


@dataclass(frozen=True)
class CellValue:
    """A cell as read: ``kind`` is ``number``, ``blank`` or ``text``."""

    kind: str
    value: int | float | None
    raw: str
    unit: str | None = None

    @property
    def is_value(self) -> bool:
        """True for cells a data column may hold: numbers and blanks."""
        return self.kind != "text"


def clean_cell(text: str | None) -> str:
    """The cell's text with white space folded, as printed otherwise."""
    return re.sub(r"\s+", " ", (text or "").replace("\u00a0", " ").replace("\u3000", " ")).strip()


@lru_cache(maxsize=16384)
def read_cell(text: str | None) -> CellValue:
    """Classify and parse one cell.

    Spaces inside a number are digit grouping (``1 234``), as printed by some
    word processors; anything else that is not a plain number is text.
    """
    raw = clean_cell(text)
    folded = unicodedata.normalize("NFKC", raw).replace(" ", "").lower()
    if folded in _NOT_APPLICABLE:
        return CellValue("blank", None, raw)
    m = _NUMBER.match(folded)
    if not m:
        return CellValue("text", None, raw)
    sign, digits, fraction, unit = m.groups()
    digits = digits.replace(",", "")
    if fraction:
        try:
            number: int | float = float(Decimal(sign + digits + fraction))
        except InvalidOperation:  # pragma: no cover - the regex admits only digits
            return CellValue("text", None, raw)
    else:
        number = int(sign + digits)
    return CellValue("number", number, raw, unit)
