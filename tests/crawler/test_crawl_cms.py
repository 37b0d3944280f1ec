"""CMS adapters, each on its own (pure functions over page text), then crawled end to end
against the simulated 大汉, gkmlpt and consolidated sites."""

from __future__ import annotations

import json
import sqlite3

import pytest

from crawler.reading import cms
from simweb.process import SimWeb
from tests.crawling import crawl

pytestmark = pytest.mark.e2e

HANWEB_PAGE = """<div id="247686"><script type="text/xml"><datastore><nextgroup><![CDATA[
<a href="/module/web/jpage/dataproxy.jsp?page=1&webid=39&path=/&columnid=61490&unitid=247686&webname=%E6%B1%9F%E8%8B%8F&permissiontype=0"></a>]]></nextgroup>
<recordset><record><![CDATA[<li class="cf"><a href="/art/2025/1/20/art_61490_1.html" title="某局2024年政府信息公开工作年度报告">某局2024年…</a></li>]]></record>
<record><![CDATA[<li><a href='/art/2024/1/19/art_61490_2.html'>某局2023年政府信息公开工作年度报告</a></li>]]></record>
</recordset></datastore></script><script src="/module/web/jpage/jpage.js"></script></div>"""


def test_hanweb_first_page_records_come_out_of_the_xml_script():
    links = cms.record_links(
        cms.hanweb_records(HANWEB_PAGE), "http://jsgzw.example.cn/col/col61490/index.html"
    )
    assert [link.url for link in links] == [
        "http://jsgzw.example.cn/art/2025/1/20/art_61490_1.html",
        "http://jsgzw.example.cn/art/2024/1/19/art_61490_2.html",
    ]
    assert "2024年政府信息公开工作年度报告" in links[0].text


def test_hanweb_dataproxy_post_carries_column_and_unit_from_the_page():
    params = cms.hanweb_params(HANWEB_PAGE)
    assert params["columnid"] == "61490" and params["unitid"] == "247686"
    call = cms.hanweb_requests("http://jsgzw.example.cn/col/col61490/index.html", params)
    assert call.url == (
        "http://jsgzw.example.cn/module/web/jpage/dataproxy.jsp?startrecord=1"
        "&endrecord=60&perpage=20"
    )
    assert call.form["columnid"] == "61490" and call.form["unitid"] == "247686"
    assert call.form["webid"] == "39"


def test_hanweb_further_groups_follow_the_total():
    params = {"columnid": "1", "unitid": "2"}
    first = cms.hanweb_requests("http://h.example.cn/col/col1/index.html", params, group=10)
    more = cms.hanweb_more("<datastore><totalrecord>25</totalrecord></datastore>", first)
    assert [c.url.split("?")[1] for c in more] == [
        "startrecord=11&endrecord=20&perpage=20",
        "startrecord=21&endrecord=30&perpage=20",
    ]
    assert cms.hanweb_more("<datastore><totalrecord>25</totalrecord></datastore>", more[0]) == []


def test_a_page_without_a_datastore_is_not_hanweb():
    assert cms.hanweb_params("<script>var columnid = 5; var unitid = 6;</script>") is None


def test_gkmlpt_sid_categories_and_pages():
    page = "<script>window._CONFIG = {SID: '755031', APP: 'gkmlpt'};</script>"
    assert cms.gkmlpt_sid(page) == "755031"
    assert cms.gkmlpt_sid("<script>var SID = '1';</script>") is None
    links = [
        cms.Link("http://jr.sz.example.cn/gkmlpt/index#2811", "政府信息公开年报"),
        cms.Link("http://jr.sz.example.cn/gkmlpt/index", "首页"),
    ]
    assert cms.gkmlpt_categories(links) == ["2811"]
    call = cms.gkmlpt_request("http://jr.sz.example.cn/gkmlpt/index", "2811", "755031")
    assert call.url == "http://jr.sz.example.cn/gkmlpt/api/all/2811?page=1&sid=755031"
    answer = json.dumps(
        {
            "total": 7,
            "articles": [
                {
                    "title": "某区2024年政府信息公开工作年度报告",
                    "url": "http://jr.sz.example.cn/a/post_1.html",
                },
                {"title": "x", "url": "/a/post_2.html"},
                {"title": "y", "post_url": "/a/post_3.html"},
            ],
        }
    )
    links, total = cms.gkmlpt_articles(answer, call.url)
    assert total == 7 and links[2].url == "http://jr.sz.example.cn/a/post_3.html"
    assert [c.url[-18:] for c in cms.gkmlpt_more(answer, call)] == [
        "?page=2&sid=755031",
        "?page=3&sid=755031",
    ]


