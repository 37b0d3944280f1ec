"""The simulated government web: what it serves over HTTP, and that its truth is sound.

These tests fetch with the standard library only, and recompute the arithmetic
rules here, independently of both the simulated web and the project's checks.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import urllib.error
import urllib.request
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pdfplumber
import pytest

from archive.store.templates import template
from simweb.sites import BOTH_FORMATS


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def fetch(url: str, headers: dict | None = None, method: str = "GET"):
    """(status, headers, body) without following redirects or raising on 4xx."""
    request = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with _OPENER.open(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def text_of(body: bytes) -> str:
    return body.decode("utf-8")


def by_site(simweb, site_id: str) -> list[dict]:
    return [r for r in simweb.truth["reports"] if r["site_id"] == site_id]


def hrefs(page: str) -> list[str]:
    return re.findall(r'<a [^>]*?href="([^"]+)"', page)


# --- registry and navigation ----------------------------------------------------------------


def test_registry_has_one_host_per_site(simweb):
    with open(simweb.sites_csv, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)
    assert reader.fieldnames == [
        "site_id",
        "agency",
        "region_code",
        "region",
        "level",
        "start_url",
        "allowed_domains",
        "cms",
    ]
    assert len(rows) >= 3
    hosts = {urlsplit(r["start_url"]).hostname for r in rows}
    assert len(hosts) == len(rows)
    for row in rows:
        assert row["allowed_domains"] == urlsplit(row["start_url"]).hostname
        assert urlsplit(row["start_url"]).hostname.startswith("127.")
        assert re.fullmatch(r"\d{6}", row["region_code"])
        assert fetch(row["start_url"])[0] == 200
    # Start URLs differ in kind: a front page, a 信息公开 page, a column.
    assert {urlsplit(r["start_url"]).path for r in rows} >= {"/", "/zfxxgk/", "/nw12344/"}


def test_front_page_leads_to_the_report_column(simweb):
    base = simweb.sites["henan-xinxiang-muye"]
    status, headers, body = fetch(base)
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    assert "/zwgk/" in hrefs(text_of(body))
    info = text_of(fetch(base + "zwgk/")[2])
    assert "./zfxxgknb/" in hrefs(info) and "政府信息公开年报" in info


def _trs_listing(first_url: str, pattern: str, page_name) -> tuple[int, list[str]]:
    """Follow a TRS listing by its createPageHTML call; return page count and item URLs."""
    status, _, body = fetch(first_url)
    assert status == 200
    m = re.search(pattern, text_of(body))
    assert m, "no createPageHTML call"
    pages = int(m.group(1))
    items: list[str] = []
    for n in range(pages):
        url = urljoin(first_url, page_name(n))
        status, _, body = fetch(url)
        assert status == 200, url
        page = text_of(body)
        items += [urljoin(url, h) for h in re.findall(r'<li><a href="([^"]+)"', page)]
    assert fetch(urljoin(first_url, page_name(pages)))[0] == 404
    return pages, items


def test_trs_pagination_plain_form(simweb):
    base = simweb.sites["henan-xinxiang-muye"]
    pages, items = _trs_listing(
        base + "zwgk/zfxxgknb/index.html",
        r'createPageHTML\((\d+), 0, "index", "html"\)',
        lambda n: "index.html" if n == 0 else f"index_{n}.html",
    )
    assert pages == 3
    reports = {r["url"] for r in by_site(simweb, "henan-xinxiang-muye")}
    assert reports <= set(items)
    assert len(items) == len(set(items)) == len(reports) + 2  # two look-alikes in the column


def test_trs_pagination_page_div_form(simweb):
    base = simweb.sites["jiangsu-huaian"]
    first = base + "zfxxgk/zfxxgknb/index.shtml"
    m = re.search(
        r"createPageHTML\('page_div', (\d+), 1, 'index', 'shtml', (\d+)\)", text_of(fetch(first)[2])
    )
    assert m
    pages, items = _trs_listing(
        first,
        r"createPageHTML\('page_div', (\d+),",
        lambda n: "index.shtml" if n == 0 else f"index_{n + 1}.shtml",
    )
    assert pages >= 3 and int(m.group(2)) == len(items)
    assert {r["url"] for r in by_site(simweb, "jiangsu-huaian")} <= set(items)
    # In this form pages count from 1: there is no index_1.shtml.
    assert fetch(base + "zfxxgk/zfxxgknb/index_1.shtml")[0] == 404


def test_plain_pager_links_reach_every_report(simweb):
    url = simweb.sites["shanghai-szfbgt"] + "nw12344/"
    seen: list[str] = []
    while url:
        status, _, body = fetch(url)
        assert status == 200
        page = body.decode("gb18030")
        seen += [urljoin(url, h) for h in re.findall(r'<li><a href="([^"]+)"', page)]
        nxt = re.search(r'<a href="([^"]+)">下一页</a>', page)
        url = urljoin(url, nxt.group(1)) if nxt else None
    assert {r["url"] for r in by_site(simweb, "shanghai-szfbgt")} <= set(seen)


# --- documents -------------------------------------------------------------------------------


def _meta(page: str) -> dict[str, str]:
    found = dict(re.findall(r'<meta name="(\w+)" content="([^"]*)">', page))
    found.update((k, v) for v, k in re.findall(r'<meta content="([^"]*)" name="(\w+)">', page))
    return found


def test_detail_page_carries_the_meta_tags(simweb):
    report = next(r for r in by_site(simweb, "henan-xinxiang-muye") if r["format"] == "html")
    status, headers, body = fetch(report["url"])
    assert status == 200
    page = text_of(body)
    meta = _meta(page)
    assert meta["ArticleTitle"] == report["title"]
    assert meta["PubDate"] == report["published"]
    assert meta["SiteName"] == "新乡市牧野区人民政府"
    assert meta["SiteDomain"] == urlsplit(report["url"]).hostname
    assert re.fullmatch(report["region_code"] + r"\d{4}", meta["SiteIDCode"])
    assert meta["ColumnName"] == "政府信息公开年报"
    assert re.search(r"/zwgk/zfxxgknb/\d{6}/t\d{8}_\d+\.html$", report["url"])
    assert '<div class="TRS_Editor">' in page and page.count("<table") == 3
    assert int(headers["Content-Length"]) == len(body)


def test_pdf_only_report_is_an_attachment(simweb):
    report = next(
        r for r in by_site(simweb, "jiangsu-huaian") if r["format"] == "pdf" and not r["corpus"]
    )
    page = text_of(fetch(report["url"])[2])
    link = re.search(r'<a appendix="true"[^>]*href="([^"]+)"[^>]*OLDSRC="([^"]+)"', page)
    assert link and urljoin(report["url"], link.group(1)) == report["attachment_url"]
    assert re.fullmatch(r"\./P0\d{20}\.pdf", link.group(1))
    assert fetch(urljoin(report["url"], link.group(2)))[0] == 404  # OLDSRC is dead
    status, headers, body = fetch(report["attachment_url"])
    assert status == 200 and headers["Content-Type"] == "application/pdf"
    assert body.startswith(b"%PDF")
    with pdfplumber.open(io.BytesIO(body)) as pdf:
        text = "".join(p.extract_text() or "" for p in pdf.pages)
        pages_with_tables = [p.page_number for p in pdf.pages if p.extract_tables()]
        rows = [row for p in pdf.pages for t in p.extract_tables() for row in t]
    assert report["title"] in re.sub(r"\s", "", text)
    assert len(pages_with_tables) >= 2  # table 3 runs over a page break
    _assert_pdf_numbers(report, rows)


def test_every_attachment_is_linked_from_its_page(simweb):
    attached = [r for r in simweb.truth["reports"] if r.get("attachment_url")]
    # PDF-only reports, and articles that also attach their signed PDF.
    assert len(attached) >= 3 and all(
        r["format"] == "pdf" or r["sim_id"] in BOTH_FORMATS for r in attached
    )
    assert {r["sim_id"] for r in attached if r["format"] == "html"} == BOTH_FORMATS
    for report in attached:
        page = text_of(fetch(report["url"])[2])
        links = [
            urljoin(report["url"], h)
            for h in re.findall(r'<a appendix="true"[^>]*?href="([^"]+)"', page)
        ]
        assert links == [report["attachment_url"]], report["title"]
        status, headers, body = fetch(report["attachment_url"])
        assert status == 200 and body.startswith(b"%PDF"), report["title"]
        assert int(headers["Content-Length"]) == len(body)


def _cell(value) -> str:
    return "" if value is None else str(value)


def _assert_pdf_numbers(report: dict, rows: list[list]) -> None:
    """The PDF's table 3 and 4 rows print exactly the truth, in template order."""
    tpl = template(report["template"])
    t3_expected = [
        tuple(_cell(report["tables"]["t3"][r.key][c.key]) for c in tpl.cols("t3"))
        for r in tpl.rows("t3")
    ]
    t3_rows = [
        tuple((c or "") for c in row[-7:])
        for row in rows
        if 8 <= len(row) < 15
        and all(re.fullmatch(r"\d*", c or "") for c in row[-7:])
        and any(row[-7:])
    ]
    assert t3_rows == t3_expected
    t4_expected = [
        _cell(report["tables"]["t4"][r.key][c.key]) for r in tpl.rows("t4") for c in tpl.cols("t4")
    ]
    assert [(c or "") for c in rows[-1]] == t4_expected


