"""A national world of county portals with reports the size and shape of real ones.

``python -m simweb --national N`` serves ``N`` county-level portals (real region codes
and names from ``archive/store/regions.csv``, one host each on 127.4.x.y), each with the
reports of its government, a few of its departments and towns, for several years.
Reports are what real sites publish (``research/domain.md`` §2.3), in the proportions
a site's habit gives:

* an **article** whose body is the report, pasted from Word: the three tables in
  verbose Word markup, long prose, the portal's chrome around it — 100–300 KB of HTML;
* the same article **with the signed PDF** attached;
* an article that only **links a PDF** of 6–20 pages (tables ruled, breaking across
  pages as word processors break them, a seal at the end);
* an article that only links a **DOCX**.

Every site keeps a habit (mostly articles, mostly PDFs, both, or a mix), as real sites
do. The numbers of every report come from :mod:`simweb.truth` (seeded; 4 % carry a
planted arithmetic fault, as in the default world): :func:`report_truth` gives them
back for any report, so the world needs no truth file of its numbers.

Nothing is rendered until asked for: pages are built on request (:class:`LazyPages`)
and PDFs and DOCX files, the slow ones, are kept in a cache directory (``--cache``,
filled ahead of a crawl by :func:`warm`, in parallel). ``edition`` 2 is the next night:
about 1 % of sites publish a new report and 1 % correct one. ``latency`` makes every
answer take that long, for crawls with production politeness to be realistic.

What differs from the real world: PDFs use a standard CJK font without embedding it, so
they are 5–10× smaller than real ones (whose embedded fonts and scanned seals weigh
200 KB–2 MB); there are no DOC/WPS files (the default world has them), no scans.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import html
import io
import random
import re
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from importlib import resources
from pathlib import Path

from simweb import truth as tr
from simweb.render import (
    SECTIONS,
    Layout,
    Style,
    printed,
    render_report_docx,
    render_report_html,
    report_text,
    t2_layout,
    t3_layout,
    t4_layout,
)
from simweb.sites import CST, Site

COLUMN = "/zwgk/zfxxgknb/"
PER_PAGE = 20
DEPARTMENTS = (
    ("czj", "财政局", "department"),
    ("jyj", "教育局", "department"),
    ("wjw", "卫生健康委员会", "department"),
    ("scjgj", "市场监督管理局", "enforcement"),
    ("sthjj", "生态环境局", "enforcement"),
    ("zjj", "住房和城乡建设局", "enforcement"),
    ("rsj", "人力资源和社会保障局", "department"),
    ("mzj", "民政局", "department"),
    ("zrzyj", "自然资源局", "enforcement"),
    ("gaj", "公安局", "enforcement"),
    ("ncj", "农业农村局", "department"),
    ("jtj", "交通运输局", "enforcement"),
)
# A site's habit: how its reports are published (html / html_pdf / pdf / docx).
HABITS = {
    "articles": ((0.80, 0.10, 0.10, 0.00), 0.35),
    "pdf": ((0.15, 0.10, 0.75, 0.00), 0.25),
    "both": ((0.20, 0.70, 0.10, 0.00), 0.20),
    "mixed": ((0.40, 0.20, 0.30, 0.10), 0.20),
}
FORMS = ("html", "html_pdf", "pdf", "docx")
FAULT_SHARE = 0.04
_DAY0 = datetime(2025, 4, 1, tzinfo=CST)


@dataclass
class Report:
    sim_id: str
    agency: str
    profile: str
    size: str
    year: int
    title: str
    published: str
    form: str
    path: str
    attachment: str | None
    pages: int  # of the PDF
    html_kb: int  # the article page's target size
    edition: int = 1  # the night it appeared or was last corrected


@dataclass
class NationalSite:
    index: int
    site_id: str
    name: str
    region: str
    region_code: str
    ip: str
    habit: str
    reports: list[Report] = field(default_factory=list)


def national_ip(n: int) -> str:
    return f"127.4.{n // 250}.{n % 250 + 1}"


@cache
def counties() -> list[tuple[str, str]]:
    """County-level regions (code, full name) from the project's region list."""
    text = resources.files("archive.store").joinpath("regions.csv").read_text("utf-8")
    names = {row["code"]: row["name"] for row in csv.DictReader(text.splitlines())}
    out = []
    for code, name in sorted(names.items()):
        if code.endswith("00") or name in ("市辖区", "县", "省直辖县级行政区划"):
            continue
        province = names.get(code[:2] + "0000", "")
        city = names.get(code[:4] + "00", "")
        city = "" if city in ("市辖区", "县", "省直辖县级行政区划") else city
        out.append((code, province + city + name))
    return out


