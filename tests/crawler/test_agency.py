"""A discovered row's agency and level come from what its pages state, not from a guess:
a government is a government of its region's level, a department a department."""

from __future__ import annotations

import pytest
from scrapy.http import HtmlResponse

from crawler.spiders.agency import agency_of, level_of, stated_names
from crawler.spiders.discover import Column, Portal, registry_rows

COLUMN_URL = "https://www.pingtan.example.cn/zwgk/zfxxgknb/"
TITLES = {
    f"{COLUMN_URL}{y}.pdf": f"平潭综合实验区{y}年政府信息公开工作年度报告" for y in (2022, 2023)
}


def page(body: str, title: str = "", url: str = COLUMN_URL) -> HtmlResponse:
    html = f"<html><head><title>{title}</title></head><body>{body}</body></html>"
    return HtmlResponse(url, body=html.encode("utf-8"), encoding="utf-8")


def test_the_column_path_title_and_publisher_are_read_nearest_first():
    response = page(
        "<div class='position'>当前位置：<a>首页</a> &gt; <a>政府信息公开</a> &gt; "
        "<a>平潭综合实验区管委会</a> &gt; <a>政府信息公开年报</a></div>"
        "<table><tr><th>标题</th><th>发布机构</th></tr>"
        "<tr><td>2023年年报</td><td>平潭综合实验区党政办公室</td></tr></table>"
        "<p>发布机构：平潭综合实验区党政办公室</p>",
        title="政府信息公开年报 - 平潭综合实验区门户网站",
    )
    names = stated_names(response, "政府信息公开年报 - 平潭综合实验区门户网站", None)
    assert names == ["平潭综合实验区党政办公室", "平潭综合实验区管委会"]
    # a site's name is its owner's, without 门户网站
    assert stated_names(page(""), "年报_新乡市人民政府门户网站", None) == ["新乡市人民政府"]


def test_the_titles_region_name_is_completed_by_the_government_the_page_states():
    stated = ["平潭综合实验区财政金融局", "平潭综合实验区管委会"]
    assert agency_of("平潭综合实验区", stated) == "平潭综合实验区管委会"
    # a department that starts with the region's name is not the region's government
    assert agency_of("平潭综合实验区", ["平潭综合实验区财政金融局"]) == "平潭综合实验区"
    assert agency_of("通顺区财政局", ["通顺区人民政府"]) == "通顺区财政局"
    assert agency_of(None, ["通顺区人民政府"]) == "通顺区人民政府"
    assert agency_of(None, []) == ""


@pytest.mark.parametrize(
    ("agency", "code", "level"),
    [
        ("平潭综合实验区管委会", "350100", "prefecture"),  # a government: its region's level
        ("平潭综合实验区管委会", "350128", "county"),
        ("新乡市人民政府", "410700", "prefecture"),
        ("河南省人民政府", "410000", "province"),
        ("牧野区人民政府", "410711", "county"),
        ("阿里地区行政公署", "542500", "prefecture"),
        ("新乡市", "410700", "prefecture"),  # a region's own name: its government
        ("新乡市财政局", "410700", "department"),
        ("河南省人民政府办公厅", "410000", "department"),
        ("某开发区管理委员会", "410711", "county"),
        ("通顺区永顺镇人民政府", "110112", "township"),
        ("通顺区北苑街道办事处", "110112", "township"),
        ("国家模拟防控局", "100000", "ministry"),
        ("平潭综合实验区门户网站", "350128", ""),  # says nothing: no level rather than a guess
    ],
)
def test_levels_follow_the_agency_and_its_region(agency, code, level):
    assert level_of(agency, code) == level


def test_a_discovered_row_names_the_agency_and_level_its_pages_state():
    """The held-out case: titles name 平潭综合实验区, the page says 管委会, and the region
    is prefecture-level — not a department named after the region."""
    portal = Portal(0, "https://www.pingtan.example.cn/", region_code="350100")
    portal.hosts.add("www.pingtan.example.cn")
    column = Column(COLUMN_URL, via=[portal.url], named=True, reports=dict(TITLES))
    portal.columns[COLUMN_URL] = column
    portal.names[COLUMN_URL] = ["平潭综合实验区管委会"]
    [row] = registry_rows(portal, today="2026-03-01")
    assert (row["agency"], row["level"]) == ("平潭综合实验区管委会", "prefecture")
    assert row["region"] == "福建省福州市" and row["discovered_at"] == "2026-03-01"
    assert row["start_kind"] == "column" and row["reports_seen"] == "2"
    portal.names.clear()  # with nothing stated, the titles' region name stays
    [row] = registry_rows(portal)
    assert (row["agency"], row["level"]) == ("平潭综合实验区", "prefecture")
