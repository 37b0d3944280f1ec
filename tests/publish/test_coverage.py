"""Coverage you can see: a crawl of the simulated web records what it proved of each
registry row, and Datasette shows it by province, city and level, in Chinese, with the
stored queries that add it up and list the rows that never gave a report."""

from __future__ import annotations

import asyncio
import csv
import json
import sqlite3
from urllib.parse import quote

import pytest
from datasette.app import Datasette
from datasette.utils import tilde_encode

from archive.publish import metadata_path, prepare
from archive.publish.coverage import COVERAGE_VIEW
from archive.publish.serve import SETTINGS
from archive.store import Archive
from tests.conftest import free_port
from tests.crawling import crawl

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def covered(simweb, tmp_path_factory):
    """Two sites of the simulated web as the registry has them, and three rows that prove
    less: a start page that links to nothing, a start URL that is gone (404), a host that
    refuses connections. Crawled once, prepared for Datasette."""
    out = tmp_path_factory.mktemp("coverage")
    with open(simweb.sites_csv, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        header, rows = reader.fieldnames or [], list(reader)
    first, second = rows[0], rows[1]
    base = first["start_url"].split("/", 3)[:3]
    host = first["allowed_domains"]
    page = "/".join(base) + "/robots.txt"  # a page that answers and links to nothing
    extra = [
        {**first, "site_id": "answers-only", "agency": "某局", "level": "department",
         "start_url": page, "allowed_domains": host},
        {**first, "site_id": "gone", "agency": "某委", "level": "department",
         "start_url": "/".join(base) + "/no-such-column/", "allowed_domains": host},
        {**first, "site_id": "refused", "agency": "无人县人民政府", "region_code": "410000",
         "region": "河南省", "level": "province",
         "start_url": f"http://127.0.0.1:{free_port()}/", "allowed_domains": "127.0.0.1"},
    ]  # fmt: skip
    registry = out / "sites.csv"
    with open(registry, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, header)
        writer.writeheader()
        writer.writerows([first, second, *extra])
    db = out / "archive.db"
    crawl(registry, db, ok=(3,))  # most of its sites failed, as they were made to
    with Archive(db) as archive:
        prepare(archive)
    metadata = json.loads(metadata_path().read_text(encoding="utf-8"))
    ds = Datasette([str(db)], metadata=metadata, settings=SETTINGS)
    return ds, db, [first["site_id"], second["site_id"]]


def get(ds, url: str):
    return asyncio.run(ds.client.get(url))


def rows(ds, url: str) -> list[dict]:
    response = get(ds, url + ("&" if "?" in url else "?") + "_shape=objects&_size=max")
    assert response.status_code == 200, response.text[:500]
    return response.json()["rows"]


def test_the_crawl_records_what_it_proved_of_each_row(covered):
    _, db, crawled_sites = covered
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    got = {r["site_id"]: dict(r) for r in conn.execute("select * from site_coverage")}
    last_read = dict(conn.execute("select site_id, max(fetched_at) from captures group by site_id"))
    conn.close()
    assert {s: got[s]["proven"] for s in got} == {
        **dict.fromkeys(crawled_sites, "reports_found"),
        "answers-only": "portal_answered",
        "gone": "never_fetched",
        "refused": "never_fetched",
    }
    for site_id in crawled_sites:
        row = got[site_id]
        assert row["reports_found"] >= 1 and row["last_status"] == "ok"
        assert row["reports_first_at"] == row["reports_last_at"] == last_read[site_id]
        assert row["last_error"] is None
    assert got["gone"]["last_status"] == "http_error" and "404" in got["gone"]["last_error"]
    assert got["refused"]["last_error"].startswith("refused: ")
    assert got["answers-only"]["answered_first_at"] == last_read["answers-only"]


def test_the_coverage_view_facets_by_province_city_and_level(covered):
    ds, _, crawled_sites = covered
    facets = "&".join(f"_facet={quote(f)}" for f in ("省级", "地市级", "层级", "已证实"))
    data = get(ds, f"/archive/{tilde_encode(COVERAGE_VIEW)}.json?{facets}&_shape=objects").json()
    results = {
        name: {v["value"]: v["count"] for v in facet["results"]}
        for name, facet in data["facet_results"].items()
    }
    assert results["已证实"] == {"找到年报": 2, "网站有应答": 1, "从未抓到": 2}
    assert results["层级"]["政府部门"] == 2 and results["层级"]["省级政府"] == 1
    assert results["省级"]["河南省"] >= 1 and sum(results["省级"].values()) == 5
    assert results["地市级"]
    by_site = {r["站点"]: r for r in data["rows"]}
    assert by_site["refused"]["最近状态"] == "refused" and by_site["refused"]["首次证实"] is None
    assert by_site[crawled_sites[0]]["首次证实"] and by_site[crawled_sites[0]]["起始网址"]
    html = get(ds, f"/archive/{tilde_encode(COVERAGE_VIEW)}").text
    assert "站点覆盖" in html and "已证实" in html and "找到年报" in html


def test_stored_queries_add_coverage_up_and_list_rows_without_a_report(covered):
    ds, _, crawled_sites = covered
    totals = rows(ds, "/archive/coverage_by_region.json?province=")
    assert sum(r["登记站点"] for r in totals) == 5
    assert sum(r["找到年报"] for r in totals) == 2
    assert sum(r["从未抓到"] for r in totals) == 2
    henan = rows(ds, f"/archive/coverage_by_region.json?province={quote('河南省')}")
    assert henan and henan == rows(ds, "/archive/coverage_by_region.json?province=410000")
    never = {r["站点"]: r for r in rows(ds, "/archive/never_reported.json?region=")}
    assert set(never) == {"answers-only", "gone", "refused"}
    assert never["gone"]["已证实"] == "从未抓到" and "404" in never["gone"]["最近错误"]
    assert never["answers-only"]["已证实"] == "网站有应答"
    assert not set(crawled_sites) & set(never)
