"""The report spider: from each registry row to its reports and their files.

From a start URL (a portal front page, its 信息公开 page, or the report column
itself) it follows links towards the annual-report column, walks the column's
pages, fetches every report page whose title names a report, and every file
attached to it. Every response — listings, reports, files, errors — becomes a
capture in the archive; nothing is parsed here.
"""

from __future__ import annotations

from datetime import UTC, datetime

import scrapy
from scrapy.http import HtmlResponse, Response, TextResponse

from archive.registry import read_registry, site_domains
from crawler.items import CaptureItem
from crawler.links import (
    ATTACHMENT,
    in_domains,
    is_column_link,
    is_pager_link,
    is_report_title,
    trs_pages,
)

# How many column-finding hops from the start URL: front page → 信息公开 → 年报 column.
MAX_COLUMN_HOPS = 3


class ReportSpider(scrapy.Spider):
    name = "reports"

    def __init__(self, sites: str | None = None, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not sites:
            raise ValueError("the reports spider needs a registry: -a sites=FILE.csv")
        self.sites_csv = sites
        self.sites = read_registry(sites)
        self.allowed_domains = sorted({d for s in self.sites for d in site_domains(s)})

    async def start(self):
        for request in self.start_requests():
            yield request

    def start_requests(self):
        for site in self.sites:
            yield self.request(site["start_url"], site, "start", self.parse_page, hops=0)

    def request(self, url: str, site: dict, role: str, callback, referer: str | None = None,
                **meta) -> scrapy.Request:
        return scrapy.Request(
            url, callback=callback, errback=self.failed,
            meta={"site": site, "role": role, **meta},
            headers={"Referer": referer} if referer else None,
        )

    # -- callbacks -----------------------------------------------------------
    def parse_page(self, response: Response):
        """A start, column or listing page: keep it, then find reports, pages and columns."""
        yield self.capture(response)
        if not self.readable(response):
            return
        site, hops = response.meta["site"], response.meta.get("hops", 0)
        seen = set()
        for link in response.css("a[href]"):
            url = response.urljoin(link.attrib["href"].strip())
            if url in seen or not url.startswith("http") or not self.in_scope(url, site):
                continue
            seen.add(url)
            text = " ".join(link.css("::text").getall()) + " " + link.attrib.get("title", "")
            if is_report_title(text):
                yield self.request(url, site, "report", self.parse_report, response.url)
            elif hops < MAX_COLUMN_HOPS and is_column_link(text, url):
                yield self.request(url, site, "column", self.parse_page, response.url,
                                   hops=hops + 1)
            elif is_pager_link(text):
                yield self.request(url, site, "listing", self.parse_page, response.url,
                                   hops=MAX_COLUMN_HOPS)
        for url in trs_pages(response.text, response.url):
            if url not in seen and self.in_scope(url, site):
                yield self.request(url, site, "listing", self.parse_page, response.url,
                                   hops=MAX_COLUMN_HOPS)

    def parse_report(self, response: Response):
        """A report page: keep it, and fetch the files it attaches (the report may be one)."""
        yield self.capture(response)
        if not self.readable(response):
            return
        site = response.meta["site"]
        for href in response.css("a::attr(href)").getall():
            url = response.urljoin(href.strip())
            if ATTACHMENT.search(url) and self.in_scope(url, site):
                yield self.request(url, site, "attachment", self.parse_file, response.url)

    def parse_file(self, response: Response):
        yield self.capture(response)

    def failed(self, failure):
        """A fetch that produced no response (DNS, timeout, refused …): recorded as such."""
        request = failure.request
        self.logger.warning("fetch failed: %s: %s", request.url, failure.getErrorMessage())
        yield CaptureItem(
            site_id=request.meta["site"]["site_id"], url=request.url, final_url=None,
            redirects=None, status=None, method=request.method, content_type=None,
            headers=None, body=None, role=request.meta.get("role"),
            referer=_header(request.headers, "Referer"),
            error=f"{failure.type.__name__}: {failure.getErrorMessage()}",
            fetched_at=_now(),
        )

    # -- helpers ---------------------------------------------------------------
    def capture(self, response: Response) -> CaptureItem:
        request = response.request
        redirects = response.meta.get("redirect_urls") or []
        return CaptureItem(
            site_id=response.meta["site"]["site_id"],
            url=redirects[0] if redirects else response.url,
            final_url=response.url, redirects=redirects + [response.url] if redirects else None,
            status=response.status, method=request.method if request else "GET",
            content_type=_header(response.headers, "Content-Type"),
            headers={k.decode("latin-1"): [v.decode("latin-1") for v in vs]
                     for k, vs in response.headers.items()},
            body=response.body, role=response.meta.get("role"),
            referer=_header(request.headers, "Referer") if request else None,
            error=None, fetched_at=_now(),
        )

    @staticmethod
    def readable(response: Response) -> bool:
        return response.status == 200 and isinstance(response, HtmlResponse | TextResponse)

    @staticmethod
    def in_scope(url: str, site: dict) -> bool:
        return in_domains(url, site_domains(site))


def _header(headers, name: str) -> str | None:
    value = headers.get(name)
    return value.decode("latin-1") if value else None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
