"""The connection and the transaction for refreshing tables derived from the archive.

The publish stage keeps tables of its own in the archive — the wide tables, the search
indexes, the files a copy needs (:mod:`archive.publish.prepare`) — and refreshes them from
the stored ones. Their SQL is publish's; the connection it runs on and the one immediate
transaction that makes a refresh all or nothing (a reader sees the old derived tables or
the new ones, never a mix) are the store's.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from archive.store.database import Archive, _Transaction


@contextmanager
def refreshing(archive: Archive | sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """The archive's connection in one immediate transaction, committed when the block
    ends and rolled back if it fails — or, if a transaction is open on it already, in that
    one. ``archive``: an open Archive, or a connection to an archive file."""
    conn = archive.db.conn if isinstance(archive, Archive) else archive
    with _Transaction(conn):
        yield conn


@contextmanager
def refreshing_file(path: str | Path) -> Iterator[sqlite3.Connection | None]:
    """The archive file at ``path`` opened for a refresh, in one immediate transaction,
    and closed afterwards; None when the file cannot be opened or holds no archive (no
    ``reports`` table). A writer holding the lock makes this wait up to 30 s."""
    try:
        conn = sqlite3.connect(str(path), timeout=30, isolation_level=None)
    except sqlite3.Error:
        yield None
        return
    try:
        if not conn.execute("select 1 from sqlite_master where name = 'reports'").fetchone():
            yield None
            return
        with refreshing(conn):
            yield conn
    finally:
        conn.close()
