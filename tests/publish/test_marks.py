"""A number a failing rule reads, or one OCR read from a scan, is marked wherever it goes.

The archive is the search tests' (four agencies, six years, random numbers) with the
demo's story planted in 新乡市牧野区人民政府's 2023 report: 行政复议·总计 printed 0 while
its parts add up to 3 (t4_total fails), and 一、本年新收 read by a failing balance rule.
牧野区财政局's 2024 report was read by OCR (one cell at confidence 0.62); a finding of
淮安市人民政府 was stored without its list of cells (the rule says which it reads); and a
note (a rule left undecided by a blank) marks nothing.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
from urllib.parse import quote

import pytest
from datasette.app import Datasette
from datasette.utils import tilde_encode

from archive.publish import metadata_path, prepare
from archive.publish.marks import cells_read
from archive.publish.pages.compare import Options, compare
from archive.publish.serve import SETTINGS
from archive.store import Archive
from tests.publish.test_publish_search import build_archive

REVIEW = ("upheld", "corrected", "other", "pending", "total")


def set_cell(conn, report_id, table, row, col, value):
    conn.execute(
        "update cells set value = ?, raw = ? where report_id = ? and table_key = ? "
        "and row_key = ? and col_key = ?",
        [value, str(value), report_id, table, row, col],
    )


def add_finding(archive, report_id, rule, status, expected, found, cells, row=None, col=None):
    archive.insert(
        "findings",
        {
            "report_id": report_id,
            "rule": rule,
            "table_key": rule[:2],
            "row_key": row,
            "col_key": col,
            "status": status,
            "expected": expected,
            "found": found,
            "cells": None if cells is None else json.dumps(cells),
            "message": "planted",
        },
    )


def plant_stories(archive: Archive) -> dict:
    """The stories of this module's docstring, planted in an archive of
    :func:`build_archive`; the report ids by (site, year), the story's, the OCR'd one's."""
    conn = archive.db.conn
    ids = {(s, y): i for i, s, y in conn.execute("select id, site_id, year from reports")}
    story, machine = ids[("muye", 2023)], ids[("muye-czj", 2024)]
    with archive.transaction():
        for col, value in zip(REVIEW, (1, 0, 2, 0, 0), strict=True):
            set_cell(conn, story, "t4", "review", col, value)
        set_cell(conn, ids[("muye", 2022)], "t4", "review", "total", 7)
        review = [f"t4.review.{c}" for c in REVIEW]
        add_finding(archive, story, "t4_total", "fail", 3, 0, review, row="review")
        balance = [
            f"t3.{r}.total"
            for r in ("new_requests", "carried_over", "results_total", "carried_forward")
        ]
        add_finding(archive, story, "t3_balance", "fail", 50, 52, balance, col="total")
        # A note: 行政复议·总计 of 淮安 2024 left undecided; a note marks nothing.
        add_finding(
            archive, ids[("huaian", 2024)], "t4_total", "incomplete", 5, None, review, row="review"
        )
        # A failing finding stored without its cells: the rule says which it reads.
        add_finding(
            archive, ids[("huaian", 2022)], "t3_applicants", "fail", 9, 10, None, row="granted"
        )
        conn.execute("update reports set cell_source = 'ocr' where id = ?", [machine])
        conn.execute("update cells set confidence = 0.97 where report_id = ?", [machine])
        conn.execute(
            "update cells set confidence = 0.62 where report_id = ? and table_key = 't3' "
            "and row_key = 'new_requests' and col_key = 'total'",
            [machine],
        )
    return {"ids": ids, "story": story, "machine": machine}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    path = tmp_path_factory.mktemp("marks") / "nb.db"
    archive = build_archive(path, seed=5, per_site=6)
    planted = plant_stories(archive)
    prepare(archive.db.conn)
    archive.close()
    metadata = json.loads(metadata_path().read_text(encoding="utf-8"))
    ds = Datasette([str(path)], metadata=metadata, settings=SETTINGS)
    return {"ds": ds, "path": path, **planted}


