"""The reader's pages in process: report page, year over year, home, Chinese views and queries.

The archive is the search tests' (four agencies, random numbers, every cell of their
template) with stories planted where a reader would look: a failing rule with the cells
it reads, a blank cell, a cell never read, 不予公开 doubling from one year to the next,
and an agency that appears in a region only in its last two years.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import random
import re
from pathlib import Path
from urllib.parse import quote

import pytest
from datasette.app import Datasette
from datasette.utils import tilde_encode

from archive.export.snapshot import make_snapshot
from archive.publish import metadata_path, pages, prepare
from archive.publish.pages.compare import Options, compare, resolve_region
from archive.publish.serve import SETTINGS
from archive.publish.views import ZH_VIEWS, view_headers
from archive.store import Archive
from tests.publish.test_publish_search import SITES, add_report, build_archive

NEWCOMER = {
    "site_id": "muye-jyj",
    "agency": "牧野区教育局",
    "region_code": "410711",
    "region": "河南省新乡市牧野区",
    "level": "department",
    "start_url": "http://127.0.0.1/j",
}


def set_cell(conn, report_id, table, row, col, value, raw="keep"):
    conn.execute(
        "update cells set value = ?, raw = ? where report_id = ? and table_key = ? "
        "and row_key = ? and col_key = ?",
        [value, str(value) if raw == "keep" else raw, report_id, table, row, col],
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    path = tmp_path_factory.mktemp("pages") / "nb.db"
    archive = build_archive(path, seed=3, per_site=6)
    archive.load_sites([*SITES, NEWCOMER])
    rng = random.Random(4)
    newcomer = [add_report(archive, rng, NEWCOMER, year) for year in (2023, 2024)]
    conn = archive.db.conn
    ids = {
        (site, year): rid
        for rid, site, year in conn.execute("select id, site_id, year from reports")
    }
    story = ids[("muye", 2023)]
    with archive.transaction():
        # 不予公开 doubles for 新乡市牧野区人民政府 from 2023 to 2024.
        set_cell(conn, ids[("muye", 2023)], "t3", "withheld_third_party", "total", 20)
        set_cell(conn, ids[("muye", 2024)], "t3", "withheld_third_party", "total", 40)
        # A blank cell, and a cell the parser never read.
        set_cell(conn, story, "t3", "carried_over", "research", None, raw="")
        conn.execute(
            "delete from cells where report_id = ? and table_key = 't4' and row_key = 'review' "
            "and col_key = 'pending'",
            [story],
        )
        parts = [f"t3.granted.{c}" for c in ("natural_person", "enterprise", "research")]
        parts += [f"t3.granted.{c}" for c in ("public_interest", "legal_service", "other_org")]
        for finding in (
            ("t3_applicants", "granted", None, "fail", 30, 33, [*parts, "t3.granted.total"]),
            ("t4_total", "review", None, "incomplete", 5, None, ["t4.review.total"]),
        ):
            rule, row, col, status, expected, found, cells = finding
            archive.insert(
                "findings",
                {
                    "report_id": story,
                    "rule": rule,
                    "table_key": rule[:2],
                    "row_key": row,
                    "col_key": col,
                    "status": status,
                    "expected": expected,
                    "found": found,
                    "cells": json.dumps(cells),
                    "message": "test",
                },
            )
    prepare(conn)
    archive.close()
    metadata = json.loads(metadata_path().read_text(encoding="utf-8"))
    ds = Datasette([str(path)], metadata=metadata, settings=SETTINGS)
    return {"ds": ds, "path": path, "ids": ids, "story": story, "newcomer": newcomer}


def get(ds, url: str):
    return asyncio.run(ds.client.get(url))


def cell_html(page: str, key: str) -> str:
    match = re.search(rf'<td class="([^"]*)" data-cell="{re.escape(key)}"[^>]*>(.*?)</td>', page)
    assert match, key
    return match.group(1) + "|" + match.group(2)


def test_report_page_lays_out_the_tables_as_printed(site):
    page = get(site["ds"], f"/nb/reports/{site['story']}").text
    assert "三、收到和处理政府信息公开申请情况" in page and "四、政府信息公开行政复议" in page
    assert '<th class="nb-group" rowspan="8">（三）不予公开</th>' in page
    for label in ("自然人", "总计", "一、本年新收政府信息公开申请数量", "结果维持"):
        assert label in page
    conn = Archive(site["path"]).db.conn
    value = conn.execute(
        "select value from cells where report_id = ? and table_key = 't3' and "
        "row_key = 'new_requests' and col_key = 'natural_person'",
        [site["story"]],
    ).fetchone()[0]
    assert cell_html(page, "t3.new_requests.natural_person").endswith(f"|{value:,}")
    # Datasette's own row follows, folded: nothing of it is lost.
    assert "nb-raw-row" in page and f"/nb/cells?report_id={site['story']}" in page


def test_table_three_has_its_printed_headers_and_result_label(site):
    page = get(site["ds"], f"/nb/reports/{site['story']}").text  # a 2021 report
    table = page[page.index('<table class="nb-printed nb-printed-t3">') :]
    table = table[: table.index("</table>")]
    heads = re.sub(r">\s+<", "><", table[: table.index("</thead>")])
    assert re.search(
        r'<th class="nb-corner" colspan="3" rowspan="3"></th>'
        r'<th class="nb-colgroup" colspan="7">申请人情况</th></tr>'
        r'<tr><th class="nb-col" rowspan="2">自然人</th>'
        r'<th class="nb-colgroup" colspan="5">法人或其他组织</th>'
        r'<th class="nb-col" rowspan="2">总计</th></tr>'
        r'<tr>(<th class="nb-col">(商业企业|科研机构|社会公益组织|法律服务机构|其他)</th>){5}</tr>',
        heads,
    ), heads
    # 三、本年度办理结果 spans the 21 outcome rows and （七）总计; 一、二、四 span the labels.
    assert '<th class="nb-group nb-results" rowspan="22">三、本年度办理结果</th>' in table
    assert '<th class="nb-label" colspan="3">一、本年新收政府信息公开申请数量</th>' in table
    assert '<th class="nb-label" colspan="2">（七）总计</th>' in table
    assert '<th class="nb-label" colspan="3">四、结转下年度继续办理</th>' in table
    older = get(site["ds"], f"/nb/reports/{site['ids'][('muye', 2019)]}").text
    assert '<th class="nb-group nb-results" rowspan="20">三、本年度办理结果</th>' in older


def test_table_four_is_the_printed_row_of_fifteen(site):
    page = get(site["ds"], f"/nb/reports/{site['story']}").text
    table = page[page.index('<table class="nb-printed nb-printed-t4">') :]
    table = table[: table.index("</table>")]
    heads = re.sub(r">\s+<", "><", table[: table.index("</thead>")])
    assert re.search(
        r'<th class="nb-colgroup" colspan="5" rowspan="2">行政复议</th>'
        r'<th class="nb-colgroup" colspan="10">行政诉讼</th></tr>'
        r'<tr><th class="nb-colgroup" colspan="5">未经复议直接起诉</th>'
        r'<th class="nb-colgroup" colspan="5">复议后起诉</th></tr>',
        heads,
    ), heads
    columns = re.findall(r'<th class="nb-col">([^<]+)</th>', heads)
    assert columns == ["结果维持", "结果纠正", "其他结果", "尚未审结", "总计"] * 3
    body = table[table.index("<tbody>") :]
    assert body.count("<tr>") == 1 and "nb-label" not in body
    cells = re.findall(r'data-cell="([^"]+)"', body)
    parts = ("upheld", "corrected", "other", "pending", "total")
    rows = ("review", "litigation_direct", "litigation_after_review")
    assert cells == [f"t4.{r}.{c}" for r in rows for c in parts]


def test_the_failing_check_is_marked_on_its_cells(site):
    page = get(site["ds"], f"/nb/reports/{site['story']}").text
    total = cell_html(page, "t3.granted.total")
    assert "nb-fail" in total and "nb-total" in total and 'href="#finding-1"' in total
    part = cell_html(page, "t3.granted.enterprise")
    assert "nb-fail" in part and "nb-total" not in part
    assert "nb-fail" not in cell_html(page, "t3.partially_granted.total")
    assert "印刷的总计为 33，各项相加为 30，相差 +3" in page
    assert "1 项不符" in page
    # The note is told apart from the failure, and marked as a note.
    assert "1 条备注" in page and "nb-incomplete" in cell_html(page, "t4.review.total")


def test_blank_stays_blank_and_unread_is_marked(site):
    page = get(site["ds"], f"/nb/reports/{site['story']}").text
    blank = cell_html(page, "t3.carried_over.research")
    assert blank.endswith("|") and "nb-unread" not in blank  # printed blank: shown blank
    assert "nb-unread" in cell_html(page, "t4.review.pending")


def test_the_agency_s_other_years_are_one_click_away(site):
    ids, story = site["ids"], site["story"]
    page = get(site["ds"], f"/nb/reports/{story}").text
    assert f'rel="prev" href="/nb/reports/{ids[("muye", 2022)]}"' in page
    assert f'rel="next" href="/nb/reports/{ids[("muye", 2024)]}"' in page
    assert "历年对比" in page and "/nb/-/compare?site=muye" in page
    first = get(site["ds"], f"/nb/reports/{ids[('muye', 2019)]}").text
    assert "无更早报告" in first


def test_originals_with_fetch_time_and_sha256(site):
    conn = Archive(site["path"]).db.conn
    capture, sha, fetched = conn.execute(
        "select c.id, c.sha256, c.fetched_at from reports r join captures c on c.id = r.capture_id "
        "where r.id = ?",
        [site["story"]],
    ).fetchone()
    page = get(site["ds"], f"/nb/reports/{site['story']}").text
    assert sha in page and fetched in page and f'href="/-/original/nb/{capture}"' in page


def test_sections_and_narrative_checks_are_shown_when_the_archive_has_them(site, tmp_path):
    """The parse stage's narrative tables (report_sections, narrative_findings); a report
    without sections shows the full text instead."""
    import shutil

    copy = tmp_path / "sec.db"
    shutil.copy(site["path"], copy)
    conn = Archive(copy).db.conn
    story = site["story"]
    conn.execute(
        "insert into report_sections (report_id, section, section_key, heading, text, chars) "
        "values (?, 6, 'other', '六、其他需要报告的事项', "
        "'本年度收取信息处理费…', 11), (?, 1, 'overall', '一、总体情况', '本机关认真贯彻…', 7)",
        [story, story],
    )
    conn.execute(
        "insert into narrative_findings (report_id, rule, status, stated, table_value, cells, "
        "section, quote, message) values (?, 'text_review', 'fail', 9, 7, "
        "'[\"t4.review.total\"]', 4, '本年度发生行政复议案件9件。', 'test')",
        [story],
    )
    conn.commit()
    ds = Datasette([str(copy)], metadata=json.loads(metadata_path().read_text("utf-8")))
    page = get(ds, f"/sec/reports/{story}").text
    assert (
        page.index("一、总体情况") < page.index("六、其他需要报告的事项") < page.index("本年度收取")
    )
    assert "正文所述行政复议数" in page and "正文为 9，表格为 7" in page
    assert "本年度发生行政复议案件9件。" in page
    assert "nb-narrative" in cell_html(page, "t4.review.total")
    without = get(site["ds"], f"/nb/reports/{story}").text
    assert "全文（" in without and "正文与表格" not in without


def test_year_over_year_for_an_agency(site):
    ids = site["ids"]
    page = get(site["ds"], f"/nb/-/compare?site=muye&agency={quote('新乡市牧野区人民政府')}").text
    assert "历年对比：新乡市牧野区人民政府" in page
    for year in range(2019, 2025):
        assert f'href="/nb/reports/{ids[("muye", year)]}">{year}</a>' in page
    assert "（三）不予公开·4.保护第三方合法权益" in page
    row = page[page.index('<th class="nb-label">（三）不予公开·4.保护第三方合法权益') :]
    row = row[: row.index("</tr>")]
    assert re.search(r'nb-swing">40</td>\s*<td class="nb-delta nb-swing">\+20</td>', row)
    assert "+100%" in row
    data = compare(Archive(site["path"]).db.conn, Options(report=ids[("muye", 2024)]))
    years = [c["year"] for c in data["columns"]]
    assert years == list(range(2019, 2025))
    rows = {r["key"]: r for s in data["sections"] for r in s["rows"]}
    assert rows["t3.withheld_third_party.total"]["values"][-2:] == [20, 40]
    change = rows["t3.withheld_third_party.total"]["changes"][-1]
    assert change == {"diff": 20, "pct": 100.0, "swing": True, "failing": False}
    # 2019 and 2020 are the 2019 template: 2021's （六） rows are not in it.
    assert rows["t3.other_other.total"]["values"][:2] == ["n/a", "n/a"]
    assert rows["t3.other_handling.total"]["values"][2:] == ["n/a"] * 4


def test_year_over_year_exports_csv_with_chinese_headers(site):
    response = get(site["ds"], f"/nb/-/compare.csv?report={site['ids'][('muye', 2024)]}&_bom=1")
    assert response.status_code == 200 and response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["表", "项目", "单元格", "2019"] and "2024比2023增减%" in rows[0]
    line = next(r for r in rows if r[2] == "t3.withheld_third_party.total")
    assert line[7:9] == ["20", "40"] and line[-1] == "100.0"


def test_year_over_year_for_a_region_says_which_reports_it_adds_up(site):
    conn = Archive(site["path"]).db.conn
    steady = compare(conn, Options(region="牧野区"))
    every = compare(conn, Options(region="牧野区", basis="all"))
    assert steady["title"] == every["title"] == "河南省新乡市牧野区"
    assert [c["agencies"] for c in steady["columns"]] == [2] * 6  # the newcomer is left out
    assert [c["reports"] for c in every["columns"]] == [2, 2, 2, 2, 3, 3]
    new_requests = {
        year: conn.execute(
            "select sum(new_requests), count(*) from report_t3 where region_code = '410711' "
            "and year = ? and site_id in ('muye', 'muye-czj')",
            [year],
        ).fetchone()
        for year in range(2019, 2025)
    }
    row = next(
        r for s in steady["sections"] for r in s["rows"] if r["key"] == "t3.new_requests.total"
    )
    assert row["values"] == [new_requests[y][0] for y in range(2019, 2025)]
    mean = next(
        r for s in every["sections"] for r in s["rows"] if r["key"] == "t3.new_requests.total"
    )
    everyone = conn.execute(
        "select sum(new_requests) * 1.0 / count(*) from report_t3 where region_code = '410711' "
        "and year = 2024"
    ).fetchone()[0]
    assert mean["values"][-1] == round(everyone, 2)
    page = get(site["ds"], f"/nb/-/compare?region={quote('新乡市')}").text
    assert "只计 2019–2024 年每年都有报告的 2 个机关" in page and "<svg" in page
    page = get(site["ds"], f"/nb/-/compare?region={quote('新乡市')}&basis=all").text
    assert "每份报告的平均数" in page and "n=3" in page


def test_regions_are_found_by_name_or_code(site):
    conn = Archive(site["path"]).db.conn
    assert resolve_region(conn, "新乡市")["codes"] == resolve_region(conn, "410700")["codes"]
    assert resolve_region(conn, "河南省新乡市牧野区")["codes"] == ["410711"]
    assert "error" in resolve_region(conn, "不存在区")
    conn.execute(
        "insert into regions (region_code, name, full_name, province_code, province, city_code, "
        "city, district_code, district, level) values ('620102', '城关区', '甘肃省兰州市城关区', "
        "'620000', '甘肃省', '620100', '兰州市', '620102', '城关区', 'district'), ('540102', "
        "'城关区', '西藏自治区拉萨市城关区', '540000', '西藏自治区', '540100', '拉萨市', "
        "'540102', '城关区', 'district')"
    )
    ambiguous = resolve_region(conn, "城关区")
    assert {c["code"] for c in ambiguous["choices"]} == {"620102", "540102"}
    conn.rollback()
    missing = get(site["ds"], f"/nb/-/compare?region={quote('不存在区')}")
    assert missing.status_code == 404 and "没有名为「不存在区」的地区" in missing.text


def test_front_and_database_pages_lead_to_reports(site):
    conn = Archive(site["path"]).db.conn
    fails = conn.execute("select count(*) from findings where status = 'fail'").fetchone()[0]
    notes = conn.execute("select count(*) from findings where status != 'fail'").fetchone()[0]
    for url in ("/", "/nb"):
        page = get(site["ds"], url).text
        assert 'action="/nb/-/search"' in page and 'name="q"' in page
        assert "最新收录" in page and "地区" in page
        assert f"勾稽不符 {fails} 项" in page and f"无法核对的备注 {notes} 条" in page
        assert f'href="/nb/reports/{site["story"]}"' in page  # in the failing list
    page = get(site["ds"], "/nb").text
    reports = page.index('href="/nb/reports"')
    raw = page.index("原始抓取与运行记录")
    assert reports < raw < page.index('href="/nb/captures"')
    assert "其中不符 1，备注 1" in page


def test_chinese_views_hold_the_wide_tables_rows(site):
    conn = Archive(site["path"]).db.conn
    for table, (view, _) in ZH_VIEWS.items():
        headers = view_headers(table)
        wide = conn.execute(
            f"select {', '.join(headers)} from {table} order by report_id"
        ).fetchall()
        chinese = conn.execute(f'select * from "{view}" order by "报告编号"').fetchall()
        assert wide == chinese
        names = [d[0] for d in conn.execute(f'select * from "{view}" limit 0').description]
        assert names == list(headers.values())
    csv_text = get(site["ds"], f"/nb/{tilde_encode('表三_依申请公开')}.csv?_size=max").text
    assert csv_text.startswith("报告编号,机关,省级,地市级,县级,年度,发布日期,一、本年新收")
    described = get(site["ds"], f"/nb/{tilde_encode('表四_复议诉讼')}").text
    assert "t4.review.upheld" in described  # the spec key behind each Chinese header


def test_stored_queries_speak_chinese_and_take_region_names(site):
    ds = site["ds"]
    queries = json.loads(metadata_path().read_text("utf-8"))["databases"]["*"]["queries"]
    args = {
        "year": "2024",
        "rule": "",
        "region": "新乡市",
        "q": "复议",
        "from_year": "",
        "to_year": "",
    }
    for name, query in queries.items():
        params = {k: v for k, v in args.items() if f":{k}" in query["sql"]}
        url = f"/nb/{name}.json?_shape=objects&" + "&".join(
            f"{k}={quote(v)}" for k, v in params.items()
        )
        response = get(ds, url)
        assert response.status_code == 200, (name, response.text[:300])
        columns = response.json()["columns"]
        english = [c for c in columns if not re.search(r"[\u4e00-\u9fff]", c)]
        assert not english, (name, english)
    by_name = get(ds, f"/nb/region_requests.json?_shape=array&region={quote('新乡市')}").json()
    by_code = get(ds, "/nb/region_requests.json?_shape=array&region=410700").json()
    assert by_name == by_code and [r["报告数"] for r in by_name] == [2, 2, 2, 2, 3, 3]
    steady = get(
        ds,
        f"/nb/region_requests_steady.json?_shape=array&region={quote('牧野区')}&from_year=&to_year=",
    ).json()
    assert [r["机关数"] for r in steady] == [2] * 6
    notes = get(ds, "/nb/check_notes.json?_shape=array&year=").json()
    failing = get(ds, "/nb/failing_arithmetic.json?_shape=array&year=&rule=&region=").json()
    assert {r["状态"] for r in notes} == {"无法核对"} and len(failing) == 1
    assert failing[0]["应为"] == 30 and failing[0]["实为"] == 33


def test_ids_in_stored_queries_link_to_report_pages(site):
    page = get(site["ds"], "/nb/failing_arithmetic?year=&rule=&region=").text
    assert f'<a href="/nb/reports/{site["story"]}">{site["story"]}</a>' in page


# -- the scripts and the stylesheet, as static files of the pages package ---------------------

STATIC = "/-/static-plugins/archive.publish.pages/"
# A module script runs only if it is served with a JavaScript type (the browser checks).
JAVASCRIPT = {"text/javascript", "application/javascript"}


def linked_scripts(page: str) -> list[str]:
    """The package's scripts a page links, in order, each as a module (run once parsed)."""
    return re.findall(
        rf'<script type="module" src="{re.escape(STATIC)}([\w-]+\.js)"></script>', page
    )


