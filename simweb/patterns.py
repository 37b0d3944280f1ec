"""Sites for the listing patterns of real government portals, one site per pattern.

Each reproduces what public notes and spiders show of real sites (the example of each
is named in its docstring); each holds reports, look-alikes and the way to its 年报
column from the front page, so a crawler has to find the column and read every report.

* ``hanweb-more`` — 大汉 "加载更多": the list comes from ``morecolumndataproxy.jsp`` by
  GET, ``page=N`` with several column ids at once (jshrss.jiangsu.gov.cn, iachina.cn).
* ``hanweb-get`` — 大汉 without a datastore in the page: its script loads
  ``/module/web/jpage/dataproxy.jsp?page=N&…`` by GET; ``<totalpage>`` says how many
  (www.daxie.gov.cn, swj.dl.gov.cn, cnipa).
* ``hanweb-old`` — 大汉 under ``/module/jpage/`` (www.zj.gov.cn): the datastore's
  ``nextgroup`` and ``jpage.js`` name that path; ``/module/web/jpage/`` does not exist.
* ``column-index`` — 成都: ``column-index-N.shtml`` pages, items are ``<div class="li"
  onclick="window.open('…','_blank')">`` without ``<a>``, the pager drawn from
  ``pageCount`` (www.cdtf.gov.cn/gkml/…/column-index-1.shtml).
* ``numbered`` — 延安: ``/zfxxgk/zfxxgknb/1.html``, ``2.html`` …, the pager drawn from
  ``totalPage`` (jyj.yanan.gov.cn).
* ``itemobj`` — 国家疾控局: the list is a script array ``var itemObj = [{"aT", "aPd",
  "aU": "{\\"common\\": \\"/…\\"}"}]`` (www.ndcpa.gov.cn/jbkzzx/c100014/common/list.html).
* ``wap`` — a listing that links ``_wap`` mobile pages; one report exists only as its
  ``_wap`` page (cqqj.gov.cn … ``_wap.html``).
* ``shells`` — the 信息公开 page and the 年报 column are redirect shells, one by
  ``location.replace``, one by ``<meta http-equiv="refresh">`` (北京 东城, 石景山, 怀柔, 密云).
* ``yeartree`` — a county's 年报 tree: a folder per year, in it a folder per category
  (区政府部门, 乡镇街道) and one per unit under opaque ids (北京 通州 ``zfxxgknb/<年>/xzjd/
  <id>/``, 大兴 ``{Y}n/xzjd/``, 怀柔 ``{Y}nb/zxjd{Y}/``).
* ``http-gbk`` — http only (the TLS handshake fails, as 深圳人社's ``BAD_ECPOINT`` does),
  GBK with no charset header and on some pages no ``<meta>`` either, and links written
  with absolute https URLs (北京 朝阳 www.bjchy.gov.cn; 深圳人社).
* ``https-only`` — https only with a self-signed certificate; plain http gets nginx's
  "400 The plain HTTP request was sent to HTTPS port" (丰台人大 renda.bjft.gov.cn).
* ``opaque`` — the column has an opaque numeric id (``/xxfb/xxgk/c100226/c1002NN/``)
  and is linked only from the 信息公开 directory page (北京 丰台 www.bjft.gov.cn).
* ``robots-all`` — robots.txt is ``Disallow: /`` (北京 顺义 www.bjshy.gov.cn).
* ``unittree`` — a 年报 tree whose units are named only by the tree: a folder per year
  (``{Y}nb/``), category folders with the year in their name (``qzfbm{Y}/``, ``zxjd{Y}/``),
  unit folders titled ``区财政局_2024年`` whose reports say no agency (北京 怀柔, 东城).
* ``epoint`` — 江苏 Epoint (新点) ``/dynamic/zwgk/govInfoPub.html``: a catalogue of
  ``?categorynum=`` pages whose list comes by a JSON POST to
  ``/EWB-FRONT/rest/lightfrontaction/getgovinfolist`` (徐州 and its departments).
* ``gkmlpt-sub`` — 广东 gkmlpt under a department's path on its city's host
  (``/dghlz/gkmlpt/``, 东莞), its categories only in ``window._CONFIG``'s ``TREE``.

Where a detail is cited as "public code #N", N is the id of a public repository file the
project's search index holds (as in the ``source`` column of ``crawler/sites.csv``).
"""

from __future__ import annotations

import html
import random
from dataclasses import dataclass, field
from urllib.parse import quote

from simweb.hostile import _html, _links, _report_page, _site
from simweb.sites import Site

PATTERN_SITES = (
    "hanweb-more",
    "hanweb-get",
    "hanweb-old",
    "column-index",
    "numbered",
    "itemobj",
    "wap",
    "shells",
    "yeartree",
    "http-gbk",
    "https-only",
    "opaque",
    "robots-all",
    "unittree",
    "epoint",
    "gkmlpt-sub",
)
ROBOTS = b"User-agent: *\nDisallow: /search/\n"


@dataclass
class Expected:
    """What a crawler should find on a pattern site (paths, relative to its base URL)."""

    column: str  # the 年报 column (for a tree: its root)
    reports: list[str] = field(default_factory=list)  # report pages, as the crawl stores them
    units: dict[str, list[str]] = field(default_factory=dict)  # tree: agency → unit folders
    listing: str = ""


