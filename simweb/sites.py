"""The simulated sites: which pages exist, and their bytes.

Three hosts modelled on real government sites:

* 新乡市牧野区人民政府 — a district portal on TRS: front page → 政府信息公开 →
  the column 政府信息公开年报 with the reports of the district and its departments,
  paginated ``index.html``, ``index_1.html`` … by ``createPageHTML(n, 0, "index", "html")``.
* 淮安市人民政府 — TRS with the ``createPageHTML('page_div', n, cur, 'index', 'shtml', total)``
  form (``index.shtml``, ``index_2.shtml`` …: page numbers count from 1 in this form);
  some reports exist only as a PDF attachment (``appendix="true"``, dead ``OLDSRC``),
  one of them the real 淮安 2024 report of the corpus.
* 上海市人民政府办公厅 — GB2312-declared pages, opaque article ids, plain pager links;
  serves the real 2019 report of the corpus among generated ones.

Pages that share words with the reports (预算, 决算, 政府工作报告, 统计公报, a notice
about the reports, a company's 年度报告) stand in the same listings, so a spider has to
tell them apart. Everything is derived from the seed, so a world is reproducible.
"""

from __future__ import annotations

import dataclasses
import hashlib
import html
import random
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import cached_property
from pathlib import Path

from simweb import truth as tr
from simweb.render import render_report_html, render_report_pdf, render_text_pdf

# The real documents served among the generated ones (each with its hand-checked cells),
# shipped inside the package so an installed demo serves what the checkout does.
CORPUS = Path(__file__).resolve().parent / "corpus"
CST = timezone(timedelta(hours=8))


@dataclass
class Page:
    body: bytes
    content_type: str
    modified: datetime  # aware; sent as Last-Modified

    @cached_property
    def etag(self) -> str:
        return '"' + hashlib.sha1(self.body).hexdigest()[:20] + '"'


@dataclass
class Site:
    key: str
    site_id: str
    name: str
    region: str
    region_code: str
    level: str
    ip: str
    cms: str
    charset: str  # as declared in the Content-Type header
    start_path: str
    site_code: str  # SiteIDCode meta: region code + 4-digit serial
    robots_disallow: str
    pages: dict[str, Page] = field(default_factory=dict, repr=False)
    # How the server misbehaves (simweb.hostile): challenge, flaky, gzip, always_fail …
    behaviour: dict = field(default_factory=dict, repr=False)

    def add(
        self,
        path: str,
        text: str | bytes,
        content_type: str | None = None,
        modified: datetime | None = None,
    ) -> None:
        if isinstance(text, str):
            text = text.encode("gb18030" if self.charset == "gb2312" else "utf-8")
        ctype = content_type or f"text/html; charset={self.charset}"
        self.pages[path] = Page(text, ctype, modified or datetime(2024, 1, 1, tzinfo=CST))


@dataclass
class Item:
    """One article of a listing: a report, or a page that only looks like one."""

    title: str
    published: str  # "YYYY-MM-DD HH:MM", China time
    column: str
    source: str
    body: str = ""  # article HTML
    truth: tr.ReportTruth | None = None
    pdf: bytes | None = None  # attachment, when the article is (or carries) a PDF
    pdf_name: str = ""
    path: str = ""
    attachment: str = ""

    @property
    def when(self) -> datetime:
        return datetime.strptime(self.published, "%Y-%m-%d %H:%M").replace(tzinfo=CST)


@dataclass
class World:
    seed: int
    sites: list[Site]
    reports: list[tuple[Site, Item]]
    non_reports: list[tuple[Site, str]]


# ---------------------------------------------------------------------------------------------
# What exists: sites, agencies, their reports, and the look-alikes.

