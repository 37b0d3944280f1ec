"""The report spider's reading of one page, without a crawl: a CMS's API or a tree's folder
never takes a site outside its scope, whatever the page says."""

from __future__ import annotations

import scrapy
from scrapy.http import HtmlResponse

from crawler.spiders.reports import ReportSpider

REGISTRY = (
    "site_id,agency,region_code,start_url,allowed_domains\n"
    "xz-gl,徐州市鼓楼区人民政府,320302,http://dpc.xz.example.cn/,dpc.xz.example.cn\n"
)


def _spider(tmp_path) -> ReportSpider:
    registry = tmp_path / "sites.csv"
    registry.write_text(REGISTRY, "utf-8")
    return ReportSpider(sites=str(registry))


def _read(spider: ReportSpider, url: str, body: str, **meta) -> list[scrapy.Request]:
    request = scrapy.Request(url, meta={"site": spider.sites[0], "role": "column", **meta})
    response = HtmlResponse(url, body=body.encode(), encoding="utf-8", request=request)
    return [r for r in spider.parse_page(response) if isinstance(r, scrapy.Request)]


def test_an_api_the_page_points_elsewhere_is_not_asked(tmp_path):
    spider = _spider(tmp_path)
    url = "http://dpc.xz.example.cn/dynamic/zwgk/govInfoPub.html?categorynum=003008"
    elsewhere = (
        '<script>var siteInfo = {"siteGuid": "g", "projectName": "//collect.example.com/x"};'
        "</script><script>lightfrontaction</script>"
    )
    assert _read(spider, url, elsewhere, hops=1) == []
    home = elsewhere.replace("//collect.example.com/x", "/EWB-FRONT")
    [post] = _read(spider, url, home, hops=1)
    assert post.method == "POST" and post.url.startswith("http://dpc.xz.example.cn/EWB-FRONT/")
    assert post.headers[b"Content-Type"] == b"application/json"


def test_a_tree_folder_is_walked_below_itself_on_the_same_host_only(tmp_path):
    spider = _spider(tmp_path)
    year = "http://dpc.xz.example.cn/zfxxgknb/2024nb/"
    page = (
        "<title>2024年</title>"
        '<a href="./qzfbm2024/">区政府部门</a>'
        '<a href="http://other.example.cn/zfxxgknb/2024nb/x/">外站</a>'
        '<a href="/zwgk/">政务公开</a>'
    )
    tree = {"root": "http://dpc.xz.example.cn/zfxxgknb/", "year": 2024, "depth": 1, "said": ""}
    requests = _read(spider, year, page, tree=tree)
    assert [r.url for r in requests] == [year + "qzfbm2024/"]
    assert requests[0].meta["tree"]["depth"] == 2
    deepest = {**tree, "depth": 3}
    assert _read(spider, year, page, tree=deepest) == []  # year → category → unit, no deeper


def test_a_units_reports_go_under_its_own_site_with_the_crawls_marks(tmp_path):
    spider = _spider(tmp_path)
    registered = []
    spider.register = registered.append  # the archive's sites table, in a crawl
    spider.sites[0]["nianbao_lease"] = "token-7"  # a worker's lease on the row
    unit = "http://dpc.xz.example.cn/zfxxgknb/2024nb/qzfbm2024/czj/"
    page = (
        "<title>区财政局_2024年</title>"
        '<a href="./202502/t1.html">2024年政府信息公开工作年度报告</a>'
        '<a href="./202503/t2.html">鼓楼区人民政府2024年政府信息公开工作年度报告</a>'
    )
    tree = {
        "root": "http://dpc.xz.example.cn/zfxxgknb/",
        "year": 2024,
        "depth": 3,
        "said": "区财政局",
    }
    theirs, ours = _read(spider, unit, page, tree=tree)
    assert theirs.meta["site"]["agency"] == "徐州市鼓楼区财政局"  # the county's name in front
    assert theirs.meta["site"]["site_id"] == registered[0]["site_id"] != "xz-gl"
    assert theirs.meta["site"]["nianbao_lease"] == "token-7"
    assert "nianbao_lease" not in registered[0]  # the mark is the crawl's, not the row's
    assert ours.meta["site"]["site_id"] == "xz-gl"  # the row's own report stays its own
    _read(spider, unit, page, tree=tree)
    assert len(registered) == 1  # a unit is registered once a crawl