def _published(rng: random.Random, year: int, government: bool) -> str:
    start = datetime(year + 1, 1, 12 if government else 5)
    when = start + timedelta(
        days=rng.randint(0, 75 if government else 25),
        hours=rng.randint(8, 17),
        minutes=rng.choice([0, 15, 30, 45]),
    )
    return when.strftime("%Y-%m-%d %H:%M")


def plan_site(index: int, seed: int = 0, edition: int = 1) -> NationalSite:
    """One portal and its reports (no bytes: those are made when asked for)."""
    rng = random.Random(f"national:{seed}:{index}")
    places = counties()
    code, region = places[index % len(places)]
    short = re.sub(r"^.*?(省|自治区|市)(.*?(市|州|盟|地区))?", "", region) or region
    round_ = index // len(places)
    gov = f"{short}人民政府" if not round_ else f"{short}人民政府办公室（第{round_ + 1}站）"
    habit = rng.choices(list(HABITS), [w for _, w in HABITS.values()])[0]
    site = NationalSite(index, f"nat-{index:05d}", gov, region, code, national_ip(index), habit)
    agencies = [(gov, "county", rng.choice(["medium", "medium", "large"]), 2019)]
    for _, name, profile in rng.sample(DEPARTMENTS, rng.choice([0, 1, 1, 2, 2, 3])):
        agencies.append((short + name, profile, rng.choice(["small", "small", "medium"]), 0))
    for town in range(rng.choice([0, 0, 1])):
        agencies.append((f"{short}第{town + 1}镇人民政府", "town", "zero", 0))
    serial = 0
    for agency, profile, size, first in agencies:
        first = first or rng.randint(2021, 2023)
        for year in range(first, 2025):
            serial += 1
            site.reports.append(_plan_report(site, rng, serial, agency, profile, size, year))
    if edition >= 2:
        _next_night(site, rng, serial)
    return site


def _plan_report(
    site: NationalSite,
    rng: random.Random,
    serial: int,
    agency: str,
    profile: str,
    size: str,
    year: int,
) -> Report:
    weights = HABITS[site.habit][0]
    form = rng.choices(FORMS, weights)[0]
    published = _published(rng, year, profile in ("county", "town"))
    day = published[:10].replace("-", "")
    article_id = 1_000_000 + site.index * 1_000 + serial
    path = f"{COLUMN}{day[:6]}/t{day}_{article_id}.html"
    attachment = None
    if form != "html":
        ext = "docx" if form == "docx" else "pdf"
        attachment = f"{COLUMN}{day[:6]}/P0{day}{article_id:09d}.{ext}"
    pages = rng.randint(6, 20) if size in ("large", "medium") else rng.randint(6, 11)
    return Report(
        f"nat{site.index:05d}-{serial:03d}",
        agency,
        profile,
        size,
        year,
        f"{agency}{year}年政府信息公开工作年度报告",
        published,
        form,
        path,
        attachment,
        pages,
        rng.randint(100, 300),
    )


def _next_night(site: NationalSite, rng: random.Random, serial: int) -> None:
    """Edition 2: a new report on ~1 % of sites, a corrected one on ~1 %."""
    night = random.Random(f"night2:{site.index}")
    if night.random() < 0.01:
        agency = site.reports[-1].agency
        report = _plan_report(site, rng, serial + 1, agency, "department", "small", 2025)
        report.edition = 2
        site.reports.append(report)
    if night.random() < 0.01 and site.reports:
        night.choice(site.reports).edition = 2


