"""An original's text as the parser read it, for reading in the browser beside the download.

``/-/original/<db>/<capture_id>?view=text`` shows what a PDF, a Word file or a web page
*says*, not its bytes: a PDF page by page (``第 3 页``) with the text PDFium gives the
parser for that page, any other format the text of the parser's own reader
(:func:`archive.parse.read_document`: Word through python-docx, DOC and WPS through
LibreOffice, a page without its markup).

The text is read when it is asked for, not stored at parse time. Stored, it would be a
second copy of nearly every report's text (``reports.text`` holds it already, without the
page breaks) in every archive and snapshot, written by the parse stage for every capture
whether anyone reads it or not. Read on request it costs little (measured 2026-12-07 on
a 2-core machine at load average 21, worker already started): a web page 10 ms, a
generated 2-page PDF 20 ms, the real 6-page PDF of ``simweb/corpus`` 74 ms, a DOCX
216 ms, a DOC 4.8 s (LibreOffice converts it); the worker's start costs 3.6 s once per
server. What was read is kept (by SHA-256: the bytes never change), so the next reader
of the same original waits for nothing.

A document can be hostile (a PDF whose content stream loops, a ZIP bomb): it is read in
the parse stage's isolated worker (:mod:`archive.parse.isolate`), killed past
:data:`TIMEOUT` seconds or :data:`MEMORY_MB` of memory, and at most :data:`MAX_CHARS`
characters come back. One worker serves the whole server, one document at a time.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from archive.parse.document import ParseError

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from archive.parse.isolate import ParsePool

TIMEOUT = 30.0  # seconds one document may take (LibreOffice converting a DOC included)
MEMORY_MB = 1024
MAX_CHARS = 1_000_000  # a 300-page PDF of dense text is ~600,000
CACHE_CHARS = 8_000_000  # what the cache keeps, in characters of text (~30 MB)
WAIT = 60.0  # how long a request waits for the worker another one is using


@dataclass
class Page:
    """A page of a PDF (``number`` from 1), or the whole text of another format (0)."""

    number: int
    text: str


@dataclass
class OriginalText:
    format: str
    pages: list[Page] = field(default_factory=list)
    truncated: bool = False

    @property
    def chars(self) -> int:
        return sum(len(p.text) for p in self.pages)

    def plain(self) -> str:
        """The text as one plain-text file, each PDF page under its number."""
        if self.format != "pdf":
            return "\n".join(p.text for p in self.pages)
        return "\n\n".join(f"—— 第 {p.number} 页 ——\n{p.text}" for p in self.pages)


def read_text(data: bytes, content_type: str | None = None, url: str | None = None) -> dict:
    """What the worker does: the document's text, as a dict (it crosses a pipe)."""
    from archive.parse import read_document
    from archive.parse.sniff import sniff_format

    fmt = sniff_format(data, None, content_type)
    if fmt == "pdf":
        pages = _pdf_pages(data)
    else:
        pages = [(0, read_document(data, content_type=content_type, url=url).text)]
    kept, left, truncated = [], MAX_CHARS, False
    for number, text in pages:
        if len(text) > left:
            text, truncated = text[:left], True
        kept.append({"number": number, "text": text})
        left -= len(text)
        if truncated:
            break
    return {"format": fmt, "pages": kept, "truncated": truncated}


def _pdf_pages(data: bytes) -> list[tuple[int, str]]:
    """Each page's text as the PDF reader of the parser takes it (PDFium's text page)."""
    import pypdfium2 as pdfium

    from archive.parse.pdf import MAX_PAGES

    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        status = "encrypted" if "password" in str(exc).lower() else "corrupt"
        raise ParseError(status, f"unreadable PDF: {exc}") from exc
    try:
        if len(pdf) > MAX_PAGES:
            raise ParseError("too_large", f"the PDF has {len(pdf)} pages (limit {MAX_PAGES})")
        pages = []
        for i in range(len(pdf)):
            page = pdf[i]
            textpage = page.get_textpage()
            text = textpage.get_text_range().replace("\r\n", "\n").replace("\r", "\n")
            textpage.close()
            page.close()
            pages.append((i + 1, text))
        return pages
    finally:
        pdf.close()


class Busy(Exception):
    """The worker stayed busy with other documents for longer than :data:`WAIT`."""


class Reader:
    """The server's one isolated reader, and what it has read (by SHA-256)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # the worker: one document at a time
        self._cache_lock = threading.Lock()
        self._pool: ParsePool | None = None
        self._cache: OrderedDict[str, OriginalText] = OrderedDict()
        self._cached_chars = 0

    def read(
        self, sha256: str, data: bytes, content_type: str | None, url: str | None
    ) -> OriginalText:
        """The text of one original; raises ParseError (unreadable, too slow, too big)
        or :class:`Busy`."""
        found = self._cached(sha256)
        if found is not None:
            return found
        if not self._lock.acquire(timeout=WAIT):
            raise Busy(f"the text reader stayed busy for {WAIT:g} s")
        try:
            found = self._cached(sha256)  # read meanwhile by the request it waited for
            if found is not None:
                return found
            outcome = self._in_worker(data, content_type, url)
        finally:
            self._lock.release()
        text = OriginalText(
            outcome["format"],
            [Page(p["number"], p["text"]) for p in outcome["pages"]],
            outcome["truncated"],
        )
        self._keep(sha256, text)
        return text

    def _in_worker(self, data: bytes, content_type: str | None, url: str | None) -> dict:
        from archive.parse.isolate import ParsePool

        if self._pool is None:
            self._pool = ParsePool(
                1, timeout=TIMEOUT, memory_mb=MEMORY_MB, task=f"{__name__}:read_text"
            )
        for _, outcome in self._pool.map([(0, (data, content_type, url), {})]):
            if isinstance(outcome, ParseError):
                raise outcome
            return outcome
        raise ParseError("worker_died", "the text reader gave no answer")

    def warm(self) -> None:
        """Start the worker now, as a server starts, so that the first reader of an
        original does not wait for it to load its libraries (about a second on an idle
        machine, 3.6 s on a loaded one): it reads an empty page."""
        with self._lock:
            try:
                self._in_worker(b"<p></p>", "text/html", None)
            except ParseError as exc:  # the first real request will say why
                log.warning("the text reader did not start: %s", exc.message)

    def _cached(self, sha256: str) -> OriginalText | None:
        with self._cache_lock:
            found = self._cache.get(sha256)
            if found is not None:
                self._cache.move_to_end(sha256)
            return found

    def _keep(self, sha256: str, text: OriginalText) -> None:
        with self._cache_lock:
            if text.chars > CACHE_CHARS or sha256 in self._cache:
                return
            self._cache[sha256] = text
            self._cached_chars += text.chars
            while self._cached_chars > CACHE_CHARS:
                _, dropped = self._cache.popitem(last=False)
                self._cached_chars -= dropped.chars

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None


READER = Reader()
