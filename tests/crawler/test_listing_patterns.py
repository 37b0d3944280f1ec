"""The listing patterns of real portals, each adapter on its own (pure functions over
page text, as the pages of the sites named in simweb/patterns.py show them)."""

from __future__ import annotations

import json

import pytest
from OpenSSL import SSL
from scrapy.http import HtmlResponse

from crawler.middlewares.charset import declared, sniff
from crawler.middlewares.schemes import other_scheme, says_wrong_scheme
from crawler.reading import cms
from crawler.reading.links import (
    agency_of_title,
    js_page_count,
    numbered_pages,
    redirect_target,
    script_array_items,
    year_label,
)
from crawler.reading.pages import read_api, read_page


def test_page_count_variable_gives_numbered_pages():
    page = "<script>var pageCount = 3; var pageIndex = 1; drawPager();</script>"
    assert js_page_count(page) == 3
    assert js_page_count("<script>var totalPage = '12';</script>") == 12
    assert js_page_count("<script>var contenpage = 4</script>") == 4
    assert js_page_count("<p>共3页</p>") is None
    assert numbered_pages("http://cd.example.cn/gkml/nb/column-index-1.shtml", 3) == [
        "http://cd.example.cn/gkml/nb/column-index-1.shtml",
        "http://cd.example.cn/gkml/nb/column-index-2.shtml",
        "http://cd.example.cn/gkml/nb/column-index-3.shtml",
    ]
    assert numbered_pages("https://jyj.example.cn/zfxxgk/zfxxgknb/1.html", 2)[1] == (
        "https://jyj.example.cn/zfxxgk/zfxxgknb/2.html"
    )
    assert numbered_pages("http://h.example.cn/zfxxgknb/", 3) == []  # no convention to follow


def test_numbered_pages_only_for_a_page_that_lists_reports():
    with_reports = '<a href="./7.html">某局2024年政府信息公开工作年度报告</a><script>var totalPage = 2;</script>'
    assert read_page(with_reports, "http://h.example.cn/nb/1.html").listing_pages == [
        "http://h.example.cn/nb/2.html"
    ]
    # a front page with a carousel counter is not a listing
    assert (
        read_page("<script>var totalPage = 5;</script>", "http://h.example.cn/1.html").listing_pages
        == []
    )


def test_redirect_shells_by_meta_and_script_but_not_content_or_challenges():
    meta = '<html><head><meta http-equiv="refresh" content="0; url=./nbxx/"></head></html>'
    assert (
        redirect_target(meta, "http://h.example.cn/zfxxgknb/")
        == "http://h.example.cn/zfxxgknb/nbxx/"
    )
    js = '<script>location.replace("./jbxxjgm/");</script>'
    assert (
        redirect_target(js, "http://h.example.cn/jgmjdgs/")
        == "http://h.example.cn/jgmjdgs/jbxxjgm/"
    )
    assert redirect_target(
        "<script>window.location.href='/zfxxgkzn/'</script>", "http://h.example.cn/zfxxgk/"
    ) == ("http://h.example.cn/zfxxgkzn/")
    challenge = "<script>document.cookie='__jsl_clearance=1';location.href=location.pathname+location.search</script>"
    assert redirect_target(challenge, "http://h.example.cn/") is None
    content = "<script>location.replace('/m/')</script><p>" + "政府信息公开" * 60 + "</p>"
    assert redirect_target(content, "http://h.example.cn/") is None
    onclick = '<a href="javascript:;" onclick="location.href=\'/a.html\'">某局2024年政府信息公开工作年度报告</a>'
    assert redirect_target(onclick, "http://h.example.cn/") is None


def test_onclick_items_without_anchors_are_links():
    page = (
        "<div class=\"li\" onclick=\"window.open('/gkml/nb/202501/t20250120_1.shtml','_blank')\">"
        '<span class="s1">·</span><span class="s2">锦府区教育局2024年政府信息公开工作年度报告</span></div>'
    )
    [link] = read_page(page, "http://cd.example.cn/gkml/nb/column-index-1.shtml").report_links
    assert link.url == "http://cd.example.cn/gkml/nb/202501/t20250120_1.shtml"
    assert agency_of_title(link.text) == "锦府区教育局"