def report_truth(report: Report, site: NationalSite, seed: int = 0) -> tr.ReportTruth:
    """The numbers printed in a report (its planted fault, if any, included)."""
    truth = tr.generate(
        report.sim_id,
        site_id=site.site_id,
        agency=report.agency,
        region=site.region,
        region_code=site.region_code,
        year=report.year,
        title=report.title,
        published=report.published,
        fmt="html" if report.form == "html" else report.form.removeprefix("html_"),
        size=report.size,
        profile=report.profile if report.profile != "county" else "county",
        seed=seed + 1000 * report.edition,
    )
    rng = random.Random(f"national-faults:{seed}:{report.sim_id}:{report.edition}")
    busy = (truth.tables["t3"]["new_requests"]["total"] or 0) > 5
    if busy and rng.random() < FAULT_SHARE:
        tr.inject_fault(
            truth, "t3", rng.choice(["granted", "unable_not_held"]), "natural_person", rng
        )
    if rng.random() < 0.2:
        tr.blank_zeros(truth, 0.05, rng)
    tr.verify_planted(truth)
    return truth


# ---------------------------------------------------------------------------------------
# Prose: what makes real reports long.

_WORK_ITEMS = (
    "围绕优化营商环境，集中公开涉企政策文件{n}件，编制政策汇编{m}册",
    "聚焦乡村振兴，主动公开惠农补贴发放信息{n}条，覆盖{m}个行政村",
    "做好重大建设项目信息公开，发布项目批准、实施等信息{n}条",
    "推进公共资源配置领域信息公开，公开政府采购、工程建设项目招投标信息{n}条",
    "加强财政预决算公开，{m}个部门在规定时限内公开部门预决算",
    "围绕社会救助，公开低保、特困人员供养等信息{n}条，惠及群众{m}人次",
    "开展政策解读{n}篇，其中图解{m}篇、视频解读{k}次，主要负责同志解读{k}次",
    "召开新闻发布会{m}场，回应社会关切{n}条",
    "通过政务新媒体发布信息{n}条，政务微博、微信公众号关注人数达{m}万",
    "办理人大代表建议{n}件、政协委员提案{m}件，办理结果全部公开",
    "组织政务公开培训{m}场次，参训人员{n}人次",
    "更新完善政府信息公开指南和公开目录，调整主动公开事项{n}项",
)
_CLAUSES = (
    "严格落实“三审三校”制度，确保发布信息准确无误",
    "坚持以公开为常态、不公开为例外",
    "进一步规范公开内容、公开方式和公开程序",
    "持续深化基层政务公开标准化规范化建设",
    "切实保障人民群众知情权、参与权、表达权和监督权",
    "将政务公开工作纳入年度绩效考核，压实工作责任",
)


def filler(rng: random.Random, chars: int, who: str, year: int) -> list[str]:
    """Paragraphs of the kind that fill real reports, about ``chars`` characters long."""
    out, total = [], 0
    while total < chars:
        items = rng.sample(_WORK_ITEMS, 3)
        text = f"{year}年，{who}" + "；".join(
            item.format(n=rng.randint(5, 900), m=rng.randint(2, 60), k=rng.randint(1, 12))
            for item in items
        )
        text += f"。{rng.choice(_CLAUSES)}，{rng.choice(_CLAUSES)}。"
        out.append(text)
        total += len(text)
    return out


# ---------------------------------------------------------------------------------------
# HTML: the portal around a report pasted from Word.

_CSS = "".join(
    f".c{n}{{margin:0 auto;padding:{n % 7}px {n % 5}px;font-size:{12 + n % 6}px;"
    f"color:#{n * 2654435761 % 0xFFFFFF:06x};line-height:{1.5 + n % 3 / 10}em}}\n"
    for n in range(220)
)
_SCRIPT = (
    "var _hmt=_hmt||[];(function(){var hm=document.createElement('script');"
    "hm.src='/js/stat.js';var s=document.getElementsByTagName('script')[0];"
    "s.parentNode.insertBefore(hm,s);})();\n"
) * 12


