"""Recognising what a link leads to on a government site.

The annual-report column is found by its link text and URL hints; report
links by their titles (政府信息公开 + 年度报告/年报 + a year), with look-alikes
that share words (预决算, 政府工作报告, 统计公报, companies' 年度报告) rejected;
and TRS listings by their ``createPageHTML(...)`` call, in both its call forms.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

# Whether a link stays on a site is the scope's question, answered once for everyone.
from crawler.scope import in_domains as in_domains

_REPORT = re.compile(r"(政府信息公开|政务公开|信息公开).{0,12}(年度报告|年报|工作报告)")
_YEAR = re.compile(r"(?:19|20)\d{2}")
_NOT_REPORT = re.compile(
    r"预算|决算|政府工作报告|统计公报|国民经济|公司|企业|股份|审计工作报告|通知|意见|办法"
)
_COLUMN_TEXT = re.compile(
    r"^(政府)?信息公开(工作)?年(度)?报(告)?$|^公开年报$|^年度报告$|^年报$|"
    r"政府信息公开年报|信息公开年度报告|^政府信息公开$|^信息公开$|^政务公开$"
)
# A column URL ends in its directory (or the directory's index page): an article below
# the column (…/zfxxgknb/202501/t20250120_1.html) is not the column. The 年报 column's
# folder is named in pinyin initials: 政府信息公开年报 ``zfxxgknb``, 政府信息公开年度报告
# ``zfxxgkndbg`` (大冶), 信息公开年度报告 ``xxgkndbg`` (临夏), 政府信息公开工作年度报告
# ``zfxxgkgzndbg`` (武汉青山), 区县公开年度报告 ``zxqgkndbg`` (鹤岗), 公开年报 ``gknb``, 年度报告
# ``ndbg``; sites append a serial (``zfxxgknb82``, ``ndbg_3974``). See crawler/sites.csv.
_REPORT_FOLDER = r"[a-z]{0,8}?(?:gknb|gkndbg|gkgzndbg|ndbg)(?:_?\d{1,6})?"
_COLUMN_URL = re.compile(
    rf"/(?:{_REPORT_FOLDER}|zfxxgk|xxgk|zwgk)(?:/[\w-]*)?/"
    r"(?:index(?:_\d+)?\.s?html?|list\.s?html?)?$",
    re.I,
)
ATTACHMENT = re.compile(r"\.(pdf|docx?|wps|xlsx?|ofd)(?:$|[?#])", re.I)
# TRS: createPageHTML(total, current, "index", "html") or
#      createPageHTML('page_div', total, current, 'index', 'shtml', size)
# The page count may be a variable set earlier: var countPage = 12; createPageHTML(countPage, …
_TRS_PLAIN = re.compile(
    r"createPageHTML\(\s*(\w+)\s*,\s*(\w+)\s*,\s*['\"]([\w-]+)['\"]\s*,"
    r"\s*['\"](\w+)['\"]"
)
_TRS_DIV = re.compile(
    r"createPageHTML\(\s*['\"][\w-]+['\"]\s*,\s*(\w+)\s*,\s*(\w+)\s*,"
    r"\s*['\"]([\w-]+)['\"]\s*,\s*['\"](\w+)['\"]"
)


def squash(text: str | None) -> str:
    return re.sub(r"\s+", "", text or "")


def is_report_title(text: str | None) -> bool:
    """Does a link's text or title name an annual information-disclosure report?"""
    t = squash(text)
    return bool(_REPORT.search(t) and _YEAR.search(t) and not _NOT_REPORT.search(t))


_REPORT_COLUMN = re.compile(
    r"(?:信息公开|政务公开|公开)(?:工作)?(?:年报|年度报告)|^(?:年报|年度报告)$|gknb|ndbg", re.I
)


def names_report_column(text: str | None) -> bool:
    """Does a name (a link's text, a page's title, a category of a CMS's tree) name the 年报
    column itself, not only the 信息公开 area around it?"""
    return bool(_REPORT_COLUMN.search(squash(text)))


def is_column_link(text: str | None, url: str) -> bool:
    """Does a link lead towards the annual-report column (or the 信息公开 area holding it)?"""
    t = squash(text)
    if t and _COLUMN_TEXT.search(t):
        return True
    return bool(_COLUMN_URL.search(urlsplit(url).path)) and not ATTACHMENT.search(url)


def trs_pages(html: str, page_url: str) -> list[str]:
    """Every page of a TRS listing, from its createPageHTML call.

    Page 1 has no suffix in both forms. The plain form counts the current page from 0
    (page 2 is ``index_1``); the form with a container id counts from 1 and builds
    ``(page == 1 ? "" : "_" + page)``, so page 2 is ``index_2``.
    """
    if m := _TRS_PLAIN.search(html):
        first_suffix = 1
    elif m := _TRS_DIV.search(html):
        first_suffix = 2
    else:
        return []
    total, name, ext = _js_int(m.group(1), html), m.group(3), m.group(4)
    if total is None:
        return []
    suffixes = range(first_suffix, first_suffix + total - 1)
    pages = [f"{name}.{ext}"] + [f"{name}_{n}.{ext}" for n in suffixes]
    return [urljoin(page_url, p) for p in pages]


