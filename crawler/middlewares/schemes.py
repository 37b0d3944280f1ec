"""http ↔ https fallback: hosts that answer only one of the two.

Government hosts often serve one scheme only, and their pages still link to the other:
深圳人社's https fails the TLS handshake under OpenSSL 3 (``BAD_ECPOINT``) while http
works, though its listings link with absolute https URLs; 朝阳 and 延庆 (北京) answer
http only (443 fails or times out); others answer https only, often with a self-signed
certificate (丰台人大) — Scrapy does not verify certificates, so those are read as they
are. Scrapy's TLS context already allows servers without secure renegotiation
(``OP_LEGACY_SERVER_CONNECT``, the ``UNSAFE_LEGACY_RENEGOTIATION_DISABLED`` failure of
OpenSSL 3 on rst.jiangxi.gov.cn).

:class:`SchemeFallbackMiddleware`: when a fetch fails in a way that says "wrong scheme"
— a TLS handshake error, a refused connection, or nginx's ``400 The plain HTTP request
was sent to HTTPS port`` — the same URL is asked for once with the other scheme. When
that works, the host is remembered, and every later request for it goes straight to the
scheme that works; the URL the link named stays in the capture's redirect hops.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from scrapy.http import Request, Response
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.error import ConnectionRefusedError as TxConnectionRefused

_OTHER = {"http": "https", "https": "http"}
_PLAIN_TO_TLS = b"plain HTTP request was sent to HTTPS port"


def other_scheme(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in _OTHER:
        return None
    return urlunsplit(parts._replace(scheme=_OTHER[parts.scheme]))


def _chain(exception: BaseException):
    """The exception and those it wraps (Scrapy ≥ 2.14 wraps Twisted's download errors;
    Twisted's ResponseNeverReceived carries its reasons as Failures)."""
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exception]
    while todo and len(seen) < 20:
        exc = todo.pop()
        if exc is None or any(exc is s for s in seen):
            continue
        seen.append(exc)
        todo += [exc.__cause__, exc.__context__]
        todo += [getattr(r, "value", None) for r in getattr(exc, "reasons", None) or []]
    return seen


def is_tls_failure(exception: BaseException) -> bool:
    """A TLS handshake that failed (an alert, a bad key exchange, an unknown protocol)."""
    from OpenSSL import SSL

    return any(isinstance(exc, SSL.Error) for exc in _chain(exception))


def is_refused(exception: BaseException) -> bool:
    return any(
        isinstance(exc, TxConnectionRefused)
        or type(exc).__name__ == "DownloadConnectionRefusedError"
        for exc in _chain(exception)
    )


def says_wrong_scheme(request: Request, exception: BaseException) -> bool:
    scheme = urlparse_cached(request).scheme
    if scheme == "https" and is_tls_failure(exception):
        return True
    return is_refused(exception)


class SchemeFallbackMiddleware:
    """Asks once with the other scheme when the first says it is the wrong one."""

    def __init__(self, crawler):
        self.crawler = crawler
        self.stats = crawler.stats
        self.working: dict[str, str] = {}  # host:port → the scheme that answers

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_request(self, request: Request, spider=None) -> Request | None:
        parts = urlparse_cached(request)
        scheme = self.working.get(parts.netloc)
        if scheme and parts.scheme != scheme and parts.scheme in _OTHER:
            return self._swapped(request)
        return None

    def process_response(self, request: Request, response: Response, spider=None):
        if (
            response.status == 400
            and _PLAIN_TO_TLS in response.body[:2048]
            and "scheme_fallback" not in request.meta
        ):
            return self._swapped(request)
        if "scheme_fallback" in request.meta:
            netloc = urlparse_cached(request).netloc
            if self.working.get(netloc) != urlparse_cached(request).scheme:
                self.working[netloc] = urlparse_cached(request).scheme
                self.crawler.spider.logger.info(
                    "%s answers %s only: its links are fetched that way",
                    netloc,
                    urlparse_cached(request).scheme,
                )
                self.stats.inc_value("nianbao/scheme_fallback_hosts")
        return response

    def process_exception(self, request: Request, exception: Exception, spider=None):
        if "scheme_fallback" in request.meta or not says_wrong_scheme(request, exception):
            return None
        self.stats.inc_value("nianbao/scheme_fallback")
        return self._swapped(request)

    @staticmethod
    def _swapped(request: Request) -> Request | None:
        url = other_scheme(request.url)
        if url is None:
            return None
        hops = list(request.meta.get("redirect_urls") or []) + [request.url]
        meta = {**request.meta, "scheme_fallback": request.url, "redirect_urls": hops}
        meta.pop("retry_times", None)
        return request.replace(url=url, meta=meta, dont_filter=True)
