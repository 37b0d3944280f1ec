"""平潭综合实验区 on www.pingtan.gov.cn: eight agencies' 年报 columns, replayed from real copies.

The material is the released copy of eight 政府信息公开年报 columns of 平潭综合实验区 in
``<shared>/real/pingtan/`` (its README says what each file is and how it was checked),
archived from www.pingtan.gov.cn by the public repository
changwu/pingtan-gov-zwgk-archive. It is read where it lies — ``$NIANBAO_SHARED/real/pingtan``,
by default ``../shared`` beside the checkout — and never copied into the project. What the
replica serves, and how much of it is real:

* **Host, scheme and paths: real.** The site answers as ``https://www.pingtan.gov.cn``,
  each column at its folder (``/zwgk/zfxxgk/dfbmptlj/<部门|片区>/<agency>/zfxxgknb/``),
  each report at the path of its 原文链接. A crawl pins the name to this machine
  (``NIANBAO_RESOLVE``: ``python -m simweb`` prints the pin in READY's ``resolve``); only
  the port is not 443.
* **Column listings: real for seven columns.** The archived first page (``listing/
  index.html``) is served as archived: its link texts, titles, dates and relative report
  URLs, its page variables (``pagebar: {prepage: 10, recordCount: '…'}``, ``maxStaticIndex``)
  and its site-wide navigation. One change, the one a replay of an archived page must make
  when it cannot listen on 443: absolute links to the site itself
  (``https://www.pingtan.gov.cn/…``) get the replica's port; otherwise the page's own
  navigation would lead to a port nothing answers on.
* **ptzhsyqzrz's listing: rebuilt.** The material has none. It is 投资促进局's (ptzhsyqgyz,
  the same site-wide template of a 部门 column) with zrz's name, its six reports of the
  material in the same ``<dl>`` markup (title and date as each report page gives them, the
  derivation that matched the five listings read in full), ``recordCount`` 6 and no
  ``ChnlId`` (not known). The real page also lists a 2025 report (``t20260130_104872``)
  that the material lacks: it is left out.
* **Further listing pages: none.** zhz announces 13 records and shs 27 (two and three
  pages of ten). Their further pages are not in the archive, and the material holds
  nothing they would list: every report of the material is on the first page, whose last
  items (2016–2018) are not in the material either. Those pages and those three older
  reports of each are not served (404), as is everything else the material does not hold
  (robots.txt, the portal's other pages, images, scripts).
* **Report pages: rebuilt, their content real.** The ten reports with an ``article.html``
  serve that article container verbatim inside a shell of our own: a ``<head>`` with the
  meta tags the listing carries (SiteName, SiteDomain, SiteIDCode, ColumnName) and
  ArticleTitle and PubDate from the page's 标题 and 发布时间; around the article, the page
  chrome the archive's text renderings show on this site's report pages (当前位置 …, 来源：
  时间：, the share and version labels, 附件下载), in markup of our own. The other 45 serve
  the same ``<head>`` and, as their body, the ``page.txt`` body text — one line, tags
  stripped and cells run together as the archive rendered it: how such a page reads when
  its markup is gone.

Every report and listing carries its 发布时间 as ``Last-Modified``.
"""

from __future__ import annotations

import html
import json
import os
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from simweb.sites import CST, Site

HOST = "www.pingtan.gov.cn"
IP = "127.0.0.59"  # the name's address on this machine (READY's ``resolve`` pins it)
# 平潭县: the code the bundled registry gives www.pingtan.gov.cn (crawler/sites.csv). The
# pages' SiteIDCode 3590000001 would give 359000, which is no 行政区划代码.
REGION_CODE = "350128"
SITE_NAME = "平潭综合实验区党工委管委会"
SITE_CODE = "3590000001"
ROOT = "/zwgk/zfxxgk/dfbmptlj/"
COLUMN_NAME = "政府信息公开年报"
ENV = "NIANBAO_SHARED"
PROJECT = Path(__file__).resolve().parent.parent
# The rebuilt listing of a column without one borrows this column's page (same template).
TEMPLATE_OF = {"ptzhsyqzrz": "ptzhsyqgyz"}
_BODY_MARK = "==================== 正文 ====================\n"
# The list the server renders into the first page (a script fills another one in a browser).
_STATIC_LIST = re.compile(r'(ms-visible="showStatic">)(.*?)(\n\s*</div>)', re.S)
_ITEM = re.compile(r"\s*<dl>.*?</dl>", re.S)


class MaterialMissing(RuntimeError):
    """The released material is not where the replica looks for it."""


def material_dir() -> Path:
    """Where the material of the eight columns lies: ``$NIANBAO_SHARED/real/pingtan``, by
    default ``../shared/real/pingtan`` beside the project."""
    shared = os.environ.get(ENV) or str(PROJECT.parent / "shared")
    return Path(shared) / "real" / "pingtan"