SITES = [
    Site(
        "muye",
        "henan-xinxiang-muye",
        "新乡市牧野区人民政府",
        "河南省新乡市牧野区",
        "410711",
        "county",
        "127.0.0.2",
        "trs",
        "utf-8",
        "/",
        "4107110001",
        "/search/",
    ),
    Site(
        "huaian",
        "jiangsu-huaian",
        "淮安市人民政府",
        "江苏省淮安市",
        "320800",
        "prefecture",
        "127.0.0.3",
        "trs",
        "utf-8",
        "/zfxxgk/",
        "3208000003",
        "/module/",
    ),
    Site(
        "shanghai",
        "shanghai-szfbgt",
        "上海市人民政府办公厅",
        "上海市",
        "310000",
        "department",
        "127.0.0.4",
        "",
        "gb2312",
        "/nw12344/",
        "3100000087",
        "/cgi-bin/",
    ),
]

# (site, sim code, agency, profile, size, years, PDF years)
AGENCIES = [
    ("muye", "muye-gov", "新乡市牧野区人民政府", "county", "medium", range(2019, 2025), ()),
    ("muye", "muye-czj", "牧野区财政局", "department", "small", (2022, 2023, 2024), ()),
    ("muye", "muye-jyj", "牧野区教育局", "department", "small", (2023, 2024), ()),
    ("muye", "muye-wjw", "牧野区卫生健康委员会", "department", "small", (2020, 2024), ()),
    ("muye", "muye-zjj", "牧野区住房和城乡建设局", "enforcement", "small", (2021, 2024), ()),
    ("muye", "muye-scjgj", "牧野区市场监督管理局", "enforcement", "medium", (2024,), ()),
    ("muye", "muye-wcz", "牧野区王村镇人民政府", "town", "zero", (2024,), (2024,)),
    ("huaian", "huaian-szf", "淮安市人民政府", "city", "huge", range(2019, 2024), (2023,)),
    ("huaian", "huaian-fgw", "淮安市发展和改革委员会", "department", "small", (2023, 2024), ()),
    ("huaian", "huaian-sthjj", "淮安市生态环境局", "enforcement", "medium", (2024,), (2024,)),
    ("shanghai", "shanghai-szfbgt", "上海市人民政府办公厅", "city", "large", (2020, 2021), ()),
]
# Agencies whose reports print zero cells of tables 3 and 4 as blanks (as 上海 2019 does).
BLANK_ZEROS = {"muye-wjw", "shanghai-szfbgt"}
# Real documents served as they are; their truth is their .expected.json.
CORPUS_REPORTS = [
    (
        "shanghai",
        "shanghai-szfbgt-2019.html",
        "shanghai-szfbgt-2019",
        "2019年上海市人民政府办公厅政府信息公开工作年度报告",
        "2020-01-31 00:00",
    ),
    (
        "huaian",
        "huaian-szf-2024.pdf",
        "huaian-szf-2024",
        "淮安市人民政府2024年政府信息公开工作年度报告",
        "2025-02-25 16:30",
    ),
]
# Columns: site → key → (directory, name). The first is the annual-report column.
COLUMNS = {
    "muye": {
        "nb": ("/zwgk/zfxxgknb/", "政府信息公开年报"),
        "czyjs": ("/zwgk/czyjs/", "财政预决算"),
        "zfgzbg": ("/zwgk/zfgzbg/", "政府工作报告"),
        "tjxx": ("/zwgk/tjxx/", "统计信息"),
    },
    "huaian": {
        "nb": ("/zfxxgk/zfxxgknb/", "政府信息公开年报"),
        "tjxx": ("/zfxxgk/tjxx/", "统计信息"),
        "zfgzbg": ("/zfxxgk/zfgzbg/", "政府工作报告"),
    },
    "shanghai": {"nb": ("/nw12344/", "政府信息公开年报")},
}
# (site, column, title, kind, published)
LOOKALIKES = [
    ("muye", "nb", "关于做好2025年政府信息公开工作的通知", "notice", "2025-01-08 10:00"),
    ("muye", "nb", "新乡市牧野区城市建设投资有限公司2024年度报告", "company", "2025-03-28 15:20"),
    ("muye", "czyjs", "牧野区财政局2024年部门预算公开", "budget", "2024-02-05 09:00"),
    ("muye", "czyjs", "新乡市牧野区2023年决算公开", "final_accounts", "2024-08-20 16:00"),
    ("muye", "zfgzbg", "2024年新乡市牧野区政府工作报告", "work_report", "2024-01-22 08:30"),
    (
        "muye",
        "tjxx",
        "新乡市牧野区2023年国民经济和社会发展统计公报",
        "bulletin",
        "2024-04-10 11:00",
    ),
    (
        "huaian",
        "nb",
        "淮安市城市发展投资控股集团有限公司2024年度报告",
        "company",
        "2025-04-29 17:00",
    ),
    ("huaian", "nb", "关于做好2025年政府信息公开工作的通知", "notice", "2025-01-10 09:30"),
    ("huaian", "tjxx", "淮安市2023年国民经济和社会发展统计公报", "bulletin", "2024-03-29 10:00"),
    ("huaian", "zfgzbg", "2024年淮安市政府工作报告", "work_report", "2024-01-30 09:00"),
    ("shanghai", "nb", "2024年上海市政府工作报告", "work_report", "2024-01-29 10:00"),
    ("shanghai", "nb", "2023年上海市国民经济和社会发展统计公报", "bulletin", "2024-03-21 10:00"),
]
PAGE_SIZE = {"muye": 8, "huaian": 4, "shanghai": 4}


