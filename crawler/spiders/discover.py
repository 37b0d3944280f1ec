"""Discovery: from a portal's front page to its 年报 column(s), as registry rows.

``discover(urls)`` walks each portal the way a person would — 政府信息公开 area, then the
年报 column — through redirect shells, per-year trees (one folder per year, one per unit)
and every listing adapter of :mod:`crawler.reading.pages`, and returns what it found per portal:
the column, its CMS and listing pattern, its pages, the reports it lists, and one
registry row per agency (a county tree gives one per department, 街道 and 乡镇) in the
registry format, rows that ``nianbao crawl`` takes as they are (their agency and level as
the pages state them: :mod:`crawler.spiders.agency`). ``check(rows)`` walks an existing
registry the same way and says of each row whether its column is still there, moved or
vanished — or that its host could not be asked at all (``unreachable``).

Every portal is walked on its own, also when several share a host (359 rows of the
bundled registry do): each keeps its own set of the URLs it asked for, and Scrapy's
duplicate filter, which is crawl-wide, is off, so that one row's requests never stand in
for another's.

It runs on Scrapy, with the crawler's own settings and middlewares (robots.txt, Crawl-delay,
per-host backoff, JS challenges left alone, http↔https fallback, undeclared charsets), so a
portal is read exactly as the crawl will read it and just as politely; only the archive
middlewares and pipeline are off (discovery stores nothing). Each portal is bounded: at
most ``max_pages`` requests, at most ``MAX_HOPS`` links deep outside a tree.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

import scrapy
from scrapy.http import HtmlResponse, Response, TextResponse

from archive.store.registry import COLUMNS
from crawler.middlewares.charset import declared
from crawler.middlewares.hosts import HostUnreachable, failure_kind
from crawler.middlewares.politeness import HostBlocked
from crawler.reading import cms
from crawler.reading.links import (
    is_column_link,
    is_report_title,
    is_soft_404,
    squash,
)
from crawler.reading.pages import detect_cms, read_api, read_page
from crawler.reading.trees import (
    MAX_TREE_DEPTH,
    STRONG,
    agency_of_titles,
    qualified,
    tree_folders,
    unit_name,
    unit_slug,
    year_folders,
)
from crawler.scope import in_domains
from crawler.spiders.agency import agency_like, agency_of, level_of, site_owner, stated_names
from crawler.spiders.reports import listing_request, page_url

MAX_HOPS = 4  # front page → 信息公开 → 目录 → 年报 (redirect shells do not count)
DEFAULT_MAX_PAGES = 60


@dataclass
class Column:
    """A page that lists reports: a 年报 column, a page of one, or a unit's folder."""

    url: str
    via: list[str]
    named: bool  # reached by a link (or titled) naming the 年报 column
    cms: str = ""
    listing: str = "links"
    pages: int = 1
    reports: dict[str, str] = field(default_factory=dict)  # url → title
    encoding: str = ""
    year: int | None = None
    tree_root: str | None = None
    title: str | None = None  # the page's title
    said: str | None = None  # the text of the link that led to it

    def agency(self) -> str | None:
        """The agency whose reports these are: as their titles name it; a unit of a tree
        whose titles name no one is named by its folder (page title, link text)."""
        if self.tree_root:
            return unit_name(self.reports.values(), self.title, self.said)
        return agency_of_titles(self.reports.values())


@dataclass
class Portal:
    """One URL given to discovery (or one registry row being checked) and what it led to."""

    index: int
    url: str
    region_code: str | None = None
    row: dict | None = None  # when checking a registry row
    status: str = "not_found"
    message: str = ""
    site_name: str | None = None
    site_code: str | None = None
    requests: int = 0
    pending: int = 0
    columns: dict[str, Column] = field(default_factory=dict)
    start_final: str | None = None  # where the start page ended up (redirects, shells)
    start_failed: str | None = None
    tried_root: bool = False
    truncated: bool = False
    hosts: set[str] = field(default_factory=set)
    asked: set[str] = field(default_factory=set)  # its own requests (no crawl-wide filter)
    names: dict[str, list[str]] = field(default_factory=dict)  # url → agency names it states


