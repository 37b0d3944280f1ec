"""A region's yearly sums read from the rollup equal those added up report by report.

Seeded random archives: agencies of several districts, cities and provinces with years
missing, reports replaced by newer versions, blank cells, failing rules, reports read by
OCR, and reports without a year;
every region, both bases and a few year ranges are compared between the rollup and
the wide tables. An agency whose reports moved to another region code makes its
regions fall back to the wide tables, still with the same answer.
"""

from __future__ import annotations

import json
import random
import re

import pytest

from archive.publish import metadata_path, prepare, rollup
from archive.publish.pages import compare as compare_page
from archive.publish.pages.compare import Options, compare
from archive.store import Archive
from tests.publish.test_publish_search import add_report

PLACES = [
    ("410711", "河南省新乡市牧野区"),
    ("410702", "河南省新乡市红旗区"),
    ("410700", "河南省新乡市"),
    ("320803", "江苏省淮安市淮安区"),
    ("310000", "上海市"),
]


def random_archive(path, seed: int) -> Archive:
    rng = random.Random(seed)
    archive = Archive(path)
    sites = []
    for i in range(12):
        code, region = rng.choice(PLACES)
        sites.append(
            {
                "site_id": f"s{i}",
                "agency": f"机关{i}",
                "region_code": code,
                "region": region,
                "level": "department",
                "start_url": f"http://127.0.0.1/{i}",
            }
        )
    archive.load_sites(sites)
    conn = archive.db.conn
    for site in sites:
        for year in range(2019, 2025):
            if rng.random() < 0.3:
                continue  # a year the agency published nothing
            report_id = add_report(archive, rng, site, year)
            if rng.random() < 0.2:  # a newer version replaces it
                newer = add_report(archive, rng, site, year)
                conn.execute("update reports set previous_id = ? where id = ?", [report_id, newer])
            if rng.random() < 0.3:  # blank cells
                conn.execute(
                    "update cells set value = null, raw = '' where report_id = ? and rowid % 3 = 0",
                    [report_id],
                )
            if rng.random() < 0.3:  # a failing rule: its numbers are counted apart
                row = rng.choice(["review", "litigation_direct"])
                cells = [f"t4.{row}.{c}" for c in ("upheld", "corrected", "total")]
                rows = ["new_requests", "granted", "withheld_third_party", "unable_unclear"]
                cells += [f"t3.{rng.choice(rows)}.total", "t3.rejected_duplicate.total"]
                conn.execute(
                    "insert into findings (report_id, rule, table_key, row_key, status, expected, "
                    "found, cells) values (?, 't4_total', 't4', ?, 'fail', 1, 2, ?)",
                    [report_id, row, json.dumps(cells)],
                )
            if rng.random() < 0.15:  # read by OCR
                conn.execute("update reports set cell_source = 'ocr' where id = ?", [report_id])
                conn.execute(
                    "update cells set confidence = 0.9 where report_id = ? and value is not null",
                    [report_id],
                )
    if rng.random() < 0.5:  # a report whose year could not be read
        conn.execute("update reports set year = null where id = (select max(id) from reports)")
    conn.commit()
    return archive


def both_ways(conn, options: Options, monkeypatch) -> tuple[dict, dict]:
    fast = compare(conn, options)
    with monkeypatch.context() as patch:
        patch.setattr(compare_page.rollup, "covers", lambda conn, codes: False)
        slow = compare(conn, options)
    return fast, slow


REGIONS = ["牧野区", "红旗区", "新乡市", "河南省", "淮安区", "江苏省", "上海市", "410711"]
RANGES = [(None, None), (2020, 2023), (2022, None), (None, 2019)]


