"""The store: the SQLite archive and the reference data every later stage reads.

- ``database.py`` — :class:`Archive`, the one way in and out of the archive file
- ``schema.py`` — the tables and their migrations
- ``templates.py`` + ``report_template.csv`` — the report templates (2019, 2021) as data
- ``regions.py`` + ``regions.csv`` — the administrative divisions, by code
- ``registry.py`` — reading and validating the site registry CSV

Nothing here imports from the later stages (parse, checks, export, publish, jobs).
"""

from archive.store.database import (
    Archive,
    ArchiveError,
    ArchiveMissing,
    ArchiveUnwritable,
    DiskFull,
    SchemaError,
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
    "SchemaError",
    "now",
    "sha256",
    "storage_error",
]
