"""What one government page offers a crawler, read once with every adapter.

The report spider and discovery read pages the same way: the links a browser would show
(``<a href>``, ``onclick`` handlers, 大汉 XML records, script arrays), where a redirect
shell sends the browser, the other pages of a listing (TRS ``createPageHTML``, a
``totalPage``/``pageCount`` variable over ``column-index-N`` or ``/N.html`` pages), and the
listing requests a CMS would make from JS (大汉 POST and GET proxies, 广东 gkmlpt, 江苏
Epoint).
Everything here is a pure function of the page's text and URL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from parsel import Selector

from crawler.reading import cms
from crawler.reading.links import (
    is_report_title,
    js_page_count,
    names_report_column,
    numbered_pages,
    onclick_url,
    redirect_target,
    script_array_items,
    trs_pages,
)


@dataclass
class PageReading:
    links: list[cms.Link]
    redirect: str | None = None
    listing_pages: list[str] = field(default_factory=list)
    api: list[cms.ApiRequest] = field(default_factory=list)
    meta: dict[str, str] = field(default_factory=dict)
    title: str | None = None

    @property
    def report_links(self) -> list[cms.Link]:
        return [link for link in self.links if is_report_title(link.text)]


def _text_of(node: Selector) -> str:
    """An element's text nodes joined by spaces, as ``node.css("::text")`` gives them,
    read from the lxml tree straight (a page's every link asks: no selector per node)."""
    return " ".join(node.root.itertext())


def page_links(selector: Selector, text: str, url: str) -> list[cms.Link]:
    """Every link a reader of the page would see, with its text (and title)."""
    links = []
    for a in selector.css("a[href]"):
        href = a.attrib["href"].strip()
        if href.lower().startswith(("javascript:", "mailto:", "#")):
            href = onclick_url(href) or onclick_url(a.attrib.get("onclick")) or ""
            if not href:
                continue
        text_ = _text_of(a) + " " + a.attrib.get("title", "")
        links.append(cms.Link(urljoin(url, href), text_.strip()))
    for node in selector.css("[onclick]"):
        if node.root.tag == "a" and "href" in node.attrib:
            continue  # read above
        target = onclick_url(node.attrib.get("onclick"))
        if target:
            text_ = _text_of(node) + " " + node.attrib.get("title", "")
            links.append(cms.Link(urljoin(url, target), text_.strip()))
    links += cms.record_links(cms.hanweb_records(text), url)
    links += [cms.Link(urljoin(url, u), t) for t, u in script_array_items(text)]
    return links


def read_page(text: str, url: str) -> PageReading:
    """The links, redirect, listing pages, CMS requests and site metadata of one page."""
    selector = Selector(text=text)
    links = page_links(selector, text, url)
    reading = PageReading(links=links, redirect=redirect_target(text, url))
    reading.title = (selector.css("title::text").get() or "").strip() or None
    for name in ("SiteName", "SiteIDCode", "ColumnName"):
        value = selector.css(f'meta[name="{name}"]::attr(content)').get()
        if value:
            reading.meta[name] = value.strip()
    pages = trs_pages(text, url)
    if not pages and reading.report_links and (count := js_page_count(text)):
        pages = numbered_pages(url, count)
    reading.listing_pages = [p for p in pages if p != url]
    if params := cms.hanweb_params(text):
        reading.api.append(cms.hanweb_requests(url, params))
    reading.api += cms.hanweb_get_calls(text, url)
    reading.api += cms.epoint_calls(text, url)
    if sid := cms.gkmlpt_sid(text, url):
        reading.api += [
            cms.gkmlpt_request(url, cat, sid) for cat in gkmlpt_categories(text, url, links)
        ]
    return reading


def gkmlpt_categories(text: str, url: str, links: list[cms.Link]) -> list[str]:
    """The gkmlpt categories a page leads to: the one its own URL names (a start URL like
    ``…/gkmlpt/annualreport#2629``), those its links name, and those of its ``TREE`` whose
    name is the 年报 column's."""
    fragment = urlsplit(url).fragment
    found = [fragment] if fragment.isdigit() else []
    found += cms.gkmlpt_categories(links)
    found += [ident for ident, name in cms.gkmlpt_tree(text) if names_report_column(name)]
    return list(dict.fromkeys(found))


def read_api(text: str, call: cms.ApiRequest) -> tuple[list[cms.Link], list[cms.ApiRequest]]:
    """A CMS listing API's answer: its links, and the further requests it calls for."""
    if call.kind == "epoint-site":  # the script that names the site: no links, one POST
        return [], cms.epoint_after_script(text, call)
    if call.kind == "epoint":
        links, _ = cms.epoint_records(text, call.url)
        return links, cms.epoint_more(text, call)
    if call.kind == "hanweb":
        return cms.record_links(cms.hanweb_records(text), call.url), cms.hanweb_more(text, call)
    if call.kind == "hanweb-get":
        links = cms.record_links(cms.hanweb_records(text), call.url)
        return links, cms.hanweb_get_more(text, call)
    links, _ = cms.gkmlpt_articles(text, call.url)
    return links, cms.gkmlpt_more(text, call)


def detect_cms(text: str) -> str:
    """The CMS family a page shows (the registry's ``cms`` hint), or ""."""
    low = text.lower()
    if "gkmlpt" in low and cms.gkmlpt_sid(text):
        return "gkmlpt"
    if "lightfrontaction" in low or "webbuildercommon" in low or "ewb-front" in low:
        return "epoint"
    if "<datastore" in low or "jpage" in low or "dataproxy.jsp" in low:
        return "hanweb"
    if "createpagehtml" in low or "trs_editor" in low:
        return "trs"
    return ""
