"""CMS adapters: how each family of government site hides its listings.

Each adapter is a few pure functions over page text, so it is tested without a
crawl; the spider calls them on every listing and follows what they return.

* Hanweb / 大汉 (jpage): the first page is XML inside ``<script type="text/xml">``
  (records in CDATA, invisible to an HTML parser); further pages come from
  ``dataproxy.jsp`` by POST, with ``columnid``/``unitid`` read from the page, at the
  path the page itself names (``/module/web/jpage/``, or ``/module/jpage/`` on older
  sites). Pages without a datastore load their list by GET from a proxy URL written in
  their script: ``dataproxy.jsp?page=1&…&columnid=…`` or the "load more" variant
  ``morecolumndataproxy.jsp?page=1&…&columnid=A,B,C`` (several columns at once).
* 广东 ``gkmlpt``: listings come from ``{prefix}/gkmlpt/api/all/{category}?page=N&sid=SID``
  as JSON, beside the platform's pages (at the root or under a department's path), with
  ``SID`` from the page's JS and the category from a link or URL fragment or the page's
  ``TREE``.
* 江苏 Epoint ``govInfoPub.html?categorynum=…``: listings come by a JSON POST to
  ``{projectName}/rest/lightfrontaction/getgovinfolist``, with ``siteGuid`` and
  ``projectName`` from ``var siteInfo`` (in the page or ``/js/webBuilderCommon.js``).
* PDF.js viewers: ``…/viewer.html?file=URL`` shows a file; the file is what to keep.
* ``_wap`` twins: the mobile copy of an article is the same article; the desktop URL is
  asked for, and the ``_wap`` one only when the desktop copy does not exist.

TRS ``createPageHTML`` and generic 下一页 / ``?page=N`` links are in :mod:`crawler.reading.links`.
"""

from __future__ import annotations

import html as htmlmod
import json
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit, urlunsplit

from parsel import Selector


@dataclass(frozen=True)
class Link:
    url: str
    text: str


@dataclass(frozen=True)
class ApiRequest:
    """A listing request a CMS makes from JS: its URL, and its form when it is a POST."""

    url: str
    kind: str  # "hanweb" | "hanweb-get" | "gkmlpt" | "epoint-site" | "epoint"
    form: dict[str, str] | None = None
    context: dict = field(default_factory=dict, hash=False, compare=False)
    json: dict | None = field(default=None, hash=False, compare=False)  # a JSON POST's body

    @property
    def method(self) -> str:
        return "POST" if self.form is not None or self.json is not None else "GET"


# -- Hanweb / 大汉 ------------------------------------------------------------------
_XML_SCRIPT = re.compile(r"<script[^>]*type=[\"']text/xml[\"'][^>]*>(.*?)</script>", re.S | re.I)
_RECORD = re.compile(r"<record>\s*<!\[CDATA\[(.*?)\]\]>\s*</record>", re.S | re.I)
_TOTAL = re.compile(r"<totalrecord>\s*(\d+)\s*</totalrecord>", re.I)
_HANWEB_PARAM = r"(?:[?&;]|\b){name}['\"]?\s*(?:=|:)\s*['\"]?([^&'\"\s,;}}<]+)"
HANWEB_PROXY = "/module/web/jpage/dataproxy.jsp"
# jpage asks for three pages of records per request; this asks for more at once.
HANWEB_GROUP = 60
# However many pages a listing API claims, no more are asked for (a bogus total).
MAX_API_PAGES = 500


def hanweb_records(text: str) -> list[str]:
    """The HTML fragments of the records in a datastore (a page's script, or dataproxy's XML)."""
    blocks = _XML_SCRIPT.findall(text) or ([text] if "<datastore" in text.lower() else [])
    return [rec for block in blocks for rec in _RECORD.findall(block)]


def record_links(fragments: list[str], base_url: str) -> list[Link]:
    links = []
    for fragment in fragments:
        for a in Selector(text=fragment).css("a[href]"):
            text = " ".join(a.css("::text").getall()) + " " + (a.attrib.get("title") or "")
            links.append(Link(urljoin(base_url, a.attrib["href"].strip()), text.strip()))
    return links


