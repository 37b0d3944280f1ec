"""Chinese full-text search and the derived tables the parse stage keeps for Datasette.

The ground truth of every search is a plain substring test on the same text, so a
tokenizer that silently misses two-character words (as SQLite's own do) fails here.
"""

from __future__ import annotations

import random
import re
import shutil
import sqlite3
import subprocess

import pytest
import sqlite_utils

import archive.publish.search as search_module
from archive.parse.isolate import ParsePool
from archive.publish import prepare
from archive.publish.boilerplate import own_words
from archive.publish.search import (
    FACETS_TABLE,
    FTS_TABLE,
    LONG_FTS,
    MAX_GRAM,
    NARRATIVE_FTS,
    SECTIONS_FTS,
    fts_query,
    search,
    shadow,
)
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


def test_shadow_writes_chinese_as_its_ngrams():
    tokens = shadow("申请行政复议3件").split()
    assert {"申请", "行政复议", "申请行政复议", "复", "议"} <= set(tokens)
    assert "3" in tokens and "件" in tokens
    assert "复议3" not in tokens  # a token never crosses from Chinese into digits
    assert sorted(shadow("行政复议").split()) == sorted(
        ["行", "政", "复", "议", "行政", "政复", "复议", "行政复", "政复议", "行政复议"]
    )
    long = "一二三四五六七八九十"
    assert max(len(t) for t in shadow(long).split()) == MAX_GRAM
    assert set(shadow("2023年度 report").split()) == {"2023", "年", "度", "年度", "report"}
    # Each token once: repeats carry nothing in an index without positions.
    assert shadow("复议复议复议").split().count("复议") == 1
    assert shadow(None) == ""


def test_queries_are_single_tokens_as_plain_sqlite_would_send_them():
    assert fts_query("复议") == '"复议"'
    assert fts_query("行政复议") == '"行政复议"'
    assert fts_query("拆迁 低保") == '"拆迁" "低保"'
    assert fts_query("税") == '"税"'
    assert fts_query("第三方合法权益保护") == '"第三方合法权益保" "三方合法权益保护"'
    assert fts_query("2023年度") == '"2023" "年度"'
    # Without Chinese it escapes as Datasette does, quotes included.
    assert fts_query('open "data') == '"open" "data"'
    assert fts_query("   ") == '""'


@pytest.mark.parametrize("word", WORDS + ["复", "政复议", "依申请公开", "不存在的词语"])
def test_search_finds_exactly_the_reports_containing_the_word(archive, word):
    conn = archive.db.conn
    assert set(search(conn, word, limit=10_000)) == truth(conn, word)


def test_two_words_must_both_occur(archive):
    conn = archive.db.conn
    found = set(search(conn, "拆迁 低保", limit=10_000))
    assert found == truth(conn, "拆迁") & truth(conn, "低保")


def datasette_escape(query: str) -> str:
    """What Datasette without nianbao sends for ?_search= (its own escape_fts)."""
    from datasette.utils import escape_fts

    return escape_fts(query)


