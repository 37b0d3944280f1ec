"""The archive's schema: every table, and the append-only list of migrations.

``PRAGMA user_version`` holds the number of migrations applied; opening an older archive
runs the rest, one transaction each (see :meth:`archive.store.database.Archive.migrate`).
The tables are described for users in ``docs/interfaces.md``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

_SCHEMA_1 = """
CREATE TABLE sites (
    site_id TEXT PRIMARY KEY, agency TEXT, region_code TEXT, region TEXT, level TEXT,
    start_url TEXT, allowed_domains TEXT, cms TEXT, encoding TEXT, extra TEXT, loaded_at TEXT
);
CREATE TABLE crawl_runs (
    id INTEGER PRIMARY KEY, started_at TEXT, finished_at TEXT, status TEXT, sites_csv TEXT,
    pid INTEGER, pages_fetched INTEGER, captures_stored INTEGER, failures INTEGER, stats TEXT
);
CREATE TABLE captures (
    id INTEGER PRIMARY KEY, run_id INTEGER REFERENCES crawl_runs(id),
    site_id TEXT REFERENCES sites(site_id), url TEXT NOT NULL, final_url TEXT, status INTEGER,
    method TEXT, fetched_at TEXT, content_type TEXT, size INTEGER, sha256 TEXT, body BLOB,
    headers TEXT, role TEXT, referer TEXT, redirects TEXT, error TEXT,
    parse_status TEXT, parse_message TEXT, parsed_at TEXT, parser_version TEXT
);
CREATE INDEX idx_captures_sha256 ON captures(sha256);
CREATE INDEX idx_captures_url ON captures(url);
CREATE INDEX idx_captures_site_id ON captures(site_id);
CREATE INDEX idx_captures_parse_status ON captures(parse_status);
CREATE TABLE reports (
    id INTEGER PRIMARY KEY, capture_id INTEGER REFERENCES captures(id),
    site_id TEXT REFERENCES sites(site_id), agency TEXT, registry_agency TEXT,
    region_code TEXT, region TEXT, year INTEGER, template TEXT, title TEXT, url TEXT,
    published TEXT, format TEXT, sha256 TEXT NOT NULL, text TEXT, parse_status TEXT,
    cell_count INTEGER, finding_count INTEGER, fee_yuan REAL, warnings TEXT,
    previous_id INTEGER REFERENCES reports(id), parsed_at TEXT, parser_version TEXT
);
CREATE UNIQUE INDEX idx_reports_sha256 ON reports(sha256);
CREATE INDEX idx_reports_url ON reports(url);
CREATE INDEX idx_reports_site_id ON reports(site_id);
CREATE INDEX idx_reports_region_code ON reports(region_code);
CREATE INDEX idx_reports_year ON reports(year);
CREATE INDEX idx_reports_template ON reports(template);
CREATE INDEX idx_reports_parse_status ON reports(parse_status);
CREATE INDEX idx_reports_agency ON reports(agency);
CREATE TABLE cells (
    report_id INTEGER NOT NULL REFERENCES reports(id), table_key TEXT NOT NULL,
    row_key TEXT NOT NULL, col_key TEXT NOT NULL, value NUMERIC, raw TEXT,
    PRIMARY KEY (report_id, table_key, row_key, col_key)
);
CREATE INDEX idx_cells_keys ON cells(table_key, row_key, col_key);
CREATE TABLE findings (
    id INTEGER PRIMARY KEY, report_id INTEGER NOT NULL REFERENCES reports(id), rule TEXT,
    table_key TEXT, row_key TEXT, col_key TEXT, status TEXT, expected NUMERIC, found NUMERIC,
    cells TEXT, message TEXT
);
CREATE INDEX idx_findings_report_id ON findings(report_id);
CREATE INDEX idx_findings_rule ON findings(rule);
"""


def _run_sql(script: str) -> Callable[[sqlite3.Connection], None]:
    def migrate(conn: sqlite3.Connection) -> None:
        for statement in script.split(";"):
            if statement.strip():
                conn.execute(statement)

    return migrate


# Each entry upgrades the schema by one version. Append, never edit a released one.
# DDL is transactional in SQLite: a migration either happens whole or not at all.
# Migration 2: incremental and resumable crawling. A capture may be a revisit (the server
# said 304, or sent the bytes already stored: no new body, ``revisit_of`` the capture that
# holds them); a run may resume an interrupted one; every run counts what each site gave.
_SCHEMA_2 = """
ALTER TABLE captures ADD COLUMN revisit_of INTEGER REFERENCES captures(id);
ALTER TABLE captures ADD COLUMN not_modified INTEGER;
ALTER TABLE crawl_runs ADD COLUMN resumes INTEGER REFERENCES crawl_runs(id);
CREATE INDEX idx_captures_run_id ON captures(run_id);
CREATE TABLE crawl_site_counts (
    run_id INTEGER NOT NULL REFERENCES crawl_runs(id), site_id TEXT NOT NULL,
    pages_fetched INTEGER, not_modified INTEGER, new INTEGER, changed INTEGER,
    unchanged INTEGER, failed INTEGER, failed_by_reason TEXT, reports_found INTEGER,
    blocked TEXT, alert TEXT,
    PRIMARY KEY (run_id, site_id)
);
"""

# One report, several originals: the article page and the signed PDF it attaches are
# the same report. Every report's own capture is its primary original.
_SCHEMA_3 = """
CREATE TABLE report_originals (
    report_id INTEGER NOT NULL REFERENCES reports(id),
    capture_id INTEGER NOT NULL REFERENCES captures(id),
    sha256 TEXT NOT NULL, url TEXT, format TEXT, role TEXT,
    PRIMARY KEY (report_id, sha256)
);
CREATE INDEX idx_report_originals_sha256 ON report_originals(sha256);
CREATE INDEX idx_report_originals_capture_id ON report_originals(capture_id);
INSERT INTO report_originals (report_id, capture_id, sha256, url, format, role)
    SELECT id, capture_id, sha256, url, format, 'primary' FROM reports
    WHERE capture_id IS NOT NULL;