def test_script_array_itemobj_with_json_in_a_string():
    records = [
        {
            "aT": "国家某局2024年政府信息公开工作年度报告",
            "aPd": "2025-01-20 17:00",
            "aU": json.dumps(
                {"common": "/jbkzzx/c100014/common/content/content_1961007702056800256.html"}
            ),
        },
        {"aT": "没有链接的记录", "aPd": "2025-01-01 00:00"},
    ]
    page = f"<script>var itemObj = {json.dumps(records, ensure_ascii=False)};</script>"
    assert script_array_items(page) == [
        (
            "国家某局2024年政府信息公开工作年度报告",
            "/jbkzzx/c100014/common/content/content_1961007702056800256.html",
        )
    ]
    assert script_array_items("<script>var itemObj = [{broken</script>") == []


def test_hanweb_get_and_morecolumn_proxies_named_in_script():
    more = (
        "<script>$.get('/module/web/jpage/morecolumndataproxy.jsp?page=' + page + "
        "'&appid=1&webid=67&path=/&columnid=77276,77277&unitid=313354&keyWordCount=999', f);</script>"
    )
    [call] = cms.hanweb_get_calls(more, "https://jshrss.example.cn/col/col77273/index.html")
    assert call.url == (
        "https://jshrss.example.cn/module/web/jpage/morecolumndataproxy.jsp?page=1&appid=1"
        "&webid=67&path=/&columnid=77276,77277&unitid=313354&keyWordCount=999"
    )
    later = cms.hanweb_get_more("<datastore><totalpage>3</totalpage></datastore>", call)
    assert [c.url.split("?")[1][:6] for c in later] == ["page=2", "page=3"]
    assert cms.hanweb_get_more("<totalpage>3</totalpage>", later[0]) == []
    # a page with its own datastore is read by POST, as jpage itself does
    datastore = '<script type="text/xml"><datastore><nextgroup><![CDATA[<a href="/module/web/jpage/dataproxy.jsp?page=1&columnid=1&unitid=2"></a>]]></nextgroup></datastore></script>'
    assert cms.hanweb_get_calls(datastore, "http://h.example.cn/col/col1/index.html") == []


def test_hanweb_post_goes_to_the_proxy_path_the_page_names():
    old = (
        '<div><script type="text/xml"><datastore><nextgroup><![CDATA[<a href="/module/jpage/'
        'dataproxy.jsp?page=1&webid=3096&columnid=1545733&unitid=4767824"></a>]]></nextgroup>'
        '</datastore></script><script src="/module/jpage/jpage.js"></script></div>'
    )
    params = cms.hanweb_params(old)
    call = cms.hanweb_requests("http://zj.example.cn/col/col1545733/index.html", params)
    assert call.url.startswith("http://zj.example.cn/module/jpage/dataproxy.jsp?startrecord=1")
    assert call.form["columnid"] == "1545733"


def test_year_folders_and_agencies_from_titles():
    assert year_label("2024年度", "http://h/zfxxgknb/2024n78/") == 2024
    assert year_label("", "http://h/zfxxgknb/gknb2017/") == 2017
    assert year_label("", "http://h/gknb/2018nb/") == 2018
    assert year_label("乡镇街道", "http://h/zfxxgknb/2024n78/xzjd/") is None
    assert year_label("", "http://h/zfxxgknb/2024n78/t20250101_1.html") is None
    assert agency_of_title("通顺区财政局2024年政府信息公开工作年度报告") == "通顺区财政局"
    assert (
        agency_of_title("2019年上海市人民政府办公厅政府信息公开工作年度报告")
        == "上海市人民政府办公厅"
    )
    assert agency_of_title("2024年度报告") is None


