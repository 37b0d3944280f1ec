"""Crawl runs read from an archive opened read-only, while another process may write it.

Nothing here creates, migrates or locks the archive: a crawl about to start asks what
the last run of its registry was (to decide whether Scrapy's saved queue may be used),
before it opens the archive to write.
"""

from __future__ import annotations

import sqlite3


def last_run(db: str, sites_csv: str | None) -> tuple[int, str | None] | None:
    """The id and status of the last run of ``sites_csv`` in the archive ``db``: None when
    there is none, or when the file cannot be read as an archive."""
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
        try:
            row = conn.execute(
                "select id, status from crawl_runs where sites_csv is ? order by id desc limit 1",
                [sites_csv],
            ).fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return None
    return (row[0], row[1]) if row else None
