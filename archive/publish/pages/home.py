"""What the front page and the database page lead with: the way into the reports.

Search, the regions that have reports, the latest reports archived and the reports
whose arithmetic fails; findings counted apart as *fails* (the numbers don't add up)
and *notes* (a rule could not be decided because cells were blank). Every query here
runs on an index, so the page stays fast on an archive of 100,000 reports
(``benchmarks/datasette_bench.py``).
"""

from __future__ import annotations

import sqlite3
from typing import Any

# How the database page groups the tables: readers' first, raw material folded away.
READER_TABLES = (
    "reports",
    "表三_依申请公开",
    "表四_复议诉讼",
    "表二_主动公开",
    "findings",
    "regions",
    "sites",
)
API_TABLES = (
    "report_t3",
    "report_t4",
    "report_t2",
    "region_year_sums",
    "cells",
    "report_originals",
    "labels",
    "report_reviews",
    "cell_corrections",
)
RAW_TABLES = ("captures", "crawl_runs", "crawl_site_counts", "publish_state", "report_facets")
LATEST = 12


def front_page(conn: sqlite3.Connection) -> dict:
    conn.row_factory = sqlite3.Row
    names = {r[0] for r in conn.execute("select name from sqlite_master")}
    regions = "regions" in names
    fails, notes = _finding_counts(conn)
    # Two subqueries: each reads one end of the year index (one query for both scans it).
    first, last = conn.execute(
        "select (select min(year) from reports), (select max(year) from reports)"
    ).fetchone()
    return {
        "reports": conn.execute("select count(*) from reports").fetchone()[0],
        "agencies": conn.execute("select count(distinct agency) from reports").fetchone()[0],
        "years": (first, last),
        "fails": fails,
        "notes": notes,
        "latest": _latest(conn, regions),
        "failing": _failing(conn),
        "regions": _regions(conn) if regions else [],
    }


def _finding_counts(conn: sqlite3.Connection) -> tuple[dict, dict]:
    """Fails and notes, each as findings and the reports they are on: one pass."""
    row = conn.execute(
        "select count(case when status = 'fail' then 1 end), "
        "count(distinct case when status = 'fail' then report_id end), "
        "count(case when status != 'fail' then 1 end), "
        "count(distinct case when status != 'fail' then report_id end) from findings"
    ).fetchone()
    fails = {"findings": row[0], "reports": row[1]}
    notes: dict[str, Any] = {"findings": row[2], "reports": row[3]}
    return fails, notes


def _latest(conn: sqlite3.Connection, regions: bool) -> list[dict]:
    region = "g.full_name" if regions else "r.region"
    join = "left join regions g on g.region_code = r.region_code " if regions else ""
    return [
        dict(r)
        for r in conn.execute(
            f"select r.id, r.title, r.agency, r.year, r.published, {region} as region, "
            "(select count(*) from findings f where f.report_id = r.id and f.status = 'fail') "
            f"as fails from reports r {join}order by r.id desc limit ?",
            [LATEST],
        )
    ]


def _failing(conn: sqlite3.Connection) -> list[dict]:
    return [
        dict(r)
        for r in conn.execute(
            "select f.report_id, count(*) as fails, r.agency, r.year, r.title, "
            "max(abs(coalesce(f.found, 0) - coalesce(f.expected, 0))) as largest "
            "from findings f join reports r on r.id = f.report_id where f.status = 'fail' "
            "group by f.report_id order by f.report_id desc limit ?",
            [LATEST],
        )
    ]


def _regions(conn: sqlite3.Connection) -> list[dict]:
    """Provinces with their cities (or districts of a municipality) and report counts."""
    provinces: dict[str, dict] = {}
    rows = conn.execute(
        "select g.province, g.province_code, g.city, g.city_code, sum(c.n) as reports from "
        "(select region_code, count(*) as n from reports group by region_code) c "
        "join regions g on g.region_code = c.region_code "
        "group by g.province_code, g.city_code order by g.province_code, g.city_code"
    ).fetchall()
    for row in rows:
        name = row["province"] or "（未知地区）"
        province = provinces.setdefault(
            name, {"name": name, "code": row["province_code"], "reports": 0, "cities": []}
        )
        province["reports"] += row["reports"]
        if row["city"] and row["city"] != row["province"]:
            province["cities"].append(
                {"name": row["city"], "code": row["city_code"], "reports": row["reports"]}
            )
    return list(provinces.values())


def group_tables(tables: list[dict], views: list[dict]) -> dict[str, list[dict]]:
    """Datasette's table and view list, in the order a reader needs them."""
    everything = {t["name"]: {**t, "kind": "table"} for t in tables if not t.get("hidden")}
    everything.update({v["name"]: {**v, "kind": "view"} for v in views})
    groups: dict[str, list[dict]] = {"reader": [], "api": [], "raw": []}
    for name in READER_TABLES:
        if name in everything:
            groups["reader"].append(everything.pop(name))
    for name in API_TABLES:
        if name in everything:
            groups["api"].append(everything.pop(name))
    for name in RAW_TABLES:
        if name in everything:
            groups["raw"].append(everything.pop(name))
    groups["reader"] += sorted(everything.values(), key=lambda t: t["name"])  # e.g. sections
    return groups
