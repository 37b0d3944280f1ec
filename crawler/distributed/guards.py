"""The Scrapy components of a crawl worker that keep its requests to the leases it holds.

Every request of a leased group names its lease in the site dict it carries
(:data:`LEASE`). :class:`LeaseDupeFilter` keeps one set of seen requests per lease;
:class:`LeaseGuardMiddleware` and :class:`LeaseCheckedDownloadHandler` drop a request
whose lease is no longer safely held — the first before anything (robots.txt included)
is asked, the second as the last step before the wire, for a request that waited in a
download slot past its lease's deadline. They ask the worker's
:class:`~crawler.distributed.tracking.LeaseBook`, which the spider hands to its crawler
(:func:`attach`); a crawl that is not a worker's has none, and they let everything by.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler
from scrapy.dupefilters import RFPDupeFilter
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response
from scrapy.utils.httpobj import urlparse_cached

from crawler.distributed.tracking import LeaseBook

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

# The key, in the site dict every request of a group carries, naming the lease.
LEASE = "nianbao_lease"
_ATTRIBUTE = "_nianbao_lease_book"


def lease_of(request: Request) -> str | None:
    site = request.meta.get("site")
    return site.get(LEASE) if isinstance(site, dict) else None


class LeaseLost(IgnoreRequest):
    """The worker no longer holds the lease of the request's site group."""


def attach(crawler: Crawler, book: LeaseBook) -> None:
    """Make ``book`` the crawler's: the leases its requests are checked against."""
    setattr(crawler, _ATTRIBUTE, book)


def book_of(crawler: Crawler) -> LeaseBook | None:
    return getattr(crawler, _ATTRIBUTE, None)


def check_lease(book: LeaseBook | None, request: Request) -> None:
    """Raise :class:`LeaseLost` for a request whose lease (its group's, or its host's for
    robots.txt) may not start a download now."""
    if book is None:
        return
    token = book.token_for(lease_of(request), urlparse_cached(request).hostname or "")
    if not book.allows(token):
        raise LeaseLost(f"lease {token} no longer held")


class LeaseDupeFilter(RFPDupeFilter):
    """Scrapy's duplicate filter, one set of fingerprints per lease: the requests of a
    group leased a second time are not "seen" because its first lease made them."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.by_lease: dict[str | None, set[bytes]] = {}

    def request_seen(self, request: Request) -> bool:
        seen = self.by_lease.setdefault(lease_of(request), set())
        fingerprint = self.fingerprinter.fingerprint(request)
        if fingerprint in seen:
            return True
        seen.add(fingerprint)
        return False


class LeaseCheckedDownloadHandler(HTTP11DownloadHandler):
    """Scrapy's HTTP handler, refusing a download whose lease is not safely held.

    It is the last step before the wire: a request that waited in a slot's queue past
    its lease's safe deadline is dropped here, not sent."""

    async def download_request(self, request: Request) -> Response:
        check_lease(book_of(self._crawler), request)
        return await super().download_request(request)


class LeaseGuardMiddleware:
    """Drops a request of a lost lease before anything (robots.txt included) is asked."""

    def __init__(self, crawler: Crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler):
        return cls(crawler)

    def process_request(self, request: Request, spider=None) -> None:
        check_lease(book_of(self.crawler), request)
        return None