@dataclass(frozen=True)
class Report:
    """One report of the material, as its page was published."""

    folder: str
    year: int
    url: str  # the 原文链接
    title: str  # 标题
    published: str  # 发布时间, "YYYY-MM-DD HH:MM" China time
    agency: str
    text: str  # the page.txt body: the page's text, one line
    article: str | None  # the article container, verbatim, when the material has it

    @property
    def path(self) -> str:
        return "/" + self.url.split("://", 1)[1].split("/", 1)[1]

    @property
    def when(self) -> datetime:
        return datetime.strptime(self.published, "%Y-%m-%d %H:%M").replace(tzinfo=CST)


@dataclass
class Column:
    """One agency's 年报 column: its folder, its reports, and what its listing links."""

    folder: str
    group: str  # ptzhsyqbm (部门) or ptzhsyqpq (片区)
    agency: str  # as the column names it now (its newest report)
    reports: list[Report] = field(default_factory=list)  # oldest first
    listing: str = ""  # its first listing page, as served (before the port is filled in)
    listing_real: bool = True  # the archived page, not one rebuilt
    listed: list[str] = field(default_factory=list)  # paths of the listing's report links

    @property
    def path(self) -> str:
        return f"{ROOT}{self.group}/{self.folder}/zfxxgknb/"

    @property
    def missing(self) -> list[str]:
        """Report links of the listing whose pages the material does not hold."""
        held = {r.path for r in self.reports}
        return [p for p in self.listed if p not in held]


def load(material: Path | None = None) -> list[Column]:
    """The eight columns of the material, each with its reports (raises
    :class:`MaterialMissing` with where it looked)."""
    material = material or material_dir()
    if not (material / "ptzhsyqjjp" / "listing" / "index.html").is_file():
        raise MaterialMissing(
            f"the 平潭 material is not in {material} (set {ENV} to the directory holding real/)"
        )
    columns = []
    for folder in sorted(p.name for p in material.iterdir() if p.is_dir()):
        reports = [
            _report(folder, d) for d in sorted((material / folder).glob("20*")) if d.is_dir()
        ]
        group = reports[0].url.split(ROOT, 1)[1].split("/", 1)[0]
        column = Column(folder, group, reports[-1].agency, reports)
        column.listing = listing_page(column, material)
        column.listed = listed_paths(column.listing, column)
        columns.append(column)
    return columns


def _report(folder: str, where: Path) -> Report:
    source = json.loads((where / "source.json").read_text("utf-8"))
    header, body = (where / "page.txt").read_text("utf-8").split(_BODY_MARK, 1)
    fields = dict(
        line.split(": ", 1) for line in header.splitlines() if ": " in line
    )  # 标题, 发布时间, 原文链接 …
    article = None
    if (where / "article.html").is_file():
        # The first line is the copier's provenance comment, not the site's markup.
        article = (where / "article.html").read_text("utf-8").split("\n", 1)[1]
    return Report(
        folder=folder,
        year=int(source["year"]),
        url=fields["原文链接"].strip(),
        title=fields["标题"].strip(),
        published=fields["发布时间"].strip(),
        agency=source["agency"],
        text=body.strip(),
        article=article,
    )


# -- pages ---------------------------------------------------------------------------------


def _head(report: Report) -> str:
    meta = [
        ("SiteName", SITE_NAME),
        ("SiteDomain", HOST),
        ("SiteIDCode", SITE_CODE),
        ("ColumnName", COLUMN_NAME),
        ("ColumnType", COLUMN_NAME),
        ("ArticleTitle", report.title),
        ("PubDate", report.published),
    ]
    tags = "\n".join(f'<meta name="{k}" content="{html.escape(v)}"/>' for k, v in meta)
    return (
        '<!DOCTYPE html>\n<html>\n<head>\n<meta charset="UTF-8">\n'
        f"{tags}\n<title>{html.escape(report.title)}</title>\n</head>\n"
    )


def report_page(report: Report, column: Column) -> str:
    """The report's page: its article in the site's chrome, or its text alone."""
    if report.article is None:
        return f"{_head(report)}<body>\n{html.escape(report.text, quote=False)}\n</body>\n</html>\n"
    article = report.article
    if "TRS_Editor" in article.split(">", 1)[0]:  # the editor's div sits in the page's own
        article = f'<div class="article_content article_content_01 font_family_cn">{article}</div>'
    title = html.escape(report.title)
    crumbs = (
        '<a href="/">首页</a><a href="/zwgk/">政务公开</a><a href="/zwgk/zfxxgk/">政府信息公开</a>'
        f'<a href="../../">{html.escape(column.agency)}</a><a href="../">{COLUMN_NAME}</a>'
    )
    return (
        f"{_head(report)}<body>\n"
        f'<div class="position">当前位置： {crumbs}</div>\n'
        f'<div class="article">\n<h1 class="article_title">{title}</h1>\n'
        f'<div class="article_info"><span>来源：</span><span>时间：{report.published}</span></div>\n'
        '<div class="article_tools"><a>微信</a> <a>微博</a> <a>QQ空间</a> '
        "<span>全真版</span> <span>文字版</span> <span>文件下载</span></div>\n"
        '<div class="article_links">相关链接：</div>\n'
        f"{article}\n"
        '<div class="article_files">附件下载</div>\n</div>\n</body>\n</html>\n'
    )


