"""The tables Datasette shows beyond the stored ones, derived from them and kept fresh.

:func:`prepare`, which the parse stage calls when it finishes, refreshes the ``regions``
table, the wide tables ``report_t2`` / ``report_t3`` / ``report_t4``
(:mod:`archive.publish.views`) and the Chinese search index ``reports_fts``
(:mod:`archive.publish.search`). Work is incremental: only reports whose ``parsed_at``
changed since the last call are rewritten.
"""

from __future__ import annotations

import sqlite3
import sys
from dataclasses import dataclass
from pathlib import Path

from archive.publish.search import (
    index_reports,
    index_sections,
    rebuild_index,
    rebuild_sections_index,
)
from archive.publish.views import refresh_wide_tables
from archive.store.regions import refresh_regions

STATE_SCHEMA = """
CREATE TABLE IF NOT EXISTS publish_state (
    report_id INTEGER PRIMARY KEY, parsed_at TEXT
)
"""


@dataclass
class PrepareSummary:
    """What :func:`prepare` rewrote: report counts, and whether it started over."""

    changed: int = 0
    removed: int = 0
    full: bool = False
    search_rebuilt: bool = False


def prepare(conn: sqlite3.Connection) -> PrepareSummary:
    """Bring the derived tables and the search index up to date with ``reports``.

    One transaction: a reader sees the old derived tables or the new ones, never a mix.
    """
    owner = not conn.in_transaction
    if owner:
        conn.execute("BEGIN IMMEDIATE")
    try:
        summary = _prepare(conn)
    except BaseException:
        if owner:
            conn.execute("ROLLBACK")
        raise
    if owner:
        conn.execute("COMMIT")
    return summary


def _prepare(conn: sqlite3.Connection) -> PrepareSummary:
    conn.execute(STATE_SCHEMA)
    refresh_regions(conn)
    known = conn.execute("select count(*) from publish_state").fetchone()[0]
    changed = [
        r[0]
        for r in conn.execute(
            "select r.id from reports r left join publish_state s on s.report_id = r.id "
            "where s.report_id is null or s.parsed_at is not r.parsed_at order by r.id"
        )
    ]
    stale = conn.execute(
        "select count(*) from reports r join publish_state s on s.report_id = r.id "
        "where s.parsed_at is not r.parsed_at"
    ).fetchone()[0]
    removed = [
        r[0]
        for r in conn.execute(
            "select s.report_id from publish_state s left join reports r on r.id = s.report_id "
            "where r.id is null"
        )
    ]
    full = known == 0 or not _derived_tables_exist(conn)
    summary = PrepareSummary(len(changed), len(removed), full)
    if full:
        refresh_wide_tables(conn, None)
        rebuild_index(conn)
        rebuild_sections_index(conn)
        summary.search_rebuilt = True
    elif changed or removed:
        refresh_wide_tables(conn, changed + removed)
        if stale or removed:
            rebuild_index(conn)
            rebuild_sections_index(conn)
            summary.search_rebuilt = True
        else:
            index_reports(conn, changed)
            index_sections(conn, changed)
    _save_state(conn, full, changed, removed)
    return summary


def _derived_tables_exist(conn: sqlite3.Connection) -> bool:
    names = {r[0] for r in conn.execute("select name from sqlite_master")}
    return {"report_t2", "report_t3", "report_t4", "reports_fts", "report_sections_fts"} <= names


def _save_state(
    conn: sqlite3.Connection, full: bool, changed: list[int], removed: list[int]
) -> None:
    if full:
        conn.execute("delete from publish_state")
        conn.execute("insert into publish_state select id, parsed_at from reports")
        return
    conn.executemany("delete from publish_state where report_id = ?", [[i] for i in removed])
    conn.executemany(
        "insert or replace into publish_state select id, parsed_at from reports where id = ?",
        [[i] for i in changed],
    )


def prepare_file(db: str | Path) -> PrepareSummary | None:
    """:func:`prepare` on an archive file; None when it cannot be written now (a
    read-only snapshot, or a writer holding the lock for 30 s): it is served as it is."""
    try:
        conn = sqlite3.connect(str(db), timeout=30, isolation_level=None)
    except sqlite3.Error:
        return None
    try:
        if not conn.execute("select 1 from sqlite_master where name = 'reports'").fetchone():
            return None
        return prepare(conn)
    except sqlite3.OperationalError as exc:
        if not any(w in str(exc) for w in ("readonly", "read-only", "locked", "busy")):
            raise
        print(f"{db}: search index and wide tables not refreshed ({exc})", file=sys.stderr)
        return None
    finally:
        conn.close()