def _chrome(site: NationalSite, title: str, body: str, column: str = "政府信息公开年报") -> str:
    """The portal page around ``body``: head, navigation, side columns, footer."""
    rng = random.Random(f"chrome:{site.index}")
    nav = "".join(
        f'<li class="c{i}"><a href="javascript:void(0)">{name}</a></li>'
        for i, name in enumerate(
            ["首页", f"走进{site.name[:-4]}", "新闻中心", "政务服务", "互动交流", "专题专栏"]
        )
    )
    news = "".join(
        f'<li><a href="javascript:void(0)" title="{t}">{t}</a><span>2025-0{1 + i % 9}-1{i % 9}</span></li>'
        for i, t in enumerate(
            f"{site.name[:-4]}召开{rng.choice(['常务会议', '专题会议', '推进会', '调度会'])}"
            f"研究部署第{n}项重点工作"
            for n in range(40)
        )
    )
    meta = (
        f'<meta name="SiteName" content="{html.escape(site.name)}">'
        f'<meta name="SiteDomain" content="{site.ip}">'
        f'<meta name="SiteIDCode" content="{site.region_code}0001">'
        f'<meta name="ColumnName" content="{column}">'
        f'<meta name="ArticleTitle" content="{html.escape(title)}">'
    )
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8">{meta}'
        f"<title>{html.escape(title)}_{html.escape(site.name)}</title>"
        f"<style>{_CSS}</style><script>{_SCRIPT}</script></head><body>"
        f'<div class="top"><div class="logo">{html.escape(site.name)}</div>'
        f'<ul class="nav">{nav}<li><a href="/zwgk/">政务公开</a></li></ul></div>'
        f'<div class="main"><div class="left"><ul class="news">{news}</ul></div>'
        f'<div class="content"><div class="position">当前位置：首页 &gt; 政务公开 &gt; {column}</div>'
        f"{body}</div></div>"
        f'<div class="footer"><p>主办单位：{html.escape(site.name)}办公室</p>'
        f"<p>网站标识码：{site.region_code}0001</p><p>ICP备案号：某ICP备{site.index:08d}号</p>"
        f"</div></body></html>"
    )


_TD = re.compile(r"<td([^>]*)>")
_P = re.compile(r"<p>")


def word_markup(body: str) -> str:
    """A report's article body as Word leaves it when pasted into a CMS: every cell and
    paragraph in styled spans (what makes real report pages 100–300 KB)."""
    body = _TD.sub(
        r'<td\1 style="border:solid windowtext 1.0pt;mso-border-alt:solid windowtext .5pt;'
        r'padding:0cm 5.4pt 0cm 5.4pt;mso-yfti-irow:0" valign="center">',
        body,
    )
    return _P.sub(
        '<p class="MsoNormal" style="text-indent:32.0pt;mso-char-indent-count:2.0;'
        "line-height:28.0pt;mso-line-height-rule:exactly;font-family:仿宋_GB2312;"
        'font-size:16.0pt;mso-bidi-font-family:宋体;color:black;mso-font-kerning:0pt">',
        body,
    )


def article_page(site: NationalSite, report: Report, seed: int = 0) -> bytes:
    """The article page of a report: the report itself, a link to its file, or both."""
    title = report.title
    head = (
        f'<div class="article"><h1 class="title">{html.escape(title)}</h1>'
        f'<div class="info">发布时间：{report.published} 来源：{html.escape(report.agency)}</div>'
    )
    link = ""
    if report.attachment:
        name = report.attachment.rsplit("/", 1)[1]
        link = (
            f'<p>附件：<a appendix="true" href="./{name}" title="{html.escape(title)}.'
            f'{name.rsplit(".", 1)[1]}">{html.escape(title)}.{name.rsplit(".", 1)[1]}</a></p>'
        )
    if report.form in ("html", "html_pdf"):
        truth = report_truth(report, site, seed)
        body = word_markup(render_report_html(truth))
        page = _chrome(site, title, head + body + link + "</div>")
        missing = report.html_kb * 1024 - len(page.encode())
        if missing > 0:  # long prose, as real reports have, before the tables
            rng = random.Random(f"prose:{seed}:{report.sim_id}")
            prose = "".join(
                f'<p class="MsoNormal" style="text-indent:32.0pt;line-height:28.0pt;'
                f'font-family:仿宋_GB2312;font-size:16.0pt">{html.escape(p)}</p>'
                for p in filler(rng, int(missing / 3.5), report.agency, report.year)
            )
            marker = "<strong>二、主动公开政府信息情况</strong>"
            at = body.find(marker)
            at = body.rfind("<p", 0, at) if at > 0 else len(body)
            body = body[:at] + prose + body[at:]
            page = _chrome(site, title, head + body + link + "</div>")
    else:
        intro = (
            f"<p>根据《中华人民共和国政府信息公开条例》规定，现将《{html.escape(title)}》"
            "予以公开。</p>"
        )
        page = _chrome(site, title, head + intro + link + "</div>")
    return page.encode("utf-8")


