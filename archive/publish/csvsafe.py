"""CSV for spreadsheets without formula injection.

A report's title, an agency's name or a printed cell is text the government site wrote.
A cell beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read by
Excel (and LibreOffice, WPS) as a formula: ``=HYPERLINK(…)`` or ``=cmd|…`` in a title
would run when a journalist opens the export. The "CSV for Excel" export (``_bom=1``,
:func:`archive.publish.plugin.bom_wrapper`) therefore starts such a cell with an
apostrophe, which the spreadsheet shows as text, as OWASP recommends. A number (``-3``,
``+1.5``) is left as it is: it is a value, not a formula. The plain CSV and the JSON keep
every value raw.

Datasette streams a CSV in chunks; :class:`FormulaGuard` rewrites whole records only (a
record ends at a line break outside quotes), parsing and writing them with the ``csv``
module in Datasette's own dialect, so every other byte is unchanged.
"""

from __future__ import annotations

import csv
import io
import re

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_QUOTE_OR_NEWLINE = re.compile(rb'["\n]')


def neutralise(value: str) -> str:
    """``value`` as a spreadsheet must show it: text, never a formula."""
    if value.startswith(TRIGGERS) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


class FormulaGuard:
    """Feed it the chunks of a UTF-8 CSV body; it returns them with every cell neutralised."""

    def __init__(self) -> None:
        self._rest = b""

    def feed(self, chunk: bytes) -> bytes:
        data = self._rest + chunk
        cut = _last_record_end(data)
        self._rest = data[cut:]
        return _rewrite(data[:cut]) if cut else b""

    def end(self) -> bytes:
        """What is left at the end of the body (a last record without a line break)."""
        data, self._rest = self._rest, b""
        return _rewrite(data, last=True) if data else b""


def _last_record_end(data: bytes) -> int:
    """The offset just after the last line break outside quotes (0 if none)."""
    end, quoted = 0, False
    for match in _QUOTE_OR_NEWLINE.finditer(data):
        if match.group() == b'"':
            quoted = not quoted
        elif not quoted:
            end = match.end()
    return end


def _rewrite(data: bytes, last: bool = False) -> bytes:
    text = data.decode("utf-8")
    terminator = "\r\n" if "\r\n" in text else "\n"
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator=terminator)
    for row in csv.reader(io.StringIO(text, newline="")):
        writer.writerow([neutralise(cell) for cell in row])
    written = out.getvalue()
    if last and not text.endswith(("\n", "\r")):
        written = written.removesuffix(terminator)
    return written.encode("utf-8")