def get(ds, url: str):
    return asyncio.run(ds.client.get(url))


def query(site, sql: str, args=()):
    conn = Archive(site["path"]).db.conn
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


# -- the wide tables, their Chinese views and CSV ------------------------------------------


def test_every_number_a_failing_rule_reads_carries_its_check_in_the_wide_table(site):
    [row] = query(
        site,
        "select review_total, review_total_check, review_upheld_check, "
        "litigation_direct_total_check from report_t4 where report_id = ?",
        [site["story"]],
    )
    total, check, part, other = row
    assert total == 0
    assert check.startswith("不符：表四：总计＝结果维持＋结果纠正＋其他结果＋尚未审结")
    assert part == check and other is None
    checks = dict(
        zip(
            ("new_requests", "carried_over", "results_total", "carried_forward", "granted"),
            query(
                site,
                "select new_requests_check, carried_over_check, results_total_check, "
                "carried_forward_check, granted_check from report_t3 where report_id = ?",
                [site["story"]],
            )[0],
            strict=True,
        )
    )
    assert all(checks[k].startswith("不符：表三收支平衡") for k in list(checks)[:4])
    assert checks["granted"] is None
    # A note (the rule undecided by a blank) is no mark; only the story fails there.
    [(noted,)] = query(
        site,
        "select review_total_check from report_t4 where report_id = ?",
        [site["ids"][("huaian", 2024)]],
    )
    assert noted is None
    marked = query(site, "select count(*) from report_t4 where review_total_check like '不符%'")[0][
        0
    ]
    assert marked == 1


def test_a_finding_stored_without_its_cells_marks_the_cells_its_rule_reads(site):
    report = site["ids"][("huaian", 2022)]
    [(check,)] = query(site, "select granted_check from report_t3 where report_id = ?", [report])
    assert check == "不符：表三申请人：总计＝六类申请人之和"
    finding = {"rule": "t3_results", "col_key": "research", "cells": None}
    assert cells_read(finding, "2019")[-1] == "t3.results_total.research"
    assert "t3.other_handling.research" in cells_read(finding, "2019")
    assert "t3.other_other.research" in cells_read(finding, "2021")


def test_the_chinese_view_and_its_csv_carry_the_check_beside_each_number(site):
    ds, story = site["ds"], site["story"]
    view = tilde_encode("表四_复议诉讼")
    csv_text = get(ds, f"/nb/{view}.csv?_size=max").text
    rows = list(csv.DictReader(io.StringIO(csv_text)))
    header = next(csv.reader(io.StringIO(csv_text)))
    at = header.index("行政复议·总计")
    assert header[at + 1] == "行政复议·总计·核对"  # right beside it, for a spreadsheet filter
    line = next(r for r in rows if r["报告编号"] == str(story))
    assert line["行政复议·总计"] == "0" and line["行政复议·总计·核对"].startswith("不符：表四")
    assert sum(1 for r in rows if r["行政复议·总计·核对"].startswith("不符")) == 1
    # The page marks the number itself, the check as a tag; the check columns fold away.
    page = get(ds, f"/nb/{view}?{quote('报告编号')}={story}").text
    assert re.search(
        r'<span class="nb-flag nb-flag-fail" title="不符：表四：[^"]+">0</span>'
        r'<sup class="nb-flag-tag nb-flag-tag-fail">不符</sup>',
        page,
    )
    assert '<span class="nb-tag nb-tag-fail" title="不符：表四' in page
    assert "checks.js" in page


def test_machine_read_numbers_carry_the_confidence(site):
    [(check, other)] = query(
        site,
        "select new_requests_check, granted_check from report_t3 where report_id = ?",
        [site["machine"]],
    )
    assert check == "机读：扫描件识别，置信度 0.62"
    assert other == "机读：扫描件识别，置信度 0.97"
    page = get(site["ds"], f"/nb/reports/{site['machine']}").text
    cell = re.search(r'<td class="([^"]*)" data-cell="t3.new_requests.total" title="([^"]*)"', page)
    assert cell and "nb-machine" in cell.group(1) and "置信度 0.62" in cell.group(2)
    assert "（扫描件识别）" in page