class _Tables(HTMLParser):
    """The text of every cell of every table, row by row (no span handling needed here)."""

    def __init__(self):
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag == "td":
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            text = unicodedata.normalize("NFKC", "".join(self._cell)).strip()
            self.tables[-1][-1].append(text)
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def test_html_tables_print_the_truth(simweb):
    """Every generated HTML report: the value cells of tables 3 and 4, row by row."""
    checked = 0
    for report in simweb.truth["reports"]:
        if report["format"] != "html" or report["corpus"]:
            continue
        status, headers, body = fetch(report["url"])
        charset = headers["Content-Type"].split("charset=")[1]
        parser = _Tables()
        parser.feed(body.decode("gb18030" if charset == "gb2312" else charset))
        _, t3, t4 = parser.tables
        tpl = template(report["template"])
        expected = [
            [_cell(report["tables"]["t3"][r.key][c.key]) for c in tpl.cols("t3")]
            for r in tpl.rows("t3")
        ]
        assert [row[-7:] for row in t3[3:]] == expected, report["title"]
        assert t4[-1] == [
            _cell(report["tables"]["t4"][r.key][c.key])
            for r in tpl.rows("t4")
            for c in tpl.cols("t4")
        ]
        checked += 1
    assert checked >= 15


def test_gbk_site_declares_gb2312_and_sends_gb18030(simweb):
    report = next(r for r in by_site(simweb, "shanghai-szfbgt") if r["corpus"])
    status, headers, body = fetch(report["url"])
    assert status == 200 and headers["Content-Type"] == "text/html; charset=gb2312"
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    page = body.decode("gb18030")
    assert "charset=gb2312" in page and report["title"] in page
    assert (
        '<td colspan="7" nowrap="nowrap" style="width:355px;"><p align="center">申请人情况' in page
    )
    assert _meta(page)["PubDate"] == report["published"]


