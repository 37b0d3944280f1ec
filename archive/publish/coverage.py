"""How much of the country the archive covers: the coverage view, in Chinese.

The store keeps, per registry row, what the crawls have proven (``site_coverage``,
:mod:`archive.store.coverage`). A reader wants it beside the row's agency, province,
city and level, with Chinese headers and words, to facet on: how many of 河南省's county
governments ever gave a report, which rows never did and why. ``站点覆盖`` is that: one
row per registry row (``sites``, a row never crawled included, as ``从未抓到``), its
region from ``regions``, its level and stage in Chinese, the dates of the furthest proof,
its last crawl and error, and how many reports the archive holds of it. A plain SQL view,
so a copy opened without nianbao shows it too; its facets and the stored queries that
add it up by region (``coverage_by_region``) and list the rows without a report
(``never_reported``) are in ``datasette_metadata.json``.
"""

from __future__ import annotations

import sqlite3

from archive.publish.labels import CONTEXT_HEADERS

COVERAGE_VIEW = "站点覆盖"
# The registry's levels, as a reader says them.
LEVELS = {
    "ministry": "国务院部门",
    "province": "省级政府",
    "prefecture": "市级政府",
    "county": "县级政府",
    "department": "政府部门",
    "township": "乡镇街道",
}
NO_LEVEL = "未注明"
# What the crawls have proven of a row, furthest first.
STAGES = {
    "reports_found": "找到年报",
    "column_found": "找到年报栏目",
    "portal_answered": "网站有应答",
    "never_fetched": "从未抓到",
}


def _case(column: str, words: dict[str, str], otherwise: str) -> str:
    whens = " ".join(f"WHEN '{key}' THEN '{word}'" for key, word in words.items())
    return f"CASE {column} {whens} ELSE '{otherwise}' END"


def _proof(edge: str) -> str:
    """The first or last (``edge``) date the row's furthest stage was proven."""
    return (
        f"CASE c.proven WHEN 'reports_found' THEN c.reports_{edge}_at "
        f"WHEN 'column_found' THEN c.column_{edge}_at "
        f"WHEN 'portal_answered' THEN c.answered_{edge}_at END"
    )


# Reports the archive holds of the row: the current versions (none superseded).
_ARCHIVED = (
    "(SELECT count(*) FROM reports r WHERE r.site_id = s.site_id AND NOT EXISTS "
    "(SELECT 1 FROM reports n WHERE n.previous_id = r.id))"
)
COLUMNS = {
    CONTEXT_HEADERS["site_id"]: "s.site_id",
    CONTEXT_HEADERS["agency"]: "s.agency",
    CONTEXT_HEADERS["province"]: "g.province",
    CONTEXT_HEADERS["city"]: "g.city",
    CONTEXT_HEADERS["district"]: "g.district",
    "层级": _case("s.level", LEVELS, NO_LEVEL),
    "已证实": _case("coalesce(c.proven, 'never_fetched')", STAGES, STAGES["never_fetched"]),
    "首次证实": _proof("first"),
    "最近证实": _proof("last"),
    "发现报告页数": "c.reports_found",
    "存档报告数": _ARCHIVED,
    "最近抓取": "c.last_crawled_at",
    "最近状态": "c.last_status",
    "最近错误": "c.last_error",
    "最近错误时间": "c.last_error_at",
    CONTEXT_HEADERS["region_code"]: "s.region_code",
    "起始网址": "s.start_url",
}


def refresh_coverage_view(conn: sqlite3.Connection) -> None:
    """(Re)create the view; an archive from before coverage (not migrated yet: served
    read-only, or a copy) gets none rather than one that fails on every page."""
    names = {r[0] for r in conn.execute("select name from sqlite_master where type = 'table'")}
    if not {"sites", "site_coverage", "regions", "reports"} <= names:
        conn.execute(f'DROP VIEW IF EXISTS "{COVERAGE_VIEW}"')
        return
    select = ", ".join(f'{sql} AS "{header}"' for header, sql in COLUMNS.items())
    create = (
        f'CREATE VIEW "{COVERAGE_VIEW}" AS SELECT {select} FROM sites s '
        "LEFT JOIN site_coverage c ON c.site_id = s.site_id "
        "LEFT JOIN regions g ON g.region_code = s.region_code"
    )
    found = conn.execute("select sql from sqlite_master where name = ?", [COVERAGE_VIEW]).fetchone()
    if found and found[0] == create:
        return  # unchanged: no schema change for Datasette's readers to pick up
    conn.execute(f'DROP VIEW IF EXISTS "{COVERAGE_VIEW}"')
    conn.execute(create)