class DiscoverSpider(scrapy.Spider):
    name = "discover"
    custom_settings = {
        "ITEM_PIPELINES": {},
        "DOWNLOADER_MIDDLEWARES": {
            "crawler.middlewares.incremental.ResumeMiddleware": None,
            "crawler.middlewares.incremental.ConditionalRequestMiddleware": None,
        },
    }

    def __init__(self, portals: list[Portal], max_pages: int = DEFAULT_MAX_PAGES, **kwargs):
        super().__init__(**kwargs)
        self.portals = portals
        self.max_pages = max_pages

    async def start(self):
        for portal in self.portals:
            portal.hosts.add(urlsplit(portal.url).hostname or "")
            request = self.page(portal, portal.url, via=[], kind="start", depth=0)
            if request is not None:
                yield request

    # -- requests ------------------------------------------------------------------
    def page(self, portal: Portal, url: str, via: list[str], kind: str, depth: int, **meta):
        if url in portal.asked:
            return None
        if portal.requests >= self.max_pages:
            portal.truncated = True
            return None
        portal.asked.add(url)
        portal.requests += 1
        portal.pending += 1
        return scrapy.Request(
            url,
            callback=self.parse,
            errback=self.failed,
            priority=meta.pop("priority", 0),
            meta={
                "portal": portal,
                "site": _site_of(portal),
                "via": via,
                "kind": kind,
                "hops": depth,
                **meta,
            },
            dont_filter=True,  # each portal keeps its own (``asked``): rows never interfere
        )

    def api(self, portal: Portal, call: cms.ApiRequest, column: Column):
        key = f"{call.url} {call.form} {call.json}"  # a POST's pages differ by body
        if key in portal.asked:
            return None
        if portal.requests >= self.max_pages:
            portal.truncated = True
            return None
        portal.asked.add(key)
        portal.requests += 1
        portal.pending += 1
        meta = {"portal": portal, "site": _site_of(portal), "api": call, "column": column}
        return listing_request(
            call, callback=self.parse_api, errback=self.failed, meta=meta, dont_filter=True
        )

    # -- callbacks ---------------------------------------------------------------
    def parse(self, response: Response):
        portal: Portal = response.meta["portal"]
        portal.pending -= 1
        yield from (r for r in self._read(portal, response) if r is not None)
        yield from self._settle(portal)

    def _read(self, portal: Portal, response: Response):
        meta = response.meta
        kind, via, depth = meta["kind"], meta["via"], meta["hops"]
        if kind == "start":
            portal.start_final = response.url
        if meta.get("blocked"):
            self._fail(portal, kind, "blocked", f"{response.url}: {meta['blocked']}")
            return
        if response.status != 200 or not isinstance(response, HtmlResponse | TextResponse):
            self._fail(portal, kind, "http_error", f"{response.url}: HTTP {response.status}")
            return
        reading = read_page(response.text, page_url(response))
        if kind == "start":
            portal.site_name = portal.site_name or reading.meta.get("SiteName")
            portal.site_code = portal.site_code or reading.meta.get("SiteIDCode")
        if isinstance(response, HtmlResponse):
            portal.names[response.url] = stated_names(
                response, reading.title, reading.meta.get("SiteName")
            )
        body = (
            " ".join(response.css("body ::text").getall()[:50])
            if len(response.body) < 8192
            else None
        )
        if is_soft_404(reading.title, body):
            self._fail(
                portal, kind, "http_error", f"{response.url}: a page saying it does not exist"
            )
            return
        here = via + [response.url]
        portal.hosts.add(urlsplit(response.url).hostname or "")
        if reading.redirect:
            if kind == "start":
                portal.start_final = reading.redirect
            if self.allowed(portal, reading.redirect):
                yield self.page(portal, reading.redirect, here, kind, depth, **_carry(meta))
            return
        reports = reading.report_links
        named = bool(
            meta.get("named")
            or STRONG.search(squash(reading.title) + squash(reading.meta.get("ColumnName")))
        )
        if reports or reading.api:
            column = self.column(portal, response, reading, here, named, meta)
            for link in reports:
                column.reports.setdefault(cms.canonical_url(link.url), squash(link.text))
            for call in reading.api:
                if (request := self.api(portal, call, column)) is not None:
                    yield request
            if kind == "tree" or (reports and named and kind != "year"):
                return  # a unit's folder or the column itself: nothing further to look for
        yield from self.explore(portal, reading, here, kind, depth, named, meta)

    def explore(self, portal, reading, here, kind, depth, named, meta):
        """Links towards the column: 年报 links first, then the 信息公开 area; the year
        folders of a tree; the category and unit folders inside a year."""
        url = here[-1]
        years = year_folders(reading.links, url)
        if kind == "year" or kind == "tree":
            if depth >= MAX_TREE_DEPTH:
                return
            for link in tree_folders(reading.links, url):
                yield self.page(
                    portal,
                    link.url,
                    here,
                    "tree",
                    depth + 1,
                    year=meta.get("year"),
                    root=meta.get("root"),
                    named=True,
                    said=link.text,
                )
            return
        if named and len(years) >= 2:  # a per-year tree
            for link, year in years:
                yield self.page(
                    portal,
                    link.url,
                    here,
                    "year",
                    1,
                    year=year,
                    root=url,
                    named=True,
                    said=link.text,
                )
            return
        if depth >= MAX_HOPS:
            return
        seen = set()
        for link in reading.links:
            target = link.url
            if target in seen or not target.startswith("http") or not self.allowed(portal, target):
                continue
            seen.add(target)
            if is_report_title(link.text) or not is_column_link(link.text, target):
                continue
            strong = bool(STRONG.search(squash(link.text)) or STRONG.search(urlsplit(target).path))
            yield self.page(
                portal,
                target,
                here,
                "column",
                depth + 1,
                named=strong,
                priority=20 if strong else 10,
            )

    def column(self, portal, response, reading, here, named, meta) -> Column:
        url = response.url
        if url not in portal.columns:
            portal.columns[url] = Column(
                url=url,
                via=here[:-1],
                named=named,
                cms=detect_cms(response.text),
                listing=_listing_kind(response.text, url, reading),
                pages=1 + len(reading.listing_pages),
                encoding=""
                if declared(response) or response.encoding == "utf-8"
                else response.encoding,
                year=meta.get("year"),
                tree_root=meta.get("root"),
                title=reading.title,
                said=meta.get("said"),
            )
        return portal.columns[url]

    def parse_api(self, response: Response):
        portal: Portal = response.meta["portal"]
        portal.pending -= 1
        column: Column = response.meta["column"]
        call: cms.ApiRequest = response.meta["api"]
        if response.status == 200:
            try:
                links, more = read_api(response.text, call)
            except (ValueError, AttributeError):
                links, more = [], []
            for link in links:
                if is_report_title(link.text):
                    column.reports.setdefault(cms.canonical_url(link.url), squash(link.text))
            # Discovery reads one page of a listing; a step towards it (Epoint's site script
            # before its first POST) is taken.
            pages = [c for c in more if c.kind == call.kind]
            for step in (c for c in more if c.kind != call.kind):
                if (request := self.api(portal, step, column)) is not None:
                    yield request
            column.pages = max(column.pages, 1 + len(pages))
            if call.kind.startswith("epoint"):
                column.listing = "epoint"
            elif call.kind == "hanweb-get" and "morecolumndataproxy" in call.url:
                column.listing = "hanweb-more"
            elif call.kind == "hanweb-get":
                column.listing = "hanweb-get"
            else:
                column.listing = call.kind
        yield from self._settle(portal)

    def failed(self, failure):
        request = failure.request
        portal: Portal = request.meta["portal"]
        portal.pending -= 1
        kind = request.meta.get("kind", "api")
        message = failure.getErrorMessage()
        if "Forbidden by robots.txt" in message:
            self._fail(portal, kind, "disallowed", f"{request.url}: robots.txt disallows it")
        elif failure.check(HostBlocked):
            self._fail(portal, kind, "blocked", f"{request.url}: {message}")
        elif failure.check(HostUnreachable):  # "dns_failed: …": the host is dead for the run
            self._fail(portal, kind, "unreachable", f"{request.url}: {message}")
        else:  # the host could not be asked: DNS, refused, timeout, TLS, a broken connection
            kind_of = failure_kind(failure.value)
            self._fail(portal, kind, "unreachable", f"{request.url}: {kind_of}: {message}")
        yield from self._settle(portal)

    # -- bookkeeping ------------------------------------------------------------------
    def _fail(self, portal: Portal, kind: str, status: str, message: str) -> None:
        """How the start page failed: ``unreachable`` (the host could not be asked),
        ``http_error`` (it answered an error, or a page saying it does not exist),
        ``disallowed``, ``blocked``. The site's root, asked when the start led nowhere,
        only adds its reason to the message: the host did answer the start URL."""
        message = " ".join(message.split())  # one line, whatever the network said
        if kind == "start":
            portal.start_failed = status
            portal.status = "not_found" if status == "http_error" else status
            portal.message = message
        elif kind == "root" and not portal.columns:
            portal.message = f"{portal.message}; {message}" if portal.message else message

    def _settle(self, portal: Portal):
        """When a checked row's start URL led nowhere, look again from the site's root —
        unless its host could not be asked, or refused to be."""
        if portal.pending > 0 or portal.tried_root or portal.row is None:
            return
        if useful_columns(portal) and portal.start_failed is None:
            return
        if portal.start_failed in ("disallowed", "blocked", "unreachable"):
            return
        portal.tried_root = True
        parts = urlsplit(portal.start_final or portal.url)
        root = urlunsplit((parts.scheme, parts.netloc, "/", "", ""))
        request = self.page(portal, root, [], "root", 0)
        if request is not None:
            yield request

    def allowed(self, portal: Portal, url: str) -> bool:
        """Links are followed to the hosts the portal has led to (and below them); what
        its requests may reach is the network scope of its row (:func:`_site_of`)."""
        return in_domains(url, portal.hosts)


