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
    """``pdf``, ``docx``, ``doc``, ``rtf``, ``mht``, ``zip``, ``html`` or ``text``."""
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
    if head.startswith(b"{\\rtf"):
        return "rtf"  # Word's RTF, often served as .doc
    if b"mime-version" in head[:512].lower() and b"multipart/related" in head.lower():
        return "mht"  # Word's "single file web page", often served as .doc
    if (content_type and "html" in content_type.lower()) or _HTML_HINT.search(head):
        return "html"
    if (filename or "").lower().endswith((".html", ".htm", ".shtml")):
        return "html"
    return "text"


def decode_html(data: bytes, content_type: str | None = None) -> str:
    """Decode a page, distrusting a declared charset the bytes do not decode in.

    Government servers often send ``charset=utf-8`` for GBK pages (or the reverse
    in the ``<meta>``). w3lib's order (header, BOM, meta, detection) is tried
    first; if that leaves replacement characters, the other declarations and the
    two charsets such sites use are tried strictly, GB2312/GBK as GB18030.
    """
    enc, text = html_to_unicode(content_type, data)
    if enc not in ("utf-8", "utf-16", "utf-16-le", "utf-16-be") and _is_utf8(data):
        # Non-ASCII bytes that are valid UTF-8 throughout are UTF-8, whatever is declared:
        # GBK text virtually never is.
        return data.decode("utf-8-sig")
    if "\ufffd" not in text:
        return text
    candidates = [html_to_unicode(None, data)[0], "utf-8", "gb18030"]
    for name in candidates:
        codec = _superset(resolve_encoding(name) or name)
        if codec == enc:
            continue
        try:
            return data.decode(codec)
        except (UnicodeDecodeError, LookupError):
            continue
    return text


def _is_utf8(data: bytes) -> bool:
    if data.isascii():
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _superset(codec: str) -> str:
    """GB2312 and GBK pages routinely use characters only GB18030 defines."""
    return "gb18030" if codec.lower().replace("-", "") in ("gb2312", "gbk", "cp936") else codec


def decode_text(data: bytes) -> str:
    """Plain text: BOM, else UTF-8, else GB18030 (the superset of GBK/GB2312)."""
    enc, bom = read_bom(data)
    if enc:
        return data[len(bom or b"") :].decode(resolve_encoding(enc) or enc, errors="replace")
    for enc in ("utf-8", "gb18030"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    return data.decode("utf-8", errors="replace")