# -- stored queries ------------------------------------------------------------------------


def test_the_top_queries_mark_the_numbers_they_quote(site):
    ds = site["ds"]
    rows = get(ds, "/nb/top_lawsuits.json?_shape=array&year=2023").json()
    story = next(r for r in rows if r["报告编号"] == site["story"])
    assert story["行政复议·总计"] == 0 and story["行政复议·总计·核对"].startswith("不符：表四")
    page = get(ds, "/nb/top_lawsuits?year=2023").text
    assert re.search(r'<span class="nb-flag nb-flag-fail" title="不符：表四[^"]*">0</span>', page)
    # The year left empty: the latest year, where 牧野区财政局's numbers were machine-read.
    latest = get(ds, "/nb/top_new_requests.json?_shape=array&year=").json()
    assert {r["年度"] for r in latest} == {2024}
    czj = next(r for r in latest if r["报告编号"] == site["machine"])
    assert czj["一、本年新收政府信息公开申请数量·核对"] == "机读：扫描件识别，置信度 0.62"
    withheld = get(ds, "/nb/top_withheld.json?_shape=array&year=2023").json()
    story = [r for r in withheld if r["报告编号"] == site["story"]]
    assert not story or story[0]["不予公开占办理结果%·核对"].startswith("不符：表三收支平衡")


def test_region_sums_say_how_many_reports_fail_and_can_leave_them_out(site):
    ds = site["ds"]
    new = "一、本年新收政府信息公开申请数量"
    url = f"/nb/region_requests.json?_shape=array&region={quote('牧野区')}"
    every = {r["年度"]: r for r in get(ds, url).json()}
    left_out = {r["年度"]: r for r in get(ds, url + "&omit_failing=1").json()}
    values = dict(
        query(
            site,
            "select site_id, new_requests from report_t3 where year = 2023 "
            "and site_id in ('muye', 'muye-czj')",
        )
    )
    assert every[2023][new] == values["muye"] + values["muye-czj"]
    assert every[2023][f"{new}·不符报告数"] == 1 and every[2022][f"{new}·不符报告数"] == 0
    assert left_out[2023][new] == values["muye-czj"]
    assert left_out[2022][new] == every[2022][new]


# -- year over year ------------------------------------------------------------------------


def review_total(data: dict) -> dict:
    return next(r for s in data["sections"] for r in s["rows"] if r["key"] == "t4.review.total")


def test_year_over_year_marks_the_failing_number_and_every_change_computed_from_it(site):
    conn = Archive(site["path"]).db.conn
    data = compare(conn, Options(report=site["story"]))
    years = [c["year"] for c in data["columns"]]
    row = review_total(data)
    at = years.index(2023)
    assert row["values"][at] == 0 and row["values"][at - 1] == 7
    note = row["notes"][at]
    assert note["kind"] == "fail" and note["tag"] == "不符"
    assert (
        "表四：总计＝结果维持＋结果纠正＋其他结果＋尚未审结：印刷的总计为 0，各项相加为 3"
        in (note["title"])
    )
    fall, rise = row["changes"][at - 1], row["changes"][at]
    assert fall["pct"] == -100.0 and fall["failing"] and not fall["swing"]
    assert rise["failing"] and not rise["swing"]
    assert all(n is None for i, n in enumerate(row["notes"]) if i != at)
    page = get(site["ds"], f"/nb/-/compare?report={site['story']}").text
    line = page[page.index('<th class="nb-label">行政复议·总计</th>') :]
    line = line[: line.index("</tr>")]
    assert re.search(r'<td class="nb-cell nb-fail" title="此数不符勾稽关系[^"]*">0<sup', line)
    assert re.search(r'nb-derived-fail" title="由不符勾稽关系的数字算出，不可引用">-100%', line)
    assert "个数字不符勾稽关系" in page