def test_wap_page_only_when_the_desktop_copy_is_missing():
    twin = "http://cq.example.cn/zfxxgknb/202403/t20240327_13086081_wap.html"
    desktop = cms.canonical_url(twin)
    assert cms.wap_fallback(404, desktop, twin) == twin
    assert cms.wap_fallback(200, desktop, twin) is None
    assert cms.wap_fallback(404, twin, twin) is None  # never twice
    assert cms.wap_fallback(404, desktop, None) is None


def _html(body: bytes, ctype: str = "text/html") -> HtmlResponse:
    return HtmlResponse("http://h.example.cn/", body=body, headers={"Content-Type": ctype})


def test_undeclared_gbk_is_sniffed_and_declared_charsets_are_left_alone():
    gbk = "<html><body><a href='/nb/'>政府信息公开年报</a></body></html>".encode("gbk")
    assert not declared(_html(gbk))
    assert sniff(gbk) == "gb18030"
    assert sniff("政府信息公开年报".encode()) == "utf-8"
    assert sniff(gbk, hint="gbk") == "gbk"
    assert declared(_html(gbk, "text/html; charset=gbk"))
    assert declared(_html(b'<meta charset="gb2312">' + gbk))
    from crawler.middlewares.charset import UndeclaredCharsetMiddleware

    class _Stats:
        def inc_value(self, *_):
            pass

    fixed = UndeclaredCharsetMiddleware(_Stats()).process_response(
        type("R", (), {"meta": {}})(), _html(gbk)
    )
    assert fixed.css("a::text").get() == "政府信息公开年报"


def test_wrong_scheme_failures_and_scrapys_tls_context():
    from scrapy import Request
    from scrapy.exceptions import DownloadFailedError
    from twisted.internet.error import ConnectionRefusedError
    from twisted.python.failure import Failure
    from twisted.web._newclient import ResponseNeverReceived

    assert other_scheme("https://h.example.cn:8443/a?b=1") == "http://h.example.cn:8443/a?b=1"
    assert other_scheme("ftp://h.example.cn/") is None
    alert = ResponseNeverReceived(
        [Failure(SSL.Error([("SSL routines", "", "tls alert handshake failure")]))]
    )
    wrapped = DownloadFailedError(str(alert))
    wrapped.__cause__ = alert
    https = Request("https://h.example.cn/")
    assert says_wrong_scheme(https, wrapped)
    assert not says_wrong_scheme(Request("http://h.example.cn/"), wrapped)
    assert says_wrong_scheme(Request("http://h.example.cn/"), ConnectionRefusedError())
    assert not says_wrong_scheme(https, TimeoutError())
    # OpenSSL 3 refuses servers without secure renegotiation unless told otherwise
    # (UNSAFE_LEGACY_RENEGOTIATION_DISABLED): Scrapy's context allows them.
    from scrapy.core.downloader.contextfactory import _ScrapyCertificateOptions

    options = _ScrapyCertificateOptions().getContext().set_options(0)  # returns the options
    assert options & 0x4  # SSL_OP_LEGACY_SERVER_CONNECT


@pytest.mark.parametrize(
    "text,expected",
    [
        ("<script>var SID = '1';</script>", ""),
        ('<script type="text/xml"><datastore></datastore></script>', "hanweb"),
        ('<script>createPageHTML(3, 0, "index", "html");</script>', "trs"),
    ],
)
def test_cms_family(text, expected):
    from crawler.reading.pages import detect_cms

    assert detect_cms(text) == expected