def test_robots_txt_disallows_only_what_holds_nothing(simweb):
    for base in simweb.sites.values():
        status, headers, body = fetch(base + "robots.txt")
        assert status == 200 and headers["Content-Type"].startswith("text/plain")
        [disallowed] = re.findall(r"^Disallow: (\S+)$", body.decode(), re.M)
        host = urlsplit(base).netloc
        for r in simweb.truth["reports"]:
            for url in (r["url"], r.get("attachment_url")):
                if url and urlsplit(url).netloc == host:
                    assert not urlsplit(url).path.startswith(disallowed)


# --- HTTP behaviour ----------------------------------------------------------------------------


def test_conditional_requests_answer_304(simweb):
    url = simweb.truth["reports"][0]["url"]
    status, headers, body = fetch(url)
    etag, modified = headers["ETag"], headers["Last-Modified"]
    assert status == 200 and etag and modified.endswith("GMT")
    status, h, body = fetch(url, {"If-None-Match": etag})
    assert status == 304 and body == b"" and h["ETag"] == etag
    assert fetch(url, {"If-None-Match": '"other"'})[0] == 200
    assert fetch(url, {"If-Modified-Since": modified})[0] == 304
    assert fetch(url, {"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"})[0] == 200
    # If-None-Match takes precedence over If-Modified-Since.
    assert fetch(url, {"If-None-Match": '"other"', "If-Modified-Since": modified})[0] == 200
    status, h, body = fetch(url, method="HEAD")
    assert status == 200 and body == b"" and h["ETag"] == etag


