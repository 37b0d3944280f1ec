"""Review and correction: a report checked or disputed, a cell read again from the original.

The archive is the marks tests' (four agencies, six years, the demo's story planted in
新乡市牧野区人民政府's 2023 report: 行政复议·总计 printed 0 while its parts add up to 3).
A person corrects cells of other reports, where the parser misread what was printed; the
records must stay beside the parsed values, show wherever the number goes (report page,
wide tables and their CSV, region sums, year over year), survive a re-parse and a
re-publish, go stale rather than silently apply when the parser later reads otherwise,
and be written on the report page only by a signed-in reader of a server that allows it.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
import shutil
import sqlite3
import subprocess
import sys
from urllib.parse import quote

import pytest
from datasette.app import Datasette
from datasette.utils import tilde_encode

from archive.export.snapshot import make_snapshot
from archive.publish import metadata_path, prepare
from archive.publish.pages.compare import Options, compare, to_csv
from archive.publish.review import (
    read_value,
    record_correction,
    record_review,
    withdraw,
)
from archive.publish.review_web import plugin_metadata
from archive.publish.serve import SETTINGS
from archive.store import Archive
from archive.store.reviews import (
    ReviewError,
    corrections_of,
    review_in_force,
    reviewed_reports,
    reviews_of,
)
from tests.publish.test_marks import plant_stories
from tests.publish.test_publish_search import build_archive

CELL = "t4.litigation_direct.total"  # 行政诉讼·未经复议直接起诉·总计


def build(path) -> tuple[Archive, dict]:
    archive = build_archive(path, seed=5, per_site=6)
    planted = plant_stories(archive)
    prepare(archive.db.conn)
    return archive, planted


@pytest.fixture()
def site(tmp_path):
    archive, planted = build(tmp_path / "nb.db")
    yield {"archive": archive, "path": tmp_path / "nb.db", **planted}
    archive.close()


def one(archive: Archive, sql: str, args=()):
    return archive.db.conn.execute(sql, args).fetchone()


def parsed(archive: Archive, report_id: int, cell: str = CELL):
    t, r, c = cell.split(".")
    row = one(
        archive,
        "select value from cells where report_id = ? and table_key = ? and row_key = ? "
        "and col_key = ?",
        [report_id, t, r, c],
    )
    return row[0]


def reparse(archive: Archive, report_id: int, changes: dict[str, int] | None = None) -> int:
    """Save the report again from its own document, as ``nianbao reparse`` does, with
    ``changes`` to what the parser reads; returns its id (the same: same document)."""
    conn = archive.db.conn
    conn.row_factory = sqlite3.Row
    try:
        report = dict(conn.execute("select * from reports where id = ?", [report_id]).fetchone())
        cells = [
            dict(r)
            for r in conn.execute(
                "select table_key, row_key, col_key, value, raw from cells where report_id = ?",
                [report_id],
            )
        ]
    finally:
        conn.row_factory = None
    for cell in cells:
        key = f"{cell['table_key']}.{cell['row_key']}.{cell['col_key']}"
        if changes and key in changes:
            cell["value"], cell["raw"] = changes[key], str(changes[key])
    report.pop("id")
    report["parsed_at"] = report["parsed_at"] + "+reparsed"
    return archive.save_report(report, cells, [])


# -- the library ---------------------------------------------------------------------------


def test_a_correction_is_kept_beside_the_parsed_value_and_shown_as_corrected(site):
    archive, report = site["archive"], site["ids"][("huaian", 2023)]
    before = parsed(archive, report)
    done = record_correction(archive, report, CELL, str(before + 5), "张三", "扫描件误读")
    assert (done.value, done.parsed_value, done.parsed_read) == (before + 5, before, True)
    assert parsed(archive, report) == before  # the parsed value is never written over
    value, check = one(
        archive,
        "select litigation_direct_total, litigation_direct_total_check from report_t4 "
        "where report_id = ?",
        [report],
    )
    assert value == before + 5
    assert check.startswith(f"校正：原件为 {before + 5}，解析为 {before}（张三 ")
    assert check.endswith("：扫描件误读）")
    # A cell of a sum (表三 （三）不予公开 adds its rows): the sum follows, and says so.
    withheld_before = one(archive, "select withheld from report_t3 where report_id = ?", [report])[
        0
    ]
    part = parsed(archive, report, "t3.withheld_state_secret.total")
    record_correction(archive, report, "t3.withheld_state_secret.total", str(part + 2), "张三")
    withheld, withheld_check = one(
        archive, "select withheld, withheld_check from report_t3 where report_id = ?", [report]
    )
    assert withheld == withheld_before + 2
    assert withheld_check == "校正：其中 1 项经人工校正"


def test_the_region_sums_add_up_the_corrected_value(site):
    archive, report = site["archive"], site["ids"][("huaian", 2023)]
    sql = (
        "select t4_litigation_direct_total from region_year_sums "
        "where region_code = '320800' and year = 2023"
    )
    (total,) = one(archive, sql)
    record_correction(archive, report, CELL, str(parsed(archive, report) + 7), "张三")
    assert one(archive, sql)[0] == total + 7


def test_reviews_survive_a_reparse_and_a_full_republish(site):
    archive, report = site["archive"], site["ids"][("huaian", 2023)]
    before = parsed(archive, report)
    record_review(archive, report, "disputed", "李四", "表四与原件不符")
    record_correction(archive, report, CELL, str(before + 1), "李四")
    assert reparse(archive, report) == report
    # A full republish: every derived table written again from the stored ones.
    archive.db.conn.execute("delete from publish_state")
    prepare(archive.db.conn)
    assert review_in_force(archive, report).status == "disputed"
    (value,) = one(
        archive, "select litigation_direct_total from report_t4 where report_id = ?", [report]
    )
    assert value == before + 1


def test_a_report_read_again_under_a_new_id_keeps_its_review(tmp_path):
    archive, planted = build(tmp_path / "nb.db")
    report = planted["ids"][("huaian", 2023)]
    record_review(archive, report, "checked", "王五")
    record_correction(archive, report, CELL, "99", "王五")
    conn = archive.db.conn
    conn.row_factory = sqlite3.Row
    row = dict(conn.execute("select * from reports where id = ?", [report]).fetchone())
    cells = [
        dict(r)
        for r in conn.execute(
            "select table_key, row_key, col_key, value, raw from cells where report_id = ?",
            [report],
        )
    ]
    conn.row_factory = None
    archive.drop_report(row["sha256"])
    row.pop("id")
    new_id = archive.save_report(row, cells, [])
    assert new_id != report
    prepare(conn)
    assert review_in_force(archive, new_id).reviewer == "王五"
    assert corrections_of(archive, [new_id])[new_id][CELL].value == 99
    (value,) = conn.execute(
        "select litigation_direct_total from report_t4 where report_id = ?", [new_id]
    ).fetchone()
    assert value == 99
    archive.close()


def test_a_correction_whose_parsed_value_changed_goes_stale_instead_of_applying(site):
    archive, report = site["archive"], site["ids"][("huaian", 2023)]
    before = parsed(archive, report)
    record_correction(archive, report, CELL, str(before + 5), "张三")
    reparse(archive, report, {CELL: before + 9})  # a later parser reads something else
    prepare(archive.db.conn)
    found = corrections_of(archive, [report])[report][CELL]
    assert found.stale
    value, check = one(
        archive,
        "select litigation_direct_total, litigation_direct_total_check from report_t4 "
        "where report_id = ?",
        [report],
    )
    assert value == before + 9  # the parsed value, not the correction made against another
    assert check.startswith("校正待复核：张三 ")
    assert f"核对原件为 {before + 5}（当时解析为 {before}），现解析为 {before + 9}，未采用" in check
    # A parser that now reads what the person read settles it: no longer stale.
    reparse(archive, report, {CELL: before + 5})
    prepare(archive.db.conn)
    assert not corrections_of(archive, [report])[report][CELL].stale
    (check,) = one(
        archive,
        "select litigation_direct_total_check from report_t4 where report_id = ?",
        [report],
    )
    assert check.startswith(f"校正：原件为 {before + 5}，现解析一致（当时解析为 {before}；")


def test_a_withdrawn_correction_shows_the_parsed_value_again(site):
    archive, report = site["archive"], site["ids"][("huaian", 2023)]
    before = parsed(archive, report)
    record_correction(archive, report, CELL, str(before + 5), "张三")
    withdraw(archive, report, CELL, "张三", "看错了行")
    assert corrections_of(archive, [report]).get(report, {}) == {}
    value, check = one(
        archive,
        "select litigation_direct_total, litigation_direct_total_check from report_t4 "
        "where report_id = ?",
        [report],
    )
    assert (value, check) == (before, None)
    with pytest.raises(ReviewError, match="没有有效的校正可撤回"):
        withdraw(archive, report, CELL, "张三")


def test_verdicts_are_a_history_the_last_in_force(site):
    archive, report = site["archive"], site["ids"][("muye", 2024)]
    record_review(archive, report, "有争议", "张三", "表三与原件不符")
    record_review(archive, report, "核对无误", "李四", "张三看错了页")
    assert [r.status for r in reviews_of(archive, report)] == ["disputed", "checked"]
    assert review_in_force(archive, report).reviewer == "李四"
    assert [r.report_id for r in reviewed_reports(archive, "checked")] == [report]
    record_review(archive, report, "withdrawn", "李四")
    assert review_in_force(archive, report) is None
    assert reviewed_reports(archive) == []


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda a, r: record_review(a, 10_000, "checked", "张三"), "没有编号为 10000 的报告"),
        (lambda a, r: record_review(a, r, "ok", "张三"), "核对结论须为"),
        (lambda a, r: record_review(a, r, "checked", "  "), "须写明核对人"),
        (lambda a, r: record_review(a, r, "disputed", "张三"), "有争议须写明理由"),
        (lambda a, r: record_correction(a, r, "t4.review", "3", "张三"), "表.行.列"),
        (lambda a, r: record_correction(a, r, "t9.x.y", "3", "张三"), "没有单元格 t9.x.y"),
        (lambda a, r: record_correction(a, r, CELL, "三件", "张三"), "「三件」不是数字"),
        (lambda a, r: record_correction(a, r, CELL, "", "张三"), "原件此格空白请填「—」"),
    ],
)
def test_what_cannot_be_recorded_is_refused_in_chinese_and_nothing_is_written(site, call, message):
    archive, report = site["archive"], site["ids"][("huaian", 2023)]
    with pytest.raises(ReviewError, match=message):
        call(archive, report)
    counts = one(
        archive,
        "select (select count(*) from report_reviews), (select count(*) from cell_corrections)",
    )
    assert counts == (0, 0)


def test_a_correction_equal_to_the_parsed_value_is_refused(site):
    archive, report = site["archive"], site["ids"][("huaian", 2023)]
    with pytest.raises(ReviewError, match="无须校正"):
        record_correction(archive, report, CELL, str(parsed(archive, report)), "张三")


def test_a_typed_value_reads_as_a_printed_cell_does():
    assert read_value("1,234") == (1234, "1,234")
    assert read_value("３") == (3, "３")
    assert read_value("—") == (None, "—")
    assert read_value("2.5") == (2.5, "2.5")


# -- year over year -------------------------------------------------------------------------


def test_year_over_year_shows_the_corrected_value_marked_and_both_in_its_csv(site):
    archive, report = site["archive"], site["ids"][("huaian", 2023)]
    before = parsed(archive, report)
    record_correction(archive, report, CELL, str(before + 50), "张三", "扫描件误读")
    data = compare(
        archive.db.conn, Options.from_args({"site": "huaian", "agency": "淮安市人民政府"})
    )
    row = next(r for s in data["sections"] for r in s["rows"] if r["key"] == CELL)
    at = [c["year"] for c in data["columns"]].index(2023)
    assert row["values"][at] == before + 50
    assert row["notes"][at]["kind"] == "corrected" and row["notes"][at]["tag"] == "校正"
    line = next(r for r in csv.reader(io.StringIO(to_csv(data))) if r[2] == CELL)
    years = [str(c["year"]) for c in data["columns"]]
    assert line[3 + at] == str(before + 50)
    assert line[3 + len(years) + at].startswith(f"校正：原件为 {before + 50}，解析为 {before}")


# -- the report page and its form ---------------------------------------------------------------


def datasette(path, allow: dict | None = None, immutable: bool = False) -> Datasette:
    metadata = json.loads(metadata_path().read_text(encoding="utf-8"))
    if allow is not None:
        metadata.update(plugin_metadata(allow))
    files = {"immutables": [str(path)]} if immutable else {"files": [str(path)]}
    return Datasette(**files, metadata=metadata, settings=SETTINGS)


def signed_in(ds: Datasette, actor_id: str) -> dict:
    return {"ds_actor": ds.sign({"a": {"id": actor_id}}, "actor")}


async def form_token(ds: Datasette, url: str, cookies: dict) -> tuple[str, dict]:
    page = await ds.client.get(url, cookies=cookies)
    token = re.search(r'name="csrftoken" value="([^"]+)"', page.text)
    assert token, "no form on the page"
    return token.group(1), {**cookies, "ds_csrftoken": page.cookies.get("ds_csrftoken")}


def test_a_signed_in_reviewer_records_a_verdict_and_a_correction_through_the_form(site):
    path, report = site["path"], site["ids"][("huaian", 2023)]
    site["archive"].close()
    ds = datasette(path, {"id": "*"})
    url = f"/nb/reports/{report}"

    async def walk():
        cookies = signed_in(ds, "alice")
        page = await ds.client.get(url, cookies=cookies)
        assert 'class="nb-review-form"' in page.text and "以 alice 的名义" in page.text
        token, cookies = await form_token(ds, url, cookies)
        done = await ds.client.post(
            f"/nb/-/review/{report}",
            data={"csrftoken": token, "action": "review", "status": "disputed", "note": "表四存疑"},
            cookies=cookies,
        )
        assert done.status_code == 302 and done.headers["location"] == f"{url}#review"
        before = Archive(path).report_cells(report)[tuple(CELL.split("."))]
        done = await ds.client.post(
            f"/nb/-/review/{report}",
            data={"csrftoken": token, "action": "correct", "cell": CELL, "value": "1,000"},
            cookies=cookies,
        )
        assert done.status_code == 302
        page = (await ds.client.get(url, cookies=cookies)).text
        assert re.search(r"<strong>有争议</strong>：表四存疑 <span[^>]*>— alice，", page)
        assert re.search(
            rf'data-cell="{CELL}" title="[^"]*校正：原件为 1,000，解析为 {before:,}（alice ',
            page,
        )
        assert re.search(
            rf'<del class="nb-parsed" title="解析值">{before:,}</del> '
            r'<ins class="nb-fix" title="人工核对原件">1,000</ins>',
            page,
        )
        # The Chinese view and its CSV: the corrected number, the parsed one in its check.
        view = tilde_encode("表四_复议诉讼")
        text = (await ds.client.get(f"/nb/{view}.csv?{quote('报告编号')}={report}")).text
        line = next(csv.DictReader(io.StringIO(text)))
        assert line["行政诉讼·未经复议直接起诉·总计"] == "1000"
        assert line["行政诉讼·未经复议直接起诉·总计·核对"].startswith(
            f"校正：原件为 1,000，解析为 {before:,}"
        )
        # A value that is no number: a 400 page in Chinese, nothing written.
        bad = await ds.client.post(
            f"/nb/-/review/{report}",
            data={"csrftoken": token, "action": "correct", "cell": CELL, "value": "很多"},
            cookies=cookies,
        )
        assert bad.status_code == 400 and "「很多」不是数字" in bad.text

    asyncio.run(walk())
    with sqlite3.connect(path) as conn:
        assert conn.execute("select count(*) from cell_corrections").fetchone() == (1,)
        assert conn.execute("select reviewer from report_reviews").fetchall() == [("alice",)]


def test_anonymous_readers_get_no_form_and_a_chinese_403(site):
    path, report = site["path"], site["ids"][("huaian", 2023)]
    site["archive"].close()
    ds = datasette(path, {"id": "*"})

    async def walk():
        page = await ds.client.get(f"/nb/reports/{report}")
        assert page.status_code == 200 and "核对与校正" in page.text
        assert "nb-review-form" not in page.text
        # With Datasette's CSRF token (any page gives one) and without it: the same page.
        token = re.search(r'name="csrftoken" value="([^"]+)"', page.text)
        cookies = {"ds_csrftoken": page.cookies.get("ds_csrftoken", "")}
        for data in (
            {"action": "review", "status": "checked"},
            {"action": "review", "status": "checked", "csrftoken": token.group(1) if token else ""},
        ):
            refused = await ds.client.post(f"/nb/-/review/{report}", data=data, cookies=cookies)
            assert refused.status_code == 403
            assert "请先登录：只有登录且获准的用户才能记录核对或校正" in refused.text
            assert "<title>没有权限（403）</title>" in refused.text

    asyncio.run(walk())
    with sqlite3.connect(path) as conn:
        assert conn.execute("select count(*) from report_reviews").fetchone() == (0,)


def test_a_server_without_writing_allowed_refuses_even_a_signed_in_reader(site):
    path, report = site["path"], site["ids"][("huaian", 2023)]
    site["archive"].close()
    ds = datasette(path)  # not started with --allow-review

    async def walk():
        cookies = signed_in(ds, "root")
        page = await ds.client.get(f"/nb/reports/{report}", cookies=cookies)
        assert "nb-review-form" not in page.text
        refused = await ds.client.post(
            f"/nb/-/review/{report}",
            data={"action": "review", "status": "checked"},
            cookies=cookies,
        )
        assert refused.status_code == 403 and "本服务器未开启核对与校正" in refused.text

    asyncio.run(walk())


def test_only_the_actors_the_allow_block_names_may_write(site):
    path, report = site["path"], site["ids"][("huaian", 2023)]
    site["archive"].close()
    ds = datasette(path, {"id": ["alice"]})

    async def walk():
        bob = signed_in(ds, "bob")
        assert (
            "nb-review-form" not in (await ds.client.get(f"/nb/reports/{report}", cookies=bob)).text
        )
        refused = await ds.client.post(
            f"/nb/-/review/{report}", data={"action": "review", "status": "checked"}, cookies=bob
        )
        assert refused.status_code == 403 and "用户 bob 没有记录核对或校正的权限" in refused.text
        alice = signed_in(ds, "alice")
        assert await ds.permission_allowed({"id": "alice"}, "nianbao-review", "nb") is True
        page = await ds.client.get(f"/nb/reports/{report}", cookies=alice)
        assert "nb-review-form" in page.text

    asyncio.run(walk())


def test_get_on_the_form_route_is_a_405_in_chinese(site):
    path, report = site["path"], site["ids"][("huaian", 2023)]
    site["archive"].close()
    ds = datasette(path, {"id": "*"})
    answer = asyncio.run(ds.client.get(f"/nb/-/review/{report}"))
    assert answer.status_code == 405 and "请在报告页上填写核对或校正表单提交" in answer.text


# -- snapshots -------------------------------------------------------------------------------------


def test_a_snapshot_carries_the_reviews_and_shows_them_read_only(site, tmp_path):
    archive, report = site["archive"], site["ids"][("huaian", 2023)]
    before = parsed(archive, report)
    record_review(archive, report, "checked", "张三", "逐表核对")
    record_correction(archive, report, CELL, str(before + 3), "张三", "扫描件误读")
    archive.close()
    snap = make_snapshot(site["path"], tmp_path / "snaps", "data")
    copy = tmp_path / "copy.db"
    shutil.copy(snap.path, copy)
    with sqlite3.connect(copy) as conn:
        assert conn.execute("select status, reviewer from report_reviews").fetchall() == [
            ("checked", "张三")
        ]
        assert (
            conn.execute(
                "select litigation_direct_total, litigation_direct_total_check from report_t4 "
                "where report_id = ?",
                [report],
            ).fetchone()[0]
            == before + 3
        )
    assert snap.manifest["tables"]["cell_corrections"] == 1
    ds = datasette(copy, {"id": "*"}, immutable=True)

    async def walk():
        cookies = signed_in(ds, "alice")
        page = (await ds.client.get(f"/{copy.stem}/reports/{report}", cookies=cookies)).text
        assert "<strong>核对无误</strong>：逐表核对" in page
        assert "nb-review-form" not in page  # served immutable: nothing can be written
        refused = await ds.client.post(
            f"/{copy.stem}/-/review/{report}",
            data={"action": "review", "status": "checked"},
            cookies=cookies,
        )
        assert refused.status_code == 403 and "只读" in refused.text

    asyncio.run(walk())


@pytest.mark.parametrize("first", ["archive.publish", "datasette.app", "nianbao.cli"])
def test_the_review_hooks_are_registered_whichever_module_loads_datasette_first(first):
    """Importing Datasette loads its plugins: one found half-imported registers no hooks
    (``nianbao serve`` once served no forms that way)."""
    script = (
        f"import {first}\n"
        "from datasette.plugins import pm\n"
        "import archive.publish.review_web as m\n"
        "print(' '.join(sorted(h.name for h in pm.get_hookcallers(m))))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout.split()
    assert {"permission_allowed", "register_routes", "extra_template_vars", "asgi_wrapper"} <= set(
        out
    )


def test_the_review_view_lists_what_was_reviewed_or_corrected(site):
    archive, ids = site["archive"], site["ids"]
    disputed, corrected, taken_back = (
        ids[("muye", 2024)],
        ids[("huaian", 2023)],
        ids[("shanghai", 2022)],
    )
    record_review(archive, disputed, "disputed", "张三", "表三与原件不符")
    record_correction(archive, corrected, CELL, str(parsed(archive, corrected) + 1), "李四")
    record_review(archive, taken_back, "checked", "王五")
    record_review(archive, taken_back, "withdrawn", "王五")
    rows = archive.db.conn.execute(
        'select "报告编号", "结论", "备注", "核对人", "校正单元格数" from "核对记录" order by 1'
    ).fetchall()
    assert sorted(rows) == sorted(
        [(disputed, "有争议", "表三与原件不符", "张三", 0), (corrected, None, None, None, 1)]
    )
    path = site["path"]
    archive.close()
    page = asyncio.run(datasette(path).client.get(f"/nb/{tilde_encode('核对记录')}")).text
    assert f'<a href="/nb/reports/{disputed}">{disputed}</a>' in page
    assert "有争议" in page


def test_a_signed_in_reviewers_form_without_its_token_is_refused_in_chinese(site):
    """Datasette's CSRF layer refuses the POST (no token, or another page's): the reader
    gets the archive's page in Chinese, not the layer's English line; nothing is written."""
    path, report = site["path"], site["ids"][("huaian", 2023)]
    site["archive"].close()
    ds = datasette(path, {"id": "*"})

    async def walk():
        cookies = signed_in(ds, "alice")
        _, cookies = await form_token(ds, f"/nb/reports/{report}", cookies)
        for token in (None, "forged"):
            data = {"action": "review", "status": "checked"}
            if token:
                data["csrftoken"] = token
            refused = await ds.client.post(f"/nb/-/review/{report}", data=data, cookies=cookies)
            assert refused.status_code == 403
            assert "表单已失效或不是从本站的报告页提交的" in refused.text
            assert "<title>没有权限（403）</title>" in refused.text

    asyncio.run(walk())
    with sqlite3.connect(path) as conn:
        assert conn.execute("select count(*) from report_reviews").fetchone() == (0,)


def test_an_archive_from_before_reviews_served_as_it_is_offers_no_form(tmp_path):
    """Plain ``datasette`` on an archive not yet migrated: the page shows no form and a
    POST is a Chinese 403, not a 500 from a missing table."""
    archive, planted = build(tmp_path / "old.db")
    report = planted["ids"][("huaian", 2023)]
    conn = archive.db.conn
    conn.execute("drop table report_reviews")
    conn.execute("drop table cell_corrections")
    conn.execute('drop view if exists "核对记录"')
    archive.close()
    ds = datasette(tmp_path / "old.db", {"id": "*"})

    async def walk():
        cookies = signed_in(ds, "alice")
        page = await ds.client.get(f"/old/reports/{report}", cookies=cookies)
        assert page.status_code == 200 and "nb-review-form" not in page.text
        refused = await ds.client.post(
            f"/old/-/review/{report}",
            data={"action": "review", "status": "checked"},
            cookies=cookies,
        )
        assert refused.status_code == 403 and "还没有核对记录表" in refused.text

    asyncio.run(walk())