def _site_of(portal: Portal) -> dict:
    """The registry-like row the crawler's middlewares read from ``meta["site"]``: the portal
    as a site whose domains are the hosts it has led to (the row's, when checking)."""
    row = portal.row or {}
    hosts = sorted(portal.hosts | set((row.get("allowed_domains") or "").split()))
    return {
        "site_id": row.get("site_id") or f"discover-{portal.index}",
        "start_url": portal.url,
        "allowed_domains": " ".join(h for h in hosts if h),
        "encoding": row.get("encoding"),
    }


def _carry(meta: dict) -> dict:
    return {k: meta[k] for k in ("year", "root", "named", "said") if k in meta}


def _listing_kind(text: str, url: str, reading) -> str:
    if reading.api:
        return "epoint" if reading.api[0].kind.startswith("epoint") else reading.api[0].kind
    if "createPageHTML" in text:
        return "trs"
    if "column-index-" in url:
        return "column-index"
    if re.search(r"/\d+\.s?html?$", urlsplit(url).path) and reading.listing_pages:
        return "numbered"
    if re.search(r"\bvar\s+\w+\s*=\s*\[\s*\{", text):
        return "script-array"
    return "links"


# -- results ------------------------------------------------------------------------
def useful_columns(portal: Portal) -> list[Column]:
    """The 年报 columns a portal led to: named ones with reports, not a page that merely
    shows a few latest items (a front page), unless nothing better was found."""
    found = [c for c in portal.columns.values() if c.reports]
    named = [c for c in found if c.named or c.tree_root]
    chosen = named or found
    # a column whose reports all appear in a bigger one is a page of it, not another column
    keep: list[Column] = []
    for c in sorted(chosen, key=lambda c: -len(c.reports)):
        if c.tree_root or not any(
            set(c.reports) <= set(k.reports) for k in keep if not k.tree_root
        ):
            keep.append(c)
    return keep