def listing_page(site: NationalSite, reports: list[Report], page: int, pages: int) -> bytes:
    items = "".join(
        f'<li><a href="./{r.path[len(COLUMN) :]}" title="{html.escape(r.title)}">'
        f"{html.escape(r.title)}</a><span>{r.published[:10]}</span></li>"
        for r in reports
    )
    pager = f'<script>createPageHTML({pages}, {page}, "index", "html");</script>'
    return _chrome(site, "政府信息公开年报", f'<ul class="list">{items}</ul>{pager}').encode()


# ---------------------------------------------------------------------------------------
# PDF: drawn straight on a reportlab canvas (fast), ruled tables breaking across pages.

FONT = "STSong-Light"
_A4 = (595.27, 841.89)
_MARGIN = 72.0
_WIDTHS = {
    "t2": lambda n: [195.0] + [100.0] * (n - 1) if n == 4 else [175.0] + [80.0] * (n - 1),
    "t3": lambda n: [22.0, 48.0, 145.0] + [40.0] * (n - 3),
    "t4": lambda n: [495.0 / n] * n,
}


def _place(rows: Layout) -> tuple[list[tuple[int, int, object]], int, int]:
    """Each cell's top-left position in the full grid (as a browser lays out spans)."""
    taken: set[tuple[int, int]] = set()
    anchors, ncols = [], 0
    for r, row in enumerate(rows):
        c = 0
        for cell in row:
            while (r, c) in taken:
                c += 1
            anchors.append((r, c, cell))
            taken.update(
                (r + dr, c + dc) for dr in range(cell.rowspan) for dc in range(cell.colspan)
            )
            c += cell.colspan
        ncols = max(ncols, c)
    return anchors, ncols, len(rows)


def _wrap(text: str, width: float, size: float) -> list[str]:
    """Lines of ``text`` that fit ``width`` points (CJK a full em, others half)."""
    lines, line, used = [], "", 0.0
    for ch in text:
        w = size if ord(ch) > 0x2E80 else size * 0.5
        if used + w > width and line:
            lines.append(line)
            line, used = "", 0.0
        line += ch
        used += w
    if line or not lines:
        lines.append(line)
    return lines


