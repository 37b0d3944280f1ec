"""Chinese full-text search and the derived tables the parse stage keeps for Datasette.

The ground truth of every search is a plain substring test on the same text, so a
tokenizer that silently misses two-character words (as SQLite's own do) fails here.
"""

from __future__ import annotations

import random
import sqlite3

import pytest

from archive.publish import prepare
from archive.publish.search import FTS_TABLE, fts_query, search, shadow
from archive.publish.views import t3_columns, t4_columns
from archive.store import Archive, now
from archive.store.regions import describe, split_name
from archive.store.templates import template

WORDS = [
    "行政复议",
    "复议",
    "拆迁",
    "低保",
    "信息公开",
    "不予公开",
    "诉讼",
    "政府",
    "财政预算",
    "住房",
    "征收",
    "补偿",
    "申请",
    "依申请",
    "公开",
    "审计",
    "教育",
    "医疗",
    "环境",
]
SITES = [
    {
        "site_id": "muye",
        "agency": "新乡市牧野区人民政府",
        "region_code": "410711",
        "region": "河南省新乡市牧野区",
        "level": "county",
        "start_url": "http://127.0.0.1/",
    },
    {
        "site_id": "muye-czj",
        "agency": "牧野区财政局",
        "region_code": "410711",
        "region": "河南省新乡市牧野区",
        "level": "department",
        "start_url": "http://127.0.0.1/c",
    },
    {
        "site_id": "huaian",
        "agency": "淮安市人民政府",
        "region_code": "320800",
        "region": "江苏省淮安市",
        "level": "prefecture",
        "start_url": "http://127.0.0.1/h",
    },
    {
        "site_id": "shanghai",
        "agency": "上海市人民政府办公厅",
        "region_code": "310000",
        "region": "上海市",
        "level": "department",
        "start_url": "http://127.0.0.1/s",
    },
]


def sentence(rng: random.Random) -> str:
    return "，".join("".join(rng.sample(WORDS, 3)) for _ in range(3)) + "。"


def report_cells(rng: random.Random, tpl_id: str) -> list[dict]:
    return [
        {"table_key": t, "row_key": r, "col_key": c, "value": rng.randint(0, 40), "raw": None}
        for t, r, c in template(tpl_id).cell_keys()
    ]


def add_report(
    archive: Archive,
    rng: random.Random,
    site: dict,
    year: int,
    text: str | None = None,
    body: bytes | None = None,
) -> int:
    """A capture and the report read from it, with every cell of its template."""
    url = f"http://127.0.0.1/{site['site_id']}/{year}/{rng.random()}.html"
    body = (
        body
        or (
            f"<html><script>alert(1)</script><p>{year}{site['agency']}</p>"
            f"<a href='{url}'></a></html>"
        ).encode()
    )
    capture_id = archive.add_capture(
        {
            "site_id": site["site_id"],
            "url": url,
            "status": 200,
            "method": "GET",
            "content_type": "text/html; charset=utf-8",
            "body": body,
            "role": "report",
        }
    )
    sha = archive.db.execute("select sha256 from captures where id = ?", [capture_id]).fetchone()[0]
    tpl = "2021" if year >= 2021 else "2019"
    cells = report_cells(rng, tpl)
    for cell in cells:
        cell["raw"] = str(cell["value"])
    report = {
        "capture_id": capture_id,
        "site_id": site["site_id"],
        "agency": site["agency"],
        "registry_agency": site["agency"],
        "region_code": site["region_code"],
        "region": site["region"],
        "year": year,
        "template": tpl,
        "title": f"{site['agency']}{year}年政府信息公开工作年度报告",
        "url": url,
        "published": f"{year + 1}-02-15",
        "format": "html",
        "sha256": sha,
        "text": text if text is not None else sentence(rng) + sentence(rng),
        "parse_status": "ok",
        "cell_count": len(cells),
        "finding_count": 0,
        "parsed_at": now(),
        "parser_version": "test",
    }
    return archive.save_report(report, cells, [])


def build_archive(path, seed: int = 1, per_site: int = 4) -> Archive:
    rng = random.Random(seed)
    archive = Archive(path)
    archive.load_sites(SITES)
    for site in SITES:
        for year in range(2024 - per_site + 1, 2025):
            add_report(archive, rng, site, year)
    return archive


def truth(conn: sqlite3.Connection, word: str) -> set[int]:
    return {
        r[0]
        for r in conn.execute(
            "select id from reports where instr(text, ?) or instr(title, ?)", [word, word]
        )
    }


@pytest.fixture()
def archive(tmp_path):
    archive = build_archive(tmp_path / "a.db")
    prepare(archive.db.conn)
    yield archive
    archive.close()


def test_shadow_writes_chinese_as_overlapping_pairs():
    assert shadow("申请行政复议3件").split() == [
        "申请",
        "请行",
        "行政",
        "政复",
        "复议",
        "议",
        "3",
        "件",
    ]
    assert shadow("行政复议").split() == ["行政", "政复", "复议", "议"]
    assert shadow("2023年度 report").split() == ["2023", "年度", "度", "report"]
    assert shadow(None) == ""


def test_queries_become_phrases_of_pairs():
    assert fts_query("复议") == '"复议"'
    assert fts_query("行政复议") == '"行政 政复 复议"'
    assert fts_query("拆迁 低保") == '"拆迁" "低保"'
    assert fts_query("税") == '"税" *'
    # Without Chinese it escapes as Datasette does, quotes included.
    assert fts_query('open "data') == '"open" "data"'
    assert fts_query("   ") == '""'


@pytest.mark.parametrize("word", WORDS + ["复", "政复议", "依申请公开", "不存在的词语"])
def test_search_finds_exactly_the_reports_containing_the_word(archive, word):
    conn = archive.db.conn
    found = {i for i, _ in search(conn, word, limit=10_000)}
    assert found == truth(conn, word)