def _titles(agency: str, years) -> list[tuple[int, str]]:
    return [(y, f"{agency}{y}年政府信息公开工作年度报告") for y in years]


def _pattern(key: str, ip: str, name: str, code: str) -> Site:
    site = _site(key, ip, name, code, {})
    site.site_code = code + "0001"
    return site


def _front(site: Site, links: list[tuple[str, str]], extra: str = "") -> None:
    meta = f'<meta name="SiteName" content="{site.name}"><meta name="SiteIDCode" content="{site.site_code}">'
    site.add(
        "/",
        _html(site.name, meta + _links([("/", "首页"), *links]) + extra),
    )
    site.add("/robots.txt", ROBOTS, "text/plain")


def _datastore(
    records: list[str], total_pages: int | None = None, total: int | None = None
) -> bytes:
    body = "".join(f"<record><![CDATA[{r}]]></record>" for r in records)
    head = f"<totalrecord>{total if total is not None else len(records)}</totalrecord>"
    if total_pages is not None:
        head += f"<totalpage>{total_pages}</totalpage>"
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><datastore>{head}<recordset>{body}'
        "</recordset></datastore>"
    ).encode()


def _record(path: str, title: str, day: str) -> str:
    return (
        f'<li><a href="{path}" title="{html.escape(title)}" target="_blank">'
        f"{html.escape(title)}</a><b>{day}</b></li>"
    )