"""

# The narrative: a report's text split into its preface and six sections (searchable),
# and the figures its text states that disagree with its tables — findings of their own
# kind, apart from the arithmetic ``findings``. Reports parsed before this migration get
# their sections and narrative findings at their next ``reparse``.
_SCHEMA_NARRATIVE = """
CREATE TABLE report_sections (
    report_id INTEGER NOT NULL REFERENCES reports(id), section INTEGER NOT NULL,
    section_key TEXT NOT NULL, heading TEXT, text TEXT, chars INTEGER,
    PRIMARY KEY (report_id, section)
);
CREATE INDEX idx_report_sections_key ON report_sections(section_key);
CREATE TABLE narrative_findings (
    id INTEGER PRIMARY KEY, report_id INTEGER NOT NULL REFERENCES reports(id), rule TEXT,
    status TEXT, stated NUMERIC, table_value NUMERIC, cells TEXT, section INTEGER,
    quote TEXT, message TEXT
);
CREATE INDEX idx_narrative_findings_report_id ON narrative_findings(report_id);
CREATE INDEX idx_narrative_findings_rule ON narrative_findings(rule);
ALTER TABLE reports ADD COLUMN narrative_finding_count INTEGER;
"""

# The blank-cell audit: of the cells a report's tables print, how many are empty, a dash
# or slash, or 0 — so that "the agency left the table empty" is a column, not a guess.
_SCHEMA_CELL_AUDIT = """
ALTER TABLE reports ADD COLUMN blank_cells INTEGER;
ALTER TABLE reports ADD COLUMN dash_cells INTEGER;
ALTER TABLE reports ADD COLUMN zero_cells INTEGER;
"""

# Tables read from pictures (scans, pasted images) by OCR: the report says so in
# ``cell_source`` ('ocr'; NULL when read from the document's text), and each cell keeps the
# recogniser's confidence in it (0-1; NULL for cells read from text). A cell the OCR was
# unsure of is NULL with a warning on the report, its confidence below the bar.
_SCHEMA_OCR = """
ALTER TABLE reports ADD COLUMN cell_source TEXT;
ALTER TABLE cells ADD COLUMN confidence REAL;
"""

# Crawls on several machines (crawler/distributed/leases.py, nianbao/merge.py). A worker's own
# archive (its shard) records the crawl it worked for, itself, and every lease of a site
# group it held and how the lease ended; merging shards carries these records into the
# main archive, where the whole crawl is one run (``distributed_crawls.run_id``).
_SCHEMA_DISTRIBUTED = """
CREATE TABLE distributed_crawls (
    crawl_id TEXT PRIMARY KEY, redis_prefix TEXT, sites_csv TEXT, enqueued_at TEXT,
    sites INTEGER, site_groups INTEGER, registry TEXT,
    run_id INTEGER REFERENCES crawl_runs(id)
);
CREATE TABLE crawl_workers (
    worker TEXT NOT NULL, crawl_id TEXT NOT NULL, run_id INTEGER REFERENCES crawl_runs(id),
    host TEXT, pid INTEGER, shard TEXT, started_at TEXT, stopped_at TEXT, stop_reason TEXT,
    merged_at TEXT, captures INTEGER, captures_added INTEGER,
    PRIMARY KEY (worker, crawl_id)
);
CREATE TABLE crawl_leases (
    crawl_id TEXT NOT NULL, group_id TEXT NOT NULL, attempt INTEGER NOT NULL,
    site_ids TEXT, worker TEXT, run_id INTEGER REFERENCES crawl_runs(id),
    claimed_at TEXT, ended_at TEXT, outcome TEXT, reason TEXT, captures INTEGER,
    PRIMARY KEY (crawl_id, group_id, attempt)
);
CREATE INDEX idx_crawl_leases_run_id ON crawl_leases(run_id);
"""

# Per site and run, one status an operator can act on (``ok``, ``dns_failed``, ``refused``,
# ``timeout``, ``tls_error``, ``network_error``, ``blocked``, ``robots_disallowed``,
# ``http_error``, ``no_report_column``, ``not_crawled``) and a sentence that says what to
# do about it.
_SCHEMA_SITE_STATUS = """
ALTER TABLE crawl_site_counts ADD COLUMN status TEXT;
ALTER TABLE crawl_site_counts ADD COLUMN status_detail TEXT;
CREATE INDEX idx_crawl_site_counts_status ON crawl_site_counts(status);
"""

# A report's page (Datasette's row view under it) counts the newer versions that point
# back to it: without an index that is a scan of every report (0.4 s at 100,000 reports).
_SCHEMA_PREVIOUS_INDEX = """
CREATE INDEX IF NOT EXISTS idx_reports_previous_id ON reports(previous_id);
"""

# A section row gets an explicit INTEGER PRIMARY KEY. Its rowid is the key of the
# sections' search index (report_sections_fts, content="report_sections"), and SQLite's
# VACUUM renumbers the rowids of a table without one: a researcher vacuuming a snapshot
# would have had the index point at other sections. The rowids are kept as the ids, so
# the index stays valid through the migration.
_SCHEMA_SECTION_IDS = """
CREATE TABLE report_sections_with_id (
    id INTEGER PRIMARY KEY, report_id INTEGER NOT NULL REFERENCES reports(id),
    section INTEGER NOT NULL, section_key TEXT NOT NULL, heading TEXT, text TEXT,
    chars INTEGER, UNIQUE (report_id, section)
);
INSERT INTO report_sections_with_id
    (id, report_id, section, section_key, heading, text, chars)
    SELECT rowid, report_id, section, section_key, heading, text, chars FROM report_sections;