def _js_int(token: str, html: str) -> int | None:
    """A number written in the call, or the value a ``var NAME = N`` gave it earlier."""
    if token.isdigit():
        return int(token)
    m = re.search(rf"\b(?:var|let|const)?\s*{re.escape(token)}\s*=\s*['\"]?(\d+)", html)
    return int(m.group(1)) if m else None


_NEXT_PAGE = re.compile(r"^(下一页|下页|后页|下一頁|next|›|»|>>?|尾页|末页|\d{1,3})$", re.I)


def is_pager_link(text: str | None) -> bool:
    """A generic pagination link: 下一页, 尾页, or a bare page number."""
    return bool(_NEXT_PAGE.match(squash(text)))


_SOFT_404 = re.compile(
    r"页面不存在|页面未找到|找不到(?:该|此|您要的)?页面|已被删除|404\s*Not\s*Found|"
    r"信息不存在|文章不存在",
    re.I,
)


# Every phrase above holds one of these words; a page's text with none of them (and no
# numeric character reference, which could spell one: named references spell no Chinese
# character and no digit) cannot be a "not found" page. One scan of the decoded text,
# instead of parsing the page for its title and text nodes.
_SOFT_404_HINT = re.compile(r"不存在|未找到|找不到|已被删除|404|&#")


def may_be_soft_404(html: str) -> bool:
    """Could :func:`is_soft_404` say yes of this page's title or text? A cheap test that
    is never wrong by saying no: every phrase it looks for contains a hint word, which a
    page's source spells as it is unless a character reference encodes it."""
    return bool(_SOFT_404_HINT.search(html))


def is_soft_404(title: str | None, text: str | None = None) -> bool:
    """A "not found" page sent with status 200: told by its title, or a near-empty body
    that says so (a real report page is long and never says this in its title)."""
    if title and _SOFT_404.search(title):
        return True
    body = squash(text)
    return bool(body) and len(body) < 200 and bool(_SOFT_404.search(body))


# -- listings whose pager is drawn by JS from a page count ---------------------------
# 成都 ``column-index-N.shtml``, 延安 ``/N.html`` and others print no pager links: their
# script draws the pager from a variable (``totalPage``, ``pageCount``, ``countPage``,
# ``contenpage``). The page count and the URL of page 1 give every page.
_PAGE_COUNT = re.compile(
    r"\b(?:totalPage|pageCount|countPage|contenpage|totalpage|pagecount|pageTotal)\s*"
    r"[=:]\s*['\"]?(\d{1,4})\b"
)
_NUMBERED = (
    (re.compile(r"column-index-(\d+)(\.s?html?)$"), "column-index-{n}{ext}"),
    (re.compile(r"(?<=/)(\d+)(\.s?html?)$"), "{n}{ext}"),
)
MAX_LISTING_PAGES = 500


def js_page_count(html: str) -> int | None:
    """The page count a listing's script draws its pager from, if it names one."""
    m = _PAGE_COUNT.search(html)
    return int(m.group(1)) if m else None


def numbered_pages(page_url: str, count: int) -> list[str]:
    """Pages 1 … ``count`` of a numbered listing (``column-index-1.shtml``, ``/1.html``)."""
    path = urlsplit(page_url).path
    for pattern, template in _NUMBERED:
        if m := pattern.search(path):
            ext = m.group(2)
            return [
                urljoin(page_url, template.format(n=n, ext=ext))
                for n in range(1, min(count, MAX_LISTING_PAGES) + 1)
            ]
    return []


# -- redirect shells -------------------------------------------------------------------
# A column's index page is often a shell of a few hundred bytes that sends the browser on
# (东城 ``…/jgmjdgs/`` → ``./jbxxjgm/``; 密云 ``zfxxgk/`` → ``zfxxgkzn/``): by
# ``<meta http-equiv="refresh" content="0;url=…">`` or ``location.replace("…")`` /
# ``location.href = "…"``. Only a literal target counts (a challenge's
# ``location.href=location.pathname+…`` is not a redirect to follow).
_META_REFRESH = re.compile(
    r"<meta[^>]+http-equiv\s*=\s*['\"]?refresh['\"]?[^>]*content\s*=\s*['\"]\s*\d*\s*;?\s*"
    r"url\s*=\s*['\"]?([^'\">\s]+)",
    re.I,
)
_JS_REDIRECT = re.compile(
    r"(?:window\.|document\.|self\.|top\.)?location(?:\.href)?\s*(?:=|\.replace\(|\.assign\()"
    r"\s*['\"]([^'\"]+)['\"]"
)
_TAGS = re.compile(r"<script.*?</script>|<style.*?</style>|<[^>]+>", re.S | re.I)
_SCRIPTS = re.compile(r"<script[^>]*>(.*?)</script>", re.S | re.I)