def test_unknown_paths_are_404_and_directories_redirect(simweb):
    base = simweb.sites["henan-xinxiang-muye"]
    status, headers, body = fetch(base + "zwgk/zfxxgknb/202501/t20250101_1.html")
    assert status == 404 and int(headers["Content-Length"]) == len(body)
    status, headers, _ = fetch(base + "zwgk/zfxxgknb")
    assert status == 301 and headers["Location"] == "/zwgk/zfxxgknb/"


def test_look_alikes_are_served_and_not_reports(simweb):
    reports = {r["url"] for r in simweb.truth["reports"]}
    reports |= {r.get("attachment_url") for r in simweb.truth["reports"]}
    non_reports = simweb.truth["non_reports"]
    assert len(non_reports) >= 8 and not reports & set(non_reports)
    titles = []
    for url in non_reports:
        status, headers, body = fetch(url)
        assert status == 200
        if headers["Content-Type"].startswith("text/html"):
            charset = headers["Content-Type"].split("charset=")[1]
            titles.append(
                _meta(body.decode("gb18030" if charset == "gb2312" else "utf-8"))["ArticleTitle"]
            )
    for word in (
        "部门预算",
        "决算",
        "政府工作报告",
        "统计公报",
        "政府信息公开工作的通知",
        "有限公司2024年度报告",
    ):
        assert any(word in t for t in titles), word


# --- the truth itself --------------------------------------------------------------------------


def broken_rules(report: dict) -> set[tuple[str, str]]:
    """The four rules, computed here; a blank cell counts as 0, a blank total too."""
    tpl = template(report["template"])
    t3, t4 = report["tables"]["t3"], report["tables"]["t4"]
    broken = set()
    for col in (c.key for c in tpl.cols("t3")):

        def v(row, col=col):
            return t3[row][col] or 0

        if v("new_requests") + v("carried_over") != v("results_total") + v("carried_forward"):
            broken.add(("t3_balance", col))
        if v("results_total") != sum(v(r) for r in tpl.result_rows()):
            broken.add(("t3_results", col))
    for row, cols in t3.items():
        if (cols["total"] or 0) != sum(x or 0 for k, x in cols.items() if k != "total"):
            broken.add(("t3_applicants", row))
    for row, cols in t4.items():
        if (cols["total"] or 0) != sum(
            cols[k] or 0 for k in ("upheld", "corrected", "other", "pending")
        ):
            broken.add(("t4_total", row))
    return broken


def test_truth_is_consistent_except_for_the_planted_faults(simweb):
    reports = simweb.truth["reports"]
    assert len(reports) >= 20
    assert len({r["title"] for r in reports}) == len({r["sim_id"] for r in reports}) == len(reports)
    for r in reports:
        tpl = template(r["template"])
        assert r["template"] == ("2021" if r["year"] >= 2021 else "2019")
        keys = {
            (t, row, c)
            for t, rows in r["tables"].items()
            for row, cols in rows.items()
            for c in cols
        }
        assert keys == set(tpl.cell_keys()), r["title"]
        expected = {
            (f["rule"], f.get("row") or f.get("column"))
            for f in r["expected_findings"] + r["expected_incomplete"]
        }
        assert broken_rules(r) == expected, r["title"]
        for fault in r["faults"]:
            assert r["tables"][fault["table"]][fault["row"]][fault["col"]] == fault["printed"]
            assert fault["printed"] != fault["true"]
        if not r["corpus"]:
            assert bool(r["faults"]) == bool(r["expected_findings"])
            assert r["expected_incomplete"] == []
    faulted = [f["table"] for r in reports for f in r["faults"]]
    assert "t3" in faulted and "t4" in faulted
    formats = {(r["format"], r["template"]) for r in reports}
    assert {("html", "2019"), ("html", "2021"), ("pdf", "2021")} <= formats
    assert any(
        v is None for r in reports for rows in r["tables"]["t3"].values() for v in rows.values()
    )