class _Pdf:
    """A document being drawn: a cursor, page breaks and page numbers."""

    def __init__(self, title: str, author: str):
        from reportlab.pdfbase import pdfmetrics
        from reportlab.pdfbase.cidfonts import UnicodeCIDFont
        from reportlab.pdfgen import canvas

        if FONT not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(UnicodeCIDFont(FONT))
        self.buf = io.BytesIO()
        self.c = canvas.Canvas(self.buf, pagesize=_A4, invariant=1, pageCompression=1)
        self.c.setTitle(title)
        self.c.setAuthor(author)
        self.page = 1
        self.top = _A4[1] - _MARGIN
        self.bottom = _MARGIN
        self.y = self.top
        self.width = _A4[0] - 2 * _MARGIN

    def new_page(self) -> None:
        self._footer()
        self.c.showPage()
        self.page += 1
        self.y = self.top

    def _footer(self) -> None:
        self.c.setFont(FONT, 10)
        self.c.drawCentredString(_A4[0] / 2, 40, f"- {self.page} -")

    def text(
        self,
        text: str,
        size: float = 14,
        leading: float = 26,
        indent: bool = True,
        center: bool = False,
    ) -> None:
        first = 2 * size if indent else 0.0
        lines = _wrap(text, self.width - first, size)
        if len(lines) > 1:  # the lines after the first use the whole width
            lines = lines[:1] + _wrap("".join(lines[1:]), self.width, size)
        for n, line in enumerate(lines):
            if self.y - leading < self.bottom:
                self.new_page()
            self.y -= leading
            self.c.setFont(FONT, size)
            if center:
                self.c.drawCentredString(_A4[0] / 2, self.y, line)
            else:
                self.c.drawString(_MARGIN + (first if n == 0 else 0), self.y, line)

    def table(self, name: str, rows: Layout) -> None:
        """A ruled table; rows that do not fit go on the next page, a merged cell cut
        at the break is left empty below it, as a word processor does."""
        anchors, ncols, nrows = _place(rows)
        widths = _WIDTHS[name](ncols)
        scale = self.width / sum(widths)
        widths = [w * scale for w in widths]
        xs = [_MARGIN + sum(widths[:i]) for i in range(ncols + 1)]
        size, leading, pad = 8.5, 10.5, 4.0
        heights = [16.0] * nrows
        texts = {}
        for r, c, cell in anchors:
            text = (
                printed(cell, unit=True)
                if cell.kind == "num"
                else ("" if cell.kind == "pad" else cell.text)
            )
            width = sum(widths[c : c + cell.colspan]) - 2 * pad
            lines = _wrap(text, max(width, size), size) if text else []
            texts[(r, c)] = lines
            need = len(lines) * leading + 2 * pad
            if cell.rowspan == 1:
                heights[r] = max(heights[r], need)
        for r, c, cell in anchors:  # a merged cell's text must fit its rows
            if cell.rowspan > 1:
                need = len(texts[(r, c)]) * leading + 2 * pad
                have = sum(heights[r : r + cell.rowspan])
                if need > have:
                    heights[r + cell.rowspan - 1] += need - have
        start = 0
        self.y -= 6
        while start < nrows:
            end, used = start, 0.0
            while end < nrows and self.y - used - heights[end] >= self.bottom:
                used += heights[end]
                end += 1
            if end == start:  # not even one row fits: next page
                self.new_page()
                continue
            self._segment(anchors, texts, widths, xs, heights, start, end, size, leading)
            self.y -= used
            start = end
            if start < nrows:
                self.new_page()
        self.y -= 6

    def _segment(self, anchors, texts, widths, xs, heights, start, end, size, leading) -> None:
        tops = [self.y]
        for r in range(start, end):
            tops.append(tops[-1] - heights[r])
        c = self.c
        c.setLineWidth(0.5)
        c.setFont(FONT, size)
        for r, col, cell in anchors:
            last = r + cell.rowspan - 1
            if last < start or r >= end:
                continue
            r0, r1 = max(r, start), min(last, end - 1)
            top, bottom = tops[r0 - start], tops[r1 - start + 1]
            x0, x1 = xs[col], xs[col + cell.colspan]
            c.rect(x0, bottom, x1 - x0, top - bottom, stroke=1, fill=0)
            lines = texts[(r, col)]
            if r < start or not lines:
                continue  # the text stays where the merged cell began
            y = (top + bottom) / 2 + len(lines) * leading / 2 - size
            for line in lines:
                if cell.kind == "num":
                    c.drawCentredString((x0 + x1) / 2, y, line)
                else:
                    c.drawString(x0 + 4.0, y, line)
                y -= leading

    def seal(self, agency: str, date: str) -> None:
        """The signature block and a red seal (drawn, as a PDF printer keeps it)."""
        if self.y - 120 < self.bottom:
            self.new_page()
        c = self.c
        x, y = _A4[0] - _MARGIN - 90, self.y - 70
        c.setFont(FONT, 14)
        c.drawRightString(_A4[0] - _MARGIN, self.y - 40, agency)
        c.drawRightString(_A4[0] - _MARGIN, self.y - 66, date)
        c.setStrokeColorRGB(0.85, 0.1, 0.1)
        c.setFillColorRGB(0.85, 0.1, 0.1)
        c.setLineWidth(2.5)
        c.circle(x, y, 42, stroke=1, fill=0)
        c.setFont(FONT, 9)
        for n, ch in enumerate(agency[:14]):
            c.saveState()
            c.translate(x, y)
            c.rotate(150 - n * 300 / max(1, min(len(agency), 14) - 1))
            c.drawCentredString(0, 30, ch)
            c.restoreState()
        c.setFillColorRGB(0, 0, 0)
        c.setStrokeColorRGB(0, 0, 0)
        self.y -= 120

    def finish(self) -> bytes:
        self._footer()
        self.c.save()
        return self.buf.getvalue()