def _published(rng: random.Random, year: int, government: bool) -> str:
    """Departments publish by 31 January, governments by 31 March (条例 第四十九条)."""
    start = datetime(year + 1, 1, 20 if government else 8)
    days = rng.randint(0, 68 if government else 22)
    when = start + timedelta(
        days=days, hours=rng.randint(8, 17), minutes=rng.choice([0, 15, 30, 45])
    )
    return when.strftime("%Y-%m-%d %H:%M")


def _plan(seed: int, corpus: Path | None) -> list[tuple[str, Item]]:
    """Every report of the world with its truth, faults included."""
    rng = random.Random(seed)
    sites = {s.key: s for s in SITES}
    planned: list[tuple[str, Item]] = []
    for site_key, code, agency, profile, size, years, pdf_years in AGENCIES:
        site = sites[site_key]
        for year in years:
            if corpus and any(c[2] == f"{code}-{year}" for c in CORPUS_REPORTS):
                continue
            government = profile in ("city", "county", "town")
            title = (
                f"{year}年{agency}政府信息公开工作年度报告"
                if site_key == "shanghai"
                else f"{agency}{year}年政府信息公开工作年度报告"
            )
            truth = tr.generate(
                f"{code}-{year}",
                site_id=site.site_id,
                agency=agency,
                region=site.region,
                region_code=site.region_code,
                year=year,
                title=title,
                published=_published(rng, year, government),
                fmt="pdf" if year in pdf_years else "html",
                size=size,
                profile=profile,
                seed=seed,
            )
            planned.append((site_key, Item(title, truth.published, "nb", agency, truth=truth)))
    _inject_faults(planned, rng)
    for _, item in planned:
        # A few reports leave the odd zero cell empty; some agencies leave nearly all empty.
        blank_rng = random.Random(f"blank:{seed}:{item.truth.sim_id}")
        if item.truth.sim_id.rsplit("-", 1)[0] in BLANK_ZEROS:
            tr.blank_zeros(item.truth, 0.9, blank_rng)
        elif blank_rng.random() < 0.2:
            tr.blank_zeros(item.truth, 0.05, blank_rng)
    for _, item in planned:
        tr.verify_planted(item.truth)
    if corpus:
        for site_key, name, sim_id, title, published in CORPUS_REPORTS:
            site = sites[site_key]
            truth = tr.from_corpus(
                corpus / name,
                sim_id=sim_id,
                site_id=site.site_id,
                region=site.region,
                region_code=site.region_code,
                title=title,
                published=published,
                fmt="pdf" if name.endswith(".pdf") else "html",
            )
            planned.append((site_key, Item(title, published, "nb", truth.agency, truth=truth)))
    return planned