def test_world_is_reproducible(simweb):
    from simweb.sites import build_world

    world = build_world(simweb.truth["seed"])
    assert [i.truth.to_json()["tables"] for _, i in world.reports] == [
        r["tables"] for r in simweb.truth["reports"]
    ]
    assert [i.path for _, i in world.reports] == [
        urlsplit(r["url"]).path for r in simweb.truth["reports"]
    ]


# --- misbehaving sites and scale mode (simweb.hostile) ---------------------------------------
@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    from simweb.process import SimWeb

    with SimWeb(
        tmp_path_factory.mktemp("hostile"),
        default_world=False,
        extra=("polite", "flaky", "rs412", "jsl521", "hanweb", "moved"),
    ) as web:
        yield web


def test_hostile_sites_are_added_without_touching_the_truth(hostile):
    assert hostile.truth["reports"] == [] and hostile.truth["sites"] == []
    rows = list(csv.DictReader(io.StringIO(hostile.sites_csv.read_text("utf-8"))))
    assert {r["site_id"] for r in rows} == {
        "sim-polite",
        "sim-flaky",
        "sim-rs412",
        "sim-jsl521",
        "sim-hanweb",
        "sim-moved",
    }


def test_challenge_pages_carry_their_markers(hostile):
    status, _, body = fetch(hostile.sites["sim-rs412"] + "any/page.html")
    assert status == 412 and b"$_ts" in body
    status, _, body = fetch(hostile.sites["sim-jsl521"])
    assert status == 521 and b"document.cookie" in body


def test_flaky_site_asks_to_retry_after_then_answers(hostile):
    url = hostile.sites["sim-flaky"]
    status, headers, _ = fetch(url)
    assert status == 503 and headers["Retry-After"] == "1"
    assert fetch(url)[0] == 200
    assert fetch(url + "xxgknb/broken.html")[0] == 500
    status, headers, body = fetch(url, {"Accept-Encoding": "gzip"})
    assert status == 200 and headers["Content-Encoding"] == "gzip" and body[:2] == b"\x1f\x8b"


def test_polite_site_robots_soft_404_and_query_pages(hostile):
    url = hostile.sites["sim-polite"]
    assert b"Crawl-delay: 1" in fetch(url + "robots.txt")[2]
    status, _, body = fetch(url + "no/such/page.html")
    assert status == 200 and "页面不存在" in text_of(body)
    first, second = fetch(url + "xxgknb/index.html")[2], fetch(url + "xxgknb/index.html?page=2")[2]
    assert first != second and "2022年" in text_of(second)


def test_hanweb_dataproxy_answers_only_the_right_column(hostile):
    url = hostile.sites["sim-hanweb"] + "module/web/jpage/dataproxy.jsp?startrecord=1&endrecord=4"

    def post(form: str) -> bytes:
        request = urllib.request.Request(url, data=form.encode(), method="POST")
        with _OPENER.open(request, timeout=10) as response:
            return response.read()

    right = post("columnid=61490&unitid=247686&webid=39")
    assert b"<totalrecord>10</totalrecord>" in right and right.count(b"<record>") == 4
    wrong = post("columnid=1&unitid=247686")
    assert b"<totalrecord>0</totalrecord>" in wrong


def test_moved_site_redirects_to_its_new_host(hostile):
    status, headers, _ = fetch(hostile.sites["sim-moved"] + "xxgknb/")
    assert status == 301 and headers["Location"].endswith("/xxgknb/")
    assert urlsplit(headers["Location"]).hostname == "127.0.0.19"


def test_scale_sites_each_have_their_own_host_and_pages():
    from simweb.hostile import scale_sites

    sites = scale_sites(600, b"%PDF-1.4\n")
    assert len({s.ip for s in sites}) == 600 and len({s.site_id for s in sites}) == 600
    assert all(len(s.pages) == 11 for s in sites)
    assert sites[0].pages["/xxgknb/P0.pdf"].body != sites[1].pages["/xxgknb/P1.pdf"].body
