"""Sites that misbehave the way real government servers do, and a world of many sites.

``hostile_sites()`` adds, beside the default world and without touching its truth:

* ``polite`` — robots.txt with ``Crawl-delay: 1`` and a ``Disallow``ed directory that
  holds a report link; a listing paginated by ``?page=N``; soft-404 pages (status
  200, "页面不存在") for unknown paths.
* ``flaky`` — every page answers 503 with ``Retry-After: 1`` the first time it is
  asked for; one page always answers 500; one file is always cut short (the connection
  closes before Content-Length bytes); one file is 3 MB; bodies gzip-compressed on request.
* ``rs412`` / ``jsl521`` — every path answers a JS challenge (瑞数 412 with ``$_ts``,
  加速乐 521 with ``__jsl``), as those gateways do.

``nightly`` changes between editions (``--edition 2``), ``hanweb`` and ``gkmlpt``
hide their listings the way those CMSs do, ``moved`` redirects to another host, and
``slow`` takes 1.5 s per page. ``closed`` forbids every path in its robots.txt and
``empty`` has no 年报 column anywhere: sites whose status says what to do about them.

``scale_sites(n)`` builds ``n`` small sites (a front page, a report column of two
listing pages, six report pages and a PDF) for throughput measurements.
"""

from __future__ import annotations

import html
import json
import random
from datetime import datetime

from simweb.sites import CST, Site

SOFT_404 = (
    '<!DOCTYPE html><html><head><meta charset="utf-8"><title>页面不存在</title></head>'
    '<body><p>对不起，您访问的页面不存在或已被删除！</p><a href="/">返回首页</a></body></html>'
)
RS_CHALLENGE = (
    "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><script>var $_ts=window['$_ts'];"
    "if(!$_ts)$_ts=window['$_ts']={};$_ts.nsd=12345;$_ts.cd=\"qxrcrG\";</script>"
    '<script src="/4QbVtADbnLVIc/c.FxJzG50F.js"></script></head><body></body></html>'
)
JSL_CHALLENGE = (
    "<script>document.cookie=('_')+('_')+('j')+('s')+('l')+('_')+('c')+('l')+('e')"
    "+('a')+('r')+('a')+('n')+('c')+('e')+('_')+('s')+'=1700000000.1|0|abc';"
    "location.href=location.pathname+location.search</script>"
)
_DAY = datetime(2025, 1, 20, tzinfo=CST)


def _html(title: str, body: str) -> str:
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{html.escape(title)}'
        f"</title></head><body>{body}</body></html>"
    )


def _links(links: list[tuple[str, str]]) -> str:
    return (
        "<ul>" + "".join(f'<li><a href="{h}">{html.escape(t)}</a></li>' for h, t in links) + "</ul>"
    )


def _report_page(title: str, extra: str = "") -> str:
    return _html(title, f"<h1>{html.escape(title)}</h1><p>一、总体情况</p>{extra}")


def _site(
    key: str, ip: str, name: str, code: str, behaviour: dict, disallow: str = "/search/"
) -> Site:
    return Site(
        key,
        f"sim-{key}",
        name,
        f"模拟{name}",
        code,
        "county",
        ip,
        "",
        "utf-8",
        "/",
        code + "0001",
        disallow,
        behaviour=behaviour,
    )


def _polite() -> Site:
    site = _site(
        "polite",
        "127.0.0.11",
        "礼貌县人民政府",
        "410721",
        {"crawl_delay": 1, "soft_404": True},
        disallow="/private/",
    )
    site.add("/", _html(site.name, _links([("/xxgknb/", "政府信息公开年报")])), modified=_DAY)
    titles = [f"礼貌县人民政府{y}年政府信息公开工作年度报告" for y in (2022, 2023, 2024)]
    hidden = "礼貌县人民政府2021年政府信息公开工作年度报告"
    site.add(
        "/xxgknb/index.html",
        _html(
            "政府信息公开年报",
            _links([("/xxgknb/2024.html", titles[2]), ("/private/2021.html", hidden)])
            + '<a href="/xxgknb/index.html?page=2">下一页</a>',
        ),
        modified=_DAY,
    )
    site.add(
        "/xxgknb/index.html?page=2",
        _html(
            "政府信息公开年报_2",
            _links(
                [
                    ("/xxgknb/2023.html", titles[1]),
                    ("/xxgknb/2022.html", titles[0]),
                    ("/xxgknb/gone.html", "礼貌县人民政府2020年政府信息公开工作年度报告"),
                ]
            ),
        ),
        modified=_DAY,
    )
    for year, title in zip((2022, 2023, 2024), titles, strict=True):
        site.add(f"/xxgknb/{year}.html", _report_page(title), modified=_DAY)
    site.add("/private/2021.html", _report_page(hidden))
    site.add(
        "/robots.txt",
        b"User-agent: *\nCrawl-delay: 1\nDisallow: /private/\n",
        "text/plain; charset=utf-8",
    )
    return site