DROP TABLE report_sections;
ALTER TABLE report_sections_with_id RENAME TO report_sections;
CREATE INDEX idx_report_sections_key ON report_sections(section_key);
"""

# The per-site counts at the end of every crawl (Archive._site_counts) read columns stored
# after a capture's body; a row read for them walks the body's overflow pages, which took
# 10-12 s at the end of a 3,000-site crawl (18,000 captures, 1.6 GB) — also after SIGTERM.
# With every column they read in one index, they read no row: 0.06 s.
_SCHEMA_SITE_COUNTS_INDEX = """
CREATE INDEX IF NOT EXISTS idx_captures_run_site ON captures(
    run_id, site_id, status, role, error, not_modified, revisit_of, url, (body IS NOT NULL)
);
"""

# One registry format (archive/store/registry.py): every column of it is a column of
# ``sites``, so that nothing a row says is lost between the CSV and the archive. Archives
# loaded before kept the columns they did not know in ``extra`` (JSON): those of the format
# move to their own columns; ``extra`` keeps only what the format does not name.
_REGISTRY_COLUMNS = (
    "start_kind",
    "source",
    "more_urls",
    "column_url",
    "listing",
    "pages",
    "reports_seen",
    "discovered_at",
    "discovered_from",
    "found_via",
    "notes",
)
_SCHEMA_REGISTRY_FORMAT = (
    "".join(
        f"ALTER TABLE sites ADD COLUMN {c} "
        f"{'INTEGER' if c in ('pages', 'reports_seen') else 'TEXT'};\n"
        for c in _REGISTRY_COLUMNS
    )
    + "UPDATE sites SET "
    + ", ".join(f"{c} = json_extract(extra, '$.{c}')" for c in _REGISTRY_COLUMNS)
    + ", extra = nullif(json_remove(extra, "
    + ", ".join(f"'$.{c}'" for c in _REGISTRY_COLUMNS)
    + "), '{}') WHERE json_valid(extra);\n"
)

# Coverage: per registry row, the furthest any crawl got — ``never_fetched``,
# ``portal_answered`` (a page of the site was read), ``column_found`` (a link to a report
# was followed from it), ``reports_found`` (a report page was read) — with the first and
# last time each was proven, and how the row's last crawl went. Every crawl (and every
# merge of workers' shards) updates the rows it crawled (archive/store/coverage.py).
# Archives crawled before start from their per-site counts: a run's time is its proof's,
# and a column is proven only with its reports (those counts did not keep report links).
_SCHEMA_COVERAGE = """
CREATE TABLE site_coverage (
    site_id TEXT PRIMARY KEY, proven TEXT NOT NULL,
    answered_first_at TEXT, answered_last_at TEXT,
    column_first_at TEXT, column_last_at TEXT,
    reports_first_at TEXT, reports_last_at TEXT, reports_found INTEGER,
    last_crawled_at TEXT, last_run_id INTEGER, last_status TEXT,
    last_error TEXT, last_error_at TEXT
);
CREATE INDEX idx_site_coverage_proven ON site_coverage(proven);
CREATE INDEX idx_crawl_site_counts_site_id ON crawl_site_counts(site_id);
WITH k AS (
    SELECT k.site_id, k.run_id, k.status, k.status_detail, k.reports_found,
        coalesce(r.finished_at, r.started_at) AS at,
        k.reports_found > 0 AS reports,
        k.reports_found > 0 OR (k.pages_fetched > 0 AND
            coalesce(k.status, 'ok') IN ('ok', 'no_report_column', 'not_crawled')) AS answered,
        coalesce(k.status, 'ok') NOT IN ('ok', 'not_crawled') AS failed
    FROM crawl_site_counts k JOIN crawl_runs r ON r.id = k.run_id
)
INSERT INTO site_coverage (
    site_id, proven, answered_first_at, answered_last_at, column_first_at, column_last_at,
    reports_first_at, reports_last_at, reports_found, last_crawled_at, last_run_id,
    last_status, last_error, last_error_at
)
SELECT site_id,
    CASE WHEN max(reports) THEN 'reports_found'
         WHEN max(answered) THEN 'portal_answered' ELSE 'never_fetched' END,
    min(CASE WHEN answered THEN at END), max(CASE WHEN answered THEN at END),
    min(CASE WHEN reports THEN at END), max(CASE WHEN reports THEN at END),
    min(CASE WHEN reports THEN at END), max(CASE WHEN reports THEN at END),
    (SELECT l.reports_found FROM k l WHERE l.site_id = k.site_id AND l.reports
        ORDER BY l.at DESC, l.run_id DESC LIMIT 1),
    max(at),
    (SELECT l.run_id FROM k l WHERE l.site_id = k.site_id ORDER BY l.at DESC, l.run_id DESC
        LIMIT 1),
    (SELECT l.status FROM k l WHERE l.site_id = k.site_id ORDER BY l.at DESC, l.run_id DESC
        LIMIT 1),
    (SELECT l.status || ': ' || coalesce(l.status_detail, '') FROM k l
        WHERE l.site_id = k.site_id AND l.failed ORDER BY l.at DESC, l.run_id DESC LIMIT 1),
    (SELECT l.at FROM k l WHERE l.site_id = k.site_id AND l.failed
        ORDER BY l.at DESC, l.run_id DESC LIMIT 1)