def finish(portal: Portal) -> Portal:
    cols = useful_columns(portal)
    if cols:
        portal.status = "found"
        portal.message = (
            f"{len(cols)} column(s), {sum(len(c.reports) for c in cols)} reports seen, "
            f"{portal.requests} requests" + (" (page budget reached)" if portal.truncated else "")
        )
    elif portal.status == "not_found" and not portal.message:
        portal.message = "no 年报 column found" + (
            f" within {portal.requests} pages (page budget reached)" if portal.truncated else ""
        )
    return portal


def registry_rows(portal: Portal, region_lookup=None, today: str | None = None) -> list[dict]:
    """Registry rows for what a portal led to: one per column, or one per unit of a
    per-year tree (its newest folder as start URL, the others as ``more_urls``)."""
    cols = useful_columns(portal)
    if not cols:
        return []
    code = region_code_of(portal, cols, region_lookup)
    host = _host_slug(portal.start_final or portal.url)
    rows: list[dict] = []
    units: dict[str, list[Column]] = {}
    plain: list[Column] = []
    portal_agency = portal.site_name or _most_common([c.agency() for c in cols]) or ""
    for c in cols:
        if c.tree_root:  # a unit as its county names it (区财政局 → 通顺区财政局)
            agency = c.agency()
            units.setdefault(qualified(agency, portal_agency) if agency else "", []).append(c)
        else:
            plain.append(c)
    # when neither the titles nor the pages name one: the portal's name, as before
    fallback = site_owner(portal.site_name) or _most_common([c.agency() for c in cols]) or ""
    for n, c in enumerate(plain):
        agency = agency_of(c.agency(), evidence(portal, c)) or fallback
        site_id = host + (f"-{n + 1}" if n else "")
        rows.append(_row(portal, c, [], agency, code, site_id, today))
    for titled, group in sorted(units.items()):
        group.sort(key=lambda c: c.year or 0, reverse=True)
        agency = agency_of(titled or None, evidence(portal, group[0])) or fallback
        rows.append(
            _row(portal, group[0], group[1:], agency, code, f"{host}-{unit_slug(agency)}", today)
        )
    return rows