def _flaky() -> Site:
    site = _site(
        "flaky",
        "127.0.0.12",
        "易错市人民政府",
        "410781",
        {
            "retry_after": 1,
            "always_fail": {"/xxgknb/broken.html"},
            "gzip": True,
            "truncate": {"/xxgknb/2024.pdf"},
        },
    )
    titles = {y: f"易错市人民政府{y}年政府信息公开工作年度报告" for y in (2023, 2024, 2025)}
    site.add("/", _html(site.name, _links([("/xxgknb/", "政府信息公开年报")])), modified=_DAY)
    site.add(
        "/xxgknb/index.html",
        _html(
            "政府信息公开年报",
            _links([("/xxgknb/2024.html", titles[2024]), ("/xxgknb/broken.html", titles[2025])]),
        ),
        modified=_DAY,
    )
    site.add(
        "/xxgknb/2024.html",
        _report_page(
            titles[2024],
            '<p>附件：<a href="/xxgknb/2024.pdf">全文（PDF）</a></p>'
            '<p>附件：<a href="/xxgknb/2024-scan.pdf">扫描件（PDF）</a></p>',
        ),
        modified=_DAY,
    )
    site.add("/xxgknb/2024.pdf", _pdf(titles[2024]), "application/pdf", _DAY)
    # An oversize scan: 3 MB that gzip cannot shrink (crawls in the tests cap downloads lower than the default).
    site.add(
        "/xxgknb/2024-scan.pdf",
        _pdf(titles[2024]) + random.Random(0).randbytes(3 * 2**20),
        "application/pdf",
        _DAY,
    )
    site.add("/robots.txt", b"User-agent: *\nDisallow: /search/\n", "text/plain; charset=utf-8")
    return site


def _nightly(edition: int) -> Site:
    """A site as seen on two nights: in edition 2 a report is added and one corrected."""
    site = _site("nightly", "127.0.0.15", "夜巡区人民政府", "410724", {})
    title = "夜巡区人民政府{}年政府信息公开工作年度报告".format
    years = [2022, 2023, 2024] + ([2025] if edition >= 2 else [])
    site.add("/", _html(site.name, _links([("/xxgknb/", "政府信息公开年报")])), modified=_DAY)
    site.add(
        "/xxgknb/index.html",
        _html(
            "政府信息公开年报", _links([(f"/xxgknb/{y}.html", title(y)) for y in reversed(years)])
        ),
        modified=datetime(2026, 1, 20, tzinfo=CST) if edition >= 2 else _DAY,
    )
    for year in years:
        corrected = edition >= 2 and year == 2023
        extra = f'<p>附件：<a href="/xxgknb/{year}.pdf">{title(year)}.pdf</a></p>' + (
            "<p>（2026年1月更正：第三部分数字有误，已更正。）</p>" if corrected else ""
        )
        site.add(
            f"/xxgknb/{year}.html",
            _report_page(title(year), extra),
            modified=datetime(2026, 1, 21, tzinfo=CST) if corrected else _DAY,
        )
        site.add(f"/xxgknb/{year}.pdf", _pdf(title(year)), "application/pdf", _DAY)
    site.add("/robots.txt", b"User-agent: *\nDisallow: /search/\n", "text/plain")
    return site


def _pdf(text: str) -> bytes:
    """A small stand-in PDF (the crawler stores files; it does not read them)."""
    return b"%PDF-1.4\n% " + text.encode("utf-8") + b"\n" + b"0" * 4000 + b"\n%%EOF\n"


HANWEB_COLUMN, HANWEB_UNIT, HANWEB_PER_PAGE = "61490", "247686", 3
HANWEB_PROXY = "/module/web/jpage/dataproxy.jsp"


