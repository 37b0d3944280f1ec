"""Per-year 年报 trees read without a crawl: which folders are the tree's, and how a unit is
named, levelled and scoped from what the tree says of it."""

from __future__ import annotations

import json

import pytest

from crawler.reading.cms import Link
from crawler.reading.links import agency_of_title
from crawler.reading.trees import (
    is_tree_root,
    qualified,
    same_agency,
    tree_folders,
    unit_level,
    unit_name,
    unit_row,
    year_folders,
)

ROOT = "https://www.bjhr.example.cn/zfxxgkzl/gknb/"


def test_a_named_page_with_two_year_folders_is_a_tree_root():
    links = [
        Link(ROOT + "2024nb/", "2024年"),
        Link(ROOT + "2023nb/", "2023年"),
        Link("https://www.bjhr.example.cn/zwgk/", "政务公开"),  # not below the root
        Link(ROOT + "2024nb/t20250301_1.html", "怀岭区2024年部门预算公开"),
    ]
    assert [y for _, y in year_folders(links, ROOT)] == [2024, 2023]
    assert is_tree_root(links, ROOT, named=True)
    assert not is_tree_root(links, ROOT, named=False)  # a page that is not the 年报 column
    assert not is_tree_root(links[:1], ROOT, named=True)  # one year is a list, not a tree


def test_folders_below_a_year_are_walked_reports_are_not():
    year = ROOT + "2024nb/"
    links = [
        Link(year + "qzfbm2024/", "区政府部门"),
        Link(year + "zxjd2024/", "乡镇街道"),
        Link(year + "202503/t20250330_1.html", "怀岭区人民政府2024年政府信息公开工作年度报告"),
        Link(ROOT, "政府信息公开年报"),  # up, not down
        Link(year, "2024年"),  # itself
    ]
    assert [link.url for link in tree_folders(links, year)] == [
        year + "qzfbm2024/",
        year + "zxjd2024/",
    ]


@pytest.mark.parametrize(
    "titles, page_title, said, name",
    [
        (
            ["通顺区财政局2024年政府信息公开工作年度报告"],
            "区财政局_2024年",
            "区财政局",
            "通顺区财政局",
        ),
        (["2024年政府信息公开工作年度报告"], "区财政局_2024年", "区财政局", "区财政局"),
        (["2024年政府信息公开工作年度报告"], None, "雁栖镇", "雁栖镇"),
        (["2017年政府信息公开工作年度报告"], "高岭镇_2017年_政府信息公开", None, "高岭镇"),
        ([], "2024年", "2024年", None),  # a year folder names no unit
        ([], "政府信息公开年报", None, None),  # nor does the column
    ],
)
def test_a_unit_is_named_by_its_reports_else_by_its_folder(titles, page_title, said, name):
    assert unit_name(titles, page_title, said) == name


def test_a_title_whose_agency_is_the_word_government_names_none():
    assert agency_of_title("2024年政府信息公开工作年度报告") is None
    assert agency_of_title("2024年度怀岭区教委政府信息公开工作年度报告") == "怀岭区教委"


def test_names_the_county_lists_take_its_name_and_its_spellings_match():
    assert qualified("区财政局", "怀岭区人民政府") == "怀岭区财政局"
    assert qualified("县教育局", "北京市密云区人民政府") == "县教育局"  # not the county's kind
    assert qualified("雁栖镇", "怀岭区人民政府") == "雁栖镇"
    assert qualified("区财政局", "徐州市鼓楼区人民政府") == "徐州市鼓楼区财政局"
    assert qualified("区财政局", "徐州市发展和改革委员会") == "区财政局"  # not a government
    assert qualified("区财政局", None) == "区财政局"
    assert same_agency("通州区人民政府", "北京市通州区人民政府")
    assert not same_agency("区人民政府", "北京市通州区人民政府")  # too short to say
    assert not same_agency("通州区财政局", "北京市通州区人民政府")


@pytest.mark.parametrize(
    "name, level",
    [
        ("通顺区永顺镇人民政府", "township"),
        ("通顺区北苑街道办事处", "township"),
        ("泉河街道", "township"),
        ("通顺区财政局", "department"),
        ("通顺区人民政府", "county"),
    ],
)
def test_unit_levels(name, level):
    assert unit_level(name, "北京市通顺区人民政府") == level


def test_a_unit_row_keeps_its_county_region_and_scope():
    parent = {
        "site_id": "beijing-tongzhou",
        "agency": "北京市通州区人民政府",
        "region_code": "110112",
        "region": "北京市通州区",
        "allowed_domains": "www.bjtzh.gov.cn",
        "extra": json.dumps({"more_urls": "https://www.bjtzh.gov.cn/old/"}),
    }
    folder = "https://www.bjtzh.gov.cn/bjtz/zwgk/zcwj67/zfxxgknb/2024n78/xzjd/4190578/"
    row = unit_row(parent, "北京市通州区永顺镇人民政府", folder, {"new.bjtzh.gov.cn"})
    assert row["site_id"].startswith("beijing-tongzhou~") and row["level"] == "township"
    assert row["region_code"] == "110112" and row["start_url"] == folder
    assert row["allowed_domains"] == "www.bjtzh.gov.cn new.bjtzh.gov.cn"  # where it moved too
    assert json.loads(row["extra"]) == {"tree_folder": folder, "tree_of": "beijing-tongzhou"}
    again = unit_row(parent, "北京市通州区永顺镇人民政府", folder + "x/")
    assert again["site_id"] == row["site_id"]  # one unit, one site, whichever year