def _hanweb_more() -> tuple[Site, Expected]:
    site = _pattern("hanweb-more", "127.0.0.31", "苏更市人民政府", "320582")
    columns = "1229001,1229002"
    reports, records = [], []
    for n, (year, title) in enumerate(
        _titles("苏更市人民政府", range(2018, 2025)) + _titles("苏更市财政局", (2023, 2024))
    ):
        path = f"/art/{year + 1}/1/2{n % 9}/art_1229001_{58000 + n}.html"
        site.add(path, _report_page(title))
        reports.append(path)
        records.append(_record(path, title, f"{year + 1}-01-2{n % 9}"))
    budget = "/art/2024/2/1/art_1229002_59000.html"
    site.add(budget, _report_page("苏更市2024年部门预算公开"))
    records.insert(3, _record(budget, "苏更市2024年部门预算公开", "2024-02-01"))
    per = 4
    query = (
        "appid=1&webid=3257&path=/&columnid={cols}&unitid=6412&keyWordCount=30"
        f"&webname={quote('苏更市人民政府')}&permissiontype=0"
    ).format(cols=columns)
    pages = -(-len(records) // per)
    for page in range(1, pages + 1):
        chunk = records[(page - 1) * per : page * per]
        site.add(
            f"/module/web/jpage/morecolumndataproxy.jsp?page={page}&{query}",
            _datastore(chunk, pages, len(records)),
            "text/xml; charset=utf-8",
        )
    column = (
        '<ul id="list"></ul><a id="more" href="javascript:void(0)">加载更多</a>'
        "<script>var page = 1; function more() { $.get("
        f"'/module/web/jpage/morecolumndataproxy.jsp?page=' + page + '&{query}', "
        "function (xml) { page++; }); }</script>"
    )
    site.add("/col/col1229000/index.html", _html("政府信息公开年报", column))
    _front(site, [("/col/col1229000/index.html", "政府信息公开年报")])
    return site, Expected("/col/col1229000/index.html", reports, listing="hanweb-more")


def _hanweb_get() -> tuple[Site, Expected]:
    site = _pattern("hanweb-get", "127.0.0.32", "大榭区管委会", "330206")
    records, reports = [], []
    for n, (year, title) in enumerate(_titles("大榭区管委会", range(2015, 2025))):
        path = f"/art/{year + 1}/1/15/art_85336_{134000 + n}.html"
        site.add(path, _report_page(title))
        reports.append(path)
        records.append(_record(path, title, f"{year + 1}-01-15"))
    query = (
        f"appid=1&webid=142&path=/&columnid=85336&unitid=134492&webname={quote('大榭区')}"
        "&permissiontype=0"
    )
    per = 3
    pages = -(-len(records) // per)
    for page in range(1, pages + 1):
        site.add(
            f"/module/web/jpage/dataproxy.jsp?page={page}&{query}",
            _datastore(records[(page - 1) * per : page * per], pages, len(records)),
            "text/xml; charset=utf-8",
        )
    column = (
        '<div id="85336"></div><script>'
        f'var dataUrl = "/module/web/jpage/dataproxy.jsp?page=1&{query}";'
        "$.get(dataUrl, render);</script>"
    )
    site.add("/col/col85336/index.html", _html("政府信息公开年报", column))
    _front(site, [("/col/col85336/index.html", "政府信息公开年报")])
    return site, Expected("/col/col85336/index.html", reports, listing="hanweb-get")


def _hanweb_old() -> tuple[Site, Expected]:
    site = _pattern("hanweb-old", "127.0.0.33", "浙老市人民政府", "330702")
    records, reports = [], []
    for n, (year, title) in enumerate(_titles("浙老市人民政府", range(2016, 2025))):
        path = f"/art/{year + 1}/1/25/art_1545733_{4767000 + n}.html"
        site.add(path, _report_page(title))
        reports.append(path)
        records.append(_record(path, title, f"{year + 1}-01-25"))
    proxy = "/module/jpage/dataproxy.jsp"
    site.behaviour["hanweb_posts"] = {
        proxy: {"columnid": "1545733", "unitid": "4767824", "records": records}
    }
    first = "".join(f"<record><![CDATA[{r}]]></record>" for r in records[:3])
    nextgroup = (
        f'<a href="{proxy}?page=1&webid=3096&path=/&columnid=1545733&unitid=4767824'
        '&webname=浙老市人民政府&permissiontype=0"></a>'
    )
    column = (
        '<div id="4767824"><script type="text/xml"><datastore><nextgroup>'
        f"<![CDATA[{nextgroup}]]></nextgroup><recordset>{first}</recordset></datastore>"
        '</script><script src="/module/jpage/jpage.js"></script></div>'
    )
    site.add("/col/col1545733/index.html", _html("政府信息公开年报", column))
    _front(site, [("/col/col1545733/index.html", "政府信息公开年报")])
    return site, Expected("/col/col1545733/index.html", reports, listing="hanweb")


def _column_index() -> tuple[Site, Expected]:
    site = _pattern("column-index", "127.0.0.34", "锦府区人民政府", "510104")
    items, reports = [], []
    agencies = ["锦府区人民政府", "锦府区教育局", "锦府区财政局", "锦府区卫生健康局"]
    for a, agency in enumerate(agencies):
        for year, title in _titles(agency, (2022, 2023, 2024)):
            path = (
                f"/gkml/zfxxgknb/{year + 1}01/t{year + 1}012{a}_{880000 + a * 10 + year % 10}.shtml"
            )
            site.add(path, _report_page(title))
            reports.append(path)
            items.append((path, title, f"{year + 1}-01-2{a}"))
    items.insert(
        5,
        ("/gkml/zfxxgknb/202402/t20240201_889999.shtml", "锦府区2024年政府工作报告", "2024-02-01"),
    )
    site.add(items[5][0], _report_page(items[5][1]))
    per = 5
    pages = -(-len(items) // per)
    for page in range(1, pages + 1):
        rows = "".join(
            f"<div class=\"li\" onclick=\"window.open('{p}','_blank')\">"
            f'<span class="s1">·</span><span class="s2">{html.escape(t)}</span>'
            f'<span class="s3">{d}</span></div>'
            for p, t, d in items[(page - 1) * per : page * per]
        )
        pager = (
            f'<div id="pager"></div><script>var pageCount = {pages}; var pageIndex = {page};'
            " drawPager('pager', pageCount, pageIndex, 'column-index-', '.shtml');</script>"
        )
        site.add(
            f"/gkml/zfxxgknb/column-index-{page}.shtml", _html("政府信息公开年报", rows + pager)
        )
    site.add(
        "/gkml/index.shtml",
        _html(
            "政府信息公开目录",
            _links(
                [
                    ("/gkml/zfxxgkzn/column-index-1.shtml", "政府信息公开指南"),
                    ("/gkml/zfxxgknb/column-index-1.shtml", "政府信息公开年报"),
                    ("/gkml/czyjs/column-index-1.shtml", "财政预决算"),
                ]
            ),
        ),
    )
    _front(site, [("/gkml/index.shtml", "政府信息公开")])
    return site, Expected("/gkml/zfxxgknb/column-index-1.shtml", reports, listing="column-index")


def _numbered() -> tuple[Site, Expected]:
    site = _pattern("numbered", "127.0.0.35", "延河区教育局", "610602")
    items, reports = [], []
    for n, (_year, title) in enumerate(_titles("延河区教育局", range(2014, 2025))):
        path = f"/zfxxgk/zfxxgknb/{1700000 + n}.html"
        site.add(path, _report_page(title))
        reports.append(path)
        items.append((path, title))
    per = 4
    pages = -(-len(items) // per)
    for page in range(1, pages + 1):
        lis = _links(items[(page - 1) * per : page * per])
        pager = (
            f'<div class="page"></div><script>var totalPage = {pages}; var currentPage = {page};'
            " for (var i = 1; i <= totalPage; i++) { /* draws i + '.html' */ }</script>"
        )
        site.add(f"/zfxxgk/zfxxgknb/{page}.html", _html("政府信息公开年报", lis + pager))
    site.add(
        "/zfxxgk/index.html",
        _html("政府信息公开", _links([("/zfxxgk/zfxxgknb/1.html", "政府信息公开年报")])),
    )
    _front(site, [("/zfxxgk/index.html", "政府信息公开")])
    return site, Expected("/zfxxgk/zfxxgknb/1.html", reports, listing="numbered")


def _itemobj() -> tuple[Site, Expected]:
    import json

    site = _pattern("itemobj", "127.0.0.36", "国家模拟防控局", "110000")
    records, reports = [], []
    for n, (year, title) in enumerate(_titles("国家模拟防控局", range(2021, 2025))):
        path = f"/jbkzzx/c100128/common/content/content_{1838095804822040576 + n}.html"
        site.add(path, _report_page(title))
        reports.append(path)
        records.append(
            {"aT": title, "aPd": f"{year + 1}-01-20 17:00", "aU": json.dumps({"common": path})}
        )
    script = f"<script>var itemObj = {json.dumps(records, ensure_ascii=False)};</script>"
    site.add(
        "/jbkzzx/c100128/common/list.html",
        _html("政府信息公开年报", '<ul class="list" id="list"></ul>' + script),
    )
    site.add(
        "/jbkzzx/xxgk/index.html",
        _html("政府信息公开", _links([("/jbkzzx/c100128/common/list.html", "政府信息公开年报")])),
    )
    _front(site, [("/jbkzzx/xxgk/index.html", "政府信息公开")])
    return site, Expected("/jbkzzx/c100128/common/list.html", reports, listing="script-array")


def _wap() -> tuple[Site, Expected]:
    site = _pattern("wap", "127.0.0.37", "渝江区人民政府", "500107")
    links, reports = [], []
    for n, (year, title) in enumerate(_titles("渝江区人民政府", range(2020, 2025))):
        day = f"{year + 1}0327"
        desktop = f"/zwgk/zfxxgknb/{day[:6]}/t{day}_{13086081 + n}.html"
        mobile = desktop.replace(".html", "_wap.html")
        site.add(mobile, _report_page(title))
        if year == 2022:  # published only as its mobile page
            reports.append(mobile)
        else:
            site.add(desktop, _report_page(title))
            reports.append(desktop)
        links.append((mobile, title))
    site.add("/zwgk/zfxxgknb/index.html", _html("政府信息公开年报", _links(links)))
    site.add(
        "/zwgk/index.html",
        _html("政务公开", _links([("/zwgk/zfxxgknb/", "政府信息公开年报")])),
    )
    _front(site, [("/zwgk/", "政务公开")])
    return site, Expected("/zwgk/zfxxgknb/", reports, listing="links")


def _shells() -> tuple[Site, Expected]:
    site = _pattern("shells", "127.0.0.38", "东岭区人民政府", "110119")
    reports, links = [], []
    for n, (year, title) in enumerate(_titles("东岭区人民政府", range(2019, 2025))):
        path = f"/zfxxgk/zfxxgknb/nbxx/{year + 1}02/t{year + 1}0210_{195740 + n}.html"
        site.add(path, _report_page(title))
        reports.append(path)
        links.append((path, title))
    site.add(
        "/zfxxgk/index.html",
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title></title></head><body>'
        '<script>location.replace("./zfxxgkml/");</script></body></html>',
    )
    site.add(
        "/zfxxgk/zfxxgkml/index.html",
        _html(
            "政府信息公开目录",
            _links([("../zfxxgknb/", "政府信息公开年报"), ("../zfxxgkzn/", "政府信息公开指南")]),
        ),
    )
    site.add(
        "/zfxxgk/zfxxgknb/index.html",
        '<html><head><meta http-equiv="refresh" content="0; url=./nbxx/"></head><body></body>'
        "</html>",
    )
    site.add("/zfxxgk/zfxxgknb/nbxx/index.html", _html("政府信息公开年报", _links(links)))
    site.add("/zfxxgk/zfxxgkzn/index.html", _html("政府信息公开指南", "<p>指南正文</p>"))
    _front(site, [("/zfxxgk/", "政府信息公开")])
    return site, Expected("/zfxxgk/zfxxgknb/nbxx/", reports, listing="links")


YEAR_DIRS = {2022: "2022n41", 2023: "2023n57", 2024: "2024n78"}
UNITS = [  # (category folder, short name as linked, agency as it names itself)
    ("qzfbm", "区财政局", "通顺区财政局"),
    ("qzfbm", "区教育委员会", "通顺区教育委员会"),
    ("qzfbm", "区卫生健康委员会", "通顺区卫生健康委员会"),
    ("xzjd", "永顺镇", "通顺区永顺镇人民政府"),
    ("xzjd", "北苑街道", "通顺区北苑街道办事处"),
    ("xzjd", "潞城镇", "通顺区潞城镇人民政府"),
]


def _yeartree() -> tuple[Site, Expected]:
    site = _pattern("yeartree", "127.0.0.39", "通顺区人民政府", "110198")
    rng = random.Random("yeartree")
    root = "/bjtz/zwgk/zcwj67/zfxxgknb/"
    units: dict[str, list[str]] = {}
    reports: list[str] = []
    years = []
    for year, ydir in YEAR_DIRS.items():
        ypath = f"{root}{ydir}/"
        cats = {"qzfbm": [], "xzjd": []}
        for cat, short, agency in UNITS:
            if agency == "通顺区潞城镇人民政府" and year == 2022:
                continue  # a unit that started reporting later
            uid = f"{rng.randrange(10**18, 10**19)}"
            upath = f"{ypath}{cat}/{uid}/"
            title = f"{agency}{year}年政府信息公开工作年度报告"
            article = f"{upath}{year + 1}01/t{year + 1}0125_{rng.randrange(10**6, 10**7)}.html"
            site.add(article, _report_page(title))
            site.add(upath + "index.shtml", _html(f"{short}_{year}年", _links([(article, title)])))
            units.setdefault(agency, []).append(upath)
            reports.append(article)
            cats[cat].append((f"./{uid}/", short))
        for cat, label in (("qzfbm", "区政府部门"), ("xzjd", "乡镇街道")):
            site.add(f"{ypath}{cat}/index.shtml", _html(f"{label}_{year}年", _links(cats[cat])))
        gov_title = f"通顺区人民政府{year}年政府信息公开工作年度报告"
        gov = f"{ypath}qzf/t{year + 1}0330_{rng.randrange(10**6, 10**7)}.html"
        site.add(gov, _report_page(gov_title))
        reports.append(gov)
        site.add(
            ypath + "index.shtml",
            _html(
                f"{year}年度",
                _links([(gov, gov_title), ("./qzfbm/", "区政府部门"), ("./xzjd/", "乡镇街道")]),
            ),
        )
        years.append((f"./{ydir}/", f"{year}年度"))
    site.add(root + "index.shtml", _html("政府信息公开年报", _links(years[::-1])))
    site.add(
        "/bjtz/zwgk/index.shtml",
        _html("政务公开", _links([("./zcwj67/zfxxgknb/", "政府信息公开年报")])),
    )
    _front(site, [("/bjtz/zwgk/", "政务公开")])
    return site, Expected(root, reports, units, listing="year-tree")


def _http_gbk() -> tuple[Site, Expected]:
    site = _pattern("http-gbk", "127.0.0.40", "朝晖区人民政府", "110197")
    site.charset = "gbk"
    site.behaviour["tls"] = "http-only"
    site.behaviour["registry_scheme"] = "https"

    def gbk(path: str, title: str, body: str, meta: bool) -> None:
        head = (
            '<meta http-equiv="Content-Type" content="text/html; charset=gb2312">'
            f'<meta name="SiteName" content="{site.name}">'
            f'<meta name="SiteIDCode" content="{site.site_code}">'
            if meta
            else ""
        )
        page = f"<html><head>{head}<title>{title}</title></head><body>{body}</body></html>"
        site.add(path, page.encode("gbk"), "text/html")

    reports, links = [], []
    for n, (_year, title) in enumerate(_titles("朝晖区人民政府", range(2019, 2025))):
        path = f"/dynamic/zfxxgknb/8a24fe83{n:04d}.html"
        gbk(path, title, f"<h1>{title}</h1><p>一、总体情况</p>", meta=n % 2 == 0)
        reports.append(path)
        links.append((f"https://{site.ip}:{{port}}{path}", title))
    site.behaviour["absolute_https_links"] = links
    site.behaviour["gbk_page"] = gbk
    # the column page (links filled in by the server's port, see finish()) has no meta
    _front_gbk = '<a href="/dynamic/zfxxgk/">政府信息公开</a>'
    gbk("/", site.name, _front_gbk, meta=True)
    gbk(
        "/dynamic/zfxxgk/index.html",
        "政府信息公开",
        '<a href="/dynamic/zfxxgknb/">政府信息公开年报</a>',
        meta=False,
    )
    site.add("/robots.txt", ROBOTS, "text/plain")
    return site, Expected("/dynamic/zfxxgknb/", reports, listing="links")


def finish(site: Site, base: str) -> None:
    """Pages that need the site's own port (absolute links): built once it listens."""
    links = site.behaviour.get("absolute_https_links")
    if links:
        port = base.rstrip("/").rsplit(":", 1)[1]
        filled = [(href.replace("{port}", port), title) for href, title in links]
        body = "".join(f'<li><a href="{h}">{html.escape(t)}</a></li>' for h, t in filled)
        site.behaviour["gbk_page"]("/dynamic/zfxxgknb/index.html", "政府信息公开年报", body, False)


def _https_only() -> tuple[Site, Expected]:
    site = _pattern("https-only", "127.0.0.41", "丰泽区人大常委会", "350503")
    site.behaviour["tls"] = "https-only"
    site.behaviour["registry_scheme"] = "http"
    reports, links = [], []
    for n, (year, title) in enumerate(_titles("丰泽区人大常委会办公室", range(2021, 2025))):
        path = f"/xxgk/ndbg/{year + 1}01/t{year + 1}0118_{50000 + n}.html"
        site.add(path, _report_page(title))
        reports.append(path)
        links.append((path, title))
    site.add("/xxgk/ndbg/index.html", _html("年度报告", _links(links)))
    _front(site, [("/xxgk/ndbg/", "政府信息公开年报")])
    return site, Expected("/xxgk/ndbg/", reports, listing="links")


def _opaque() -> tuple[Site, Expected]:
    site = _pattern("opaque", "127.0.0.42", "丰原区人民政府", "110196")
    rng = random.Random("opaque")
    names = [
        "政府信息公开指南",
        "政府信息公开制度",
        "法定主动公开内容",
        "机构职能",
        "政策文件",
        "规划计划",
        "财政预决算",
        "政府工作报告",
        "统计公报",
        "人事信息",
        "政府信息公开年报",
        "建议提案办理",
        "重大行政决策",
        "行政执法公示",
        "应急管理",
    ]
    ids = rng.sample(range(100227, 100299), len(names))
    column = ""
    entries = []
    for name, cid in zip(names, ids, strict=True):
        path = f"/xxfb/xxgk/c100226/c{cid}/"
        entries.append((path, name))
        if name == "政府信息公开年报":
            column = path
        else:
            site.add(path + "index.shtml", _html(name, _links([(path + "x.html", f"{name}说明")])))
    reports, links = [], []
    for n, (year, title) in enumerate(_titles("丰原区人民政府", range(2020, 2025))):
        path = f"{column}{year + 1}03/t{year + 1}0328_{3400000 + n}.shtml"
        site.add(path, _report_page(title))
        reports.append(path)
        links.append((path, title))
    site.add(column + "index.shtml", _html("政府信息公开年报", _links(links)))
    site.add("/xxfb/xxgk/index.shtml", _html("政府信息公开目录", _links(entries)))
    _front(site, [("/xxfb/xxgk/", "政务公开")])
    return site, Expected(column, reports, listing="links")


def _robots_all() -> tuple[Site, Expected]:
    site = _pattern("robots-all", "127.0.0.43", "顺河区人民政府", "110195")
    path = "/web/zwgk/zfxxgk/zfxxgknb/index.html"
    title = "顺河区人民政府2024年政府信息公开工作年度报告"
    site.add("/", _html(site.name, _links([(path, "政府信息公开年报")])))
    site.add(path, _html("政府信息公开年报", _links([("/web/r2024.html", title)])))
    site.add("/web/r2024.html", _report_page(title))
    site.add("/robots.txt", b"User-agent: *\nDisallow: /\n", "text/plain")
    return site, Expected(path, [], listing="")


HUAILING_UNITS = [  # (category, folder, as its folder page is titled), for 怀岭区
    ("qzfbm", "czj", "区财政局"),
    ("qzfbm", "jw", "区教育委员会"),
    ("qzfbm", "swjw", "区卫生健康委员会"),
    ("zxjd", "yqz", "雁栖镇"),
    ("zxjd", "qhjd", "泉河街道"),
]


def _unittree() -> tuple[Site, Expected]:
    """A 年报 tree whose units only the tree names.

    北京 怀柔's tree is ``/zfxxgkzl/gknb/{Y}nb/`` with its 街乡镇 under ``{Y}nb/zxjd{Y}/``
    (public code #71556330860, which also shows unit pages titled ``高岭镇_2017年_…``); 东城's
    is ``/zfxxgknb/2023nb/dcqzf2023/`` and ``/2023n62/qzfbm7/`` (issue 26), category folders
    carrying the year or a serial. Here each unit's report is titled
    ``2024年政府信息公开工作年度报告`` — no agency — so the unit is known only by its folder:
    the link to it (``区财政局``) and its page's title (``区财政局_2024年``); the county's own
    report, in the year's folder, names the county.
    """
    site = _pattern("unittree", "127.0.0.44", "怀岭区人民政府", "110189")
    root = "/zfxxgkzl/gknb/"
    units: dict[str, list[str]] = {}
    reports: list[str] = []
    years = []
    for n, year in enumerate((2022, 2023, 2024)):
        ypath = f"{root}{year}nb/"
        cats: dict[str, list[tuple[str, str]]] = {"qzfbm": [], "zxjd": []}
        for m, (cat, folder, said) in enumerate(HUAILING_UNITS):
            upath = f"{ypath}{cat}{year}/{folder}/"
            title = f"{year}年政府信息公开工作年度报告"
            article = f"{upath}{year + 1}02/t{year + 1}02{10 + m}_{3100000 + n * 10 + m}.html"
            site.add(article, _report_page(title))
            site.add(upath + "index.html", _html(f"{said}_{year}年", _links([(article, title)])))
            agency = "怀岭区" + said[1:] if said.startswith("区") else said
            units.setdefault(agency, []).append(upath)
            reports.append(article)
            cats[cat].append((f"./{folder}/", said))
        for cat, label in (("qzfbm", "区政府部门"), ("zxjd", "乡镇街道")):
            site.add(
                f"{ypath}{cat}{year}/index.html", _html(f"{label}_{year}年", _links(cats[cat]))
            )
        own_title = f"怀岭区人民政府{year}年政府信息公开工作年度报告"
        own = f"{ypath}{year + 1}03/t{year + 1}0330_{3200000 + n}.html"
        site.add(own, _report_page(own_title))
        reports.append(own)
        folders = [(f"./qzfbm{year}/", "区政府部门"), (f"./zxjd{year}/", "乡镇街道")]
        site.add(ypath + "index.html", _html(f"{year}年", _links([(own, own_title), *folders])))
        years.append((f"./{year}nb/", f"{year}年"))
    budget = f"{root}2024nb/t20250301_1.html"  # a look-alike in the tree
    site.add(budget, _report_page("怀岭区2024年部门预算公开"))
    site.add(root + "index.html", _html("政府信息公开年报", _links(years[::-1])))
    site.add(
        "/zfxxgkzl/index.html",
        _html("政府信息公开专栏", _links([("./gknb/", "政府信息公开年报")])),
    )
    _front(site, [("/zfxxgkzl/", "政府信息公开")])
    return site, Expected(root, reports, units, listing="year-tree")


EPOINT_GUID = "3f2c9a7e-5b1d-4c8e-9a62-0d7e4b1c8f35"
EPOINT_CATEGORIES = [  # (categorynum, name) of the 信息公开 catalogue
    ("003001", "政府信息公开指南"),
    ("003002", "政府信息公开制度"),
    ("003006", "政策文件"),
    ("003008", "政府信息公开年报"),
    ("003009", "财政预决算"),
]


def _epoint() -> tuple[Site, Expected]:
    """江苏 Epoint (新点 WebBuilder) 政府信息公开: the list is a JSON POST.

    37 rows of ``crawler/sites.csv`` (徐州 and its departments, ``dpc.xz.gov.cn`` …) start at
    ``/dynamic/zwgk/govInfoPub.html``; a category is ``govInfoPub.html?categorynum=003011``
    (public code #71229736685, #60848561465, with ``&deptcode=`` on county sites #68297314651).
    The page's script POSTs JSON ``{deptcode, categorynum, pageIndex, pageSize, siteGuid}``,
    ``pageIndex`` from 0, to ``{projectName}/rest/lightfrontaction/getgovinfolist``, which
    answers ``{"custom": {"total": N, "data": [{title, infourl, infodate, categoryname}]}}``
    (public code #60798205205, #70896111822); ``siteGuid`` and ``projectName`` are in
    ``var siteInfo = {…}`` of ``/js/webBuilderCommon.js`` (public code #28192343862,
    #70917371947). The page itself lists nothing. The 年报 category holds more records
    than one answer (20), a budget among them; the catalogue's other categories hold none.
    """
    import json

    site = _pattern("epoint", "127.0.0.45", "苏徐市发展和改革委员会", "320301")
    records: dict[str, list[dict]] = {num: [] for num, _ in EPOINT_CATEGORIES}
    reports = []
    agencies = ["苏徐市发展和改革委员会", "苏徐市价格监督检查局", "苏徐市粮食和物资储备局"]
    for a, agency in enumerate(agencies):
        for year in range(2017, 2025):
            guid = f"{year}{a:02d}a7-1c2e-4d5f-8a9b-{year * 100 + a:012d}"
            path = f"/xzfgw/zfxxgknb/{year + 1}01{15 + a}/{guid}.html"
            title = f"{agency}{year}年政府信息公开工作年度报告"
            site.add(path, _report_page(title))
            reports.append(path)
            records["003008"].append(
                {
                    "title": title,
                    "infourl": path,
                    "infodate": f"{year + 1}-01-{15 + a}",
                    "categoryname": "政府信息公开年报",
                }
            )
    budget = "/xzfgw/czyjs/20250210/b1.html"
    site.add(budget, _report_page("苏徐市发展和改革委员会2025年部门预算"))
    records["003008"].insert(
        4,
        {
            "title": "苏徐市发展和改革委员会2025年部门预算",
            "infourl": budget,
            "infodate": "2025-02-10",
            "categoryname": "政府信息公开年报",
        },
    )
    guide = "/xzfgw/zfxxgkzn/20240101/g1.html"
    site.add(guide, _html("政府信息公开指南", "<p>指南正文</p>"))
    records["003001"].append(
        {"title": "政府信息公开指南", "infourl": guide, "infodate": "2024-01-01"}
    )

    def answer(raw: bytes) -> tuple[bytes, str]:
        try:
            asked = json.loads(raw or b"{}")
        except ValueError:
            asked = {}
        if not isinstance(asked, dict) or asked.get("siteGuid") != EPOINT_GUID:
            out = {"status": {"code": 0, "text": "siteGuid"}, "custom": ""}
            return json.dumps(out).encode(), "application/json;charset=utf-8"
        found = records.get(str(asked.get("categorynum")), [])
        index, size = int(asked.get("pageIndex") or 0), int(asked.get("pageSize") or 10)
        chunk = found[index * size : (index + 1) * size]
        out = {"status": {"code": 1}, "custom": {"total": len(found), "data": chunk}}
        return json.dumps(out, ensure_ascii=False).encode(), "application/json;charset=utf-8"

    site.behaviour["posts"] = {"/EWB-FRONT/rest/lightfrontaction/getgovinfolist": answer}
    catalogue = "/dynamic/zwgk/govInfoPub.html"
    script = '<script src="/js/webBuilderCommon.js"></script>'
    body = (
        '<div class="ewb-info-tree">'
        + _links([(f"{catalogue}?categorynum={num}", name) for num, name in EPOINT_CATEGORIES])
        + '</div><ul id="infolist"></ul>'
        + script
        + "<script>webbuilder.getGovInfoList('infolist', getQueryString('deptcode'), "
        "getQueryString('categorynum'), '', '', 0, render);</script>"
    )
    site.add(catalogue, _html("政府信息公开", body))
    for num, name in EPOINT_CATEGORIES:
        site.add(f"{catalogue}?categorynum={num}", _html(name, body))
    site_info = {"siteGuid": EPOINT_GUID, "projectName": "/EWB-FRONT", "webVersion": "5.0"}
    site.add(
        "/js/webBuilderCommon.js",
        f"var siteInfo = {json.dumps(site_info)}\nif (!window.webbuilder) {{ window.webbuilder = {{}}; }}\n",
        "application/javascript; charset=utf-8",
    )
    _front(site, [(catalogue, "政务公开")])
    return site, Expected(f"{catalogue}?categorynum=003008", reports, listing="epoint")


GKMLPT_SUB_SID = "769031"


def _gkmlpt_sub() -> tuple[Site, Expected]:
    """广东 gkmlpt under a department's path on its city's host.

    东莞's departments each have ``www.dg.gov.cn/<dept>/gkmlpt/`` (``crawler/sites.csv``:
    ``/dghlz/gkmlpt/index#2972``, ``/dgspz/…#3127``; 阳江 ``/yjzjj/gkmlpt/index#721`` whose list
    is ``/yjzjj/gkmlpt/api/all/721?page=1&sid=662021``, public code #60768274975; 深圳's
    districts the same, #57534585190; articles under ``<dept>/gkmlpt/content/``, #69207785717).
    The API is beside the department's pages: ``/gkmlpt/api/…`` at the host's root answers
    nothing for it. ``/gkmlpt/index`` carries ``window._CONFIG`` with ``SID`` and ``TREE``
    (public code #53836515905, #54071703295), from which its navigation is drawn: its HTML
    links no category. ``annualreport#2629`` names the category in its fragment (广东文旅,
    public code #20879211009).
    """
    import json

    site = _pattern("gkmlpt-sub", "127.0.0.46", "东城市河流域管理局", "441900")
    dept = "/dghlz/"
    site.start_path = dept
    tree = [
        {"id": 2960, "name": "政府信息公开指南", "children": []},
        {"id": 2961, "name": "政府信息公开制度", "children": []},
        {
            "id": 2962,
            "name": "法定主动公开内容",
            "children": [
                {"id": 2972, "name": "政府信息公开年报", "children": []},
                {"id": 2973, "name": "财政预决算", "children": []},
            ],
        },
    ]
    config = (
        f"<script>window._CONFIG = {{SID: '{GKMLPT_SUB_SID}', APP: 'gkmlpt', "
        f"TREE: {json.dumps(tree, ensure_ascii=False)}}};</script>"
        '<div id="app"></div><script src="/gkmlpt/static/js/app.js"></script>'
    )
    site.add(f"{dept}gkmlpt/index", _html("东城市河流域管理局政府信息公开", config))
    site.add(
        f"{dept}gkmlpt/annualreport",
        _html(
            "政府信息公开年报", f"<script>window._CONFIG = {{SID: '{GKMLPT_SUB_SID}'}};</script>"
        ),
    )
    articles, reports = [], []
    for n, (year, title) in enumerate(_titles("东城市河流域管理局", range(2017, 2025))):
        path = f"{dept}gkmlpt/content/3/{3900 + n}/post_{3900 + n}.html"
        site.add(path, _report_page(title))
        reports.append(path)
        articles.append({"title": title, "url": path, "date": f"{year + 1}-01-20"})
    per = 3
    pages = -(-len(articles) // per)
    for page in range(1, pages + 1):
        chunk = articles[(page - 1) * per : page * per]
        site.add(
            f"{dept}gkmlpt/api/all/2972?page={page}&sid={GKMLPT_SUB_SID}",
            json.dumps({"total": len(articles), "articles": chunk}, ensure_ascii=False),
            "application/json; charset=utf-8",
        )
    budget = [
        {
            "title": "东城市河流域管理局2025年部门预算",
            "url": f"{dept}gkmlpt/content/3/3999/post_3999.html",
        }
    ]
    site.add(
        f"{dept}gkmlpt/api/all/2973?page=1&sid={GKMLPT_SUB_SID}",
        json.dumps({"total": 1, "articles": budget}, ensure_ascii=False),
        "application/json; charset=utf-8",
    )
    site.add(
        dept + "index.html",
        _html("东城市河流域管理局", _links([(f"{dept}gkmlpt/index", "政府信息公开")])),
    )
    _front(site, [(dept, "政务公开")])  # the city's host: the department's 政务公开 section
    return site, Expected(f"{dept}gkmlpt/index", reports, listing="gkmlpt")


BUILD = {
    "hanweb-more": _hanweb_more,
    "hanweb-get": _hanweb_get,
    "hanweb-old": _hanweb_old,
    "column-index": _column_index,
    "numbered": _numbered,
    "itemobj": _itemobj,
    "wap": _wap,
    "shells": _shells,
    "yeartree": _yeartree,
    "http-gbk": _http_gbk,
    "https-only": _https_only,
    "opaque": _opaque,
    "robots-all": _robots_all,
    "unittree": _unittree,
    "epoint": _epoint,
    "gkmlpt-sub": _gkmlpt_sub,
}


def pattern_sites(keys=PATTERN_SITES) -> list[tuple[Site, Expected]]:
    """The chosen pattern sites with what a crawler should find on each."""
    unknown = set(keys) - set(PATTERN_SITES)
    if unknown:
        raise ValueError(f"unknown pattern site(s) {sorted(unknown)}; choose from {PATTERN_SITES}")
    return [BUILD[key]() for key in PATTERN_SITES if key in keys]