def _inject_faults(planned: list[tuple[str, Item]], rng: random.Random) -> None:
    """Three deliberately wrong reports: a t3 cell (HTML), a t4 total (PDF), a t3 total (GBK)."""

    def busy(site: str, fmt: str) -> list[tr.ReportTruth]:
        return [
            i.truth
            for s, i in planned
            if s == site
            and i.truth.format == fmt
            and (i.truth.tables["t3"]["new_requests"]["total"] or 0) > 5
        ]

    t = rng.choice(busy("muye", "html"))
    tr.inject_fault(
        t, "t3", rng.choice(["granted", "unable_not_held", "results_total"]), "natural_person", rng
    )
    t = rng.choice(busy("huaian", "pdf") or busy("huaian", "html"))
    tr.inject_fault(t, "t4", rng.choice(["review", "litigation_direct"]), "total", rng)
    t = rng.choice(busy("shanghai", "html"))
    rows = t.tables["t3"]
    row = rng.choice([r for r in rows if (rows[r]["total"] or 0) > 0])
    tr.inject_fault(t, "t3", row, "total", rng)


# ---------------------------------------------------------------------------------------------
# Look-alike pages: same words, different documents.


def _lookalike_body(kind: str, title: str, rng: random.Random) -> str:
    year = title[title.index("20") : title.index("20") + 4] if "20" in title else "2024"
    if kind == "notice":
        return (
            "<p>各乡镇人民政府（街道办事处），各有关单位：</p><p>为做好政府信息公开工作年度报告编制"
            f"和发布工作，现将有关事项通知如下：各单位应于{year}年1月31日前在本机关门户网站发布本单位"
            f"{int(year) - 1}年政府信息公开工作年度报告，报告格式按照国办公开办函〔2021〕30号执行。</p>"
            "<p>特此通知。</p>"
        )
    if kind == "company":
        return (
            "<p>一、公司基本情况</p><p>公司系国有独资企业，主要从事城市基础设施建设和国有资产运营。</p>"
            '<p>二、主要财务数据</p><table border="1"><tr><td>项目</td><td>本年度</td><td>上年度</td>'
            f"</tr><tr><td>营业收入（万元）</td><td>{rng.randint(10000, 90000)}</td><td>"
            f"{rng.randint(10000, 90000)}</td></tr><tr><td>资产总额（万元）</td><td>"
            f"{rng.randint(100000, 900000)}</td><td>{rng.randint(100000, 900000)}</td></tr></table>"
            "<p>三、年度报告审计情况</p><p>本年度报告经会计师事务所审计，出具了标准无保留意见。</p>"
        )
    if kind in ("budget", "final_accounts"):
        what = "预算" if kind == "budget" else "决算"
        return (
            f"<p>根据《中华人民共和国预算法》等规定，现将{title[:-2]}公开如下。</p>"
            f'<p>一、收支{what}总表</p><table border="1"><tr><td>收入</td><td>金额（万元）</td>'
            f"<td>支出</td><td>金额（万元）</td></tr><tr><td>一般公共预算拨款</td><td>"
            f"{rng.randint(500, 9000)}</td><td>一般公共服务支出</td><td>{rng.randint(500, 9000)}"
            "</td></tr></table><p>二、“三公”经费情况说明</p><p>详见附件。</p>"
        )
    if kind == "work_report":
        return (
            "<p>各位代表：</p><p>现在，我代表人民政府，向大会报告工作，请予审议，并请政协委员和"
            "其他列席人员提出意见。</p><p>一、过去一年工作回顾</p><p>过去一年，我们坚持稳中求进"
            f"工作总基调，地区生产总值增长{rng.randint(40, 70) / 10}%。</p><p>二、今年工作安排</p>"
            "<p>深入推进政务公开，持续优化营商环境。</p>"
        )
    return (
        f"<p>{year}年，全区经济运行稳中有进。</p><p>一、综合</p><p>全年地区生产总值"
        f"{rng.randint(100, 900)}亿元，比上年增长{rng.randint(30, 80) / 10}%。</p>"
        "<p>二、农业</p><p>全年粮食总产量保持稳定。</p>"
    )


# ---------------------------------------------------------------------------------------------
# HTML of the three site families.