def hanweb_params(text: str) -> dict[str, str] | None:
    """The jpage parameters of a column page: columnid and unitid at least, else None."""
    if "<datastore" not in text.lower():
        return None
    found = {}
    for name in ("columnid", "unitid", "webid", "webname", "appid", "perpage", "path"):
        m = re.search(_HANWEB_PARAM.format(name=name), text, re.I)
        if m:
            found[name] = htmlmod.unescape(m.group(1))
    if "columnid" not in found or "unitid" not in found:
        return None
    found["proxy"] = hanweb_proxy(text)
    return found


# GET listings: a page without a datastore whose script fetches its list from a proxy URL
# (``…/dataproxy.jsp?page=1&…`` or ``…/morecolumndataproxy.jsp?page=1&…``), written in one
# string or built by concatenation (``'…jsp?page=' + page + '&appid=1…'``).
_GET_PROXY = re.compile(
    r"""(['"])((?:https?://[^'"\s/]+)?/[\w/.-]*?dataproxy\.jsp\?[^'"\s<>]*)\1"""
    r"""((?:\s*\+\s*[\w.$]+\s*\+\s*(['"])[^'"\s<>]*\4)*)""",
    re.I,
)
_CONCAT_PART = re.compile(r"""\+\s*[\w.$]+\s*\+\s*(['"])([^'"\s<>]*)\1""")
_PAGE_PARAM = re.compile(r"([?&])page=\d*")


def hanweb_get_calls(text: str, page_url: str) -> list[ApiRequest]:
    """The first GET of every proxy URL the page's script names (page 1), when the page
    carries no datastore of its own (a datastore page is read by POST, as jpage does)."""
    if "<datastore" in text.lower():
        return []
    calls, seen = [], set()
    for m in _GET_PROXY.finditer(text):
        # each concatenated variable stands for the page number: page 1
        raw = m.group(2) + "".join("1" + part for _, part in _CONCAT_PART.findall(m.group(3)))
        if "columnid=" not in raw:
            continue
        url = urljoin(page_url, htmlmod.unescape(raw))
        if "page=" not in url:
            url += "&page=1"
        url = _PAGE_PARAM.sub(r"\1page=1", url, count=1)
        if url not in seen:
            seen.add(url)
            calls.append(ApiRequest(url, "hanweb-get", None, {"page": 1, "template": url}))
    return calls


_TOTAL_PAGES = re.compile(r"<totalpage>\s*(\d+)\s*</totalpage>", re.I)


def hanweb_get_more(xml: str, request: ApiRequest, cap: int = 500) -> list[ApiRequest]:
    """After the first GET: pages 2 … ``<totalpage>`` of the same proxy URL."""
    ctx = request.context
    m = _TOTAL_PAGES.search(xml)
    if not m or ctx.get("page") != 1:
        return []
    template = ctx["template"]
    return [
        ApiRequest(
            _PAGE_PARAM.sub(rf"\g<1>page={n}", template, count=1),
            "hanweb-get",
            None,
            {"page": n, "template": template},
        )
        for n in range(2, min(int(m.group(1)), cap) + 1)
    ]


_PROXY_DIR = re.compile(r"(/module/(?:[\w-]+/)*?jpage/)(?:dataproxy\.jsp|jpage\.js)", re.I)


def hanweb_proxy(text: str) -> str:
    """Where this page's jpage lives: the directory its nextgroup link or its jpage.js
    names (``/module/web/jpage/`` on most sites, ``/module/jpage/`` on older ones)."""
    m = _PROXY_DIR.search(text)
    return (m.group(1) if m else "/module/web/jpage/") + "dataproxy.jsp"


