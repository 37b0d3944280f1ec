"""A report's title is its own, not its column's: a title naming no year (政府信息公开年报,
the column's name a CMS or a PDF's running head prints) gives way to one that names it —
in the document, or in the link that led to it."""

from __future__ import annotations

from archive.parse.document import Document
from archive.parse.metadata import find_title, link_title

REPORT = "平潭综合实验区2023年政府信息公开工作年度报告"


def test_a_title_naming_the_year_wins_over_the_columns_name():
    head = Document("pdf", f"政府信息公开年报\n{REPORT}\n一、总体情况")
    assert find_title(head) == REPORT
    cms = Document("html", f"当前位置：首页 > 年报\n{REPORT}\n正文", title="政府信息公开年报")
    assert find_title(cms) == REPORT
    # with nothing better, the generic title is still a title
    assert (
        find_title(Document("html", "一、总体情况", title="政府信息公开年报")) == "政府信息公开年报"
    )


def test_the_link_that_led_to_a_document_names_it():
    page = (
        "<ul><li><a href='/nb/2022.pdf'>平潭综合实验区2022年政府信息公开工作年度报告</a></li>"
        f"<li><a href='2023.pdf' title='{REPORT}'>2023年</a></li>"
        "<li><a href='/web/viewer.html?file=/nb/2024.pdf'>平潭综合实验区2024年政府信息公开工作"
        "年度报告</a></li></ul>"
    )
    base = "http://pt.example.cn/nb/index.html"
    assert link_title(page, base, {"http://pt.example.cn/nb/2023.pdf"}) == REPORT
    assert link_title(page, base, {"http://pt.example.cn/nb/2024.pdf"}).endswith(
        "2024年政府信息公开工作年度报告"
    )
    assert link_title(page, base, {"http://pt.example.cn/nb/2019.pdf"}) is None
    assert link_title("<a href='x.pdf'>下载</a>", base, {"http://pt.example.cn/nb/x.pdf"}) is None