_TRS_JS = """<script>
function createPageHTML(a, b, c, d, e, f) {
  var id = null, n, cur, name, ext, first = 0;
  if (typeof a === "string") { id = a; n = b; cur = c; name = d; ext = e; first = 1; }
  else { n = a; cur = b; name = c; ext = d; }
  if (n <= 1) return;
  var h = "";
  for (var i = first; i < n + first; i++) {
    var url = i === first ? name + "." + ext : name + "_" + i + "." + ext;
    h += i === cur ? "<span>" + (i - first + 1) + "</span> " : "<a href=\\"" + url + "\\">" + (i - first + 1) + "</a> ";
  }
  if (id && document.getElementById(id)) document.getElementById(id).innerHTML = h;
  else document.write(h);
}
</script>"""


def _meta(site: Site, column: str, item: Item | None, flip: bool) -> str:
    pairs = [
        ("SiteName", site.name),
        ("SiteDomain", site.ip),
        ("SiteIDCode", site.site_code),
        ("ColumnName", column),
        ("ColumnType", "政府信息公开"),
    ]
    if item:
        pairs += [
            ("ArticleTitle", item.title),
            ("PubDate", item.published),
            ("ContentSource", item.source),
            ("Keywords", "政府信息公开"),
        ]
    esc = html.escape
    if flip:  # attribute order varies between real sites
        return "\n".join(f'<meta content="{esc(v)}" name="{k}">' for k, v in pairs)
    return "\n".join(f'<meta name="{k}" content="{esc(v)}">' for k, v in pairs)


def _document(site: Site, title: str, meta: str, content: str, crumbs: str) -> str:
    charset = (
        '<meta http-equiv="Content-Type" content="text/html; charset=gb2312">'
        if site.charset == "gb2312"
        else '<meta charset="utf-8">'
    )
    script = _TRS_JS if site.cms == "trs" else ""
    return f"""<!DOCTYPE html>
<html lang="zh-CN">
<head>
{charset}
<title>{html.escape(title)}</title>
{meta}
{script}
</head>
<body>
<div class="header"><a href="/">{site.name}</a></div>
<div class="nav"><a href="/">首页</a> <a href="{_info_path(site)}">政府信息公开</a></div>
<div class="position">当前位置：<a href="/">首页</a> {crumbs}</div>
<div class="main">
{content}
</div>
<div class="footer">主办：{site.name} 网站标识码：{site.site_code}</div>
</body>
</html>
"""


def _info_path(site: Site) -> str:
    return {"muye": "/zwgk/", "huaian": "/zfxxgk/"}.get(site.key, "/nw12344/")


def _ext(site: Site) -> str:
    return "shtml" if site.key == "huaian" else "html"


def _list_page(
    site: Site, column: tuple[str, str], items: list[Item], page: int, pages: int, total: int
) -> str:
    directory, name = column
    lis = []
    for it in items:
        href = "./" + it.path[len(directory) :] if site.cms == "trs" else it.path
        lis.append(
            f'<li><a href="{href}" title="{html.escape(it.title)}" target="_blank">'
            f'{html.escape(it.title)}</a><span class="time">{it.published[:10]}</span></li>'
        )
    if site.key == "muye":
        pager = f'<script>createPageHTML({pages}, {page}, "index", "html");</script>'
    elif site.key == "huaian":
        pager = (
            f"<div id=\"page_div\"></div><script>createPageHTML('page_div', {pages}, "
            f"{page + 1}, 'index', 'shtml', {total});</script>"
        )
    else:
        links = []
        if page > 0:
            links.append(f'<a href="{_page_name(site, page - 1)}">上一页</a>')
        links.append(f"第{page + 1}页/共{pages}页")
        if page + 1 < pages:
            links.append(f'<a href="{_page_name(site, page + 1)}">下一页</a>')
        pager = " ".join(links)
    content = (
        f'<div class="list-title">{name}</div>\n<ul class="list">\n'
        + "\n".join(lis)
        + f'\n</ul>\n<div class="page">{pager}</div>'
    )
    crumbs = f'&gt; <a href="{_info_path(site)}">政府信息公开</a> &gt; {name}'
    return _document(
        site, f"{name}_{site.name}", _meta(site, name, None, site.key == "huaian"), content, crumbs
    )


def _page_name(site: Site, page: int) -> str:
    """File name of listing page ``page`` (0-based) in the site's own convention."""
    if page == 0:
        return f"index.{_ext(site)}"
    if site.key == "muye":
        return f"index_{page}.html"
    return f"index_{page + 1}.{_ext(site)}"