def redirect_target(html: str, page_url: str) -> str | None:
    """Where a redirect shell sends the browser; None for a page with content of its own."""
    head = html[:20000]
    m = _META_REFRESH.search(head) or next(
        (r for script in _SCRIPTS.findall(head) if (r := _JS_REDIRECT.search(script))), None
    )
    if not m:
        return None
    if len(squash(_TAGS.sub("", html))) > 200:  # a real page that happens to redirect in JS
        return None
    target = urljoin(page_url, m.group(1).strip())
    return target if target.startswith("http") and target != page_url else None


# -- links that are not <a href> ------------------------------------------------------
# 成都 lists are ``<div class="li" onclick="window.open('…','_blank')">``.
_ONCLICK_URL = re.compile(
    r"(?:window\.open|location\.href\s*=|location\.replace)\s*\(?\s*['\"]([^'\"]+)['\"]"
)


def onclick_url(onclick: str | None) -> str | None:
    m = _ONCLICK_URL.search(onclick or "")
    return m.group(1).strip() if m else None


# 国家疾控局 draws its lists from a script array: ``var itemObj = [{"aT": title,
# "aPd": date, "aU": "{\"common\": \"/jbkzzx/…/content_….html\"}"}]`` (the URL is JSON in
# a string). Any ``var NAME = [{…}]`` JSON array with a title and a URL field is read.
_ARRAY_START = re.compile(r"\bvar\s+[A-Za-z_$][\w$]*\s*=\s*(?=\[\s*\{)")
_TITLE_KEYS = ("aT", "title", "Title", "name")
_URL_KEYS = ("aU", "url", "URL", "link", "href", "post_url")


def script_array_items(html: str) -> list[tuple[str, str]]:
    """(title, url) of every record of the JSON arrays a page's script assigns."""
    import json

    items = []
    decoder = json.JSONDecoder()
    for m in _ARRAY_START.finditer(html):
        try:
            records, _ = decoder.raw_decode(html, m.end())
        except ValueError:
            continue
        for record in records if isinstance(records, list) else []:
            if not isinstance(record, dict):
                continue
            title = next((record[k] for k in _TITLE_KEYS if isinstance(record.get(k), str)), "")
            url = next((record[k] for k in _URL_KEYS if record.get(k)), None)
            url = _unwrap_url(url)
            if url:
                items.append((title, url))
    return items


def _unwrap_url(value) -> str | None:
    """A URL, or the URL inside a JSON object given as a string (``{"common": "/…"}``)."""
    import json

    if isinstance(value, dict):
        value = value.get("common") or next((v for v in value.values() if isinstance(v, str)), None)
    if isinstance(value, str) and value.lstrip().startswith("{"):
        try:
            return _unwrap_url(json.loads(value))
        except ValueError:
            return None
    return value.strip() if isinstance(value, str) and value.strip() else None


# -- per-year trees ---------------------------------------------------------------------
# A county's 年报 column is often a tree: one folder per year (``gknb2017/``, ``2024n78/``,
# ``2018nb/``), under it one folder per unit (departments, 街道, 乡镇).
_YEAR_TEXT = re.compile(
    r"^((?:19|20)\d{2})年?度?(?:政府信息公开)?(?:工作)?(?:年度)?(?:报告|年报)?$"
)
_YEAR_SEGMENT = re.compile(r"^(?:[a-z]*?)((?:19|20)\d{2})(?:n|nb|nd)?\d*$", re.I)


def year_label(text: str | None, url: str) -> int | None:
    """The year a link to a year folder stands for (by its text, else its last folder)."""
    if m := _YEAR_TEXT.match(squash(text)):
        return int(m.group(1))
    if squash(text):
        return None
    segment = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]
    m = _YEAR_SEGMENT.match(segment)
    return int(m.group(1)) if m and "." not in segment else None


_AGENCY_FROM_TITLE = (
    re.compile(r"^(?P<a>.+?)(?:(?:19|20)\d{2})年度?(?:政府信息公开|政务公开|信息公开)"),
    re.compile(r"^(?:(?:19|20)\d{2})年度?(?P<a>.+?)(?:政府信息公开|政务公开|信息公开)"),
)


# What sits where an agency would, and names none (``2024年政府信息公开…``: "政府" is the
# first word of 政府信息公开, not an agency).
_NO_AGENCY = {
    "政府",
    "人民政府",
    "本级",
    "本机关",
    "本单位",
    "本局",
    "我局",
    "全市",
    "全区",
    "全县",
}


def agency_of_title(title: str | None) -> str | None:
    """The agency a report's title names (``某局2024年政府信息公开…`` → ``某局``)."""
    t = re.sub(r"^[\W_]+", "", squash(title))  # list bullets
    for pattern in _AGENCY_FROM_TITLE:
        if (m := pattern.match(t)) and len(m.group("a")) >= 2:
            agency = m.group("a").strip('（）()《》“”"')
            return None if agency in _NO_AGENCY else agency
    return None