def test_two_words_must_both_occur(archive):
    conn = archive.db.conn
    found = {i for i, _ in search(conn, "拆迁 低保", limit=10_000)}
    assert found == truth(conn, "拆迁") & truth(conn, "低保")


def test_results_are_ranked_by_relevance(archive):
    rng = random.Random(5)
    dense = add_report(archive, rng, SITES[0], 2019, text="低保" * 30 + "其他内容。")
    prepare(archive.db.conn)
    assert search(archive.db.conn, "低保", limit=1)[0][0] == dense


def test_prepare_is_incremental_and_follows_reparse_and_removal(archive):
    conn = archive.db.conn
    rng = random.Random(9)
    new = add_report(archive, rng, SITES[1], 2019, text="关于棚户区拆迁补偿的申请")
    summary = prepare(conn)
    assert (summary.changed, summary.full, summary.search_rebuilt) == (1, False, False)
    assert new in {i for i, _ in search(conn, "棚户")}
    # A reparse rewrites the report in place: the old words must no longer find it.
    with archive.transaction():
        conn.execute(
            "update reports set text = '城市低保对象', parsed_at = ? where id = ?",
            ["2099-01-01T00:00:00+00:00", new],
        )
    assert prepare(conn).search_rebuilt
    assert new not in {i for i, _ in search(conn, "棚户")}
    assert new in {i for i, _ in search(conn, "低保对象")}
    sha = conn.execute("select sha256 from reports where id = ?", [new]).fetchone()[0]
    archive.drop_report(sha)
    assert prepare(conn).removed == 1
    assert new not in {i for i, _ in search(conn, "低保对象")}
    assert (
        conn.execute("select count(*) from report_t3 where report_id = ?", [new]).fetchone()[0] == 0
    )
    assert prepare(conn).changed == 0  # nothing to do the second time


def test_index_count_matches_reports(archive):
    conn = archive.db.conn
    # Every report is in the index once: a search for a word in every title finds all.
    assert {i for i, _ in search(conn, "年度报告", limit=10_000)} == {
        r[0] for r in conn.execute("select id from reports")
    }
    assert (
        conn.execute(f"select count(*) from {FTS_TABLE}_docsize").fetchone()[0]
        == conn.execute("select count(*) from reports").fetchone()[0]
    )


def test_wide_tables_hold_the_cells_of_each_report(archive):
    conn = archive.db.conn
    for report_id, tpl in conn.execute("select id, template from reports"):
        row = conn.execute("select * from report_t3 where report_id = ?", [report_id]).fetchone()
        names = [d[0] for d in conn.execute("select * from report_t3 limit 0").description]
        wide = dict(zip(names, row, strict=True))
        cells = {
            r: v
            for r, v in conn.execute(
                "select row_key, value from cells where report_id = ? and table_key = 't3' "
                "and col_key = 'total'",
                [report_id],
            )
        }
        for column in t3_columns():
            assert wide[column.name] == cells.get(column.row_key), (report_id, column.name)
        assert wide["withheld"] == sum(v for k, v in cells.items() if k.startswith("withheld_"))
        assert wide["province"] and wide["year"] and wide["template"] == tpl
        t4 = conn.execute("select * from report_t4 where report_id = ?", [report_id]).fetchone()
        t4_names = [d[0] for d in conn.execute("select * from report_t4 limit 0").description]
        t4_wide = dict(zip(t4_names, t4, strict=True))
        for column in t4_columns():
            expected = conn.execute(
                "select value from cells where report_id = ? and table_key = 't4' and "
                "row_key = ? and col_key = ?",
                [report_id, column.row_key, column.col_key],
            ).fetchone()[0]
            assert t4_wide[column.name] == expected


def test_every_facet_column_has_an_index(archive):
    conn = archive.db.conn
    for table in ("report_t2", "report_t3", "report_t4"):
        indexed = {
            conn.execute(f"pragma index_info({name})").fetchone()[2]
            for _, name, *_ in conn.execute(f"pragma index_list({table})")
        }
        assert {
            "province",
            "city",
            "district",
            "agency",
            "year",
            "template",
            "parse_status",
        } <= indexed


def test_regions_spell_out_province_city_district():
    assert describe("410711") == {
        "region_code": "410711",
        "name": "牧野区",
        "full_name": "河南省新乡市牧野区",
        "province_code": "410000",
        "province": "河南省",
        "city_code": "410700",
        "city": "新乡市",
        "district_code": "410711",
        "district": "牧野区",
        "level": "district",
    }
    assert describe("310000")["level"] == "province"
    shanghai_district = describe("310104")
    assert shanghai_district["city"] == "上海市" and shanghai_district["district"] == "徐汇区"
    # A code newer than the shipped list falls back to the registry's own name.
    new = describe("419999", "河南省某某市新区")
    assert (new["province"], new["city"], new["district"]) == ("河南省", "某某市", "新区")
    assert split_name(None) == {"province": None, "city": None, "district": None}
    assert describe("bad", "某地")["province"] is None


def test_superseded_versions_are_marked(archive):
    conn = archive.db.conn
    old_id, url = conn.execute("select id, url from reports order by id limit 1").fetchone()
    rng = random.Random(3)
    site = SITES[0]
    new_id = add_report(archive, rng, site, 2024)
    with archive.transaction():
        conn.execute(
            "update reports set url = ?, previous_id = ? where id = ?", [url, old_id, new_id]
        )
    prepare(conn)
    assert (
        conn.execute(
            "select superseded_by from report_t3 where report_id = ?", [old_id]
        ).fetchone()[0]
        == new_id
    )