@pytest.mark.parametrize("seed", range(6))
def test_the_rollup_gives_the_same_sums_as_the_wide_tables(tmp_path, seed, monkeypatch):
    archive = random_archive(tmp_path / "nb.db", seed)
    conn = archive.db.conn
    prepare(conn)
    used = 0
    for region in REGIONS:
        for basis in ("steady", "all"):
            for start, end in RANGES:
                options = Options(region=region, basis=basis, start=start, end=end)
                fast, slow = both_ways(conn, options, monkeypatch)
                assert fast == slow, (region, basis, start, end)
                codes = compare_page.resolve_region(conn, region).get("codes")
                used += bool(codes) and rollup.covers(conn, codes)
    assert used  # the rollup was read, not only the fallback
    marked = conn.execute(
        "select sum(t4_review_upheld_failing + t4_litigation_direct_upheld_failing), "
        "sum(t4_review_upheld_machine + t4_review_total_machine + t3_granted_machine) "
        "from region_year_sums"
    ).fetchone()
    assert all(marked)  # the archives do have failing and machine-read numbers to count
    archive.close()


def test_an_agency_that_moved_between_codes_falls_back_to_the_wide_tables(tmp_path, monkeypatch):
    archive = random_archive(tmp_path / "nb.db", 1)
    conn = archive.db.conn
    # s0's last report carries another code (a county that became a district).
    moved = conn.execute(
        "select id, region_code from reports where site_id = 's0' order by year desc limit 1"
    ).fetchone()
    other = next(code for code, _ in PLACES if code != moved[1])
    conn.execute("update reports set region_code = ? where id = ?", [other, moved[0]])
    conn.commit()
    prepare(conn)
    assert not rollup.covers(conn, [other]) and not rollup.covers(conn, [moved[1]])
    for region in (other, moved[1], "河南省"):
        fast, slow = both_ways(conn, Options(region=region), monkeypatch)
        assert fast == slow
    archive.close()


def test_the_rollup_follows_new_reports(tmp_path, monkeypatch):
    archive = random_archive(tmp_path / "nb.db", 2)
    conn = archive.db.conn
    prepare(conn)
    before = compare(conn, Options(region="新乡市", basis="all"))
    site = {
        "site_id": "late",
        "agency": "新机关",
        "region_code": "410702",
        "region": "河南省新乡市红旗区",
        "level": "department",
        "start_url": "http://127.0.0.1/late",
    }
    archive.load_sites([site])
    add_report(archive, random.Random(9), site, 2024)
    conn.commit()
    prepare(conn)  # incremental: the rollup is rebuilt with the wide tables
    after, slow = both_ways(conn, Options(region="新乡市", basis="all"), monkeypatch)
    assert after == slow and after != before
    archive.close()


QUERIES = json.loads(metadata_path().read_text(encoding="utf-8"))["databases"]["*"]["queries"]


def region_query(conn, name: str, **given) -> list[tuple]:
    sql = QUERIES[name]["sql"]
    params = {p: given.get(p, "") for p in re.findall(r"(?<![:\w]):(\w+)", sql)}
    return conn.execute(sql, params).fetchall()


@pytest.mark.parametrize("seed", range(3))
def test_the_region_queries_read_the_rollup_and_agree_with_the_wide_tables(tmp_path, seed):
    """region_requests, region_requests_steady and outcomes add up the rollup where it is
    exact and the wide tables elsewhere (an agency split between codes): the same rows."""
    archive = random_archive(tmp_path / "nb.db", seed)
    conn = archive.db.conn
    prepare(conn)
    asked = [
        ("region_requests", {}),
        ("region_requests_steady", {"from_year": "2020"}),
        ("region_requests_steady", {"to_year": "2023"}),
        ("outcomes", {"year": "2023"}),
        ("outcomes", {}),
    ]
    for region in ["", *REGIONS]:
        for omit in ("", "1"):
            for name, given in asked:
                args = {"region": region, "omit_failing": omit, **given}
                fast = region_query(conn, name, **args)
                # A split agency anywhere the region reaches: the wide tables are read instead.
                conn.execute(
                    "insert into region_sums_split (site_id, agency, region_code) "
                    "select 'x', 'y', region_code from regions"
                )
                slow = region_query(conn, name, **args)
                conn.execute("delete from region_sums_split where site_id = 'x'")
                assert fast == slow, (name, args)
    counted = region_query(conn, "region_requests", region="", omit_failing="")
    assert counted and any(row[5 + 1] for row in counted)  # failing numbers were counted
    archive.close()