@pytest.mark.parametrize("spelling", ["here", "in workers"])
def test_every_substring_is_found_as_plain_sqlite_and_nianbao_search_it(
    tmp_path, spelling, monkeypatch
):
    """Random texts over a small alphabet (so near-misses abound), random substrings of
    1 to 12 characters: nianbao's search is a substring test; Datasette's own escaping,
    sqlite-utils and a bare MATCH agree with it, on reports_fts up to MAX_GRAM characters
    and on reports_long_fts beyond — whether the n-grams were spelled in this process
    or, for a large batch, in the workers."""
    if spelling == "in workers":
        monkeypatch.setattr(search_module, "PARALLEL_CHARS", 1)
        monkeypatch.setattr(search_module, "MAX_BATCH_ROWS", 7)
        monkeypatch.setattr(search_module, "SPELL_WORKERS", 2)
    mapped = []
    real_map = ParsePool.map

    def counted_map(pool, jobs):
        for key, outcome in real_map(pool, jobs):
            mapped.append(key)
            yield key, outcome

    monkeypatch.setattr(ParsePool, "map", counted_map)
    rng = random.Random(11)
    alphabet = "复议行政诉讼公开申请不予"
    archive = Archive(tmp_path / "p.db")
    archive.load_sites(SITES)
    texts = {}
    for n in range(60):
        text = "".join(rng.choice(alphabet + "，。3a ") for _ in range(rng.randint(0, 120)))
        texts[add_report(archive, rng, SITES[n % 4], 2019 + n % 6, text=text)] = text
    prepare(archive.db.conn)
    conn = archive.db.conn
    for _ in range(300):
        source = rng.choice(list(texts.values()) + [alphabet])
        runs = [r for r in re.findall(r"[\u4e00-\u9fff]+", source) if r]
        if not runs:
            continue
        run = rng.choice(runs)
        start = rng.randrange(len(run))
        word = run[start : start + rng.randint(1, 12)]
        expected = truth(conn, word)
        assert set(search(conn, word, limit=10_000)) == expected, word
        table = FTS_TABLE if len(word) <= MAX_GRAM else LONG_FTS
        for query in (datasette_escape(word), word):
            native = {
                r[0]
                for r in conn.execute(f"select rowid from {table} where {table} match ?", [query])
            }
            assert native == expected, (word, query)
    # Every report's n-grams (for reports_fts and for the narrative index) came from the
    # workers, or none did.
    assert len(mapped) == (2 * 60 if spelling == "in workers" else 0)
    archive.close()


def test_the_index_is_one_sqlite_utils_and_datasette_detect(archive):
    from datasette.utils import detect_fts

    conn = archive.db.conn
    assert detect_fts(conn, "reports") == FTS_TABLE
    assert sqlite_utils.Database(conn)["reports"].detect_fts() == FTS_TABLE
    found = {r["id"] for r in sqlite_utils.Database(conn)["reports"].search("行政复议")}
    assert found == truth(conn, "行政复议") and found


def test_an_index_of_an_older_layout_is_replaced(archive):
    conn = archive.db.conn
    with archive.transaction():
        conn.execute(f"drop table {FTS_TABLE}")
        conn.execute(f"create virtual table {FTS_TABLE} using fts5(title, text, content='')")
    summary = prepare(conn)
    assert summary.full and summary.search_rebuilt
    assert set(search(conn, "复议", limit=10_000)) == truth(conn, "复议")


def test_a_missing_sections_index_is_built_alone(archive):
    """An archive prepared before the sections index: prepare builds that index only,
    and a section is then found by the same plain MATCH as a report."""
    conn = archive.db.conn
    report = conn.execute("select id from reports order by id limit 1").fetchone()[0]
    with archive.transaction():
        conn.execute(
            "insert into report_sections (report_id, section, section_key, heading, text, chars) "
            "values (?, 5, 'problems', '五、存在的主要问题及改进情况', '政策解读不够深入。', 9)",
            [report],
        )
        conn.execute(f"drop table {SECTIONS_FTS}")
        conn.execute(f"insert into {FTS_TABLE} (rowid, title, text) values (-1, '', '标记')")
    summary = prepare(conn)
    assert (summary.full, summary.search_rebuilt) == (False, True)
    # The reports index was kept as it was (a rebuild would have dropped the marker row).
    assert conn.execute(f"select rowid from {FTS_TABLE} where {FTS_TABLE} match '标记'").fetchall()
    found = conn.execute(
        f"select s.report_id from {SECTIONS_FTS} f join report_sections s on s.rowid = f.rowid "
        f"where {SECTIONS_FTS} match '政策解读'"
    ).fetchall()
    assert found == [(report,)]


