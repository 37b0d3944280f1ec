"""The report spider: from each registry row to its reports and their files.

From a start URL (a portal front page, its 信息公开 page, or the report column
itself) it follows links towards the annual-report column, walks the column's
pages, fetches every report page whose title names a report, and every file
attached to it. A column that is a per-year tree is walked down to its units (a
county's departments, 街道 and 乡镇): each unit's reports are captured as those of a site
of its own, named from the tree (:mod:`crawler.reading.trees`), under the row crawled. Every response — listings, reports, files, errors — becomes a
capture in the archive; nothing is parsed here. What a page offers — links, redirect
shells, listing pages, the listing requests a CMS makes from JS (大汉's XML records and
dataproxy.jsp, 广东 gkmlpt's JSON API, 江苏 Epoint's JSON POSTs) — is read by :mod:`crawler.reading.pages`; revisits and resumed crawls are handled by the downloader
middlewares of :mod:`crawler.middlewares.incremental`, politeness by :mod:`crawler.middlewares.politeness`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import scrapy
from scrapy.http import HtmlResponse, JsonRequest, Response, TextResponse

from archive.store.registry import read_registry
from crawler import BUNDLED_REGISTRY
from crawler.extensions.stopping import CrawlStopped
from crawler.items import CaptureItem
from crawler.middlewares.hosts import HostUnreachable
from crawler.middlewares.incremental import AlreadyRecorded
from crawler.middlewares.politeness import HostBlocked
from crawler.middlewares.scope import ScopeRefused
from crawler.reading import cms, trees
from crawler.reading.links import (
    ATTACHMENT,
    agency_of_title,
    is_column_link,
    is_pager_link,
    is_report_title,
    is_soft_404,
    may_be_soft_404,
    names_report_column,
    squash,
)
from crawler.reading.pages import PageReading, read_api, read_page
from crawler.scheduling.frontier import frontier_for
from crawler.scope import CrawlScope, SiteScope, attach

# How many column-finding hops from the start URL: front page → 信息公开 → 年报 column.
MAX_COLUMN_HOPS = 3
# Keys the crawl adds to a registry row it carries in a request's meta (``nianbao_lease``
# of crawler.distributed.guards): not the row's, never stored with it.
CRAWL_MARK = "nianbao_"


class ReportSpider(scrapy.Spider):
    name = "reports"

    def __init__(self, sites: str | None = None, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not sites:  # `scrapy crawl reports` alone crawls what `nianbao crawl` alone does
            sites = str(BUNDLED_REGISTRY)
            self.logger.info("no -a sites=FILE.csv: crawling the bundled registry %s", sites)
        # Absolute, so that the same registry is recognised when a crawl is continued.
        self.sites_csv = str(Path(sites).resolve())
        self.sites = read_registry(sites)
        # Scope is per site, not Scrapy's crawl-wide allowed_domains: a site that moved to
        # another host (a redirect of its start page) takes that host along.
        self.scope = CrawlScope(self.sites)
        # The units found in the rows' 年报 trees, by site id: registered once per crawl.
        self.units: dict[str, dict] = {}

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        attach(crawler, spider.scope)  # the network scope middleware checks by it
        return spider

    @property
    def moved_to(self) -> dict[str, set[str]]:
        """The hosts each site moved to, by site id: a crawl continued from a ``--jobdir``
        (which does not walk the start pages again) fills it from the archive."""
        return self.scope.moved

    async def start(self):
        for request in self.start_requests():
            yield request

    def start_requests(self):
        for site in self.sites:
            for url in [site["start_url"], *more_urls(site)]:
                yield self.request(url, site, "start", self.parse_page, hops=0)

    def request(
        self, url: str, site: dict, role: str, callback, referer: str | None = None, **meta
    ) -> scrapy.Request:
        return scrapy.Request(
            url,
            callback=callback,
            errback=self.failed,
            meta={"site": site, "role": role, **meta},
            headers={"Referer": referer} if referer else None,
        )

    # -- callbacks -----------------------------------------------------------
    def parse_page(self, response: Response):
        """A start, column or listing page: keep it, then find reports, pages and columns."""
        yield from self.capture(response)
        if not self.readable(response):
            return
        site, hops = response.meta["site"], response.meta.get("hops", 0)
        scope = self.scope.of(site)
        self.follow_move(response, scope)
        page = read_page(response.text, page_url(response))
        if page.redirect and scope.admits(page.redirect):  # a JS or meta shell
            yield self.request(
                page.redirect,
                site,
                response.meta["role"],
                self.parse_page,
                response.url,
                hops=hops,
                **{k: response.meta[k] for k in ("named", "tree") if k in response.meta},
            )
            return
        if "tree" in response.meta:
            yield from self.walk_tree(response, page)
            return
        seen: set[str] = set()
        if trees.is_tree_root(page.links, response.url, self.named(response, page)):
            yield from self.tree_years(response, page, seen)  # walked as a tree, first
        yield from self.follow(page.links, response, site, hops, seen)
        for url in page.listing_pages:
            if url not in seen and scope.admits(url):
                yield self.request(
                    url, site, "listing", self.parse_page, response.url, hops=MAX_COLUMN_HOPS
                )
        for call in page.api:
            if scope.admits(call.url):  # an API is asked only where the site may go
                yield self.api_request(call, site, response.url)

    def follow(
        self, links: list[cms.Link], response: Response, site: dict, hops: int, seen: set[str]
    ):
        """Requests for the report, column and pager links among ``links``."""
        scope = self.scope.of(site)
        for link in links:
            url = cms.canonical_url(link.url)  # a _wap twin is the same article
            if url in seen or not url.startswith("http") or not scope.admits(url):
                continue
            seen.add(url)
            if is_report_title(link.text):
                twin = {"wap_twin": link.url} if url != link.url else {}
                yield self.request(url, site, "report", self.parse_report, response.url, **twin)
            elif hops < MAX_COLUMN_HOPS and is_column_link(link.text, url):
                yield self.request(
                    url,
                    site,
                    "column",
                    self.parse_page,
                    response.url,
                    hops=hops + 1,
                    named=names_report_column(link.text) or names_report_column(url),
                )
            elif is_pager_link(link.text):
                yield self.request(
                    url, site, "listing", self.parse_page, response.url, hops=MAX_COLUMN_HOPS
                )

    # -- per-year trees ------------------------------------------------------
    @staticmethod
    def named(response: Response, page: PageReading) -> bool:
        """Does the page name the 年报 column: reached by a link naming it, or titled so?
        (A start page is taken at its word when its own URL or title says so.)"""
        said = squash(page.title) + squash(page.meta.get("ColumnName"))
        return bool(
            response.meta.get("named")
            or trees.STRONG.search(said)
            or (response.meta.get("role") == "start" and names_report_column(response.url))
        )

    def tree_years(self, response: Response, page: PageReading, seen: set[str]):
        """The year folders of a tree's root, each walked as a tree (year → category → unit)."""
        site, scope = response.meta["site"], self.scope.of(response.meta["site"])
        for link, year in trees.year_folders(page.links, response.url):
            if link.url in seen or not scope.admits(link.url):
                continue
            seen.add(link.url)
            tree = {"root": response.url, "year": year, "depth": 1, "said": link.text}
            yield self.tree_listing(link.url, site, response, tree)

    def tree_listing(self, url: str, site: dict, response: Response, tree: dict) -> scrapy.Request:
        """A page of a 年报 tree (a folder, or a further page of its list), read as a listing."""
        return self.request(
            url, site, "listing", self.parse_page, response.url, hops=MAX_COLUMN_HOPS, tree=tree
        )

    def walk_tree(self, response: Response, page: PageReading):
        """A folder of a tree: its reports (each its unit's), its pages, the folders below."""
        site, tree = response.meta["site"], response.meta["tree"]
        scope = self.scope.of(site)
        folder = trees.unit_name([], page.title, tree.get("said"))
        seen: set[str] = set()
        for link in page.report_links:
            url = cms.canonical_url(link.url)
            if url in seen or not url.startswith("http") or not scope.admits(url):
                continue
            seen.add(url)
            owner = self.unit_of(site, agency_of_title(link.text) or folder, url)
            twin = {"wap_twin": link.url} if url != link.url else {}
            yield self.request(url, owner, "report", self.parse_report, response.url, **twin)
        for url in page.listing_pages:  # the further pages of this folder's own list
            if url not in seen and scope.admits(url):
                seen.add(url)
                yield self.tree_listing(url, site, response, tree)
        if tree["depth"] >= trees.MAX_TREE_DEPTH:
            return
        for link in trees.tree_folders(page.links, response.url):
            if link.url in seen or not link.url.startswith("http") or not scope.admits(link.url):
                continue
            seen.add(link.url)
            below = {**tree, "depth": tree["depth"] + 1, "said": link.text}
            yield self.tree_listing(link.url, site, response, below)

    def unit_of(self, site: dict, name: str | None, folder: str):
        """The site a report of a tree belongs to: the row crawled when the tree names no
        one else, else the unit's own (registered in the archive the first time: its
        captures refer to it)."""
        if not name:
            return site
        agency = trees.qualified(name, site.get("agency"))
        if trees.same_agency(agency, site.get("agency")):
            return site
        scope = self.scope.of(site)
        row = trees.unit_row(site, agency, folder.rsplit("/", 1)[0] + "/", scope.moved)
        if row["site_id"] not in self.units:
            self.units[row["site_id"]] = row
            self.register(row)
        # The crawl's own marks on the row crawled (a worker's lease) go with its units.
        carried = {k: v for k, v in site.items() if k.startswith(CRAWL_MARK)}
        if carried:
            return {**self.units[row["site_id"]], **carried}
            self.logger.info(
                "site %s: unit %s (%s) in its 年报 tree", site["site_id"], agency, row["level"]
            )
        return self.units[row["site_id"]]

    def register(self, row: dict) -> None:
        """A unit's row into the archive's sites (captures refer to their site) and into the
        run's per-site counts."""
        frontier = frontier_for(self.crawler)
        frontier.archive.load_sites([row])
        if row["site_id"] not in frontier.site_ids:
            frontier.site_ids.append(row["site_id"])

    def api_request(self, call: cms.ApiRequest, site: dict, referer: str) -> scrapy.Request:
        return listing_request(
            call,
            callback=self.parse_api,
            errback=self.failed,
            headers={"Referer": referer},
            meta={"site": site, "role": "listing", "api": call},
        )

    def parse_api(self, response: Response):
        """A CMS listing API's answer (dataproxy XML, gkmlpt JSON): its reports, its pages."""
        yield from self.capture(response)
        if response.status != 200 and "revisit_of" not in response.meta:
            return
        call, site = response.meta["api"], response.meta["site"]
        try:
            links, more = read_api(response.text, call)
        except (ValueError, AttributeError) as exc:  # not the JSON/XML the CMS sends
            self.logger.warning("unreadable %s listing %s: %s", call.kind, response.url, exc)
            return
        yield from self.follow(links, response, site, MAX_COLUMN_HOPS, set())
        for next_call in more:
            yield self.api_request(next_call, site, response.url)

    def parse_report(self, response: Response):
        """A report page: keep it, and fetch the files it attaches (the report may be one)."""
        yield from self.capture(response)
        site = response.meta["site"]
        if twin := cms.wap_fallback(response.status, response.url, response.meta.get("wap_twin")):
            yield self.request(twin, site, "report", self.parse_report, response.url)
            return
        if not self.readable(response):
            return
        scope = self.scope.of(site)
        for href in response.css("a::attr(href)").getall():
            url = response.urljoin(href.strip())
            url = cms.pdfjs_target(url) or url
            if ATTACHMENT.search(url) and scope.admits(url):
                yield self.request(url, site, "attachment", self.parse_file, response.url)

    def parse_file(self, response: Response):
        yield from self.capture(response)

    def failed(self, failure):
        """A fetch that produced no response (DNS, timeout, refused …): recorded as such.

        Quietly: the failures of a site are summed up in one line when the crawl ends
        (:mod:`crawler.scheduling.frontier`). A request cut short by a stopping crawl is not
        recorded at all, so that the next crawl fetches it."""
        request = failure.request
        if failure.check(AlreadyRecorded, CrawlStopped):
            return
        if failure.check(HostBlocked, HostUnreachable, ScopeRefused):
            error = failure.getErrorMessage()  # "blocked: …", "dns_failed: …", "refused: …"
            self.logger.debug("not fetched: %s: %s", request.url, error)
        else:
            error = f"{failure.type.__name__}: {failure.getErrorMessage()}"
            self.logger.info("fetch failed: %s: %s", request.url, error)
        # A hop of a redirect failed (or was refused): the capture is of the URL the site
        # linked, with every hop, as for a response.
        hops = request.meta.get("redirect_urls") or []
        yield CaptureItem(
            site_id=request.meta["site"]["site_id"],
            url=hops[0] if hops else request.url,
            final_url=request.url if hops else None,
            redirects=[*hops, request.url] if hops else None,
            status=None,
            method=request.method,
            content_type=None,
            headers=None,
            body=None,
            role=request.meta.get("role"),
            referer=_header(request.headers, "Referer"),
            error=error,
            fetched_at=_now(),
            revisit_of=None,
        )

    # -- helpers ---------------------------------------------------------------
    def capture(self, response: Response):
        """The response as a capture — unless the archive answered it (a resumed crawl)."""
        if "stored_capture" in response.meta:
            return
        request = response.request
        redirects = response.meta.get("redirect_urls") or []
        yield CaptureItem(
            site_id=response.meta["site"]["site_id"],
            url=redirects[0] if redirects else response.url,
            final_url=response.url,
            redirects=redirects + [response.url] if redirects else None,
            status=response.status,
            method=request.method if request else "GET",
            content_type=_header(response.headers, "Content-Type"),
            headers={
                k.decode("latin-1"): [v.decode("latin-1") for v in vs]
                for k, vs in response.headers.items()
            },
            body=response.body,
            role=response.meta.get("role"),
            referer=_header(request.headers, "Referer") if request else None,
            error=response.meta.get("blocked") or self.soft_404(response),
            fetched_at=_now(),
            revisit_of=response.meta.get("revisit_of"),
        )

    @staticmethod
    def readable(response: Response) -> bool:
        """A page whose links to follow: a 200, or a 304 answered with the stored bytes."""
        ok = response.status == 200 or "revisit_of" in response.meta
        return ok and isinstance(response, HtmlResponse | TextResponse)

    @staticmethod
    def soft_404(response: Response) -> str | None:
        """``soft_404`` when a 200 page says it does not exist (the archive keeps it anyway)."""
        if response.status != 200 or not isinstance(response, HtmlResponse):
            return None
        if not may_be_soft_404(response.text):  # most pages: decided without parsing
            return None
        title = response.css("title::text").get()
        # Only a short page can be a "not found" page by its text (saves reading long ones).
        text = (
            " ".join(response.css("body ::text").getall()[:50])
            if len(response.body) < 8192
            else None
        )
        return "soft_404: the page says it does not exist" if is_soft_404(title, text) else None

    def follow_move(self, response: Response, scope: SiteScope) -> None:
        """A start or column page redirected to another host (site consolidation): that
        host joins the site's scope. Every hop stays in the capture's ``redirects``."""
        redirected = bool(response.meta.get("redirect_urls"))
        if host := scope.take_move(response.url, response.meta.get("role"), redirected):
            self.logger.info("site %s moved to %s", scope.site_id, host)


