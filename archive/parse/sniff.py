"""Telling what a document is from its bytes, and decoding text formats.

Servers mislabel content (a PDF as ``application/octet-stream``, GBK pages
declared UTF-8), so the bytes decide the format; for HTML the charset comes from
the HTTP header, a BOM, the ``<meta>`` tag or detection, in w3lib's order, with
GB2312/GBK read as their superset GB18030.
"""

from __future__ import annotations

import re

from w3lib.encoding import html_to_unicode, read_bom, resolve_encoding

from archive.parse.document import ParseError

_HTML_HINT = re.compile(rb"<\s*(html|head|body|table|div|p|meta|!doctype)\b", re.I)


def sniff_format(data: bytes, filename: str | None = None, content_type: str | None = None) -> str:
    """``pdf``, ``docx``, ``doc``, ``zip``, ``html`` or ``text``."""
    if not data:
        raise ParseError("empty", "the document is empty (0 bytes)")
    head = data[:2048].lstrip()
    if head.startswith(b"%PDF") or b"%PDF-" in data[:1024]:
        return "pdf"
    if data.startswith(b"PK\x03\x04"):
        name = (filename or "").lower()
        return "docx" if b"word/" in data[:4096] or name.endswith(".docx") else "zip"
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        return "doc"
    if (content_type and "html" in content_type.lower()) or _HTML_HINT.search(head):
        return "html"
    if (filename or "").lower().endswith((".html", ".htm", ".shtml")):
        return "html"
    return "text"


def decode_html(data: bytes, content_type: str | None = None) -> str:
    _, text = html_to_unicode(content_type, data)
    return text


def decode_text(data: bytes) -> str:
    """Plain text: BOM, else UTF-8, else GB18030 (the superset of GBK/GB2312)."""
    enc, bom = read_bom(data)
    if enc:
        return data[len(bom):].decode(resolve_encoding(enc) or enc, errors="replace")
    for enc in ("utf-8", "gb18030"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    return data.decode("utf-8", errors="replace")
