"""``核对记录``: every report someone reviewed or corrected, in Chinese, for facets.

A view over the review tables (:mod:`archive.store.reviews`) and ``reports``: one row per
report with a verdict or a correction in force — 报告编号, 机关, 地区, 年度, 结论 (核对无误 /
有争议; empty when only cells were corrected), 备注, 核对人, 核对时间, 校正单元格数, 标题.
A newsroom filters it for what is disputed, or what someone corrected; it is plain SQL,
so a snapshot opened without nianbao has it too. Made by every publish
(:func:`archive.publish.prepare.prepare`).
"""

from __future__ import annotations

import sqlite3

from archive.store.reviews import has_reviews

REVIEW_VIEW = "核对记录"

_SELECT = """
WITH verdict AS (
    SELECT v.report_sha256, v.status, v.note, v.reviewer, v.reviewed_at
    FROM report_reviews v
    WHERE v.id = (SELECT max(l.id) FROM report_reviews l
                  WHERE l.report_sha256 = v.report_sha256)
      AND v.status != 'withdrawn'
), fixes AS (
    SELECT k.report_sha256, count(*) AS n, max(k.corrected_at) AS at
    FROM cell_corrections k
    WHERE k.withdrawn = 0 AND k.id = (
        SELECT max(l.id) FROM cell_corrections l
        WHERE l.report_sha256 = k.report_sha256 AND l.table_key = k.table_key
          AND l.row_key = k.row_key AND l.col_key = k.col_key)
    GROUP BY k.report_sha256
), touched AS (
    SELECT report_sha256 FROM verdict UNION SELECT report_sha256 FROM fixes
)
SELECT r.id AS "报告编号", r.agency AS "机关", r.region AS "地区", r.year AS "年度",
    CASE v.status WHEN 'checked' THEN '核对无误' WHEN 'disputed' THEN '有争议' END AS "结论",
    v.note AS "备注", v.reviewer AS "核对人", v.reviewed_at AS "核对时间",
    coalesce(f.n, 0) AS "校正单元格数", f.at AS "最近校正时间", r.title AS "标题"
FROM touched t
JOIN reports r ON r.sha256 = t.report_sha256
LEFT JOIN verdict v ON v.report_sha256 = t.report_sha256
LEFT JOIN fixes f ON f.report_sha256 = t.report_sha256
"""


def refresh_review_view(conn: sqlite3.Connection) -> None:
    """(Re)create the view; an archive from before reviews (served read-only, not
    migrated) gets none rather than one that fails on every page."""
    if not has_reviews(conn):
        conn.execute(f'DROP VIEW IF EXISTS "{REVIEW_VIEW}"')
        return
    create = f'CREATE VIEW "{REVIEW_VIEW}" AS {_SELECT.strip()}'
    found = conn.execute("select sql from sqlite_master where name = ?", [REVIEW_VIEW]).fetchone()
    if found and found[0] == create:
        return  # unchanged: no schema change for Datasette's readers to pick up
    conn.execute(f'DROP VIEW IF EXISTS "{REVIEW_VIEW}"')
    conn.execute(create)
