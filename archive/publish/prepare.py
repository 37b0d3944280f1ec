"""The tables Datasette shows beyond the stored ones, derived from them and kept fresh.

:func:`prepare`, which the parse stage calls when it finishes, refreshes the ``regions``
table (and the coverage view over it, :mod:`archive.publish.coverage`), the wide tables
``report_t2`` / ``report_t3`` / ``report_t4``
(:mod:`archive.publish.views`) with each region's yearly sums (:mod:`archive.publish.rollup`),
the Chinese search indexes ``reports_fts`` and ``reports_long_fts``, and the search
page's ranking indexes and facets (:mod:`archive.publish.search`), and keeps the metadata
and README a copy opened without nianbao needs (:mod:`archive.publish.standalone`). Work
is incremental: only reports whose ``parsed_at`` changed since the last call are
rewritten, and the search indexes are rebuilt only when a report's title, text, agency
or region changed, a report disappeared, or (the sections' and the ranking's) a report
was parsed again.
"""

from __future__ import annotations

import hashlib
import sqlite3
import sys
from dataclasses import dataclass
from pathlib import Path

from archive.publish import rollup, views
from archive.publish.coverage import refresh_coverage_view
from archive.publish.labels import label_rows
from archive.publish.review_view import refresh_review_view
from archive.publish.search import (
    index_is_current,
    index_narrative,
    index_reports,
    index_sections,
    narrative_index_is_current,
    rebuild_index,
    rebuild_narrative_index,
    rebuild_sections_index,
    refresh_facets,
    sections_index_is_current,
)
from archive.publish.standalone import ship
from archive.publish.views import refresh_wide_tables
from archive.store import Archive
from archive.store.derived import refreshing, refreshing_file
from archive.store.regions import refresh_regions

STATE_SCHEMA = """
CREATE TABLE IF NOT EXISTS publish_state (
    report_id INTEGER PRIMARY KEY, parsed_at TEXT, search_key TEXT
)
"""


@dataclass
class PrepareSummary:
    """What :func:`prepare` rewrote: report counts, and whether it started over."""

    changed: int = 0
    removed: int = 0
    full: bool = False
    search_rebuilt: bool = False


def prepare(archive: Archive | sqlite3.Connection) -> PrepareSummary:
    """Bring the derived tables and the search index up to date with ``reports``.

    One transaction, the store's (:func:`archive.store.derived.refreshing`): a reader sees
    the old derived tables or the new ones, never a mix. ``archive``: an open Archive, or
    a connection to an archive file.
    """
    with refreshing(archive) as conn:
        return _prepare(conn)