PIECES = [
    '<a href="/zfxxgknb/">政府信息公开年报</a>',
    '<a href="javascript:;" onclick="window.open(\'/a/1.html\')">某局2024年政府信息公开工作年度报告</a>',
    "<div onclick=\"location.href='/b.html'\">x",
    '<script>var itemObj = [{"aT": "t", "aU": "{\\"common\\": \\"/c.html\\"}"}',
    "<script>var totalPage = 9999;</script>",
    '<meta http-equiv="refresh" content="0;url=',
    "<script>location.replace('./x/')",
    '<script type="text/xml"><datastore><record><![CDATA[<a href="/art/1.html">某区2023年政府信息公开工作年度报告</a>',
    "'/module/web/jpage/dataproxy.jsp?page=' + p + '&columnid=1&unitid=2'",
    "<a href='%zz'>坏链接</a>",
    "</script></div><<>>",
    "var x = [{",
    "政府信息公开" * 5,
    '<script>window._CONFIG = {SID: \'7\', APP: \'gkmlpt\', TREE: [{"id": 26, "name": "年报"',
    '<script src="/js/webBuilderCommon.js"></script>',
    'var siteInfo = {"siteGuid": "g", "projectName": "//evil.example.com/x"}',
]


def test_any_mix_of_page_fragments_is_read_without_error():
    """Seeded random pages built from real fragments, cut anywhere: reading never raises,
    every link is absolute, listing pages stay bounded."""
    import random

    from crawler.reading.links import MAX_LISTING_PAGES

    rng = random.Random(14)
    for _ in range(300):
        text = "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 12)))
        text = text[: rng.randint(0, len(text))]
        url = rng.choice(
            [
                "http://h.example.cn/",
                "http://h.example.cn/nb/1.html",
                "http://h.example.cn/column-index-1.shtml",
                "http://h.example.cn/dynamic/zwgk/govInfoPub.html?categorynum=003008",
                "http://h.example.cn/sub/gkmlpt/index#2629",
            ]
        )
        page = read_page(text, url)
        assert all(link.url.startswith("http") for link in page.links)
        assert len(page.listing_pages) < MAX_LISTING_PAGES
        assert page.redirect is None or page.redirect.startswith("http")
        assert all(call.url.startswith("http") for call in page.api)


# -- 广东 gkmlpt under a department's path, its TREE, a start URL's fragment ------------
GKMLPT_TREE = (
    "<script>window._CONFIG = {SID: '769031', APP: 'gkmlpt', TREE: [{\"id\": 2960, \"name\": "
    '"政府信息公开指南", "children": []}, {"id": 2961, "name": "法定主动公开内容", '
    '"children": [{"id": 2972, "name": "政府信息公开年报", "children": []}, '
    '{"id": 2973, "name": "财政预决算"}]}]};</script>'
)


def test_gkmlpt_api_lives_beside_the_platform_under_a_department_path():
    page = "http://www.dg.example.cn/dghlz/gkmlpt/index"
    call = cms.gkmlpt_request(page, "2972", "769031")
    assert call.url == "http://www.dg.example.cn/dghlz/gkmlpt/api/all/2972?page=1&sid=769031"
    root = cms.gkmlpt_request("http://jr.sz.example.cn/gkmlpt/index", "2811", "755031")
    assert root.url == "http://jr.sz.example.cn/gkmlpt/api/all/2811?page=1&sid=755031"
    assert cms.gkmlpt_prefix("http://h.example.cn/yjzjj/gkmlpt/annualreport") == "/yjzjj/"


def test_gkmlpt_categories_from_the_tree_and_the_url_fragment():
    assert cms.gkmlpt_tree(GKMLPT_TREE) == [
        ("2960", "政府信息公开指南"),
        ("2961", "法定主动公开内容"),
        ("2972", "政府信息公开年报"),
        ("2973", "财政预决算"),
    ]
    # the navigation is drawn from TREE: no #NNNN link in the HTML, the 年报 node is asked for
    page = read_page(GKMLPT_TREE, "http://www.dg.example.cn/dghlz/gkmlpt/index")
    assert [c.url for c in page.api] == [
        "http://www.dg.example.cn/dghlz/gkmlpt/api/all/2972?page=1&sid=769031"
    ]
    # a start URL's fragment names its category (广东文旅 …/gkmlpt/annualreport#2629)
    fragment = read_page(
        "<script>window._CONFIG = {SID: '175'};</script>",  # gkmlpt only in its URL
        "http://whly.gd.example.cn/gkmlpt/annualreport#2629",
    )
    assert [c.url for c in fragment.api] == [
        "http://whly.gd.example.cn/gkmlpt/api/all/2629?page=1&sid=175"
    ]
    assert cms.gkmlpt_tree("<script>var TREE = [{broken</script>") == []


