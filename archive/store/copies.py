"""Copies of the archive, each one consistent moment, taken while a crawl may write it.

- :func:`vacuum_into`: the whole archive, raw bodies included, compacted — ``VACUUM INTO``
  under one read transaction;
- :func:`copy_without_blobs`: every table and index, full-text indexes and views included,
  every BLOB column (the raw bodies in ``captures.body``) emptied — copied table by table
  inside one read transaction of the source (WAL lets the crawl go on writing meanwhile);
  full-text index shadow tables are copied as they are, so search works in the copy
  without a rebuild;
- :func:`publish_files` and :func:`contents`: what a copy carries, read back from it.

A copy is one file (rollback journal, not WAL), for downloading. Naming, publishing and
checking the copies is :mod:`archive.export.snapshot`'s.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

_BUSY_MS = 30_000


@dataclass
class Contents:
    """What a copy holds: row counts of its tables, its schema version, and SQLite's
    ``quick_check`` of it (``"ok"`` for a sound file)."""

    tables: dict[str, int]
    schema_version: int
    integrity: str


def _connect_source(source: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(
        f"file:{source.resolve()}?mode=ro", uri=True, isolation_level=None, timeout=_BUSY_MS / 1000
    )
    conn.execute(f"PRAGMA busy_timeout = {_BUSY_MS}")
    return conn


def vacuum_into(source: Path, target: Path) -> None:
    """The whole archive, consistent and compacted, as one file in rollback-journal mode."""
    conn = _connect_source(source)
    try:
        conn.execute("VACUUM INTO ?", [str(target)])
    finally:
        conn.close()
    _single_file(target)


def _single_file(target: Path) -> None:
    """Downloaded copies must be one file: switch a WAL header back to a rollback journal."""
    conn = sqlite3.connect(target, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = DELETE")
    finally:
        conn.close()


def copy_without_blobs(source: Path, target: Path) -> None:
    """Copy schema and rows in one read transaction of the source, BLOB columns emptied."""
    conn = sqlite3.connect(target, isolation_level=None, uri=True, timeout=_BUSY_MS / 1000)
    try:
        conn.execute(f"PRAGMA busy_timeout = {_BUSY_MS}")
        conn.execute("PRAGMA journal_mode = OFF")  # a half-written .part file is discarded anyway
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("ATTACH DATABASE ? AS src", [f"file:{source.resolve()}?mode=ro"])
        conn.execute("BEGIN")
        _copy_schema_and_rows(conn)
        conn.execute("COMMIT")
        conn.execute("DETACH DATABASE src")
        conn.execute("PRAGMA synchronous = FULL")
    finally:
        conn.close()
    _single_file(target)


def _copy_schema_and_rows(conn: sqlite3.Connection) -> None:
    kinds = {row[1]: row[2] for row in conn.execute("PRAGMA src.table_list") if row[0] == "src"}
    schema = conn.execute(
        "select type, name, tbl_name, sql from src.sqlite_master "
        "where sql is not null order by rowid"
    ).fetchall()
    tables = [
        (n, sql)
        for t, n, _, sql in schema
        if t == "table" and kinds.get(n) == "table" and not n.startswith("sqlite_")
    ]
    virtual = [(n, sql) for t, n, _, sql in schema if t == "table" and kinds.get(n) == "virtual"]
    for _, sql in tables + virtual:
        conn.execute(sql)
    for name, _ in tables:
        _copy_rows(conn, name, empty_blobs=True)
    for name, kind in kinds.items():
        if kind == "shadow":  # full-text index internals, created empty by CREATE VIRTUAL TABLE
            conn.execute(f"DELETE FROM main.{_q(name)}")
            _copy_rows(conn, name, empty_blobs=False)
    if "sqlite_sequence" in kinds:
        conn.execute("DELETE FROM main.sqlite_sequence")
        conn.execute("INSERT INTO main.sqlite_sequence SELECT * FROM src.sqlite_sequence")
    if "sqlite_stat1" in kinds:  # the query planner's statistics, so the copy plans alike
        conn.execute("ANALYZE main.sqlite_schema")  # creates sqlite_stat1, which CREATE may not
        conn.execute("DELETE FROM main.sqlite_stat1")
        conn.execute("INSERT INTO main.sqlite_stat1 SELECT * FROM src.sqlite_stat1")
    for kind in ("index", "trigger", "view"):
        for t, _, _, sql in schema:
            if t == kind:
                conn.execute(sql)
    version = conn.execute("PRAGMA src.user_version").fetchone()[0]
    conn.execute(f"PRAGMA main.user_version = {int(version)}")


def _copy_rows(conn: sqlite3.Connection, table: str, empty_blobs: bool) -> None:
    columns = conn.execute(f"PRAGMA src.table_info({_q(table)})").fetchall()
    names = ", ".join(_q(c[1]) for c in columns)
    values = ", ".join(
        "NULL" if empty_blobs and (c[2] or "").upper() == "BLOB" else _q(c[1]) for c in columns
    )
    conn.execute(f"INSERT INTO main.{_q(table)} ({names}) SELECT {values} FROM src.{_q(table)}")


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def publish_files(copy: Path) -> dict[str, str] | None:
    """The files the publish stage keeps in the archive (``publish_files``: name → text),
    as the copy holds them; None when the archive was never prepared for publishing."""
    conn = sqlite3.connect(f"file:{copy.resolve()}?mode=ro", uri=True)
    try:
        return dict(conn.execute("select name, content from publish_files").fetchall())
    except sqlite3.OperationalError:
        return None
    finally:
        conn.close()


def contents(copy: Path) -> Contents:
    """The copy's tables with their row counts, its schema version and its quick_check."""
    conn = sqlite3.connect(f"file:{copy.resolve()}?mode=ro", uri=True)
    try:
        kinds = {row[1]: row[2] for row in conn.execute("PRAGMA main.table_list")}
        tables = {
            name: conn.execute(f"select count(*) from {_q(name)}").fetchone()[0]
            for name, kind in sorted(kinds.items())
            if kind == "table" and not name.startswith("sqlite_")
        }
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        integrity = conn.execute("PRAGMA quick_check").fetchone()[0]
    finally:
        conn.close()
    return Contents(tables, version, integrity)


def table_counts(copy: Path, skip: Iterable[str] = ()) -> dict[str, int]:
    """The row count of every table of a file that never changes (a snapshot), full-text
    indexes and their shadow tables included, but those in ``skip`` (counted already)."""
    skipped = set(skip)
    conn = sqlite3.connect(f"file:{copy.resolve()}?mode=ro&immutable=1", uri=True)
    try:
        names = [r[0] for r in conn.execute("select name from sqlite_master where type = 'table'")]
        return {
            name: conn.execute(f"select count(*) from {_q(name)}").fetchone()[0]
            for name in names
            if name not in skipped
        }
    finally:
        conn.close()