def report_pdf(report: Report, truth: tr.ReportTruth, seed: int = 0) -> bytes:
    """The report as a PDF of about ``report.pages`` pages."""
    rng = random.Random(f"pdf:{seed}:{report.sim_id}")
    style = Style.pick(truth)
    style.t2_pad = False
    layouts = {
        1: ("t2", t2_layout(truth, style)),
        2: ("t3", t3_layout(truth)),
        3: ("t4", t4_layout(truth)),
    }
    text = report_text(truth)
    # About 700 characters a page; the tables take about two pages.
    extra = max(0, report.pages - 2) * 700 - sum(len(p) for ps in text.values() for p in ps)
    prose = filler(rng, extra, report.agency, report.year)
    split = max(1, len(prose) * 7 // 10)
    pdf = _Pdf(truth.title, truth.agency)
    pdf.text(truth.title, size=18, leading=30, indent=False, center=True)
    pdf.y -= 10
    for para in text["preface"]:
        pdf.text(para)
    for i, heading in enumerate(SECTIONS):
        pdf.text(heading, size=15, leading=28, indent=False)
        paragraphs = list(text[heading])
        if i == 0:
            paragraphs += prose[:split]
        elif i == 4:
            paragraphs += prose[split:]
        if i in layouts:
            pdf.table(*layouts[i])
        for para in paragraphs:
            pdf.text(para)
    pdf.seal(truth.agency, _cn_date(report.published))
    return pdf.finish()


def _cn_date(published: str) -> str:
    y, m, d = published[:10].split("-")
    return f"{y}年{int(m)}月{int(d)}日"


# ---------------------------------------------------------------------------------------
# Serving: pages made when asked for; files from the cache.


@dataclass
class LazyPage:
    """A page the server can answer conditional requests for without making its body."""

    make: object  # () -> bytes
    content_type: str
    modified: datetime
    etag: str

    @property
    def body(self) -> bytes:
        return _made(self.etag, self.make)


_MADE: OrderedDict[str, bytes] = OrderedDict()
_MADE_MAX = 64


def _made(key: str, make) -> bytes:
    """A few recent bodies are kept: a page is often asked for twice in a row (HEAD, GET,
    a retry); nothing more is held, so a world of any size fits in memory."""
    body = _MADE.get(key)
    if body is None:
        body = make()
        _MADE[key] = body
        if len(_MADE) > _MADE_MAX:
            _MADE.popitem(last=False)
    else:
        _MADE.move_to_end(key)
    return body


class LazyPages(Mapping):
    """``site.pages`` of a national site: every path known, no body made in advance."""

    def __init__(self, site: NationalSite, seed: int, cache_dir: Path | None):
        self.site, self.seed, self.cache_dir = site, seed, cache_dir
        self._pages: dict[str, LazyPage] = {}
        self._build()

    def _build(self) -> None:
        site = self.site
        newest = max(_when(r.published) for r in site.reports)
        self._add("/", lambda: _front_page(site), newest, "front")
        self._add("/zwgk/index.html", lambda: _zwgk_page(site), newest, "zwgk")
        self._add("/zwgk/xxgkzn/index.html", lambda: _guide_page(site), newest, "guide")
        listed = sorted(site.reports, key=lambda r: r.published, reverse=True)
        pages = max(1, -(-len(listed) // PER_PAGE))
        for page in range(pages):
            chunk = listed[page * PER_PAGE : (page + 1) * PER_PAGE]
            name = "index.html" if page == 0 else f"index_{page}.html"
            self._add(
                COLUMN + name,
                lambda chunk=chunk, page=page: listing_page(site, chunk, page, pages),
                max(_when(r.published) for r in chunk),
                f"list{page}:{','.join(r.sim_id + str(r.edition) for r in chunk)}",
            )
        for report in site.reports:
            when = _when(report.published) + timedelta(days=30 * (report.edition - 1))
            version = f"{report.sim_id}:{report.edition}"
            self._add(
                report.path,
                lambda report=report: article_page(site, report, self.seed),
                when,
                "article:" + version,
            )
            if report.attachment:
                kind = "docx" if report.form == "docx" else "pdf"
                ctype = (
                    "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
                    if kind == "docx"
                    else "application/pdf"
                )
                self._add(
                    report.attachment,
                    lambda report=report: document_bytes(
                        self.site, report, self.seed, self.cache_dir
                    ),
                    when,
                    f"{kind}:{version}",
                    ctype,
                )
        self._pages["/robots.txt"] = LazyPage(
            lambda: b"User-agent: *\nDisallow: /search/\n",
            "text/plain",
            datetime(2024, 1, 1, tzinfo=CST),
            '"robots"',
        )

    def _add(self, path, make, modified, identity, ctype="text/html; charset=utf-8") -> None:
        tag = hashlib.sha1(f"{self.seed}:{self.site.index}:{identity}".encode()).hexdigest()
        self._pages[path] = LazyPage(make, ctype, modified, f'"{tag[:20]}"')

    def __getitem__(self, path: str) -> LazyPage:
        return self._pages[path]

    def __iter__(self) -> Iterator[str]:
        return iter(self._pages)

    def __len__(self) -> int:
        return len(self._pages)

    def __contains__(self, path: object) -> bool:
        return path in self._pages


def _when(published: str) -> datetime:
    return datetime.strptime(published, "%Y-%m-%d %H:%M").replace(tzinfo=CST)


def _front_page(site: NationalSite) -> bytes:
    body = '<ul class="entry"><li><a href="/zwgk/">政府信息公开</a></li></ul>'
    return _chrome(site, site.name, body, "首页").encode()


def _zwgk_page(site: NationalSite) -> bytes:
    body = (
        '<ul class="columns"><li><a href="./xxgkzn/">政府信息公开指南</a></li>'
        f'<li><a href="{COLUMN}">政府信息公开年报</a></li></ul>'
    )
    return _chrome(site, "政府信息公开", body, "政府信息公开").encode()


def _guide_page(site: NationalSite) -> bytes:
    body = (
        "<p>一、公开的主体和范围</p><p>二、主动公开</p><p>三、依申请公开</p>"
        f'<p><a href="{COLUMN}">政府信息公开年报</a></p>'
    )
    return _chrome(site, "政府信息公开指南", body, "政府信息公开指南").encode()


def document_bytes(site: NationalSite, report: Report, seed: int, cache_dir: Path | None) -> bytes:
    """A report's PDF or DOCX: from the cache, or made (and kept there)."""
    kind = "docx" if report.form == "docx" else "pdf"
    path = None
    if cache_dir is not None:
        path = cache_dir / f"s{seed}" / f"{report.sim_id}-e{report.edition}.{kind}"
        if path.exists():
            return path.read_bytes()
    truth = report_truth(report, site, seed)
    if kind == "docx":  # render.py dates the document from a day, not a day and time
        data = render_report_docx(dataclasses.replace(truth, published=truth.published[:10]))
    else:
        data = report_pdf(report, truth, seed)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + f".{id(data)}.tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    return data


def national_sites(
    count: int,
    seed: int = 0,
    edition: int = 1,
    cache_dir: Path | None = None,
    latency: float = 0.0,
) -> tuple[list[Site], list[NationalSite]]:
    """The servable sites of a national world, and their plans."""
    plans, sites = [], []
    for index in range(count):
        plan = plan_site(index, seed, edition)
        plans.append(plan)
        site = Site(
            f"nat{index}",
            plan.site_id,
            plan.name,
            plan.region,
            plan.region_code,
            "county",
            plan.ip,
            "trs",
            "utf-8",
            "/",
            plan.region_code + "0001",
            "/search/",
            behaviour={"slow": latency} if latency else {},
        )
        site.pages = LazyPages(plan, seed, cache_dir)  # type: ignore[assignment]
        sites.append(site)
    return sites, plans


def truth_records(plans: list[NationalSite], bases: dict[str, str]) -> list[dict]:
    """truth.json's reports: where each is and how it is published (numbers: report_truth)."""
    out = []
    for plan in plans:
        base = bases[plan.site_id].rstrip("/")
        for r in plan.reports:
            out.append(
                {
                    "sim_id": r.sim_id,
                    "site_id": plan.site_id,
                    "agency": r.agency,
                    "year": r.year,
                    "title": r.title,
                    "form": r.form,
                    "pages": r.pages if r.form in ("pdf", "html_pdf") else None,
                    "url": base + r.path,
                    "attachment_url": base + r.attachment if r.attachment else None,
                    "edition": r.edition,
                }
            )
    return out


def _warm_one(job: tuple[int, int, int, str]) -> int:
    index, seed, edition, cache = job
    plan = plan_site(index, seed, edition)
    made = 0
    for report in plan.reports:
        if report.attachment:
            document_bytes(plan, report, seed, Path(cache))
            made += 1
    return made


def warm(count: int, seed: int, cache_dir: Path, jobs: int = 2, edition: int = 1) -> int:
    """Make every PDF and DOCX of the world into the cache, ``jobs`` processes at once."""
    import multiprocessing

    work = [(i, seed, edition, str(cache_dir)) for i in range(count)]
    if jobs <= 1:
        return sum(map(_warm_one, work))
    with multiprocessing.get_context("spawn").Pool(jobs) as pool:
        return sum(pool.imap_unordered(_warm_one, work, chunksize=8))