def _hanweb() -> Site:
    """大汉 jpage: records as XML in a script, more from dataproxy.jsp; a _wap twin; a
    report shown through a PDF.js viewer."""
    records = []
    site = _site("hanweb", "127.0.0.16", "大汉市人民政府", "320100", {})
    for n, year in enumerate(range(2017, 2025)):
        path = f"/art/{year + 1}/1/20/art_{HANWEB_COLUMN}_{5800 + n}.html"
        title = f"大汉市人民政府{year}年政府信息公开工作年度报告"
        records.append(
            f'<li><a href="{path}" title="{title}" target="_blank">{title}</a>'
            f"<span>{year + 1}-01-20</span></li>"
        )
        extra = ""
        if year == 2024:
            extra = (
                f'<p><a href="/module/pdfjs/web/viewer.html?file=/picture/0/{5800 + n}.pdf"'
                ">在线查看（PDF）</a></p>"
            )
            site.add(f"/picture/0/{5800 + n}.pdf", _pdf(title), "application/pdf", _DAY)
        site.add(path, _report_page(title, extra), modified=_DAY)
        site.add(path.replace(".html", "_wap.html"), _report_page(title, extra), modified=_DAY)
    budget = f"/art/2024/2/1/art_{HANWEB_COLUMN}_5900.html"
    records.insert(2, f'<li><a href="{budget}">大汉市2024年部门预算公开</a></li>')
    site.add(budget, _report_page("大汉市2024年部门预算公开"), modified=_DAY)
    twin = records[4].replace('.html"', '_wap.html"', 1)  # the mobile twin, listed again
    records.insert(5, twin)
    site.behaviour["hanweb_records"] = records
    first = "".join(f"<record><![CDATA[{r}]]></record>" for r in records[:HANWEB_PER_PAGE])
    nextgroup = (
        f'<a href="{HANWEB_PROXY}?page=1&webid=39&path=/&columnid={HANWEB_COLUMN}'
        f'&unitid={HANWEB_UNIT}&webname=大汉市人民政府&permissiontype=0"></a>'
    )
    column = (
        f'<div id="{HANWEB_UNIT}"><script type="text/xml"><datastore><nextgroup>'
        f"<![CDATA[{nextgroup}]]></nextgroup><recordset>{first}</recordset></datastore>"
        '</script><script src="/module/web/jpage/jpage.js"></script>'
        f"<script>var pageSize = {HANWEB_PER_PAGE};</script></div>"
    )
    site.add(
        "/",
        _html(site.name, _links([(f"/col/col{HANWEB_COLUMN}/index.html", "政府信息公开年报")])),
        modified=_DAY,
    )
    site.add(
        f"/col/col{HANWEB_COLUMN}/index.html", _html("政府信息公开年报", column), modified=_DAY
    )
    site.add("/robots.txt", b"User-agent: *\nDisallow: /search/\n", "text/plain")
    return site


def hanweb_datastore(records: list[str], start: int, end: int) -> bytes:
    """What dataproxy.jsp answers: records ``start`` … ``end`` (1-based) and the total."""
    chosen = records[max(start, 1) - 1 : end]
    body = "".join(f"<record><![CDATA[{r}]]></record>" for r in chosen)
    pages = -(-len(records) // HANWEB_PER_PAGE)
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><datastore><totalrecord>{len(records)}'
        f"</totalrecord><totalpage>{pages}</totalpage><recordset>{body}</recordset>"
        "</datastore>"
    ).encode()


GKMLPT_SID, GKMLPT_CATEGORY = "755031", "2811"