def evidence(portal: Portal, column: Column) -> list[str]:
    """What the pages state of a column's agency, nearest first: the column page, the
    pages on the way to it (last first), the portal's own name."""
    names: list[str] = []
    for url in [column.url, *reversed(column.via)]:
        names += portal.names.get(url, [])
    names.append(site_owner(portal.site_name))
    return [n for n in dict.fromkeys(names) if agency_like(n)]


def _row(portal, column, others, agency, code, site_id, today) -> dict:
    from archive.store.regions import describe

    hosts = sorted(
        {urlsplit(c.url).hostname for c in [column, *others] if urlsplit(c.url).hostname}
    )
    region = describe(code).get("full_name") if code else None
    row = {
        "site_id": site_id,
        "agency": agency,
        "region_code": code or "",
        "region": region or "",
        "level": level_of(agency, code),
        "start_url": column.url,
        "allowed_domains": " ".join(hosts),
        "cms": column.cms,
        "start_kind": "column",
        "encoding": column.encoding,
        "more_urls": " ".join(c.url for c in others),
        "column_url": column.tree_root or column.url,
        "listing": "year-tree/" + column.listing if column.tree_root else column.listing,
        "pages": str(column.pages + sum(c.pages for c in others)),
        "reports_seen": str(len(column.reports) + sum(len(c.reports) for c in others)),
        "discovered_at": today or "",
        "discovered_from": portal.url,
        "found_via": " > ".join(column.via),
    }
    return {c: row.get(c, "") for c in COLUMNS}


def region_code_of(portal: Portal, cols: list[Column], lookup=None) -> str | None:
    """The portal's 行政区划代码: given, else its SiteIDCode's first six digits, else the
    region its agency names (looked up in the shipped code list)."""
    if portal.region_code:
        return portal.region_code
    if portal.site_code and re.fullmatch(r"\d{10}", portal.site_code):
        return portal.site_code[:6]
    names = [portal.site_name] + [c.agency() for c in cols]
    if lookup:
        for name in names:
            if name and (code := lookup(name)):
                return code
    return None


def region_by_name(name: str) -> str | None:
    """A county-level code whose name starts the agency's name, if exactly one does."""
    from archive.store.regions import code_names

    hits = {
        code
        for code, region in code_names().items()
        if len(region) >= 2
        and region not in ("市辖区", "县")
        and name.startswith(region)
        and not code.endswith("0000")
    }
    return hits.pop() if len(hits) == 1 else None


def _most_common(values):
    counted = Counter(v for v in values if v)
    return counted.most_common(1)[0][0] if counted else None