def _detail_page(site: Site, column_name: str, item: Item) -> str:
    body = item.body or f"<p>{html.escape(item.title)}详见附件。</p>"
    if item.attachment:
        name = html.escape(item.pdf_name)
        file = item.attachment.rsplit("/", 1)[1]
        day = item.published[:10].replace("-", "")
        body += (
            f'\n<p>附件：<a appendix="true" data-appendix="true" needdownload="true" '
            f'href="./{file}" title="{name}" download="{name}" '
            f'OLDSRC="/protect/P0{day[:6]}/P0{day}/{file}">{name}</a></p>'
        )
    box = (
        '<div class="Article_content" id="ivs_content">'
        if site.key == "shanghai"
        else '<div class="TRS_Editor">'
    )
    content = (
        f'<div class="article"><h1 class="title">{html.escape(item.title)}</h1>\n'
        f'<div class="info">发布时间：{item.published[:10]} 来源：{html.escape(item.source)}'
        f"</div>\n{box}\n{body}\n</div></div>"
    )
    crumbs = f'&gt; <a href="{_info_path(site)}">政府信息公开</a> &gt; {column_name}'
    return _document(
        site, item.title, _meta(site, column_name, item, site.key == "huaian"), content, crumbs
    )


def _index_page(site: Site, title: str, links: list[tuple[str, str]], latest: list[Item]) -> str:
    nav = "\n".join(f'<li><a href="{href}">{html.escape(text)}</a></li>' for href, text in links)
    news = "\n".join(
        f'<li><a href="{it.path}" title="{html.escape(it.title)}">'
        f"{html.escape(it.title)}</a><span>{it.published[:10]}</span></li>"
        for it in latest
    )
    content = (
        f'<ul class="columns">\n{nav}\n</ul>\n<div class="latest"><h3>最新信息</h3><ul>\n'
        f"{news}\n</ul></div>"
    )
    return _document(site, title, _meta(site, title, None, False), content, "")


# ---------------------------------------------------------------------------------------------
# Assembly.


def _paths(site: Site, item: Item, rng: random.Random, used: set[str]) -> None:
    """Give an article its URL (and its attachment's), in the site's CMS convention."""
    directory = COLUMNS[site.key][item.column][0]
    day = item.published[:10].replace("-", "")
    while True:
        if site.key == "shanghai":
            path = f"{directory}{day}/{rng.getrandbits(128):032x}.html"
        else:
            path = f"{directory}{day[:6]}/t{day}_{rng.randint(100000, 9999999)}.{_ext(site)}"
        if path not in used:
            break
    used.add(path)
    item.path = path
    if item.pdf is not None:
        name = f"P0{day}{rng.randint(10**11, 10**12 - 1)}.pdf"
        item.attachment = path.rsplit("/", 1)[0] + "/" + name


# Reports published both ways: the article holds the tables and attaches the signed PDF of
# the same report (one report, two originals).
BOTH_FORMATS = {"muye-gov-2023", "huaian-fgw-2024"}


def _report_item(site: Site, item: Item, corpus: Path | None) -> None:
    t = item.truth
    if t.corpus and t.format == "pdf":
        item.pdf = (corpus / t.corpus).read_bytes()
    elif t.corpus:
        item.body = (corpus / t.corpus).read_text("utf-8")
    elif t.format == "pdf":
        item.pdf = render_report_pdf(t)
    else:
        item.body = render_report_html(t)
        if t.sim_id in BOTH_FORMATS:
            item.pdf = render_report_pdf(t)
    if item.pdf is not None:
        item.pdf_name = f"{t.title}.pdf"