def _gkmlpt() -> Site:
    """广东 gkmlpt: the listing is JSON from /gkmlpt/api/all/{cat}?page=&sid=."""
    site = _site("gkmlpt", "127.0.0.17", "广目市人民政府", "440300", {})
    site.add("/", _html(site.name, _links([("/gkmlpt/index", "政府信息公开")])), modified=_DAY)
    config = (
        f"<script>window._CONFIG = {{SID: '{GKMLPT_SID}', APP: 'gkmlpt', "
        "API: '/gkmlpt/api'};</script>"
    )
    site.add(
        "/gkmlpt/index",
        _html(
            "政府信息公开目录",
            config
            + _links(
                [
                    (f"/gkmlpt/index#{GKMLPT_CATEGORY}", "政府信息公开年报"),
                    ("/gkmlpt/index#2812", "财政预决算"),
                ]
            ),
        ),
        modified=_DAY,
    )
    articles = {GKMLPT_CATEGORY: [], "2812": []}
    for n, year in enumerate(range(2018, 2025)):
        title = f"广目市人民政府{year}年政府信息公开工作年度报告"
        path = f"/gkmlpt/content/1/{7700 + n}/post_{7700 + n}.html"
        articles[GKMLPT_CATEGORY].append(
            {"id": 7700 + n, "title": title, "url": path, "create_time": 1737331200 + n}
        )
        site.add(path, _report_page(title), modified=_DAY)
    budget = "/gkmlpt/content/1/7800/post_7800.html"
    articles["2812"].append({"id": 7800, "title": "广目市2024年财政预算公开", "url": budget})
    site.add(budget, _report_page("广目市2024年财政预算公开"), modified=_DAY)
    for category, items in articles.items():
        pages = max(1, -(-len(items) // 3))
        for page in range(1, pages + 1):
            data = {"total": len(items), "articles": items[(page - 1) * 3 : page * 3]}
            site.add(
                f"/gkmlpt/api/all/{category}?page={page}&sid={GKMLPT_SID}",
                json.dumps(data, ensure_ascii=False),
                "application/json; charset=utf-8",
                _DAY,
            )
    site.add("/robots.txt", b"User-agent: *\nDisallow: /search/\n", "text/plain")
    return site


def _moved() -> tuple[Site, Site]:
    """A site consolidated into another host: every old URL answers 301 to the new one."""
    old = _site("moved", "127.0.0.18", "迁址县人民政府", "410725", {"moved_to": "sim-newhome"})
    new = _site("newhome", "127.0.0.19", "迁址县人民政府", "410725", {"unlisted": True})
    title = "迁址县人民政府{}年政府信息公开工作年度报告".format
    new.add("/", _html(new.name, _links([("/xxgknb/", "政府信息公开年报")])), modified=_DAY)
    new.add(
        "/xxgknb/index.html",
        _html("政府信息公开年报", _links([(f"/xxgknb/{y}.html", title(y)) for y in (2023, 2024)])),
        modified=_DAY,
    )
    for year in (2023, 2024):
        new.add(f"/xxgknb/{year}.html", _report_page(title(year)), modified=_DAY)
    new.add("/robots.txt", b"User-agent: *\nDisallow: /search/\n", "text/plain")
    return old, new


def _slow() -> Site:
    """A host that takes 1.5 s to answer any page (robots.txt excepted)."""
    site = _site("slow", "127.0.0.20", "迟缓县人民政府", "410726", {"slow": 1.5})
    site.add("/", _html(site.name, _links([("/xxgknb/", "政府信息公开年报")])), modified=_DAY)
    site.add("/robots.txt", b"User-agent: *\nDisallow: /search/\n", "text/plain")
    return site


def _closed() -> Site:
    """A site whose robots.txt forbids every path, the start page included."""
    site = _site("closed", "127.0.0.24", "闭门县人民政府", "410730", {}, disallow="/")
    site.add("/", _html(site.name, _links([("/xxgknb/", "政府信息公开年报")])), modified=_DAY)
    site.add("/xxgknb/", _report_page("闭门县人民政府2024年政府信息公开工作年度报告"))
    site.add("/robots.txt", b"User-agent: *\nDisallow: /\n", "text/plain")
    return site


def _empty() -> Site:
    """A portal that answers, but whose pages lead to no 年报 column (a start URL that
    points at the wrong place)."""
    site = _site("empty", "127.0.0.25", "无栏县人民政府", "410731", {})
    links = [("/xwzx/", "新闻中心"), ("/zwgk/", "政务公开"), ("/hdjl/", "互动交流")]
    site.add("/", _html(site.name, _links(links)), modified=_DAY)
    site.add("/xwzx/", _html("新闻中心", _links([("/xwzx/1.html", "县长调研春耕生产")])))
    site.add("/xwzx/1.html", _html("县长调研春耕生产", "<p>春耕。</p>"))
    site.add("/zwgk/", _html("政务公开", _links([("/zwgk/tzgg/", "通知公告")])))
    site.add("/zwgk/tzgg/", _html("通知公告", "<p>暂无内容</p>"))
    site.add("/hdjl/", _html("互动交流", "<p>县长信箱</p>"))
    site.add("/robots.txt", b"User-agent: *\nDisallow: /search/\n", "text/plain")
    return site


# What the crawler must never archive: a page on the crawler's own machine.
SECRET = "NIANBAO-SECRET-do-not-archive"
# Names the crawl resolves with NIANBAO_RESOLVE (no DNS needed): two in the site's domain
# that point at loopback, one outside it that points at an address the row allows.
SCOPE_NAMES = {
    "internal.hostile.sim": "127.0.0.1",
    "intranet.hostile.sim": "127.0.0.1",
    "elsewhere.sim": "127.0.0.22",
}


def _scope() -> tuple[Site, ...]:
    """A site whose report links lead where a crawler must not go.

    Its row names its own address with its port (``127.0.0.21:PORT``), ``hostile.sim``
    (so the two names below it are in scope) and the address of ``elsewhere.sim`` with
    that server's port, as a network (reachable, but not in scope): each refusal below is
    then told by one test alone. Report links redirect to the secret on this machine
    (127.0.0.1), to a cloud metadata address, to a private address, to an in-scope name
    resolving to loopback, to a host outside the site and to another port of the site's
    own address (a second server there serves the secret); one link goes straight to an
    in-scope name resolving to loopback; one report is a real page. ``scopemove``
    is a start page that moves the site to a private address; ``scoperobots`` is a site
    whose robots.txt redirects to ``elsewhere.sim``'s server — a place only another row
    (``scope``'s) names.
    """
    site = _site(
        "scope",
        "127.0.0.21",
        "越界县人民政府",
        "410727",
        {
            "name_port": True,
            "domains": ["hostile.sim", SCOPE_NAMES["elsewhere.sim"] + "/32:{elsewhere}"],
        },
    )
    title = "越界县人民政府{}年政府信息公开工作年度报告".format
    redirects = {
        "/xxgknb/2024.html": "http://127.0.0.1:{secret}/secret",
        "/xxgknb/2023.html": "http://169.254.169.254/latest/meta-data/",
        "/xxgknb/2022.html": "http://10.23.0.7/xxgknb/2022.html",
        "/xxgknb/2021.html": "http://internal.hostile.sim:{secret}/secret",
        "/xxgknb/2020.html": "http://elsewhere.sim:{elsewhere}/xxgknb/2020.html",
        "/xxgknb/2017.html": "http://127.0.0.21:{sameaddress}/xxgknb/2017.html",
    }
    site.behaviour["redirects"] = redirects
    links = [(path, title(path[8:12])) for path in redirects]
    links.append(("http://intranet.hostile.sim:{secret}/xxgknb/2018.html", title(2018)))
    links.append(("/xxgknb/2019.html", title(2019)))
    site.add("/", _html(site.name, _links([("/xxgknb/", "政府信息公开年报")])), modified=_DAY)
    site.add("/xxgknb/index.html", _html("政府信息公开年报", _links(links)), modified=_DAY)
    site.add("/xxgknb/2019.html", _report_page(title(2019)), modified=_DAY)
    site.add("/robots.txt", b"User-agent: *\nDisallow: /search/\n", "text/plain")
    secret = _site("secret", "127.0.0.1", "本机", "410727", {"unlisted": True})
    for path in ("/secret", "/xxgknb/2018.html"):
        secret.add(path, _report_page(f"{title(2018)} {SECRET}"), modified=_DAY)
    # Another service of the site's own machine, on a port of its own.
    same = _site(
        "sameaddress", "127.0.0.21", "本机", "410727", {"unlisted": True, "any_port": True}
    )
    same.add("/xxgknb/2017.html", _report_page(f"{title(2017)} {SECRET}"), modified=_DAY)
    elsewhere = _site("elsewhere", "127.0.0.22", "别处县人民政府", "410728", {"unlisted": True})
    elsewhere.add("/xxgknb/2020.html", _report_page(title(2020)), modified=_DAY)
    elsewhere.add("/robots.txt", b"User-agent: *\nDisallow: /\n", "text/plain")
    move = _site(
        "scopemove",
        "127.0.0.23",
        "迁往内网县人民政府",
        "410729",
        {"moved_base": "http://10.23.0.9/"},
    )
    return site, secret, same, elsewhere, move, _scope_robots()


def _scope_robots() -> Site:
    """A site whose robots.txt redirects to a place another row names (``elsewhere.sim``'s
    server, which ``scope``'s row allows, port and all), where a robots.txt that
    forbids everything waits: fetched in this site's scope, the redirect is refused."""
    site = _site(
        "scoperobots",
        "127.0.0.26",
        "借道县人民政府",
        "410732",
        {"redirects": {"/robots.txt": "http://127.0.0.22:{elsewhere}/robots.txt"}},
    )
    title = "借道县人民政府2024年政府信息公开工作年度报告"
    site.add("/", _html(site.name, _links([("/xxgknb/", "政府信息公开年报")])), modified=_DAY)
    site.add(
        "/xxgknb/index.html",
        _html("政府信息公开年报", _links([("/xxgknb/2024.html", title)])),
        modified=_DAY,
    )
    site.add("/xxgknb/2024.html", _report_page(title), modified=_DAY)
    return site


EXTRA_SITES = (
    "polite",
    "flaky",
    "rs412",
    "jsl521",
    "nightly",
    "hanweb",
    "gkmlpt",
    "moved",
    "slow",
    "scope",
    "closed",
    "empty",
)


def hostile_sites(keys: list[str] | tuple[str, ...] = EXTRA_SITES, edition: int = 1) -> list[Site]:
    """The chosen misbehaving sites (:data:`EXTRA_SITES`), each on its own loopback address."""
    unknown = set(keys) - set(EXTRA_SITES)
    if unknown:
        raise ValueError(f"unknown extra site(s) {sorted(unknown)}; choose from {EXTRA_SITES}")
    build = {
        "polite": _polite,
        "flaky": _flaky,
        "nightly": lambda: _nightly(edition),
        "hanweb": _hanweb,
        "gkmlpt": _gkmlpt,
        "moved": _moved,
        "slow": _slow,
        "scope": _scope,
        "closed": _closed,
        "empty": _empty,
        "rs412": lambda: _site(
            "rs412", "127.0.0.13", "瑞数县人民政府", "410722", {"challenge": "rs-412"}
        ),
        "jsl521": lambda: _site(
            "jsl521", "127.0.0.14", "加速乐县人民政府", "410723", {"challenge": "jsl-521"}
        ),
    }
    sites = []
    for key in EXTRA_SITES:
        if key in keys:
            built = build[key]()
            sites += list(built) if isinstance(built, tuple) else [built]
    return sites


def scale_ip(n: int) -> str:
    """The n-th scale site's address: 127.1.0.1, 127.1.0.2 … (65,000 before wrapping)."""
    return f"127.1.{n // 250}.{n % 250 + 1}"


def scale_sites(count: int, pdf: bytes) -> list[Site]:
    """``count`` small sites of the same shape, each with its own numbers in its pages."""
    sites = []
    for n in range(count):
        code = f"{410000 + n % 9000:06d}"
        site = _site(f"s{n:05d}", scale_ip(n), f"规模测试第{n}县人民政府", code, {})
        site.site_id = f"scale-{n:05d}"
        site.add("/", _html(site.name, _links([("/xxgknb/", "政府信息公开年报")])), modified=_DAY)
        reports = [
            (f"/xxgknb/t{n}_{y}.html", f"{site.name}{y}年政府信息公开工作年度报告")
            for y in range(2019, 2025)
        ]
        site.add(
            "/xxgknb/index.html",
            _html("年报", _links(reports[:3]) + '<a href="index_1.html">下一页</a>'),
            modified=_DAY,
        )
        site.add("/xxgknb/index_1.html", _html("年报_2", _links(reports[3:])), modified=_DAY)
        for i, (path, title) in enumerate(reports):
            extra = f'<p>附件：<a href="/xxgknb/P{n}.pdf">{title}.pdf</a></p>' if i == 0 else ""
            body = "".join(f"<p>第{k}项：本机关共{n * 7 + k}件。</p>" for k in range(40))
            site.add(path, _report_page(title, body + extra), modified=_DAY)
        site.add(f"/xxgknb/P{n}.pdf", pdf + f"%{n}\n".encode(), "application/pdf", _DAY)
        site.add("/robots.txt", b"User-agent: *\nDisallow: /search/\n", "text/plain")
        sites.append(site)
    return sites
