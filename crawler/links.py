"""Recognising what a link leads to on a government site.

The annual-report column is found by its link text and URL hints; report
links by their titles (政府信息公开 + 年度报告/年报 + a year), with look-alikes
that share words (预决算, 政府工作报告, 统计公报, companies' 年度报告) rejected;
and TRS listings by their ``createPageHTML(...)`` call, in both its call forms.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

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
# the column (…/zfxxgknb/202501/t20250120_1.html) is not the column.
_COLUMN_URL = re.compile(
    r"/(?:zfxxgknb|xxgknb|gknb|ndbg|zfxxgk|xxgk|zwgk)(?:/[\w-]*)?/"
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


def in_domains(url: str, domains: list[str]) -> bool:
    """Is the URL's host one of the site's domains (or below one)?"""
    host = (urlsplit(url).hostname or "").lower()
    return any(host == d.lower() or host.endswith("." + d.lower()) for d in domains)


_SOFT_404 = re.compile(
    r"页面不存在|页面未找到|找不到(?:该|此|您要的)?页面|已被删除|404\s*Not\s*Found|"
    r"信息不存在|文章不存在",
    re.I,
)


def is_soft_404(title: str | None, text: str | None = None) -> bool:
    """A "not found" page sent with status 200: told by its title, or a near-empty body
    that says so (a real report page is long and never says this in its title)."""
    if title and _SOFT_404.search(title):
        return True
    body = squash(text)
    return bool(body) and len(body) < 200 and bool(_SOFT_404.search(body))