def test_pdfjs_viewer_links_lead_to_the_file():
    assert (
        cms.pdfjs_target("http://a.example.cn/pdfjs/web/viewer.html?file=/up/r.pdf")
        == "http://a.example.cn/up/r.pdf"
    )
    assert (
        cms.pdfjs_target("http://a.example.cn/v/viewer.html?file=http%3A%2F%2Fb.example.cn%2Fr.pdf")
        == "http://b.example.cn/r.pdf"
    )
    assert cms.pdfjs_target("http://a.example.cn/viewer.html") is None
    assert cms.pdfjs_target("http://a.example.cn/r.pdf") is None


def test_wap_twins_share_one_url():
    assert cms.canonical_url(
        "http://cqqj.gov.cn/zwgk_159/zfxxgknb/qzfxxgknb/202403/t20240327_13086081_wap.html"
    ) == ("http://cqqj.gov.cn/zwgk_159/zfxxgknb/qzfxxgknb/202403/t20240327_13086081.html")
    assert cms.canonical_url("http://a.cn/wap/index.html") == "http://a.cn/wap/index.html"


# -- crawled end to end --------------------------------------------------------------
@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    out = tmp_path_factory.mktemp("cms")
    with SimWeb(
        out / "web", extra=("hanweb", "gkmlpt", "moved"), default_world=False, log_requests=True
    ) as web:
        db = out / "archive.db"
        crawl(web.sites_csv, db, timeout=120)
        requests = web.requests()
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    yield requests, conn
    conn.close()


def _reports(conn, site_id: str) -> list[str]:
    return sorted(
        r[0]
        for r in conn.execute(
            "select url from captures where site_id = ? and role = 'report' and status = 200",
            [site_id],
        )
    )


def test_hanweb_site_every_report_once_wap_twin_not_fetched(crawled):
    requests, conn = crawled
    reports = _reports(conn, "sim-hanweb")
    assert len(reports) == 8 and not any("_wap" in u for u in reports)
    assert not [r for r in requests if "_wap" in r["path"]]
    posts = [r for r in requests if r["method"] == "POST"]
    assert len(posts) == 1 and posts[0]["status"] == 200
    proxy = conn.execute(
        "select method, role from captures where url like '%dataproxy.jsp%'"
    ).fetchone()
    assert tuple(proxy) == ("POST", "listing")


def test_hanweb_pdfjs_viewer_file_is_archived_as_an_attachment(crawled):
    _, conn = crawled
    rows = conn.execute(
        "select url, status, content_type from captures where site_id = ? and role = 'attachment'",
        ["sim-hanweb"],
    ).fetchall()
    assert len(rows) == 1 and rows[0]["url"].endswith("/picture/0/5807.pdf")
    assert rows[0]["status"] == 200 and rows[0]["content_type"] == "application/pdf"


def test_gkmlpt_site_reports_come_from_the_json_api(crawled):
    requests, conn = crawled
    assert len(_reports(conn, "sim-gkmlpt")) == 7
    api = sorted(r["path"] for r in requests if r["path"].startswith("/gkmlpt/api/"))
    assert api == [
        "/gkmlpt/api/all/2811?page=1&sid=755031",
        "/gkmlpt/api/all/2811?page=2&sid=755031",
        "/gkmlpt/api/all/2811?page=3&sid=755031",
        "/gkmlpt/api/all/2812?page=1&sid=755031",
    ]
    budget = conn.execute("select count(*) from captures where url like '%post_7800%'")
    assert budget.fetchone()[0] == 0


def test_a_site_moved_to_another_host_is_followed_with_every_hop(crawled):
    _, conn = crawled
    start = conn.execute(
        "select * from captures where site_id = 'sim-moved' and role = 'start'"
    ).fetchone()
    hops = json.loads(start["redirects"])
    assert hops[0] == start["url"] and "127.0.0.18" in hops[0] and "127.0.0.19" in hops[-1]
    assert start["final_url"] == hops[-1] and start["status"] == 200
    assert len(_reports(conn, "sim-moved")) == 2


def test_trs_page_count_from_a_countpage_variable():
    from crawler.reading.links import trs_pages

    page = (
        "<script>var countPage = 3//共多少页\nvar currentPage = 0//当前页\n"
        'createPageHTML(countPage, currentPage, "index", "htm");</script>'
    )
    assert trs_pages(page, "http://h.example.cn/zfxxgknb/") == [
        "http://h.example.cn/zfxxgknb/index.htm",
        "http://h.example.cn/zfxxgknb/index_1.htm",
        "http://h.example.cn/zfxxgknb/index_2.htm",
    ]
    assert trs_pages('createPageHTML(pages, 0, "index", "html");', "http://h.example.cn/") == []