def listing_page(column: Column, material: Path) -> str:
    """The column's first listing page: the archived one, or one rebuilt in its template."""
    own = material / column.folder / "listing" / "index.html"
    if own.is_file():
        return own.read_text("utf-8")
    column.listing_real = False
    template = (material / TEMPLATE_OF[column.folder] / "listing" / "index.html").read_text("utf-8")
    return _rebuilt_listing(template, column)


def _rebuilt_listing(template: str, column: Column) -> str:
    """``template`` (another column's listing) with ``column``'s name and reports."""
    m = _STATIC_LIST.search(template)
    if m is None:
        raise ValueError("the template listing has no server-rendered list")
    model = _ITEM.search(m.group(2))
    if model is None:
        raise ValueError("the template listing lists nothing")
    first = model.group()
    href, title = _found(r'href="([^"]+)"', first), _found(r'title="([^"]+)"', first)
    day = _found(r"(\d{4}-\d{2}-\d{2})", first)
    items = []
    for report in sorted(column.reports, key=lambda r: r.when, reverse=True):
        name = html.escape(report.title)
        items.append(
            first.replace(href, "./" + report.path.split("/zfxxgknb/", 1)[1])
            .replace(title, name)
            .replace(day, report.published[:10])
        )
    page = template[: m.start(2)] + "".join(items) + template[m.end(2) :]
    old_agency = re.search(r"政府信息公开年报_(.+?)_" + SITE_NAME, template)
    if old_agency:
        page = page.replace(old_agency.group(1), column.agency, 1)
    page = re.sub(r'<meta name="ChnlId" content="\d+">', '<meta name="ChnlId" content="">', page)
    page = re.sub(r'"chnlid=\d+"', '""', page)
    return re.sub(r"recordCount: '\d+'", f"recordCount: '{len(column.reports)}'", page)


def _found(pattern: str, text: str) -> str:
    m = re.search(pattern, text)
    if m is None:
        raise ValueError(f"the template listing's item has no {pattern}")
    return m.group(1)


def listed_paths(listing: str, column: Column) -> list[str]:
    """The paths of the report links the listing's server-rendered list holds, in order."""
    m = _STATIC_LIST.search(listing)
    block = m.group(2) if m else ""
    return [
        column.path + href.removeprefix("./") for href in re.findall(r'<a href="([^"]+)"', block)
    ]


# -- the site ------------------------------------------------------------------------------


def replica(material: Path | None = None) -> tuple[Site, list[Column]]:
    """The site www.pingtan.gov.cn with the eight columns, and the columns it serves."""
    columns = load(material)
    site = Site(
        key="pingtan",
        site_id="pingtan",
        name=SITE_NAME,
        region="福建省福州市平潭县",
        region_code=REGION_CODE,
        level="department",
        ip=IP,
        cms="trs",
        charset="utf-8",
        start_path="/",
        site_code=SITE_CODE,
        robots_disallow="",
        behaviour={"tls": "https-only", "host": HOST, "columns": columns},
    )
    for column in columns:
        newest = max(r.when for r in column.reports)
        for path in listing_paths(column):
            site.add(path, column.listing, modified=newest)
        for report in column.reports:
            site.add(report.path, report_page(report, column), modified=report.when)
    return site, columns


def finish(site: Site, base: str) -> None:
    """The listings' absolute links to the site itself get the port it listens on (see the
    module's docstring): ``base`` is ``https://www.pingtan.gov.cn:PORT/``. Report pages are
    left as they are: their links are relative, and the address an article's text prints
    is text."""
    own, here = f"https://{HOST}/".encode(), base.encode()
    if here == own:
        return
    for column in site.behaviour["columns"]:
        for path in listing_paths(column):
            page = site.pages[path]
            page.body = page.body.replace(own, here)
            page.__dict__.pop("etag", None)  # computed from the old bytes


def listing_paths(column: Column) -> tuple[str, str]:
    """Where the column's first page answers: its folder, and the folder's index.htm."""
    return column.path, column.path + "index.htm"


def column_urls(site: Site, base: str) -> list[str]:
    """Each column's URL under ``base``, with the region code: ``nianbao discover --file``."""
    return [f"{base}{c.path.lstrip('/')} {REGION_CODE}" for c in site.behaviour["columns"]]


def registry_rows(site: Site, base: str) -> list[list[str]]:
    """The eight columns as rows of ``python -m simweb``'s sites.csv (its column order:
    site_id, agency, region_code, region, level, start_url, allowed_domains, cms)."""
    return [
        [
            f"pingtan-{c.folder}",
            c.agency,
            REGION_CODE,
            site.region,
            "department",
            base + c.path.lstrip("/"),
            HOST,
            site.cms,
        ]
        for c in site.behaviour["columns"]
    ]