def listing_request(call: cms.ApiRequest, **kwargs) -> scrapy.Request:
    """The request a CMS's script would make: a GET, a form POST (大汉) or a JSON POST
    (Epoint)."""
    if call.json is not None:
        return JsonRequest(call.url, data=call.json, **kwargs)
    if call.form is not None:
        return scrapy.FormRequest(call.url, formdata=call.form, **kwargs)
    return scrapy.Request(call.url, **kwargs)


def page_url(response: Response) -> str:
    """The page's URL with the fragment it was asked for (``…/gkmlpt/annualreport#2629``
    names a category), which the response's URL may have lost (a redirect)."""
    asked = response.request.url if response.request is not None else response.url
    if "#" in asked and "#" not in response.url:
        return response.url + asked[asked.index("#") :]
    return response.url


def more_urls(site: dict) -> list[str]:
    """Further start URLs of the same agency (registry column ``more_urls``): e.g. its
    folder in each year of a per-year 年报 tree. A row queued in Redis by a nianbao from
    before the one registry format carries it in ``extra``."""
    urls = site.get("more_urls") or json.loads(site.get("extra") or "{}").get("more_urls")
    return [u for u in (urls or "").split() if u.startswith("http")]


def _header(headers, name: str) -> str | None:
    value = headers.get(name)
    return value.decode("latin-1") if value else None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