def _prepare(conn: sqlite3.Connection) -> PrepareSummary:
    conn.execute(STATE_SCHEMA)
    if "search_key" not in {r[1] for r in conn.execute("pragma table_info(publish_state)")}:
        conn.execute("ALTER TABLE publish_state ADD COLUMN search_key TEXT")
    conn.create_function("nianbao_search_key", 4, search_key, deterministic=True)
    refresh_regions(conn)
    refresh_coverage_view(conn)
    refresh_review_view(conn)
    known = conn.execute("select count(*) from publish_state").fetchone()[0]
    changed, retexted = [], False
    for report_id, known_before, state_key, key in conn.execute(
        "select r.id, s.report_id is not null, s.search_key, "
        "nianbao_search_key(r.title, r.text, r.agency, r.region) from reports r "
        "left join publish_state s on s.report_id = r.id "
        "where s.report_id is null or s.parsed_at is not r.parsed_at order by r.id"
    ):
        changed.append(report_id)
        retexted = retexted or (known_before and state_key != key)
    removed = [
        r[0]
        for r in conn.execute(
            "select s.report_id from publish_state s left join reports r on r.id = s.report_id "
            "where r.id is null"
        )
    ]
    full = known == 0 or not _derived_tables_exist(conn)
    summary = PrepareSummary(len(changed), len(removed), full)
    # An index missing or of an older layout (an archive from before it) is built alone,
    # not the reports' too; built, it already holds this call's new reports.
    sections_built = not full and not sections_index_is_current(conn)
    if sections_built:
        rebuild_sections_index(conn)
    narrative_built = not full and not narrative_index_is_current(conn)
    if narrative_built:
        rebuild_narrative_index(conn)  # the search page's ranking and facets
    summary.search_rebuilt = sections_built or narrative_built
    relaid = not full and not views.is_current(conn)
    if relaid:  # wide tables of an older layout (before the checks): rewritten whole
        refresh_wide_tables(conn, None)
    if full:
        refresh_wide_tables(conn, None)
        rebuild_index(conn)
        rebuild_sections_index(conn)
        rebuild_narrative_index(conn)
        summary.search_rebuilt = True
    elif changed or removed:
        if not relaid:
            refresh_wide_tables(conn, changed + removed)
        if retexted or removed:
            rebuild_index(conn)
            rebuild_sections_index(conn)
            rebuild_narrative_index(conn)
            summary.search_rebuilt = True
        else:
            new = [
                r[0]
                for r in conn.execute(
                    "select r.id from reports r left join publish_state s "
                    "on s.report_id = r.id where s.report_id is null"
                )
            ]
            index_reports(conn, new)
            # A reparsed report's sections are new rows: the old ones' n-grams cannot be
            # taken out of the index one by one (see rebuild_index), so it is rebuilt.
            reparsed = bool(set(changed) - set(new))
            if reparsed and not sections_built:
                rebuild_sections_index(conn)
            elif not sections_built:
                index_sections(conn, new)
            if reparsed and not narrative_built:
                rebuild_narrative_index(conn)
            elif not narrative_built:
                refresh_facets(conn)
                index_narrative(conn, new)
    if full or relaid or changed or removed or not rollup.is_current(conn):
        rollup.refresh(conn)
    _save_state(conn, full, changed, removed)
    _refresh_labels(conn)
    ship(conn)
    return summary


LABELS_SCHEMA = "CREATE TABLE IF NOT EXISTS labels (key TEXT PRIMARY KEY, label TEXT NOT NULL)"


def _refresh_labels(conn: sqlite3.Connection) -> None:
    """The Chinese names the stored queries show for keys (``labels``): rules, statuses,
    rows, columns, cells, sections; plain SQL can join them, in a copy without nianbao.
    Rewritten only when they changed."""
    conn.execute(LABELS_SCHEMA)
    rows = label_rows()
    if conn.execute("SELECT key, label FROM labels ORDER BY key").fetchall() != sorted(rows):
        conn.execute("DELETE FROM labels")
        conn.executemany("INSERT INTO labels (key, label) VALUES (?, ?)", rows)


def search_key(*columns: str | None) -> str:
    """What the search index holds of a report (title, text, agency, region), as a
    digest: equal keys, nothing to redo."""
    digest = hashlib.sha1(usedforsecurity=False)
    for column in columns:
        digest.update((column or "").encode("utf-8", "surrogatepass") + b"\x00")
    return digest.hexdigest()


def _derived_tables_exist(conn: sqlite3.Connection) -> bool:
    names = {r[0] for r in conn.execute("select name from sqlite_master")}
    return {"report_t2", "report_t3", "report_t4"} <= names and index_is_current(conn)


def _save_state(
    conn: sqlite3.Connection, full: bool, changed: list[int], removed: list[int]
) -> None:
    state = (
        "insert or replace into publish_state (report_id, parsed_at, search_key) "
        "select id, parsed_at, nianbao_search_key(title, text, agency, region) from reports"
    )
    if full:
        conn.execute("delete from publish_state")
        conn.execute(state)
        return
    conn.executemany("delete from publish_state where report_id = ?", [[i] for i in removed])
    conn.executemany(state + " where id = ?", [[i] for i in changed])


def prepare_file(db: str | Path) -> PrepareSummary | None:
    """:func:`prepare` on an archive file; None when it cannot be written now (a
    read-only snapshot, or a writer holding the lock for 30 s): it is served as it is."""
    try:
        with refreshing_file(db) as conn:
            return None if conn is None else _prepare(conn)
    except sqlite3.OperationalError as exc:
        if not any(w in str(exc) for w in ("readonly", "read-only", "locked", "busy")):
            raise
        print(f"{db}: search index and wide tables not refreshed ({exc})", file=sys.stderr)
        return None
