"""What a reader meets first: every stored query opens with rows or says in Chinese what to
type; no English where a reader reads; a bad request is a Chinese 4xx page, never a 500
and never a traceback in the log.

The archive is test_marks.py's, with what the remaining stored queries read planted too:
report sections, a figure the text contradicts, a report printed blank, a registry row
that published nothing in the latest year.
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

from archive.export.snapshot import make_snapshot
from archive.publish import metadata_path, prepare
from archive.publish.labels import PARAMETER_LABELS, label_rows
from archive.publish.marks import explain
from archive.publish.serve import SETTINGS
from archive.publish.standalone import database_metadata, project_metadata, readme
from tests.publish.test_marks import plant_stories
from tests.publish.test_publish_search import build_archive

QUIET = {
    "site_id": "muye-quiet",
    "agency": "牧野区统计局",
    "region_code": "410711",
    "region": "河南省新乡市牧野区",
    "level": "department",
    "start_url": "http://127.0.0.1/q",
}
QUERIES = json.loads(metadata_path().read_text(encoding="utf-8"))["databases"]["*"]["queries"]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    path = tmp_path_factory.mktemp("states") / "nb.db"
    archive = build_archive(path, seed=6, per_site=6)
    planted = plant_stories(archive)
    archive.load_sites([QUIET])
    conn, story = archive.db.conn, planted["story"]
    with archive.transaction():
        conn.executemany(
            "insert into report_sections (report_id, section, section_key, heading, text, chars) "
            "values (?, 5, 'problems', '五、存在的主要问题及改进情况', ?, 20)",
            [
                (i, f"（一）存在的主要问题。{i} 号报告的栏目更新不够及时。")
                for i in planted["ids"].values()
            ],
        )
        conn.execute(
            "insert into narrative_findings (report_id, rule, status, stated, table_value, cells, "
            "section, quote, message) values (?, 'text_review', 'fail', 3, 0, "
            "'[\"t4.review.total\"]', 4, '全年发生政府信息公开行政复议3件。', 'planted')",
            [story],
        )
        for year in (2021, 2024):  # a report printed blank: in an older year, in the latest
            conn.execute(
                "update reports set blank_cells = 160, dash_cells = 0, zero_cells = 10 "
                "where id = ?",
                [planted["ids"][("shanghai", year)]],
            )
    prepare(conn)
    archive.close()
    metadata = json.loads(metadata_path().read_text(encoding="utf-8"))
    ds = Datasette([str(path)], metadata=metadata, settings=SETTINGS)
    return {"ds": ds, "path": path, **planted}


def get(ds, url: str, method: str = "GET"):
    return asyncio.run(ds.client.request(method, url))


CHINESE = re.compile(r"[\u4e00-\u9fff]")


def english_prose(text: str) -> list[str]:
    """Runs of two or more English words (a key, an acronym or a table name alone is not
    prose): what a reader of Chinese must not be left to read."""
    text = re.sub(r"<code>.*?</code>|<a [^>]*>|https?://\S+", " ", text, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", text)
    return re.findall(r"[A-Za-z]{2,}(?:[ ,]+[A-Za-z]{2,})+", text)


# -- every stored query opens with rows, or says what to type --------------------------------


@pytest.mark.parametrize("name", list(QUERIES))
def test_every_stored_query_opens_with_rows_or_says_in_chinese_what_to_type(site, name):
    ds = site["ds"]
    page = get(ds, f"/nb/{name}")
    assert page.status_code == 200, page.text[:300]
    rows = get(ds, f"/nb/{name}.json?_shape=array").json()
    if name == "search_reports":  # nothing to search for until a word is typed
        assert rows == []
        assert '<p class="zero-results">没有结果' in page.text
        assert "在「关键词」里填中文词" in page.text  # the description says what to type
    else:
        assert rows, f"{name} opens empty"
    # The form's labels are the parameters' Chinese names, the form's words Chinese.
    labels = re.findall(r'<label for="qp\d+">([^<]*)</label>', page.text)
    assert labels and all(CHINESE.search(label) for label in labels), labels
    for english in ("Query parameters", "Run SQL", "0 results", "Custom SQL query", "Format SQL"):
        assert english not in page.text, (name, english)


def test_a_list_opens_on_its_first_hundred_rows_and_takes_more_on_request(site):
    ds = site["ds"]
    notes = get(ds, "/nb/check_notes.json?_shape=array").json()
    assert 0 < len(notes) <= 100
    assert len(get(ds, "/nb/check_notes.json?_shape=array&rows=1").json()) == 1
    assert get(ds, "/nb/check_notes.json?_shape=array&rows=1000").json()[:1] == notes[:1]
    assert "行数（留空为 100）" in get(ds, "/nb/check_notes").text


def test_the_empty_year_means_the_latest_and_the_deadline_is_that_year_s(site):
    ds = site["ds"]
    lawsuits = get(ds, "/nb/top_lawsuits.json?_shape=array&year=").json()
    assert lawsuits and {r["年度"] for r in lawsuits} == {2024}
    missing = get(ds, "/nb/missing_reports.json?_shape=array").json()
    assert [(r["站点"], r["年度"], r["法定期限"]) for r in missing] == [
        ("muye-quiet", 2024, "2025-01-31")
    ]
    assert missing[0]["层级"] == "部门" and missing[0]["期限状态"] in ("已过期限", "未到期限")


def test_the_long_lists_open_on_the_latest_year_and_take_every_year_on_request(site):
    ds = site["ds"]
    for name in ("late_reports", "carryover_mismatch", "empty_tables"):
        latest = get(ds, f"/nb/{name}.json?_shape=array").json()
        every = get(ds, f"/nb/{name}.json?_shape=array&year={quote('全部')}&rows=1000").json()
        assert latest and {r["年度"] for r in latest} == {2024}, name
        assert {r["年度"] for r in every} > {2024}, name
    notes = get(ds, "/nb/check_notes.json?_shape=array").json()
    assert [r["年度"] for r in notes] == sorted((r["年度"] for r in notes), reverse=True)


def test_a_section_is_asked_for_by_its_chinese_name_and_opens_on_section_five(site):
    ds = site["ds"]
    default = get(ds, "/nb/problems_and_fixes.json?_shape=array").json()
    assert default and {r["部分"] for r in default} == {"五、存在的主要问题及改进情况"}
    for section in ("五", "5", "存在的主要问题及改进情况", "问题", "problems"):
        asked = get(ds, f"/nb/problems_and_fixes.json?_shape=array&section={quote(section)}")
        assert asked.json() == default, section
    assert get(ds, f"/nb/problems_and_fixes.json?_shape=array&section={quote('一')}").json() == []


def test_failing_arithmetic_speaks_the_template_s_labels(site):
    rows = get(site["ds"], "/nb/failing_arithmetic.json?_shape=array").json()
    story = {r["规则"]: r for r in rows if r["报告编号"] == site["story"]}
    review = story["表四：总计＝结果维持＋结果纠正＋其他结果＋尚未审结"]
    assert review["表"] == "表四" and review["行或列"] == "行：行政复议"
    assert review["说明"] == "印刷的总计为 0，各项相加为 3，相差 -3"
    assert review["说明"] == explain({"rule": "t4_total", "expected": 3, "found": 0})
    balance = story["表三收支平衡：一＋二＝（七）总计＋四"]
    assert balance["行或列"] == "列：总计"
    assert balance["说明"] == explain({"rule": "t3_balance", "expected": 50, "found": 52})
    by_rule = get(
        site["ds"], f"/nb/failing_arithmetic.json?_shape=array&rule={quote('表四')}"
    ).json()
    assert {r["规则"] for r in by_rule} == {"表四：总计＝结果维持＋结果纠正＋其他结果＋尚未审结"}
    notes = get(site["ds"], "/nb/check_notes.json?_shape=array").json()
    assert {r["状态"] for r in notes} == {"无法核对"} and notes[0]["说明"].startswith("总计空白")
    mismatch = get(site["ds"], "/nb/narrative_mismatches.json?_shape=array").json()
    assert mismatch[0]["规则"] == "正文所述行政复议数与表四“行政复议·总计”"
    assert mismatch[0]["状态"] == "不符"


def test_the_front_page_leads_to_the_notes_query_not_the_raw_table(site):
    page = get(site["ds"], "/").text
    assert 'class="nb-notes-link" href="/nb/check_notes"' in page
    assert "status__not=fail" not in page


# -- no English where a reader reads ----------------------------------------------------------


def strings(block, skip=("sql", "fts_table", "fts_pk", "sort", "sort_desc", "label_column")):
    if isinstance(block, dict):
        for key, value in block.items():
            if key not in skip and not key.endswith("_url") and key not in ("facets", "params"):
                yield from ((f"{key}/{p}", t) for p, t in strings(value, skip))
    elif isinstance(block, str):
        yield "", block


def test_no_english_in_titles_descriptions_and_labels():
    top = {k: v for k, v in project_metadata().items() if k not in ("databases", "about")}
    found = [
        (path, prose)
        for path, text in [*strings(top), *strings(database_metadata())]
        if (prose := english_prose(text))
    ]
    assert not found, found[:10]
    shown = [label for key, label in label_rows() if not key.startswith("section_alias:")]
    assert all(CHINESE.search(n) for n in shown + list(PARAMETER_LABELS.values()))
    for query in database_metadata()["queries"].values():
        assert CHINESE.search(query["title"][:2]) and not re.search(r"[A-Za-z]{3}", query["title"])


def test_the_reader_s_pages_speak_chinese(site):
    ds = site["ds"]
    pages = {
        f"/nb/reports/{site['story']}": r'<article class="nb-report">.*</article>',
        f"/nb/-/compare?report={site['story']}": r"<h1>.*?</table>",
        f"/nb/-/compare?region={quote('牧野区')}": r"<h1>.*?</table>",
        "/": r'<section class="nb-front">.*?</section>\s*</section>',
    }
    for url, part in pages.items():
        page = get(ds, url).text
        match = re.search(part, page, re.S)
        assert match, url
        assert not english_prose(match.group(0)), (url, english_prose(match.group(0)))


# -- a reader's mistakes: 4xx, in Chinese, and no traceback ---------------------------------

MISTAKES = [
    ("GET", "/-/original/_internal/1", 404),
    ("GET", "/-/original/nb/abc", 404),
    ("GET", "/-/original/nb/999999", 404),
    ("GET", "/-/original/nosuch/1", 404),
    ("POST", "/nb/top_lawsuits", 405),
    ("POST", "/nb/top_lawsuits.json", 405),
    ("POST", "/nb/reports", 405),
    ("GET", "/nb/-/compare", 400),
    ("GET", "/nb/-/compare.json", 400),
    ("GET", "/nb/-/compare.csv?report=abc", 400),
    ("GET", f"/nb/-/compare?region={quote('不存在区')}", 404),
    ("GET", "/nb/reports?_sort=nosuch", 400),
    ("GET", "/nb/reports?_sort=id&_sort_desc=id", 400),
    ("GET", "/nb/cells?_through=xyz", 400),
    ("GET", "/nb/reports/999999", 404),
    ("GET", "/nb/nosuch", 404),
    ("GET", "/a/b/c/d/e", 404),
]


@pytest.mark.parametrize(("method", "url", "status"), MISTAKES)
def test_a_reader_s_mistake_is_a_chinese_4xx_page_without_a_traceback(
    site, capfd, method, url, status
):
    capfd.readouterr()
    response = get(site["ds"], url, method)
    assert response.status_code == status, response.text[:300]
    if url.split("?")[0].endswith(".json"):
        assert response.json()["ok"] is False and CHINESE.search(response.json()["error"])
    else:
        assert re.search(r"<h1>[^<]*[\u4e00-\u9fff][^<]*</h1>", response.text)
        assert "Traceback" not in response.text
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err and "Error" not in out + err


def test_a_chinese_view_s_csv_is_found_by_its_chinese_name(site):
    for path in (
        "/nb/表三_依申请公开.csv",
        "/nb/%E8%A1%A8%E4%B8%89_%E4%BE%9D%E7%94%B3%E8%AF%B7%E5%85%AC%E5%BC%80.csv",
    ):
        redirect = get(site["ds"], path + "?_bom=1")
        assert redirect.status_code == 302
        target = redirect.headers["location"]
        assert target.startswith("/nb/~E8~A1~A8") and target.endswith(".csv?_bom=1")
        answer = get(site["ds"], target)
        assert answer.status_code == 200 and answer.content.startswith(b"\xef\xbb\xbf")
        header = next(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
        assert header[:3] == ["报告编号", "机关", "省级"]


def test_year_over_year_answers_json(site):
    response = get(site["ds"], f"/nb/-/compare.json?report={site['story']}")
    data = response.json()
    assert response.status_code == 200 and data["mode"] == "agency" and data["sections"]
    assert "chart" not in data and data["columns"][0]["year"] == 2019


# -- the snapshots: downloads in view, a README that does not collide with nianbao serve ------


def test_the_snapshot_list_puts_the_downloads_before_the_fingerprints(site, tmp_path):
    snap = make_snapshot(site["path"], tmp_path / "snapshots", "data")
    ds = Datasette(
        [str(site["path"])],
        metadata={"plugins": {"nianbao-snapshots": {"directory": str(tmp_path / "snapshots")}}},
    )
    page = get(ds, "/-/snapshots").text
    sha = snap.manifest["sha256"]
    row = page[page.index("<tbody>") :]
    assert f'<code title="{sha}">{sha[:12]}…</code>' in row
    assert sha not in re.sub(r'title="[0-9a-f]{64}"', "", row)  # only in the title
    assert row.index(".zip") < row.index(sha[:12])  # the bundle comes first
    assert not english_prose(page[page.index("<h1>") :])


def test_the_readme_starts_datasette_where_nianbao_serve_is_not():
    text = readme()
    assert "--port 8011" in text and "http://127.0.0.1:8011/{database}" in text
    assert ":8001/" not in text


def test_a_query_over_the_time_limit_says_so_in_chinese(site):
    from datasette.utils.asgi import Request
    from datasette.views.base import DatasetteError

    from archive.publish.pages import errors

    too_long = DatasetteError(
        "<p>SQL query took too long.</p><textarea>select …</textarea>",
        title="SQL Interrupted",
        status=400,
        message_is_html=True,
    )
    ds = site["ds"]
    get(ds, "/")  # Datasette started: its templates are ready

    async def answer(path):
        request = Request({**Request.fake(path).scope, "csrftoken": lambda: ""}, None)
        return await errors.handle_exception(ds, request, too_long)()

    page = asyncio.run(answer("/nb/region_requests"))
    assert page.status == 400 and errors.TOO_LONG in str(page.body)
    assert "SQL query took too long." in str(page.body)  # the detail, as text
    data = json.loads(asyncio.run(answer("/nb/region_requests.json")).body)
    assert data == {"ok": False, "error": errors.TOO_LONG, "status": 400, "title": "请求有误"}
