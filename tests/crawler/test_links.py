"""Recognising report links, report columns and TRS pagination."""

from __future__ import annotations

import pytest
from scrapy.http import HtmlResponse

from crawler.reading.links import (
    in_domains,
    is_column_link,
    is_pager_link,
    is_report_title,
    may_be_soft_404,
    names_report_column,
    trs_pages,
)
from crawler.spiders.reports import ReportSpider


@pytest.mark.parametrize(
    "title",
    [
        "牧野区财政局2024年政府信息公开工作年度报告",
        "2019年上海市人民政府办公厅政府信息公开工作年度报告",
        "淮安市人民政府 2024 年政府信息公开工作年度报告",
        "新乡市牧野区2023年度政府信息公开年报",
    ],
)
def test_report_titles(title):
    assert is_report_title(title)


@pytest.mark.parametrize(
    "title",
    [
        "2024年部门预算公开",
        "2023年决算公开",
        "2024年政府工作报告",
        "2023年国民经济和社会发展统计公报",
        "关于做好2025年政府信息公开工作的通知",
        "某某股份有限公司2024年度报告",
        "政府信息公开工作年度报告",  # no year: a column, not a report
    ],
)
def test_look_alikes_are_not_reports(title):
    assert not is_report_title(title)


def test_column_links():
    assert is_column_link("政府信息公开年报", "http://h/zwgk/x/")
    assert is_column_link("更多", "http://h/zwgk/zfxxgknb/")
    assert is_column_link("", "http://h/zfxxgk/zfxxgknb/index.shtml")
    assert is_column_link("", "http://h/zfxxgk/zfxxgknb/bmxxgknb/")
    assert not is_column_link("工作动态", "http://h/xwzx/gzdt/")
    assert not is_column_link("通知", "http://h/zfxxgk/zfxxgknb/202501/t20250120_1.html")


@pytest.mark.parametrize(
    "url",
    [
        "https://www.hbdaye.gov.cn/gk/zfxxgkndbg/",  # 大冶: 政府信息公开年度报告
        "https://lxs.gov.cn/lxs/zwgk/xxgkndbg/",  # 临夏: 信息公开年度报告
        "https://www.qingshan.gov.cn/qzfbm/zfgzbm/tjj/zfxxgkgzndbg/",  # 武汉青山: …工作年度报告
        "https://www.hegang.gov.cn/hegang/zxqgkndbg/",  # 鹤岗
        "https://www.bjchp.gov.cn/cpqzf/xxgkzl/zfxxgknb82/index.html",  # a serial appended
        "http://js.changchun.gov.cn/zcbm/swjw_3974/ndbg/",
    ],
)
def test_report_column_folders_by_their_pinyin_initials(url):
    """Column URLs of the bundled registry that only their link text used to save."""
    assert is_column_link("", url)
    assert names_report_column(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://www.hbdaye.gov.cn/gk/zfxxgkndbg/202601/t20260126_1303171.html",  # an article
        "http://h.example.cn/xwzx/gzdt/",
        "http://h.example.cn/zfxxgkzn/",  # 指南, not 年报
        "http://h.example.cn/zwgk/ndbgxx.pdf",
    ],
)
def test_look_alike_column_urls(url):
    assert not is_column_link("", url)


def test_names_of_the_report_column_itself():
    for name in (
        "政府信息公开年报",
        "政府信息公开工作年度报告",
        "信息公开年报",
        "年度报告",
        "年报",
    ):
        assert names_report_column(name), name
    for name in ("政府信息公开", "政务公开", "政府信息公开指南", "财政预决算", "企业年度报告公示"):
        assert not names_report_column(name), name


def test_trs_pagination_both_call_forms():
    assert trs_pages('createPageHTML(3, 0, "index", "html");', "http://h/c/index.html") == [
        "http://h/c/index.html",
        "http://h/c/index_1.html",
        "http://h/c/index_2.html",
    ]
    assert trs_pages("createPageHTML('page_div',3,1,'index','shtml',20);", "http://h/c/") == [
        "http://h/c/index.shtml",
        "http://h/c/index_2.shtml",
        "http://h/c/index_3.shtml",
    ]
    assert trs_pages("<p>no pager</p>", "http://h/") == []


def test_domains():
    assert in_domains("http://www.muye.gov.cn/a", ["muye.gov.cn"])
    assert not in_domains("http://evilmuye.gov.cn/a", ["muye.gov.cn"])
    assert in_domains("http://127.0.0.2:8000/a", ["127.0.0.2"])


@pytest.mark.parametrize(
    "text, pager",
    [("下一页", True), (" 2 ", True), ("尾页", True), ("首页", False), ("2024年部门预算", False)],
)
def test_pager_links(text, pager):
    assert is_pager_link(text) is pager


def _page(body: str, title: str = "") -> HtmlResponse:
    html = f"<html><head><title>{title}</title></head><body>{body}</body></html>"
    return HtmlResponse("http://gov.test/a.html", body=html.encode(), encoding="utf-8")


@pytest.mark.parametrize(
    ("title", "body"),
    [
        ("页面不存在", "<p>返回首页</p>"),  # by its title
        ("提示", "<h1>404</h1><p>抱歉，您访问的页面不存在！</p>"),  # by its short text
        ("提示", "<p>页面<b>不存在</b></p>"),  # the phrase split by a tag
        ("提示", "<p>&#39029;&#38754;&#19981;&#23384;&#22312;</p>"),  # spelled by references
        ("&#x9875;&#x9762;&#x4E0D;&#x5B58;&#x5728;", "<p>返回</p>"),
    ],
)
def test_a_not_found_page_is_told_however_it_is_written(title, body):
    assert may_be_soft_404(_page(body, title).text)
    assert ReportSpider.soft_404(_page(body, title)) is not None


def test_an_ordinary_page_is_not_parsed_to_be_told_from_a_not_found_one():
    page = _page("<p>" + "本机关主动公开政府信息。" * 40 + "</p>", "2023年政府信息公开工作年度报告")
    assert ReportSpider.soft_404(page) is None
    assert getattr(page, "_cached_selector", None) is None  # decided on the text alone
    # A page that merely mentions a hint word is parsed, and is still no soft 404.
    mentions = _page("<p>不存在应公开未公开的情形。</p>" * 40, "2023年年度报告")
    assert may_be_soft_404(mentions.text) and ReportSpider.soft_404(mentions) is None


def test_every_phrase_of_a_not_found_page_holds_a_hint_word():
    from crawler.reading.links import _SOFT_404

    phrases, depth, start = [], 0, 0  # the pattern's alternatives at its top level
    pattern = _SOFT_404.pattern
    for i, char in enumerate(pattern):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "|" and depth == 0:
            phrases.append(pattern[start:i])
            start = i + 1
    phrases.append(pattern[start:])
    assert len(phrases) >= 7
    for phrase in phrases:
        example = phrase.replace("(?:该|此|您要的)?", "该").replace(r"\s*", " ")
        assert _SOFT_404.search(example), phrase
        assert may_be_soft_404(example), phrase