def _host_slug(url: str) -> str:
    host = (urlsplit(url).hostname or "site").lower()
    host = re.sub(r"^www\.", "", host)
    host = re.sub(r"\.gov\.cn$", "", host)
    return re.sub(r"[^a-z0-9]+", "-", host).strip("-")


# -- checking a registry ------------------------------------------------------------
def check_status(portal: Portal) -> tuple[str, str, str]:
    """(status, column URL found, message) for a registry row: ``ok``, ``moved``,
    ``vanished``, ``unreachable`` (its host could not be asked: DNS, refused, timeout,
    TLS), ``disallowed``, ``blocked``."""
    if portal.row is None:
        raise ValueError(f"{portal.url}: check_status is for portals made from registry rows")
    cols = useful_columns(portal)
    start = portal.row["start_url"]
    if portal.start_failed in ("disallowed", "blocked", "unreachable"):
        return portal.start_failed, "", portal.message
    if not cols:
        return (
            "vanished",
            "",
            portal.message or "no 年报 column found from the row or its site's root",
        )
    best = max(cols, key=lambda c: len(c.reports))
    redirected = portal.start_final and _norm(portal.start_final) != _norm(start)
    from_root = portal.start_failed is not None or all(
        c.via[:1] and _norm(c.via[0]) != _norm(start) and _norm(c.url) != _norm(start) for c in cols
    )
    if redirected or from_root:
        why = "the start URL redirects" if redirected else "the start URL no longer leads to it"
        return "moved", best.url, f"{why}; the column is now at {best.url}"
    return "ok", best.url, f"{len(best.reports)} reports listed"


def _norm(url: str) -> str:
    parts = urlsplit(url)
    path = re.sub(r"/(index|default)\.s?html?$", "/", parts.path) or "/"
    return f"{parts.netloc}{path}"


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# -- running ----------------------------------------------------------------------------
# Its own report is one status line per portal (Scrapy's log: -s LOG_LEVEL=INFO). Discovery reads
# a handful of pages per portal: no AutoThrottle ramp-up is needed, but the
# crawler's delay, robots.txt and backoff stay (``-s`` overrides them, as for a crawl).
DISCOVER_SETTINGS = {"LOG_LEVEL": "CRITICAL", "DEPTH_LIMIT": MAX_HOPS + MAX_TREE_DEPTH + 4}


def run(
    portals: list[Portal],
    max_pages: int = DEFAULT_MAX_PAGES,
    overrides: dict | None = None,
    on_stats: Callable[[dict], None] | None = None,
):
    """Walk every portal (one Scrapy run; a process can run it once) and return them.

    ``on_stats`` hears Scrapy's stats as they stand, every half second (for progress)."""
    from scrapy.crawler import CrawlerProcess
    from scrapy.settings import Settings

    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    for key, value in {**DISCOVER_SETTINGS, **(overrides or {})}.items():
        settings.set(key, value, priority="cmdline")
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(DiscoverSpider)
    process.crawl(crawler, portals=portals, max_pages=max_pages)
    if on_stats is not None:
        from twisted.internet import task  # after CrawlerProcess installed its reactor

        def stats() -> dict:
            found = getattr(crawler, "stats", None)
            return found.get_stats() if found is not None else {}

        task.LoopingCall(lambda: on_stats(stats())).start(0.5, now=False)
    process.start()
    return [finish(p) for p in portals]


def discover(
    urls: list[str],
    region_code: str | None = None,
    max_pages: int = DEFAULT_MAX_PAGES,
    overrides: dict | None = None,
) -> list[Portal]:
    """Find the 年报 column(s) of each portal URL; ``registry_rows`` turns each into rows."""
    portals = [Portal(i, u, region_code=region_code) for i, u in enumerate(urls)]
    return run(portals, max_pages, overrides)


def check(
    rows: list[dict], max_pages: int = DEFAULT_MAX_PAGES, overrides: dict | None = None
) -> list[Portal]:
    """Walk each registry row from its start URL (and, when that leads nowhere, from its
    site's root); ``check_status`` says whether its column is where the row says."""
    portals = [
        Portal(i, r["start_url"], region_code=r.get("region_code"), row=r)
        for i, r in enumerate(rows)
    ]
    return run(portals, max_pages, overrides)
