"""Finding a county, a region's agencies in one year, and the year's leads, in process.

The archive is the search tests' (four agencies, random numbers, 2019–2024) with a city
government, a county department that starts reporting in 2023, a district of Shanghai,
and the stories a journalist looks for planted: new requests of 新乡市牧野区人民政府 jump
from 10 to 500 in 2024; 牧野区财政局's 2024 figure jumps too but fails its balance rule;
淮安市人民政府 goes from 1 to 30 (a small base); 上海市徐汇区 prints one lawsuit column
blank. Every figure is checked against the cells it is read from.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import random
import re
from urllib.parse import quote

import pytest
from datasette.app import Datasette

from archive.publish import metadata_path, prepare
from archive.publish.serve import SETTINGS
from archive.store import Archive
from tests.publish.test_pages import NEWCOMER, set_cell
from tests.publish.test_publish_search import SITES, add_report, build_archive
from tests.publish.test_reader_states import english_prose

CITY = {
    "site_id": "xinxiang",
    "agency": "新乡市人民政府",
    "region_code": "410700",
    "region": "河南省新乡市",
    "level": "prefecture",
    "start_url": "http://127.0.0.1/x",
}
XUHUI = {
    "site_id": "xuhui",
    "agency": "上海市徐汇区人民政府",
    "region_code": "310104",
    "region": "上海市徐汇区",
    "level": "county",
    "start_url": "http://127.0.0.1/xh",
}
BALANCE = [
    f"t3.{r}.total" for r in ("new_requests", "carried_over", "results_total", "carried_forward")
]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    path = tmp_path_factory.mktemp("regions") / "nb.db"
    archive = build_archive(path, seed=5, per_site=6)
    archive.load_sites([*SITES, NEWCOMER, CITY, XUHUI])
    rng = random.Random(6)
    for year in (2023, 2024):
        add_report(archive, rng, NEWCOMER, year)
    for year in range(2021, 2025):
        add_report(archive, rng, CITY, year)
        add_report(archive, rng, XUHUI, year)
    conn = archive.db.conn
    ids = {(s, year): rid for rid, s, year in conn.execute("select id, site_id, year from reports")}
    with archive.transaction():
        set_cell(conn, ids[("muye", 2023)], "t3", "new_requests", "total", 10)
        set_cell(conn, ids[("muye", 2024)], "t3", "new_requests", "total", 500)
        set_cell(conn, ids[("muye-czj", 2023)], "t3", "new_requests", "total", 12)
        set_cell(conn, ids[("muye-czj", 2024)], "t3", "new_requests", "total", 900)
        set_cell(conn, ids[("huaian", 2023)], "t3", "new_requests", "total", 1)
        set_cell(conn, ids[("huaian", 2024)], "t3", "new_requests", "total", 30)
        set_cell(conn, ids[("xuhui", 2024)], "t4", "litigation_direct", "total", None, raw="")
        archive.insert(
            "findings",
            {
                "report_id": ids[("muye-czj", 2024)],
                "rule": "t3_balance",
                "table_key": "t3",
                "row_key": None,
                "col_key": "total",
                "status": "fail",
                "expected": 950,
                "found": 60,
                "cells": json.dumps(BALANCE),
                "message": "test",
            },
        )
    prepare(conn)
    archive.close()
    metadata = json.loads(metadata_path().read_text(encoding="utf-8"))
    ds = Datasette([str(path)], metadata=metadata, settings=SETTINGS)
    return {"ds": ds, "path": path, "ids": ids}


def get(ds, url: str):
    return asyncio.run(ds.client.get(url))


def cell(conn, report_id: int, table: str, row: str, col: str):
    found = conn.execute(
        "select value from cells where report_id = ? and table_key = ? and row_key = ? "
        "and col_key = ?",
        [report_id, table, row, col],
    ).fetchone()
    return found[0] if found else None


# -- finding a county ---------------------------------------------------------------------


def test_the_front_page_leads_to_provinces_and_cities(site):
    page = get(site["ds"], "/").text
    assert 'href="/nb/-/regions/410000"' in page  # 河南省
    assert 'href="/nb/-/regions/410700"' in page  # 新乡市
    assert 'href="/nb/-/regions/310000"' in page  # 上海市
    assert 'href="/nb/-/leads"' in page and 'action="/nb/-/regions"' in page


def test_province_city_county(site):
    province = get(site["ds"], "/nb/-/regions/410000").text
    assert "<h2>下辖地市</h2>" in province and 'href="/nb/-/regions/410700"' in province
    city = get(site["ds"], "/nb/-/regions/410700").text
    assert "下辖区县及本级" in city and 'class="nb-child" href="/nb/-/regions/410711"' in city
    data = get(site["ds"], "/nb/-/regions/410700.json").json()
    conn = Archive(site["path"]).db.conn
    truth = dict(
        conn.execute(
            "select year, count(*) from reports where region_code = '410711' group by year"
        ).fetchall()
    )
    (muye,) = data["children"]
    assert muye["name"] == "牧野区" and {int(y): n for y, n in muye["years"].items()} == truth
    assert data["own"]["name"] == "本级" and data["own"]["reports"] == 4  # 新乡市人民政府
    assert data["reports"] == sum(truth.values()) + 4
    county = get(site["ds"], "/nb/-/regions/410711").text
    assert (
        '<a href="/nb/-/regions/410000">河南省</a> / <a href="/nb/-/regions/410700">新乡市</a>'
        in (county)
    )
    assert 'href="/nb/-/regions/410711/2024"' in county


def test_a_municipality_lists_its_districts(site):
    data = get(site["ds"], "/nb/-/regions/310000.json").json()
    assert [c["name"] for c in data["children"]] == ["徐汇区"]
    assert data["own"]["reports"] == 6  # 上海市人民政府办公厅, 2019–2024


def test_a_region_is_found_by_name_or_code(site):
    for name, code in (("牧野区", "410711"), ("新乡市", "410700"), ("河南省新乡市", "410700")):
        response = get(site["ds"], f"/nb/-/regions?region={quote(name)}")
        assert response.status_code == 302 and response.headers["location"] == (
            f"/nb/-/regions/{code}"
        ), name
    shanghai = get(site["ds"], f"/nb/-/regions?region={quote('上海市')}")
    assert shanghai.headers["location"] == "/nb/-/regions/310000"
    missing = get(site["ds"], f"/nb/-/regions?region={quote('不存在区')}")
    assert missing.status_code == 404 and "没有名为「不存在区」的地区" in missing.text
    assert get(site["ds"], "/nb/-/regions/999999").status_code == 404
    as_json = get(site["ds"], f"/nb/-/regions.json?region={quote('不存在区')}")
    assert as_json.status_code == 404 and as_json.json()["ok"] is False


# -- a region's agencies in one year ---------------------------------------------------------


def test_the_region_year_lists_every_agency_with_its_figures(site):
    conn = Archive(site["path"]).db.conn
    data = get(site["ds"], "/nb/-/regions/410700/2024.json").json()
    truth = {
        r[0]
        for r in conn.execute(
            "select id from reports where region_code in ('410700', '410711') and year = 2024"
        )
    }
    assert {r["report_id"] for r in data["rows"]} == truth and data["reports"] == len(truth)
    for row in data["rows"]:
        rid = row["report_id"]
        figures = row["figures"]
        assert figures["new_requests"]["value"] == cell(conn, rid, "t3", "new_requests", "total")
        assert figures["review"]["value"] == cell(conn, rid, "t4", "review", "total")
        lawsuits = cell(conn, rid, "t4", "litigation_direct", "total") + cell(
            conn, rid, "t4", "litigation_after_review", "total"
        )
        assert figures["lawsuits"]["value"] == lawsuits
        withheld = sum(
            cell(conn, rid, "t3", r, "total") or 0
            for (r,) in conn.execute(
                "select distinct row_key from cells where row_key like 'withheld%' "
                "and report_id = ?",
                [rid],
            )
        )
        assert figures["withheld"]["value"] == withheld
        assert figures["fees"]["value"] == cell(conn, rid, "t2", "fees", "amount_10k_yuan")
    # Sorted by new requests, largest first: the failing 900, then 500.
    values = [r["figures"]["new_requests"]["value"] for r in data["rows"]]
    assert values == sorted(values, reverse=True) and values[:2] == [900, 500]


def test_a_failing_figure_is_marked_on_the_region_year_page(site):
    failing = site["ids"][("muye-czj", 2024)]
    data = get(site["ds"], "/nb/-/regions/410711/2024.json").json()
    row = next(r for r in data["rows"] if r["report_id"] == failing)
    assert row["figures"]["new_requests"]["note"]["kind"] == "fail"
    assert row["fails"] == 1 and data["reports_with_findings"] == 1
    assert row["figures"]["granted"]["note"] is None  # the balance rule does not read it
    page = get(site["ds"], "/nb/-/regions/410711/2024").text
    line = re.search(rf'<tr data-report="{failing}">(.*?)</tr>', page, re.S).group(1)
    new_requests = re.search(r'data-figure="new_requests">(.*?)</td>', line, re.S).group(1)
    assert "nb-flag-fail" in new_requests and ">900<" in new_requests and "不符" in new_requests
    assert "收支平衡" in new_requests or "不符：" in new_requests  # the rule in its title
    assert "1 项不符" in line
    capture = (
        Archive(site["path"])
        .db.conn.execute("select capture_id from reports where id = ?", [failing])
        .fetchone()[0]
    )
    assert f'href="/nb/reports/{failing}"' in line and f'href="/-/original/nb/{capture}"' in line


def test_a_blank_part_leaves_the_sum_blank(site):
    data = get(site["ds"], "/nb/-/regions/310104/2024.json").json()
    (row,) = data["rows"]
    assert row["figures"]["lawsuits"]["value"] is None
    assert row["figures"]["review"]["value"] is not None


def test_the_agencies_behind_a_region_s_sums_are_named(site):
    compare = get(site["ds"], f"/nb/-/compare?region={quote('牧野区')}").text
    link = "/nb/-/regions/410711/2023?basis=steady&amp;from=2019&amp;to=2024"
    assert f'href="{link}"' in compare
    steady = get(site["ds"], "/nb/-/regions/410711/2023.json?basis=steady&from=2019&to=2024")
    agencies = {r["agency"] for r in steady.json()["rows"]}
    assert agencies == {"新乡市牧野区人民政府", "牧野区财政局"}  # not the newcomer of 2023
    every = get(site["ds"], "/nb/-/regions/410711/2023.json").json()
    assert "牧野区教育局" in {r["agency"] for r in every["rows"]}


def test_region_year_sorts_and_pages(site):
    data = get(site["ds"], "/nb/-/regions/410000/2024.json?sort=agency").json()
    agencies = [r["agency"] for r in data["rows"]]
    assert agencies == sorted(agencies) and data["pages"] == 1
    by_fails = get(site["ds"], "/nb/-/regions/410000/2024.json?sort=fails").json()["rows"]
    assert by_fails[0]["report_id"] == site["ids"][("muye-czj", 2024)]
    assert [r["fails"] for r in by_fails] == sorted((r["fails"] for r in by_fails), reverse=True)
    lawsuits = get(site["ds"], "/nb/-/regions/410000/2024.json?sort=lawsuits").json()["rows"]
    values = [r["figures"]["lawsuits"]["value"] for r in lawsuits]
    shown = [v for v in values if v is not None]
    assert shown == sorted(shown, reverse=True) and values[: len(shown)] == shown  # blanks last
    every = get(site["ds"], f"/nb/-/compare?region={quote('牧野区')}&basis=all").text
    assert 'href="/nb/-/regions/410711/2023"' in every  # every report: no steady filter


@pytest.mark.parametrize(
    ("url", "status", "words"),
    [
        ("/nb/-/regions/410700/2024?sort=bogus", 400, "不能按「bogus」排序"),
        ("/nb/-/regions/410700/2024?page=x", 400, "page（页码） 应为正整数"),
        ("/nb/-/regions/410700/2024?page=9", 404, "只有 1 页"),
        ("/nb/-/regions/410700/2024?basis=steady", 400, "须同时给出 from 与 to"),
        ("/nb/-/regions/410700/2024?basis=x", 400, "basis 只能是"),
        ("/nb/-/regions/123456/2024", 404, "没有代码为「123456」的地区"),
        ("/nb/-/regions/410700/2024.json?sort=bogus", 400, "不能按「bogus」排序"),
        ("/_internal/-/regions", 404, "没有名为「_internal」的存档"),
        ("/nosuch/-/leads", 404, "没有名为「nosuch」的存档"),
        ("/nosuch/-/leads.json", 404, "没有名为「nosuch」的存档"),
    ],
)
def test_a_bad_parameter_is_a_chinese_4xx(site, url, status, words):
    response = get(site["ds"], url)
    assert response.status_code == status
    if url.split("?")[0].endswith(".json"):
        assert response.json()["ok"] is False and words in response.json()["error"]
    else:
        assert words in response.text and "Traceback" not in response.text


# -- leads -----------------------------------------------------------------------------------


def leads(site, query: str = "") -> dict:
    response = get(site["ds"], f"/nb/-/leads.json?year=2024{query}")
    assert response.status_code == 200, response.text
    return response.json()


def test_the_largest_change_comes_first_and_a_failing_one_is_marked(site):
    ids = site["ids"]
    data = leads(site)
    first, second = data["rows"][:2]
    assert (first["report_id"], first["previous"], first["value"]) == (
        ids[("muye-czj", 2024)],
        12,
        900,
    )
    assert first["failing"] and first["note"]["kind"] == "fail" and first["fails"] == 1
    assert (second["report_id"], second["previous_id"]) == (
        ids[("muye", 2024)],
        ids[("muye", 2023)],
    )
    assert (second["previous"], second["value"], second["diff"], second["pct"]) == (
        10,
        500,
        490,
        4900.0,
    )
    assert not second["failing"] and second["note"] is None
    diffs = [abs(r["diff"]) for r in data["rows"]]
    assert diffs == sorted(diffs, reverse=True)
    kept = leads(site, "&omit_failing=1")["rows"]
    assert ids[("muye-czj", 2024)] not in {r["report_id"] for r in kept}
    assert kept[0]["report_id"] == ids[("muye", 2024)]


def test_every_lead_is_the_agency_s_own_two_years(site):
    conn = Archive(site["path"]).db.conn
    data = leads(site, "&measure=review&rows=500")
    pairs = conn.execute(
        "select c.report_id, c.review_total - p.review_total from report_t4 c join report_t4 p "
        "on p.site_id = c.site_id and p.agency = c.agency and p.year = 2023 where c.year = 2024 "
        "and c.review_total != p.review_total"
    ).fetchall()
    assert {(r["report_id"], r["diff"]) for r in data["rows"]} == set(pairs)
    assert data["compared"] == len(pairs)


def test_small_bases_are_left_out_of_the_relative_ranking(site):
    ids = site["ids"]
    by_size = {r["report_id"] for r in leads(site)["rows"]}
    assert ids[("huaian", 2024)] in by_size  # 1 → 30, +29
    relative = leads(site, "&sort=pct")["rows"]
    assert ids[("huaian", 2024)] not in {r["report_id"] for r in relative}
    assert all(r["previous"] >= 10 for r in relative)
    pcts = [abs(r["pct"]) for r in relative]
    assert pcts == sorted(pcts, reverse=True)
    lowered = leads(site, "&sort=pct&min_base=1")["rows"]
    huaian = next(r for r in lowered if r["report_id"] == ids[("huaian", 2024)])
    assert huaian["pct"] == 2900.0 and lowered.index(huaian) < 3


def test_a_blank_figure_is_not_compared(site):
    data = leads(site, "&measure=lawsuits&rows=500")
    assert site["ids"][("xuhui", 2024)] not in {r["report_id"] for r in data["rows"]}


def test_leads_by_direction_and_region(site):
    up = leads(site, "&direction=up&rows=500")["rows"]
    down = leads(site, "&direction=down&rows=500")["rows"]
    assert all(r["diff"] > 0 for r in up) and all(r["diff"] < 0 for r in down)
    assert len(up) + len(down) == len(leads(site, "&rows=500")["rows"])
    county = leads(site, "&region=410711&rows=500")
    assert {r["region_code"] for r in county["rows"]} == {"410711"}
    assert county["region_name"] == "河南省新乡市牧野区"


def test_the_leads_page_marks_what_not_to_quote(site):
    ids = site["ids"]
    page = get(site["ds"], "/nb/-/leads?year=2024").text
    line = re.search(rf'<tr data-report="{ids[("muye-czj", 2024)]}"[^>]*>(.*?)</tr>', page, re.S)
    assert line and "不可引用" in line.group(1) and "nb-derived-fail" in line.group(1)
    assert "nb-flag-fail" in line.group(1) and "1 项不符" in line.group(1)
    clean = re.search(rf'<tr data-report="{ids[("muye", 2024)]}">(.*?)</tr>', page, re.S)
    assert clean and "+490" in clean.group(1) and "不可引用" not in clean.group(1)
    assert "新收申请" in page and "不予公开" in page and "行政诉讼" in page


def test_a_year_without_the_year_before_says_so(site):
    assert leads(site)["rows"]  # 2024 against 2023
    first = get(site["ds"], "/nb/-/leads.json?year=2019").json()
    assert first["rows"] == [] and "没有 2018 年度的报告" in first["empty"]
    later = get(site["ds"], "/nb/-/leads.json?year=2030").json()
    assert later["rows"] == [] and "没有 2030 年度的报告" in later["empty"]


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("measure=fees", "没有「fees」这一项"),
        ("sort=x", "sort 只能是"),
        ("direction=x", "direction 只能是"),
        ("year=abc", "year（年度） 应为整数"),
        ("rows=100000", "rows（行数） 应为整数"),
        ("min_base=-1", "min_base（上年至少） 应为整数"),
        ("region=新乡", "region 应为地区代码"),
    ],
)
def test_a_bad_leads_parameter_is_a_chinese_400(site, query, words):
    for suffix in ("", ".json"):
        response = get(site["ds"], f"/nb/-/leads{suffix}?{query}")
        assert response.status_code == 400
        text = response.json()["error"] if suffix else response.text
        assert words in text


def test_the_pages_speak_chinese(site):
    """What a reader reads, between the heading and the end of the content, has no English
    prose (codes, numbers and the words of URLs aside)."""
    for url in (
        "/nb/-/regions",
        "/nb/-/regions/410000",
        "/nb/-/regions/410700",
        "/nb/-/regions/410711/2024",
        "/nb/-/regions/410711/2023?basis=steady&from=2019&to=2024",
        "/nb/-/leads",
        "/nb/-/leads?sort=pct&measure=lawsuits",
        "/nb/-/leads?year=2019",
        "/nb/-/regions/410700/2024?sort=bogus",
    ):
        page = get(site["ds"], url).text
        content = re.search(r'<section class="content">(.*?)</section>\s*</div>', page, re.S)
        assert content, url
        assert not english_prose(content.group(1)), (url, english_prose(content.group(1)))


def test_the_csv_downloads_keep_each_number_s_check(site):
    ids = site["ids"]
    response = get(site["ds"], "/nb/-/regions/410000/2024.csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    lines = list(csv.DictReader(io.StringIO(response.text)))
    data = get(site["ds"], "/nb/-/regions/410000/2024.json").json()
    assert len(lines) == data["reports"]  # every report, not one page
    failing = next(r for r in lines if r["报告编号"] == str(ids[("muye-czj", 2024)]))
    assert failing["新收申请"] == "900" and failing["新收申请·核对"].startswith("不符：")
    assert failing["予以公开·核对"] == "" and failing["不符项数"] == "1"
    leads_csv = get(site["ds"], "/nb/-/leads.csv?year=2024").text
    rows = list(csv.DictReader(io.StringIO(leads_csv)))
    first = rows[0]
    assert first["2024新收申请"] == "900" and first["2024核对"].startswith("不符：")
    assert first["增减"] == "" and first["可否引用"].startswith("不可引用")  # not to be quoted
    second = rows[1]
    assert (second["2023新收申请"], second["2024新收申请"], second["增减"]) == ("10", "500", "490")
    assert second["增减%"] == "4900" and second["可否引用"] == ""
    excel = get(site["ds"], "/nb/-/leads.csv?year=2024&_bom=1")
    assert excel.content.startswith(b"\xef\xbb\xbf")
    assert get(site["ds"], "/nb/-/regions/410000.csv").status_code == 404