def hanweb_requests(
    page_url: str, params: dict[str, str], start: int = 1, group: int = HANWEB_GROUP
) -> ApiRequest:
    """The dataproxy POST for records ``start`` … ``start + group - 1``."""
    query = urlencode(
        {
            "startrecord": start,
            "endrecord": start + group - 1,
            "perpage": params.get("perpage", "20"),
        }
    )
    form = {
        "col": "1",
        "appid": params.get("appid", "1"),
        "webid": params.get("webid", "1"),
        "path": params.get("path", "/"),
        "columnid": params["columnid"],
        "sourceContentType": "1",
        "unitid": params["unitid"],
        "webname": params.get("webname", ""),
        "permissiontype": "0",
    }
    return ApiRequest(
        urljoin(page_url, params.get("proxy") or HANWEB_PROXY) + "?" + query,
        "hanweb",
        form,
        {"params": params, "page_url": page_url, "start": start, "group": group},
    )


def hanweb_more(xml: str, request: ApiRequest) -> list[ApiRequest]:
    """After the first dataproxy answer: the requests for every further group of records."""
    m = _TOTAL.search(xml)
    ctx = request.context
    if not m or ctx.get("start") != 1:
        return []
    total, group = int(m.group(1)), ctx["group"]
    return [
        hanweb_requests(ctx["page_url"], ctx["params"], start, group)
        for start in range(1 + group, total + 1, group)
    ]


# -- 广东 gkmlpt ---------------------------------------------------------------------
# The platform lives at a site's root (``/gkmlpt/index``) or under a department's path on a
# city's host (东莞 ``www.dg.gov.cn/dghlz/gkmlpt/index#2972``, 阳江 ``/yjzjj/gkmlpt/``): its
# API is beside its pages, ``{prefix}/gkmlpt/api/all/{category}?page=N&sid=SID``. The page
# names its categories in ``window._CONFIG``'s ``TREE`` (its navigation is drawn from it, so
# the HTML may link none); a link or a start URL names one in its fragment
# (``annualreport#2629``).
_SID = re.compile(r"\bSID\s*[:=]\s*['\"](\w+)['\"]")
_TREE = re.compile(r"\bTREE\s*[:=]\s*(?=\[)")
_GKMLPT_PREFIX = re.compile(r"^(.*?/)gkmlpt(?:/|$)")
_NODE_NAME = ("name", "title", "text", "label")
_NODE_CHILDREN = ("children", "child", "nodes", "sub")


def gkmlpt_sid(text: str, url: str = "") -> str | None:
    """The site id a gkmlpt page's ``_CONFIG`` names (the page's script, or its URL, must
    say gkmlpt: a bare ``SID`` elsewhere is someone else's)."""
    if "gkmlpt" not in text and "/gkmlpt/" not in urlsplit(url).path:
        return None
    m = _SID.search(text)
    return m.group(1) if m else None


def gkmlpt_categories(links: list[Link]) -> list[str]:
    """Category ids of links like ``/gkmlpt/index#2811`` (the fragment names the category)."""
    cats = []
    for link in links:
        parts = urlsplit(link.url)
        if "gkmlpt" in parts.path and parts.fragment.isdigit() and parts.fragment not in cats:
            cats.append(parts.fragment)
    return cats


def gkmlpt_tree(text: str) -> list[tuple[str, str]]:
    """(category id, name) of every node of the page's ``TREE`` (``window._CONFIG = {…,
    TREE: [{"id": 2629, "name": "政府信息公开年报", "children": […]}]}``), depth first."""
    nodes: list[tuple[str, str]] = []
    decoder = json.JSONDecoder()
    for m in _TREE.finditer(text):
        try:
            tree, _ = decoder.raw_decode(text, m.end())
        except ValueError:
            continue
        _walk_tree(tree, nodes, 0)
    return nodes


def _walk_tree(node: object, into: list[tuple[str, str]], depth: int) -> None:
    if depth > 12:  # a category tree is a few levels deep; deeper is not one
        return
    if isinstance(node, list):
        for child in node:
            _walk_tree(child, into, depth + 1)
        return
    if not isinstance(node, dict):
        return
    ident = node.get("id")
    name = next((node[k] for k in _NODE_NAME if isinstance(node.get(k), str)), "")
    if isinstance(ident, int | str) and str(ident).isdigit() and name:
        into.append((str(ident), name.strip()))
    for key in _NODE_CHILDREN:
        if isinstance(node.get(key), list):
            _walk_tree(node[key], into, depth + 1)