def test_each_page_links_the_scripts_it_needs_and_they_are_served_as_javascript(site):
    ds, story = site["ds"], site["story"]
    region = quote("新乡市")
    expected = {
        f"/nb/reports/{story}": {"vertical-row.js", "readable.js"},
        "/nb/captures/1": {"vertical-row.js", "readable.js"},
        "/nb/reports": {"readable.js", "excel-csv.js"},
        f"/nb/{tilde_encode('表三_依申请公开')}": {"readable.js", "excel-csv.js", "checks.js"},
        f"/nb/region_requests?region={region}": {"readable.js", "excel-csv.js", "region-names.js"},
        "/nb/check_notes?year=": {"readable.js", "excel-csv.js", "region-names.js"},
        "/nb": {"readable.js"},
        "/nb?sql=select+1": {"readable.js", "region-names.js"},
        "/": set(),
        f"/nb/-/compare?region={region}": set(),
    }
    served = set()
    for url, scripts in expected.items():
        page = get(ds, url)
        assert page.status_code == 200, url
        linked = linked_scripts(page.text)
        assert set(linked) == scripts and len(linked) == len(scripts), (url, linked)
        served.update(linked)
    # A row is laid out as name | value lines before its long cells are boxed.
    row = linked_scripts(get(ds, f"/nb/reports/{story}").text)
    assert row.index("vertical-row.js") < row.index("readable.js")
    static = Path(pages.__file__).parent / "static"
    for script in served:
        response = get(ds, STATIC + script)
        assert response.status_code == 200, script
        assert response.headers["content-type"].split(";")[0] in JAVASCRIPT, script
        assert response.content == (static / script).read_bytes()


