"""Datasette over the archive, in process: search box and JSON API, stored queries,
provenance to the original bytes, Excel CSV and full exports, metadata coverage."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import json
import random
import re
from urllib.parse import quote

import pytest
from datasette.app import Datasette

from archive.publish import metadata_path, prepare
from archive.publish.serve import SETTINGS
from archive.publish.standalone import database_metadata
from archive.store import Archive
from tests.publish.test_publish_search import SITES, add_report, build_archive, truth


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    path = tmp_path_factory.mktemp("served") / "nb.db"
    archive = build_archive(path, seed=7, per_site=6)
    rng = random.Random(1)
    # Known cross-year and arithmetic stories on top of the random numbers.
    story = SITES[2]
    for year, carried_forward, carried_over in ((2017, 5, None), (2018, 9, 7)):
        report_id = add_report(archive, rng, story, year, text="关于征地拆迁的说明")
        with archive.transaction():
            if carried_over is not None:
                archive.db.conn.execute(
                    "update cells set value = ? where report_id = ? and table_key = 't3' and "
                    "row_key = 'carried_over' and col_key = 'total'",
                    [carried_over, report_id],
                )
            archive.db.conn.execute(
                "update cells set value = ? where report_id = ? and table_key = 't3' and "
                "row_key = 'carried_forward' and col_key = 'total'",
                [carried_forward, report_id],
            )
            archive.insert(
                "findings",
                {
                    "report_id": report_id,
                    "rule": "t3_balance",
                    "table_key": "t3",
                    "col_key": "total",
                    "status": "fail",
                    "expected": 10,
                    "found": 12,
                    "message": "test",
                },
            )
    prepare(archive.db.conn)
    archive.close()
    metadata = json.loads(metadata_path().read_text(encoding="utf-8"))
    ds = Datasette([str(path)], metadata=metadata, settings=SETTINGS)
    return ds, path


def get(ds, url: str):
    return asyncio.run(ds.client.get(url))


def rows(ds, url: str) -> list[dict]:
    response = get(ds, url + ("&" if "?" in url else "?") + "_shape=objects&_size=max")
    assert response.status_code == 200, response.text[:500]
    return response.json()["rows"]


@pytest.mark.parametrize("word", ["复议", "行政复议", "拆迁", "低保", "征地拆迁", "信息公开"])
def test_search_api_matches_substring_truth(served, word):
    ds, path = served
    found = {r["id"] for r in rows(ds, f"/nb/reports.json?_search={quote(word)}&_col=id")}
    conn = Archive(path).db.conn
    assert found == truth(conn, word) and found


def test_search_box_is_on_the_reports_page(served):
    ds, _ = served
    html = get(ds, f"/nb/reports?_search={quote('复议')}").text
    assert 'name="_search"' in html and "search matches" in html


@pytest.mark.parametrize("query", ["拆迁", "行政复议", "拆迁 低保", "征地拆迁的说明"])
def test_search_query_finds_every_word_in_plain_sql(served, query):
    ds, path = served
    found = rows(ds, f"/nb/search_reports.json?q={quote(query)}")
    conn = Archive(path).db.conn
    expected = set.intersection(*(truth(conn, word) for word in query.split()))
    assert {r["报告编号"] for r in found} == expected and found
    titled = [bool(re.search(query.split()[0], r["标题"])) for r in found]
    assert titled == sorted(titled, reverse=True)  # title matches first
    years = [r["年度"] for r in found if not re.search(query.split()[0], r["标题"])]
    assert years == sorted(years, reverse=True)


def test_stored_queries_answer(served):
    ds, _ = served
    failing = rows(ds, "/nb/failing_arithmetic.json?year=2018&rule=&region=")
    assert {(r["年度"], r["相差"]) for r in failing} == {(2018, 2)}
    assert failing[0]["规则"].startswith("表三收支平衡")
    assert rows(ds, f"/nb/failing_arithmetic.json?year=2018&rule=&region={quote('淮安市')}")
    assert not rows(ds, f"/nb/failing_arithmetic.json?year=2018&rule=&region={quote('上海市')}")
    mismatch = rows(ds, "/nb/carryover_mismatch.json?year=2018")
    assert [
        (r["上年：四、结转下年度继续办理"], r["本年：二、上年结转政府信息公开申请数量"], r["相差"])
        for r in mismatch
    ] == [(5, 7, 2)]
    henan = rows(ds, f"/nb/region_requests.json?region={quote('河南省')}")
    city = rows(ds, "/nb/region_requests.json?region=410700")
    assert henan == city and [r["年度"] for r in henan] == list(range(2019, 2025))
    assert all(r["报告数"] == 2 for r in henan)  # the county and its department
    missing = {r["站点"] for r in rows(ds, "/nb/missing_reports.json?year=2017")}
    assert missing == {"muye", "muye-czj", "shanghai"}
    deadlines = {r["站点"]: r["法定期限"] for r in rows(ds, "/nb/missing_reports.json?year=2010")}
    assert deadlines["muye-czj"] == "2011-01-31" and deadlines["muye"] == "2011-03-31"
    for name in ("top_new_requests", "top_withheld", "top_lawsuits"):
        top = rows(ds, f"/nb/{name}.json?year=2024")
        assert top, name
    outcomes = rows(ds, "/nb/outcomes.json?region=&year=2024")
    assert len(outcomes) == 6 and all(r["申请数"] is not None for r in outcomes)


def test_late_reports_use_the_legal_deadlines(served):
    ds, path = served
    archive = Archive(path)
    with archive.transaction():
        archive.db.conn.execute("update reports set published = '2024-02-15' where year = 2023")
        archive.db.conn.execute(
            "update reports set published = '2024-01-20' where year = 2023 and site_id = 'shanghai'"
        )
    late = rows(ds, "/nb/late_reports.json?year=2023")
    # Departments were due 2024-01-31 (牧野区财政局 is late, 上海市人民政府办公厅 is not);
    # the governments' 2024-02-15 is within their 3月31日.
    assert [(r["机关"], r["法定期限"]) for r in late] == [("牧野区财政局", "2024-01-31")]
    archive.close()


def test_original_bytes_are_served_safely(served):
    ds, path = served
    conn = Archive(path).db.conn
    capture_id, body, sha = conn.execute(
        "select c.id, c.body, c.sha256 from reports r join captures c on c.id = r.capture_id "
        "limit 1"
    ).fetchone()
    response = get(ds, f"/-/original/nb/{capture_id}")
    assert response.status_code == 200 and response.content == body
    assert hashlib.sha256(response.content).hexdigest() == sha
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-disposition"].startswith("attachment")
    assert response.headers["content-security-policy"].startswith("sandbox")
    assert response.headers["x-content-type-options"] == "nosniff"
    # Read as text, it is the text the parser reads, on a page of the archive's own: the
    # page's script is not there, neither run nor shown as markup.
    as_text = get(ds, f"/-/original/nb/{capture_id}?view=text")
    assert as_text.headers["content-type"].startswith("text/html")
    assert "alert(1)" not in as_text.text and "&lt;script" not in as_text.text
    plain = get(ds, f"/-/original/nb/{capture_id}?view=text&format=txt").text
    assert "牧野" in plain or "淮安" in plain or "上海" in plain
    assert get(ds, "/-/original/nb/999999").status_code == 404
    assert get(ds, "/-/original/nope/1").status_code == 404


def test_one_click_from_report_and_cell_to_the_capture(served):
    ds, path = served
    conn = Archive(path).db.conn
    report_id, capture_id = conn.execute("select id, capture_id from reports limit 1").fetchone()
    report_page = get(ds, f"/nb/reports/{report_id}").text
    assert f'href="/nb/captures/{capture_id}"' in report_page
    assert f'href="/-/original/nb/{capture_id}"' in report_page
    cells_page = get(ds, f"/nb/cells?report_id={report_id}&table_key=t3").text
    assert f'href="/nb/captures/{capture_id}"' in cells_page
    capture_page = get(ds, f"/nb/captures/{capture_id}").text
    assert f'href="/-/original/nb/{capture_id}"' in capture_page
    wide_page = get(ds, f"/nb/report_t3?report_id={report_id}").text
    assert f'href="/nb/captures/{capture_id}"' in wide_page


def test_csv_with_bom_for_excel_and_full_streamed_export(served):
    ds, path = served
    total = Archive(path).db.conn.execute("select count(*) from cells").fetchone()[0]
    assert total > 1000  # more than one page, more than max_returned_rows
    response = get(ds, "/nb/cells.csv?_stream=on&_bom=1&_size=max")
    assert response.content.startswith(b"\xef\xbb\xbfreport_id,")
    parsed = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(parsed) == total + 1
    missing = get(ds, "/nb/no_such_table.csv?_bom=1")
    assert missing.status_code == 404 and not missing.content.startswith(b"\xef\xbb\xbf")
    plain = get(ds, "/nb/regions.csv")
    assert plain.content.startswith(b"region_code")
    assert "河南省" in plain.content.decode("utf-8")


def test_facets_answer_on_the_wide_tables(served):
    ds, _ = served
    data = get(ds, "/nb/report_t3.json?_facet=province&_facet=city&_facet=year").json()
    facets = data["facet_results"]
    assert {"province", "city", "year"} <= set(facets)
    assert not any(f.get("truncated") is None for f in facets.values())
    provinces = {v["value"]: v["count"] for v in facets["province"]["results"]}
    assert provinces["河南省"] == 12 and provinces["江苏省"] == 8
    assert data["suggested_facets"] == []  # off: they cost most of a large page


def test_every_table_and_column_is_described(served):
    ds, path = served
    described = database_metadata()  # what Datasette is given: the file's, and generated
    conn = Archive(path).db.conn
    tables = [
        r[0]
        for r in conn.execute(
            "select name from sqlite_master where type = 'table' and name not like 'reports_fts%' "
            "and name not like 'report_sections_fts%' and name not like 'reports_long_fts%' "
            "and name not like 'reports_narrative_fts%' and name not like 'reports_names_fts%' "
            "and name not in ('publish_state', 'sqlite_sequence', 'report_facets')"
        )
    ]
    for table in tables:
        config = described["tables"].get(table)
        assert config and config.get("description"), table
        columns = [r[1] for r in conn.execute(f"pragma table_info({table})")]
        missing = [c for c in columns if c != "id" and c not in config.get("columns", {})]
        assert not missing, (table, missing)
        assert re.search(r"[\u4e00-\u9fff]", config["description"][:4]), table  # Chinese first


def test_charts_plugin_and_chart_links(served):
    ds, _ = served
    plugins = {p["name"] for p in get(ds, "/-/plugins.json").json()}
    assert "datasette-vega" in plugins
    page = get(ds, "/nb/region_requests?region=410000").text
    assert "datasette_vega" in page and "g.mark=line" in page
    assert quote("每份报告平均新收") in page  # the chart normalises by reports
