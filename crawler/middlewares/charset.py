"""Pages whose charset nobody declares: read as what their bytes are.

Many county portals serve GBK pages as ``Content-Type: text/html`` with no charset and,
on some pages, no ``<meta charset>`` either (北京 朝阳系 sites are GBK; 门头沟, 怀柔, 东城
send no charset header). Scrapy then guesses UTF-8 and falls back to cp1252, and every
Chinese link text — 政府信息公开年报 included — turns into mojibake, so the column is never
found. :class:`UndeclaredCharsetMiddleware` gives such a response the encoding its bytes
decode as: UTF-8 when they are valid UTF-8, else GB18030 (a superset of GB2312 and GBK),
or the registry row's ``encoding`` when it names one. The stored bytes are unchanged.
"""

from __future__ import annotations

import codecs
import re

from scrapy.http import HtmlResponse, Response

_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*['\"]?\s*[\w-]+", re.I)


def declared(response: Response) -> bool:
    """Does the header, a BOM or a ``<meta>`` in the first 4 KB name the charset?"""
    ctype = (response.headers.get(b"Content-Type") or b"").lower()
    head = response.body[:4096]
    return (
        b"charset=" in ctype
        or head.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
        or bool(_META_CHARSET.search(head))
    )


def sniff(body: bytes, hint: str | None = None) -> str:
    """The encoding ``body`` decodes as: UTF-8 if valid, else the hint, else GB18030."""
    try:
        body.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    for candidate in (hint, "gb18030"):
        if not candidate:
            continue
        try:
            body.decode(candidate)
            return candidate
        except (UnicodeDecodeError, LookupError):
            continue
    return "gb18030"


class UndeclaredCharsetMiddleware:
    def __init__(self, stats):
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.stats)

    def process_response(self, request, response: Response, spider=None) -> Response:
        if not isinstance(response, HtmlResponse) or declared(response):
            return response
        site = request.meta.get("site") or {}
        encoding = sniff(response.body, site.get("encoding"))
        if encoding != "utf-8":
            self.stats.inc_value("nianbao/charset_sniffed")
        return response.replace(encoding=encoding)