def test_year_over_year_csv_and_json_carry_the_marks(site):
    ds, story = site["ds"], site["story"]
    text = get(ds, f"/nb/-/compare.csv?report={story}").text
    rows = list(csv.reader(io.StringIO(text)))
    header = rows[0]
    line = next(r for r in rows if r[2] == "t4.review.total")
    assert line[header.index("2023")] == "0"
    assert line[header.index("2023核对")].startswith("不符：表四")
    assert line[header.index("2023比2022增减%")] == ""  # not to be quoted
    assert line[header.index("2023比2022增减")] == ""
    data = get(ds, f"/nb/-/compare.json?report={story}")
    assert data.status_code == 200
    assert (
        review_total(data.json())["notes"]
        == review_total(compare(Archive(site["path"]).db.conn, Options(report=story)))["notes"]
    )


def test_a_region_s_year_over_year_counts_the_failing_reports_and_leaves_them_out(site):
    conn = Archive(site["path"]).db.conn
    both = {
        2023: dict(
            query(
                site,
                "select site_id, review_total from report_t4 where year = 2023 and site_id in ('muye', 'muye-czj')",
            )
        )
    }
    other = both[2023]["muye-czj"]
    for basis in ("steady", "all"):
        every = compare(conn, Options(region="牧野区", basis=basis))
        left_out = compare(conn, Options(region="牧野区", basis=basis, omit_failing=True))
        at = [c["year"] for c in every["columns"]].index(2023)
        row, clean = review_total(every), review_total(left_out)
        assert row["notes"][at]["tag"] == "1 份不符" and row["notes"][at]["kind"] == "fail"
        assert clean["notes"][at]["tag"] == "已剔除 1 份"
        if basis == "steady":
            assert row["values"][at] == 0 + other and clean["values"][at] == other
        else:  # the mean per report, of the reports whose number is counted
            assert row["values"][at] == round(other / 2, 2)
            assert clean["values"][at] == other
        assert row["changes"][at - 1]["failing"] and not clean["changes"][at - 1]["failing"]
    page = get(site["ds"], f"/nb/-/compare?region={quote('牧野区')}").text
    assert "1 份不符" in page and "omit_failing=1" in page and "不计不符的数字" in page
    page = get(site["ds"], f"/nb/-/compare?region={quote('牧野区')}&omit_failing=1").text
    assert "已剔除 1 份" in page and "计入不符的数字" in page


def test_wide_tables_of_the_layout_before_the_checks_are_rebuilt_alone(site, tmp_path):
    """An archive published before the checks: its wide tables are rewritten with them at
    the next publish, and its search index is left as it is."""
    import shutil

    copy = tmp_path / "old.db"
    shutil.copy(site["path"], copy)
    archive = Archive(copy)
    conn = archive.db.conn
    conn.execute('DROP VIEW "表四_复议诉讼"')
    for (index,) in conn.execute(
        "select name from sqlite_master where type = 'index' and name like 'idx_report_t4_%_check'"
    ).fetchall():
        conn.execute(f"DROP INDEX {index}")
    for column in [r[1] for r in conn.execute("pragma table_info(report_t4)")]:
        if column.endswith("_check"):
            conn.execute(f"ALTER TABLE report_t4 DROP COLUMN {column}")
    conn.commit()
    summary = prepare(conn)
    assert not summary.full and not summary.search_rebuilt
    [(check,)] = conn.execute(
        "select review_total_check from report_t4 where report_id = ?", [site["story"]]
    ).fetchall()
    assert check.startswith("不符：表四")
    assert conn.execute('select count(*) from "表四_复议诉讼"').fetchone()[0] == 24
    plan = " ".join(
        str(r)
        for r in conn.execute(
            'explain query plan select count(*) from "表四_复议诉讼" '
            "where \"行政复议·总计·核对\" like '不符%'"
        )
    )
    assert "idx_report_t4_review_total_check" in plan  # a reader's filter reads the index
    archive.close()