# -- 江苏 Epoint (新点) govInfoPub.html -------------------------------------------------
EPOINT_PAGE = (
    '<div id="list"></div><script src="/js/jquery.min.js"></script>'
    '<script src="/js/webBuilderCommon.js"></script>'
    "<script>webbuilder.getGovInfoList();</script>"
)
EPOINT_SCRIPT = (
    'var siteInfo = {"siteGuid":"7eb5f7f1-9041-43ad-8e13-8fcb82ea831a",'
    '"projectName":"/EWB-FRONT","webVersion":"5.0"}\nfunction checkJson(custom) {}'
)


def test_epoint_category_page_asks_its_site_script_then_posts_json():
    url = "http://dpc.xz.example.cn/dynamic/zwgk/govInfoPub.html?categorynum=003008"
    [script] = read_page(EPOINT_PAGE, url).api
    assert script.url == "http://dpc.xz.example.cn/js/webBuilderCommon.js"
    assert script.method == "GET"
    links, [post] = read_api(EPOINT_SCRIPT, script)
    assert links == []
    assert post.method == "POST" and post.kind == "epoint"
    assert post.url == (
        "http://dpc.xz.example.cn/EWB-FRONT/rest/lightfrontaction/getgovinfolist"
        "?categorynum=003008&pageIndex=0"
    )
    assert post.json == {
        "deptcode": "",
        "categorynum": "003008",
        "pageIndex": 0,
        "pageSize": 20,
        "siteGuid": "7eb5f7f1-9041-43ad-8e13-8fcb82ea831a",
    }
    answer = json.dumps(
        {
            "custom": {
                "total": 45,
                "data": [
                    {
                        "title": "徐州市发展和改革委员会2024年政府信息公开工作年度报告",
                        "infourl": "/dynamic/zwgk/govInfoPubDetail.html?infoid=1",
                        "infodate": "2025-01-20",
                    },
                    {"realtitle": "没有链接的记录"},
                ],
            }
        },
        ensure_ascii=False,
    )
    links, more = read_api(answer, post)
    assert [link.url for link in links] == [
        "http://dpc.xz.example.cn/dynamic/zwgk/govInfoPubDetail.html?infoid=1"
    ]
    assert [c.json["pageIndex"] for c in more] == [1, 2]  # 45 records, 20 a page
    assert len({c.url for c in [post, *more]}) == 3  # each page its own URL in the archive
    assert read_api(answer, more[0])[1] == []


def test_epoint_site_info_in_the_page_and_a_custom_given_as_a_string():
    page = f"<script>{EPOINT_SCRIPT}</script><script>lightfrontaction</script>"
    url = "http://www.px.example.cn/dynamic/zwgk/govInfoPub.html?categorynum=003195&deptcode=001"
    [post] = read_page(page, url).api
    assert post.json["deptcode"] == "001" and "deptcode=001" in post.url
    answer = json.dumps(
        {"custom": json.dumps({"total": "1", "data": [{"title": "t", "infourl": "/a.html"}]})}
    )
    assert cms.epoint_records(answer, post.url)[1] == 1


def test_epoint_pages_without_a_category_or_site_are_left_alone():
    bare = "http://dpc.xz.example.cn/dynamic/zwgk/govInfoPub.html"
    assert read_page(EPOINT_PAGE, bare).api == []  # the whole catalogue: not asked for
    other = "http://h.example.cn/list.html?categorynum=003008"
    assert read_page("<p>no Epoint here</p>", other).api == []
    script = cms.ApiRequest(
        "http://h.example.cn/js/webBuilderCommon.js",
        "epoint-site",
        None,
        {"page_url": other, "categorynum": "1"},
    )
    assert read_api("var x = 1;", script) == ([], [])
    with pytest.raises(ValueError):
        cms.epoint_records("<html>error</html>", other)
