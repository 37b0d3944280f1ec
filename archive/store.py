"""The archive: one SQLite file holding what was fetched and what was read from it.

Raw captures are kept byte for byte beside the parsed tables, so that any number
can be traced to the bytes it came from and the parser can be re-run without
refetching. The schema carries a version (``PRAGMA user_version``) and a list of
migrations: opening an older archive upgrades it in place. WAL mode lets
Datasette read while a crawl writes.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils

BUSY_TIMEOUT_MS = 30_000


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


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
MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_run_sql(_SCHEMA_1)]
SCHEMA_VERSION = len(MIGRATIONS)


class Archive:
    """The archive database. A library first: the CLI, the crawler's item pipeline
    and the parse stage all go through this class."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(self.path), timeout=BUSY_TIMEOUT_MS / 1000,
                               isolation_level=None)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        self.db = sqlite_utils.Database(conn)
        self.db.enable_wal()
        conn.execute("PRAGMA foreign_keys = ON")
        self.migrate()

    def close(self) -> None:
        self.db.conn.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- schema ------------------------------------------------------------
    @property
    def schema_version(self) -> int:
        return self.db.execute("PRAGMA user_version").fetchone()[0]

    def migrate(self) -> None:
        """Bring the schema to SCHEMA_VERSION, one migration per transaction."""
        version = self.schema_version
        if version > SCHEMA_VERSION:
            raise RuntimeError(f"{self.path} has schema version {version}, newer than this "
                               f"nianbao ({SCHEMA_VERSION}); upgrade nianbao")
        for number in range(version + 1, SCHEMA_VERSION + 1):
            with self.transaction():
                MIGRATIONS[number - 1](self.db.conn)
                self.db.conn.execute(f"PRAGMA user_version = {number}")

    def transaction(self):
        return _Transaction(self.db.conn)

    def insert(self, table: str, record: dict) -> int:
        """Plain INSERT inside the caller's transaction (sqlite-utils would commit early)."""
        columns = list(record)
        sql = (f"INSERT INTO {table} ({', '.join(columns)}) "
               f"VALUES ({', '.join('?' for _ in columns)})")
        return self.db.conn.execute(sql, [record[c] for c in columns]).lastrowid

    def update(self, table: str, pk: int, record: dict) -> None:
        sets = ", ".join(f"{c} = ?" for c in record)
        self.db.conn.execute(f"UPDATE {table} SET {sets} WHERE id = ?", [*record.values(), pk])

    # -- sites -------------------------------------------------------------
    def load_sites(self, rows: list[dict]) -> None:
        with self.transaction():
            for row in rows:
                record = {**row, "loaded_at": now()}
                columns = list(record)
                self.db.conn.execute(
                    f"INSERT INTO sites ({', '.join(columns)}) VALUES "
                    f"({', '.join('?' for _ in columns)}) ON CONFLICT(site_id) DO UPDATE SET "
                    + ", ".join(f"{c} = excluded.{c}" for c in columns if c != "site_id"),
                    [record[c] for c in columns])

    def site(self, site_id: str | None) -> dict | None:
        if not site_id:
            return None
        rows = list(self.db["sites"].rows_where("site_id = ?", [site_id]))
        return rows[0] if rows else None

    # -- crawl runs ----------------------------------------------------------
    def start_run(self, sites_csv: str | None, pid: int) -> int:
        with self.transaction():
            return self.insert("crawl_runs", {
                "started_at": now(), "status": "running", "sites_csv": sites_csv, "pid": pid,
                "pages_fetched": 0, "captures_stored": 0, "failures": 0,
            })

    def finish_run(self, run_id: int, status: str, stats: dict) -> None:
        counts = {
            "pages_fetched": stats.get("response_received_count", 0),
            "captures_stored": self.db.execute(
                "select count(*) from captures where run_id = ?", [run_id]).fetchone()[0],
            "failures": self.db.execute(
                "select count(*) from captures where run_id = ? and (error is not null "
                "or status >= 400)", [run_id]).fetchone()[0],
        }
        with self.transaction():
            self.update("crawl_runs", run_id, {
                "finished_at": now(), "status": status, **counts,
                "stats": json.dumps(stats, default=str, ensure_ascii=False, sort_keys=True),
            })

    # -- captures ------------------------------------------------------------
    def add_capture(self, capture: dict) -> int:
        """Store one fetch. The body goes in as bytes, exactly as received."""
        body = capture.get("body")
        record = {
            **capture,
            "size": len(body) if body is not None else None,
            "sha256": sha256(body) if body is not None else None,
            "fetched_at": capture.get("fetched_at") or now(),
        }
        for key in ("headers", "redirects"):
            if isinstance(record.get(key), dict | list):
                record[key] = json.dumps(record[key], ensure_ascii=False)
        with self.transaction():
            return self.insert("captures", record)

    def captures_to_parse(self, everything: bool = False) -> Iterator[dict]:
        """Captures that may hold a report: detail pages and attachments with a body."""
        where = "role in ('report', 'attachment') and body is not null and status < 400"
        if not everything:
            where += " and parse_status is null"
        ids = [r[0] for r in self.db.execute(f"select id from captures where {where} order by id")]
        for capture_id in ids:
            yield self.db["captures"].get(capture_id)

    def mark_capture(self, capture_id: int, status: str, message: str | None,
                     parser_version: str) -> None:
        with self.transaction():
            self.update("captures", capture_id, {
                "parse_status": status, "parse_message": message, "parsed_at": now(),
                "parser_version": parser_version,
            })

    # -- reports ---------------------------------------------------------------
    def save_report(self, report: dict, cells: list[dict], findings: list[dict]) -> int:
        """Insert or update the report with this document's SHA-256, with its cells and findings."""
        with self.transaction():
            existing = self.db.execute("select id from reports where sha256 = ?",
                                       [report["sha256"]]).fetchone()
            if existing:
                report_id = existing[0]
                self.update("reports", report_id, report)
                self.db.execute("delete from cells where report_id = ?", [report_id])
                self.db.execute("delete from findings where report_id = ?", [report_id])
            else:
                previous = self.db.execute(
                    "select max(id) from reports where url = ? and sha256 != ?",
                    [report["url"], report["sha256"]]).fetchone()[0]
                report_id = self.insert("reports", {**report, "previous_id": previous})
            for cell in cells:
                self.insert("cells", {**cell, "report_id": report_id})
            for finding in findings:
                self.insert("findings", {**finding, "report_id": report_id})
        return report_id

    def drop_report(self, sha: str) -> None:
        """Forget the report read from a document that no longer reads as one."""
        with self.transaction():
            row = self.db.execute("select id from reports where sha256 = ?", [sha]).fetchone()
            if row:
                self.db.execute("update reports set previous_id = null where previous_id = ?",
                                [row[0]])
                for table in ("cells", "findings"):
                    self.db.execute(f"delete from {table} where report_id = ?", [row[0]])
                self.db.execute("delete from reports where id = ?", [row[0]])

    def counts(self) -> dict[str, int]:
        return {t: self.db[t].count for t in ("sites", "captures", "reports", "cells",
                                              "findings", "crawl_runs")}


class _Transaction:
    """BEGIN IMMEDIATE … COMMIT, so a writer waits for the lock instead of failing later."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn
        self.owner = False

    def __enter__(self):
        if not self.conn.in_transaction:
            self.conn.execute("BEGIN IMMEDIATE")
            self.owner = True
        return self

    def __exit__(self, exc_type, exc, tb):
        if self.owner:
            self.conn.execute("ROLLBACK" if exc_type else "COMMIT")
        return False