def test_a_query_taking_a_region_carries_where_the_names_come_from(site):
    ds = site["ds"]
    page = get(ds, f"/nb/region_requests?region={quote('新乡市')}").text
    source = re.search(r'<datalist id="nb-region-names" data-source="([^"]+)"></datalist>', page)
    assert source and source.group(1) == "/nb/regions.json"
    assert "nb-region-names" not in get(ds, "/nb/late_reports?year=").text  # takes no region
    # What region-names.js asks the source for, and reads from the answer.
    columns = "&".join(f"_col={c}" for c in ("name", "full_name", "province", "city", "district"))
    regions = get(ds, f"{source.group(1)}?_shape=array&_size=max&{columns}").json()
    names = {r[key] for r in regions for key in ("province", "city", "district", "full_name")}
    assert {"河南省", "新乡市", "牧野区", "河南省新乡市牧野区"} <= names


def screen_rules(ds) -> dict[str, str]:
    """nianbao.css as served, outside @media print: selectors -> declarations."""
    css = get(ds, f"{STATIC}nianbao.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    screen = re.sub(r"/\*.*?\*/", "", css.text, flags=re.S).split("@media")[0]
    found = re.findall(r"([^{}]+)\{([^{}]*)\}", screen)
    return {selectors.strip(): declarations for selectors, declarations in found}


def test_the_stylesheet_styles_what_the_scripts_add(site):
    """The scripts only add classes (no inline styles); every page links nianbao.css."""
    rules = screen_rules(site["ds"])
    clip = "td.col-text div.nb-clip, td.col-stats div.nb-clip, td.col-warnings div.nb-clip"
    assert "max-height: 9em" in rules[clip] and "overflow: auto" in rules[clip]
    assert "white-space: nowrap" in rules["table.nb-vertical > tbody > tr > th"]
    assert "border-bottom" in rules["table.nb-vertical > tbody > tr > td"]


def test_the_snapshot_list_is_styled_by_the_stylesheet_not_inline(site, tmp_path):
    make_snapshot(site["path"], tmp_path / "snapshots", "data")
    ds = Datasette(
        [str(site["path"])],
        metadata={"plugins": {"nianbao-snapshots": {"directory": str(tmp_path / "snapshots")}}},
    )
    page = get(ds, "/-/snapshots").text
    assert f'<link rel="stylesheet" href="{STATIC}nianbao.css">' in page
    assert "style=" not in page and re.search(r'<td class="nb-number">[\d,]+</td>', page)
    assert "text-align: right" in screen_rules(ds)["td.nb-number"]
