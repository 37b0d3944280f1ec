"""The store: the SQLite archive and the reference data every later stage reads.

- ``database.py`` — :class:`Archive`, the one way in and out of the archive file
- ``schema.py`` — the tables and their migrations
- ``shards.py`` — a distributed crawl's records: written by each worker into its shard,
  read from the shards and merged into one archive
- ``summaries.py`` — what the nightly job reports, read while a crawl may be writing
- ``runs.py`` — crawl runs read from an archive opened read-only (a paused crawl's last
  run, a run written out as WARC)
- ``copies.py`` — consistent copies of the archive (whole, or without the raw bodies)
  and what a copy holds
- ``derived.py`` — the connection and the one transaction in which publish refreshes
  the tables it derives from the archive
- ``templates.py`` + ``report_template.csv`` — the report templates (2019, 2021) as data
- ``regions.py`` + ``regions.csv`` — the administrative divisions, by code
- ``registry.py`` — reading and validating the site registry CSV

Nothing here imports from the later stages (parse, checks, export, publish, jobs).

**The store is the only code that opens transactions or writes SQL to the archive.**
Outside ``archive/store/``, no module of ``nianbao/``, ``crawler/`` or ``archive/``

- opens a database (``sqlite3.connect``): connections to an archive, a shard or a copy
  are opened here;
- reaches for an Archive's connection (``archive.db``, ``archive.conn``): the caller asks
  the archive in the domain's words (``archive.begin()``, ``shards.crawl_run(archive,
  …)``, ``summaries.crawl_run_summary(db, run_id)`` …);
- calls ``.execute`` / ``.executemany`` / ``.executescript`` — but a Redis pipeline's
  ``execute()`` is Redis, and ``archive/publish/`` runs Datasette's queries and its own
  derived-table SQL on the connections the store (:mod:`archive.store.derived`) or
  Datasette hands it;
- spells a transaction (``BEGIN``, ``COMMIT``, ``ROLLBACK``), publish included, or a
  statement that writes, defines or tunes a database (``INSERT``, ``UPDATE``,
  ``DELETE``, ``REPLACE``, ``CREATE``, ``DROP``, ``ALTER``, ``VACUUM``, ``PRAGMA``),
  publish apart (its derived tables, views and queries are its own).

``tests/store/test_sql_boundary.py`` reads every module with :mod:`ast` and names each
breach as ``file:line``.
"""

from archive.store.database import (
    Archive,
    ArchiveError,
    ArchiveMissing,
    ArchiveUnwritable,
    DiskFull,
    NotAnArchive,
    SchemaError,
    check_archive,
    now,
    sha256,
    storage_error,
)

__all__ = [
    "Archive",
    "ArchiveError",
    "ArchiveMissing",
    "ArchiveUnwritable",
    "DiskFull",
    "NotAnArchive",
    "SchemaError",
    "check_archive",
    "now",
    "sha256",
    "storage_error",
]