FROM k GROUP BY site_id;
"""

# Review and correction (archive/store/reviews.py): a person's verdict on a report (checked
# or disputed) and the value a person read in the original for one cell, each with a note,
# who and when. They are keyed by what survives a re-parse and a re-publish — the report's
# document (its SHA-256) and the cell's keys — never by ``reports.id``, and are never
# written over the parsed values: a correction keeps the value the parser had read when it
# was made, so that a later parse that reads something else is seen, not silently covered.
# Both are append-only histories; the newest row of a report, or of a cell, is in force.
_SCHEMA_REVIEWS = """
CREATE TABLE report_reviews (
    id INTEGER PRIMARY KEY, report_sha256 TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('checked', 'disputed', 'withdrawn')),
    note TEXT, reviewer TEXT NOT NULL, reviewed_at TEXT NOT NULL
);
CREATE INDEX idx_report_reviews_sha256 ON report_reviews(report_sha256, id);
CREATE TABLE cell_corrections (
    id INTEGER PRIMARY KEY, report_sha256 TEXT NOT NULL, table_key TEXT NOT NULL,
    row_key TEXT NOT NULL, col_key TEXT NOT NULL, value NUMERIC, raw TEXT,
    parsed_read INTEGER NOT NULL, parsed_value NUMERIC, parsed_raw TEXT,
    withdrawn INTEGER NOT NULL DEFAULT 0, note TEXT, reviewer TEXT NOT NULL,
    corrected_at TEXT NOT NULL
);
CREATE INDEX idx_cell_corrections_cell ON cell_corrections(
    report_sha256, table_key, row_key, col_key, id
);
"""

MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [
    _run_sql(_SCHEMA_1),
    _run_sql(_SCHEMA_2),
    _run_sql(_SCHEMA_3),
    _run_sql(_SCHEMA_NARRATIVE),
    _run_sql(_SCHEMA_CELL_AUDIT),
    _run_sql(_SCHEMA_OCR),
    _run_sql(_SCHEMA_DISTRIBUTED),
    _run_sql(_SCHEMA_SITE_STATUS),
    _run_sql(_SCHEMA_PREVIOUS_INDEX),
    _run_sql(_SCHEMA_SECTION_IDS),
    _run_sql(_SCHEMA_SITE_COUNTS_INDEX),
    _run_sql(_SCHEMA_REGISTRY_FORMAT),
    _run_sql(_SCHEMA_COVERAGE),
    _run_sql(_SCHEMA_REVIEWS),
]
SCHEMA_VERSION = len(MIGRATIONS)
