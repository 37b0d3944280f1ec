"""Downloader middlewares that make a crawl of an existing archive cheap and resumable.

* :class:`ResumeMiddleware` — a URL the interrupted crawl being continued already
  stored is answered from the archive, with no request to the site and no second
  capture; the spider still follows its links.
* :class:`ConditionalRequestMiddleware` — a page or file stored by an earlier crawl is
  asked for with ``If-None-Match``/``If-Modified-Since``; a 304 is recorded as a
  revisit and handed to the spider with the stored bytes, so the links of an unchanged
  page are followed without downloading it. Listings are re-read on every run too —
  conditionally: a listing where a new report appeared has changed, so it comes back
  in full; one that did not comes back as a 304 and its stored links are followed.
"""

from __future__ import annotations

import json

from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response
from scrapy.responsetypes import responsetypes

from crawler.scheduling.frontier import frontier_for

# Every kind of page is revalidated: front pages, columns and listings as well as report
# pages and files (a listing's new report changes the listing, so it is never missed).
REVALIDATED_ROLES = frozenset({"start", "column", "listing", "report", "attachment"})
# Hop-by-hop or transfer headers that no longer describe a body read back from the archive.
_STALE_HEADERS = ("Content-Encoding", "Content-Length", "Transfer-Encoding")


class AlreadyRecorded(IgnoreRequest):
    """The continued crawl recorded this URL's failure already: not fetched or stored again."""


def stored_response(
    frontier,
    request: Request,
    body_id: int,
    status: int,
    final_url: str | None,
    headers: dict | str | None,
    flag: str,
) -> Response:
    """A response rebuilt from the archive: the stored body, headers and final URL."""
    stored: dict = json.loads(headers) if isinstance(headers, str) else headers or {}
    headers = {k: v for k, v in stored.items() if k.title() not in _STALE_HEADERS}
    body = frontier.body(body_id) or b""
    url = final_url or request.url
    cls = responsetypes.from_args(headers=headers, url=url, body=body)
    return cls(url=url, status=status, headers=headers, body=body, request=request, flags=[flag])


class ResumeMiddleware:
    """Answers from the archive every URL the interrupted crawl already stored."""

    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_request(self, request: Request, spider=None) -> Response | None:
        frontier = frontier_for(self.crawler)
        if not frontier.resumed or "site" not in request.meta:
            return None
        stored = frontier.stored_in_this_crawl(request.url)
        if stored is None:
            return None
        self.crawler.stats.inc_value("nianbao/resumed_from_archive")
        if stored["status"] is None:
            raise AlreadyRecorded(f"already recorded by the interrupted run: {stored['error']}")
        request.meta["stored_capture"] = stored["id"]
        if stored["status"] == 304:  # a revisit: its links are those of the stored body
            request.meta["revisit_of"] = stored["body_id"]
        if stored["redirects"]:  # the hops, as on the wire: a moved site moves again
            request.meta["redirect_urls"] = json.loads(stored["redirects"])[:-1]
        request.meta["dont_retry"] = True
        request.meta["dont_redirect"] = True
        return stored_response(
            frontier,
            request,
            stored["body_id"],
            stored["status"],
            stored["final_url"],
            stored["headers"],
            "archived",
        )


class ConditionalRequestMiddleware:
    """Revalidates report pages and attachments already archived, instead of re-reading them."""

    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_request(self, request: Request, spider=None) -> None:
        if (
            request.meta.get("role") not in REVALIDATED_ROLES
            or "stored_capture" in request.meta
            or request.method != "GET"
        ):  # a POST (Hanweb dataproxy) names no one page
            return None
        last = frontier_for(self.crawler).last_version(request.url)
        if not last or last["status"] != 200:
            return None
        headers = {k.lower(): v for k, v in (last["headers"] or {}).items()}
        etag, modified = _first(headers.get("etag")), _first(headers.get("last-modified"))
        if not etag and not modified:
            return None
        if etag:
            request.headers["If-None-Match"] = etag
        if modified:
            request.headers["If-Modified-Since"] = modified
        request.meta["validated_against"] = last
        return None

    def process_response(self, request: Request, response: Response, spider=None) -> Response:
        last = request.meta.get("validated_against")
        if response.status != 304 or not last:
            return response
        self.crawler.stats.inc_value("nianbao/revalidated_unchanged")
        request.meta["revisit_of"] = last["id"]
        return stored_response(
            frontier_for(self.crawler),
            request,
            last["id"],
            304,
            response.url,
            last["headers"],
            "revisit",
        )


def _first(value) -> str | None:
    if isinstance(value, list):
        return value[0] if value else None
    return value