def test_newest_reports_come_first(archive):
    conn = archive.db.conn
    found = search(conn, "年度报告", limit=10_000)
    years = [
        conn.execute("select year from reports where id = ?", [i]).fetchone()[0] for i in found
    ]
    assert years == sorted(years, reverse=True)


def test_prepare_is_incremental_and_follows_reparse_and_removal(archive):
    conn = archive.db.conn
    rng = random.Random(9)
    new = add_report(archive, rng, SITES[1], 2019, text="关于棚户区拆迁补偿的申请")
    summary = prepare(conn)
    assert (summary.changed, summary.full, summary.search_rebuilt) == (1, False, False)
    assert new in set(search(conn, "棚户"))
    # A reparse that reads the same text costs the index nothing.
    with archive.transaction():
        conn.execute("update reports set parsed_at = ? where id = ?", ["2098-01-01", new])
    summary = prepare(conn)
    assert (summary.changed, summary.search_rebuilt) == (1, False)
    assert new in set(search(conn, "棚户"))
    # A reparse rewrites the report in place: the old words must no longer find it.
    with archive.transaction():
        conn.execute(
            "update reports set text = '城市低保对象', parsed_at = ? where id = ?",
            ["2099-01-01T00:00:00+00:00", new],
        )
    assert prepare(conn).search_rebuilt
    assert new not in set(search(conn, "棚户"))
    assert new in set(search(conn, "低保对象"))
    sha = conn.execute("select sha256 from reports where id = ?", [new]).fetchone()[0]
    archive.drop_report(sha)
    assert prepare(conn).removed == 1
    assert new not in set(search(conn, "低保对象"))
    assert (
        conn.execute("select count(*) from report_t3 where report_id = ?", [new]).fetchone()[0] == 0
    )
    assert prepare(conn).changed == 0  # nothing to do the second time