def build_world(seed: int = 0, corpus: Path | None = CORPUS) -> World:
    """The whole simulated web of one seed (real corpus documents included when present)."""
    if corpus is not None and not all((corpus / c[1]).exists() for c in CORPUS_REPORTS):
        sys.stderr.write(f"simweb: no corpus documents in {corpus}; serving generated ones only\n")
        corpus = None
    rng = random.Random(f"paths:{seed}")
    sites = [dataclasses.replace(s, pages={}) for s in SITES]
    by_key = {s.key: s for s in sites}
    items: dict[str, list[Item]] = {s.key: [] for s in sites}
    reports, non_reports = [], []
    for site_key, item in _plan(seed, corpus):
        _report_item(by_key[site_key], item, corpus)
        items[site_key].append(item)
        reports.append((by_key[site_key], item))
    for site_key, column, title, kind, published in LOOKALIKES:
        body = _lookalike_body(kind, title, random.Random(f"{seed}:{title}"))
        source = by_key[site_key].name
        item = Item(title, published, column, source, body=body)
        if kind == "budget":
            item.pdf = render_text_pdf(title, [title, "一、部门基本情况", "二、收支预算总表"])
            item.pdf_name = f"{title}.pdf"
        items[site_key].append(item)
    used: set[str] = set()
    for site in sites:
        for item in sorted(items[site.key], key=lambda i: (i.published, i.title)):
            _paths(site, item, rng, used)
            if item.truth is None:
                non_reports.append((site, item.path))
                if item.attachment:
                    non_reports.append((site, item.attachment))
        _assemble(site, items[site.key])
    return World(seed, sites, reports, non_reports)


def _assemble(site: Site, items: list[Item]) -> None:
    columns = COLUMNS[site.key]
    latest = sorted(items, key=lambda i: i.when, reverse=True)
    newest = latest[0].when
    for key, column in columns.items():
        listed = [i for i in latest if i.column == key]
        size = PAGE_SIZE[site.key] if key == "nb" else 20
        pages = max(1, -(-len(listed) // size))
        for page in range(pages):
            chunk = listed[page * size : (page + 1) * size]
            site.add(
                column[0] + _page_name(site, page),
                _list_page(site, column, chunk, page, pages, len(listed)),
                modified=max((i.when for i in chunk), default=newest),
            )
        for item in listed:
            site.add(item.path, _detail_page(site, column[1], item), modified=item.when)
            if item.attachment:
                site.add(item.attachment, item.pdf, "application/pdf", item.when)
    col_links = [(d, n) for d, n in columns.values()]
    if site.key == "muye":
        site.add(
            "/zwgk/index.html",
            _index_page(
                site,
                f"政府信息公开_{site.name}",
                [("./xxgkzn/", "政府信息公开指南")]
                + [("./" + d[len("/zwgk/") :], n) for d, n in col_links],
                latest[:4],
            ),
            modified=newest,
        )
        site.add(
            "/zwgk/xxgkzn/index.html",
            _index_page(site, "政府信息公开指南", [("../zfxxgknb/", "政府信息公开年报")], []),
            modified=datetime(2023, 6, 1, tzinfo=CST),
        )
        front = [("/zwgk/", "政府信息公开")]
    elif site.key == "huaian":
        site.add(
            "/zfxxgk/index.shtml",
            _index_page(
                site,
                f"政府信息公开_{site.name}",
                [("./" + d[len("/zfxxgk/") :] + "index.shtml", n) for d, n in col_links],
                latest[:4],
            ),
            modified=newest,
        )
        front = [("/zfxxgk/", "政府信息公开")]
    else:
        front = [("/nw12344/", "政府信息公开年报")]
    site.add(
        f"/index.{_ext(site)}", _index_page(site, site.name, front, latest[:6]), modified=newest
    )
    site.add(site.robots_disallow + "index.html", _index_page(site, "站内搜索", [], []))
    site.add(
        "/robots.txt",
        f"User-agent: *\nDisallow: {site.robots_disallow}\n".encode(),
        "text/plain; charset=utf-8",
    )


def find_page(site: Site, path: str) -> tuple[Page | None, str | None]:
    """The page at ``path`` (directory paths serve their index), or a redirect target."""
    if path in site.pages:
        return site.pages[path], None
    if path.endswith("/"):
        for name in ("index.html", "index.shtml"):
            if path + name in site.pages:
                return site.pages[path + name], None
        return None, None
    if any(p.startswith(path + "/") for p in site.pages):
        return None, path + "/"
    return None, None