def gkmlpt_prefix(page_url: str) -> str:
    """Where a gkmlpt page's platform lives: the path before its ``gkmlpt/`` (``/`` at a
    site's root, ``/dghlz/`` under a department of 东莞)."""
    m = _GKMLPT_PREFIX.match(urlsplit(page_url).path)
    return m.group(1) if m else "/"


def gkmlpt_request(page_url: str, category: str, sid: str, page: int = 1) -> ApiRequest:
    api = f"{gkmlpt_prefix(page_url)}gkmlpt/api/all/{category}?"
    url = urljoin(page_url, api + urlencode({"page": page, "sid": sid}))
    return ApiRequest(
        url, "gkmlpt", None, {"category": category, "sid": sid, "page": page, "page_url": page_url}
    )


def gkmlpt_articles(text: str, api_url: str) -> tuple[list[Link], int]:
    """The articles of one API page, and the total number of articles in the category."""
    data = json.loads(text)
    articles = data.get("articles") or []
    links = [
        Link(urljoin(api_url, a.get("url") or a.get("post_url") or ""), a.get("title") or "")
        for a in articles
        if a.get("url") or a.get("post_url")
    ]
    return links, int(data.get("total") or 0)


def gkmlpt_more(text: str, request: ApiRequest) -> list[ApiRequest]:
    ctx = request.context
    if ctx.get("page") != 1:
        return []
    articles, total = gkmlpt_articles(text, request.url)
    if not articles:
        return []
    pages = min(-(-total // len(articles)), MAX_API_PAGES)
    return [
        gkmlpt_request(ctx["page_url"], ctx["category"], ctx["sid"], n) for n in range(2, pages + 1)
    ]


# -- 江苏 Epoint (新点) 政府信息公开 ----------------------------------------------------
# ``/dynamic/zwgk/govInfoPub.html?categorynum=003008`` is an empty page whose script POSTs
# JSON ``{deptcode, categorynum, pageIndex, pageSize, siteGuid}`` (pageIndex from 0) to
# ``{projectName}/rest/lightfrontaction/getgovinfolist`` and draws ``custom.data`` (title,
# infourl, infodate) of ``custom.total``. ``siteGuid`` and ``projectName`` (``/EWB-FRONT``)
# are in ``var siteInfo = {…}``, in the page or in the script it loads
# (``/js/webBuilderCommon.js``; ``/js/ajaxReq.js`` on some). The archive keys captures by
# URL and keeps no request body, so each POST names its category and page in its query.
EPOINT_LIST = "/rest/lightfrontaction/getgovinfolist"
EPOINT_PAGE_SIZE = 20
_SITE_INFO = re.compile(r"\bsiteInfo\s*=\s*(?=\{)")
_EPOINT_SCRIPT = re.compile(
    r"<script[^>]+src\s*=\s*['\"]([^'\"]*(?:webBuilderCommon|ajaxReq)\.js[^'\"]*)['\"]", re.I
)
_EPOINT_MARK = re.compile(r"lightfrontaction|webBuilderCommon|siteInfo\.siteGuid|EWB-FRONT", re.I)


def epoint_site_info(text: str) -> dict[str, str] | None:
    """``siteGuid`` and ``projectName`` of the ``var siteInfo = {…}`` a page or script sets."""
    decoder = json.JSONDecoder()
    for m in _SITE_INFO.finditer(text):
        try:
            info, _ = decoder.raw_decode(text, m.end())
        except ValueError:
            continue
        if isinstance(info, dict) and isinstance(info.get("siteGuid"), str):
            project = info.get("projectName")
            return {
                "siteGuid": info["siteGuid"],
                "projectName": project if isinstance(project, str) else "/EWB-FRONT",
            }
    return None


def epoint_calls(text: str, page_url: str) -> list[ApiRequest]:
    """The first listing request of an Epoint 信息公开 page that names its category in its
    URL: the POST itself when the page sets ``siteInfo``, else the GET of the script that
    does (read by :func:`epoint_after_script`)."""
    query = parse_qs(urlsplit(page_url).query)
    category = (query.get("categorynum") or query.get("categoryNum") or [""])[0]
    if not category.isdigit() or not _EPOINT_MARK.search(text):
        return []
    where = {"categorynum": category, "deptcode": (query.get("deptcode") or [""])[0]}
    if info := epoint_site_info(text):
        return [epoint_request(page_url, info, where)]
    scripts = _EPOINT_SCRIPT.findall(text)
    if not scripts:
        return []
    script = urljoin(page_url, htmlmod.unescape(scripts[0]))
    return [ApiRequest(script, "epoint-site", None, {"page_url": page_url, **where})]


def epoint_request(
    page_url: str, info: dict[str, str], where: dict[str, str], page: int = 0
) -> ApiRequest:
    """The POST for page ``page`` (from 0) of one category."""
    shown = {k: v for k, v in where.items() if v}
    url = urljoin(page_url, info["projectName"].rstrip("/") + EPOINT_LIST)
    url += "?" + urlencode({**shown, "pageIndex": page})
    body = {
        "deptcode": where.get("deptcode", ""),
        "categorynum": where["categorynum"],
        "pageIndex": page,
        "pageSize": EPOINT_PAGE_SIZE,
        "siteGuid": info["siteGuid"],
    }
    return ApiRequest(
        url,
        "epoint",
        None,
        {"page_url": page_url, "info": info, "where": where, "page": page},
        json=body,
    )


def epoint_after_script(text: str, request: ApiRequest) -> list[ApiRequest]:
    """The site script fetched: the first POST, with the site it names."""
    info = epoint_site_info(text)
    if info is None:
        return []
    ctx = request.context
    where = {"categorynum": ctx["categorynum"], "deptcode": ctx.get("deptcode", "")}
    return [epoint_request(ctx["page_url"], info, where)]


def epoint_records(text: str, api_url: str) -> tuple[list[Link], int]:
    """The records of one answer (``custom`` may be the object or its JSON as a string)."""
    custom = json.loads(text).get("custom") or {}
    if isinstance(custom, str):
        custom = json.loads(custom) if custom.strip() else {}
    if not isinstance(custom, dict):
        raise ValueError("custom is not an object")
    links = []
    for record in custom.get("data") or []:
        if not isinstance(record, dict):
            continue
        href = record.get("infourl") or record.get("visiturl") or record.get("linkurl")
        title = record.get("title") or record.get("realtitle") or ""
        if isinstance(href, str) and href.strip():
            links.append(Link(urljoin(api_url, href.strip()), str(title)))
    total = str(custom.get("total") or "")
    return links, int(total) if total.isdigit() else 0


def epoint_more(text: str, request: ApiRequest) -> list[ApiRequest]:
    """After page 0: the POSTs for every further page of the category."""
    ctx = request.context
    if ctx.get("page") != 0:
        return []
    _, total = epoint_records(text, request.url)
    pages = min(-(-total // EPOINT_PAGE_SIZE), MAX_API_PAGES)
    return [epoint_request(ctx["page_url"], ctx["info"], ctx["where"], n) for n in range(1, pages)]


# -- files and twins -------------------------------------------------------------------
def pdfjs_target(url: str) -> str | None:
    """The file a PDF.js viewer URL shows (``viewer.html?file=…``), absolute; else None."""
    parts = urlsplit(url)
    if not parts.path.lower().endswith(("viewer.html", "viewer.htm")):
        return None
    files = parse_qs(parts.query).get("file")
    if not files:
        return None
    return urljoin(url, files[0])


_WAP = re.compile(r"_wap(\.s?html?)$", re.I)


def canonical_url(url: str) -> str:
    """The desktop URL of a ``_wap`` twin (``t20240327_13086081_wap.html`` → ``…081.html``)."""
    parts = urlsplit(url)
    path = _WAP.sub(r"\1", parts.path)
    return urlunsplit(parts._replace(path=path)) if path != parts.path else url


def wap_fallback(status: int, requested: str, twin: str | None) -> str | None:
    """The ``_wap`` URL to ask for when the desktop URL it was rewritten to is missing
    (some sites publish an article only as its mobile page)."""
    if twin and twin != requested and status in (404, 410):
        return twin
    return None