def test_index_count_matches_reports(archive):
    conn = archive.db.conn
    # Every report is in the index once: a search for a word in every title finds all.
    assert set(search(conn, "年度报告", limit=10_000)) == {
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


def _sections_found(conn, word: str) -> set[tuple[int, int]]:
    return {
        tuple(r)
        for r in conn.execute(
            "select s.report_id, s.section from report_sections_fts f "
            "join report_sections s on s.rowid = f.rowid where report_sections_fts match ?",
            [f'"{word}"'],
        )
    }


def _add_sections(archive, rng) -> None:
    conn = archive.db.conn
    for (report_id,) in conn.execute("select id from reports").fetchall():
        for number in range(1, 7):
            text = "".join(rng.choice("复议诉讼公开申请不予主要问题改进") for _ in range(40))
            archive.insert(
                "report_sections",
                {
                    "report_id": report_id,
                    "section": number,
                    "section_key": f"s{number}",
                    "heading": f"第{number}部分",
                    "text": text,
                    "chars": len(text),
                },
            )
    # Gaps in the rowids: what a vacuum would close up.
    conn.execute("delete from report_sections where (report_id + section) % 3 = 0")
    conn.commit()


@pytest.mark.skipif(shutil.which("sqlite3") is None, reason="needs the sqlite3 shell")
def test_the_sections_index_survives_a_dump_and_reload(tmp_path):
    """``.dump`` writes the rows of a table without an INTEGER PRIMARY KEY without their
    rowids, so a researcher reloading a snapshot (or SQLite's VACUUM, which may renumber
    such rowids) would leave the sections' index, keyed by rowid, pointing at other
    sections; sections carry an explicit id."""
    archive = build_archive(tmp_path / "v.db", seed=5)
    _add_sections(archive, random.Random(5))
    prepare(archive.db.conn)
    archive.close()
    dump = subprocess.run(
        ["sqlite3", str(tmp_path / "v.db"), ".dump"], capture_output=True, check=True
    ).stdout
    subprocess.run(["sqlite3", str(tmp_path / "r.db")], input=dump, check=True)
    conn = sqlite3.connect(tmp_path / "r.db")
    for word in ("复议", "改进", "问题"):
        expected = {
            tuple(r)
            for r in conn.execute(
                "select report_id, section from report_sections where instr(text, ?)", [word]
            )
        }
        assert expected and _sections_found(conn, word) == expected, word
    conn.close()


def test_the_section_ids_migration_keeps_the_index_valid(tmp_path, monkeypatch):
    from archive.store import database as store
    from archive.store.schema import MIGRATIONS

    path = tmp_path / "m.db"
    before_ids = 9  # the section ids are migration 10 (migrations are only ever appended)
    with monkeypatch.context() as patch:  # an archive from before the migration
        patch.setattr(store, "MIGRATIONS", MIGRATIONS[:before_ids])
        patch.setattr(store, "SCHEMA_VERSION", before_ids)
        archive = build_archive(path, seed=6)
        _add_sections(archive, random.Random(6))
        prepare(archive.db.conn)
        before = _sections_found(archive.db.conn, "公开")
        columns = [r[1] for r in archive.db.conn.execute("pragma table_info(report_sections)")]
        assert "id" not in columns and before
        archive.close()
    with Archive(path) as migrated:
        conn = migrated.db.conn
        assert [r[1] for r in conn.execute("pragma table_info(report_sections)")][0] == "id"
        assert _sections_found(conn, "公开") == before
        conn.execute("vacuum")
        assert _sections_found(conn, "公开") == before


def test_own_words_leave_out_what_the_template_prints():
    text = (
        "四、政府信息公开行政复议、行政诉讼情况\n"
        "（一）主动公开情况。全年发生行政复议3件。\n"
        "1.属于国家秘密\n申请人情况：自然人\n"
        "（二）改进情况：加强培训，提升政策解读质量。"
    )
    kept = own_words(text)
    assert "全年发生行政复议3件。" in kept and "加强培训，提升政策解读质量。" in kept
    for printed in ("四、政府信息公开", "主动公开情况", "国家秘密", "申请人情况", "改进情况"):
        assert printed not in kept, printed
    # A numbered sentence is the report's own, not a heading.
    assert own_words("（一）加强培训，全年组织培训3次") == "（一）加强培训，全年组织培训3次"


def _said(conn, word: str) -> set[int]:
    return {
        r[0]
        for r in conn.execute(
            f"select rowid from {NARRATIVE_FTS} where {NARRATIVE_FTS} match ?", [fts_query(word)]
        )
    }


def test_the_narrative_index_holds_what_each_report_says_itself(archive):
    """New reports are added to it, a reparse rebuilds it; their facets row follows."""
    conn = archive.db.conn
    new = add_report(archive, random.Random(4), SITES[2], 2024, text="征地拆迁 复议")
    archive.insert(
        "report_sections",
        {
            "report_id": new,
            "section": 4,
            "section_key": "review_litigation",
            "heading": "四、政府信息公开行政复议、行政诉讼情况",
            "text": "（一）主动公开情况。今年公开征地拆迁信息。",
            "chars": 20,
        },
    )
    conn.commit()
    summary = prepare(conn)
    assert (summary.changed, summary.search_rebuilt) == (1, False)  # added, not rebuilt
    assert new in _said(conn, "拆迁") and new in _said(conn, "淮安")  # its words, its region
    assert new not in _said(conn, "复议") and new not in _said(conn, "主动公开情况")
    facets = conn.execute(
        f"select year, level, province_code, names from {FACETS_TABLE} where report_id = ?", [new]
    ).fetchone()
    assert facets[:3] == (2024, "city", "320000") and "淮安市人民政府" in facets[3]
    with archive.transaction():
        conn.execute(
            "update report_sections set text = '今年办理低保信息公开。' where report_id = ?", [new]
        )
        conn.execute("update reports set parsed_at = '2099-01-01' where id = ?", [new])
    prepare(conn)
    assert new in _said(conn, "低保") and new not in _said(conn, "拆迁")
