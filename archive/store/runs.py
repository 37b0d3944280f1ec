"""Crawl runs read from an archive opened read-only, while another process may write it.

Nothing here creates, migrates or locks the archive: a crawl about to start asks what
the last run of its registry was (:func:`last_run`: may Scrapy's saved queue be used?)
before it opens the archive to write, and a run is written out as WARC capture by
capture (:class:`RunReader`).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path


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


class RunReader:
    """An archive opened read-only to write one crawl run out, capture by capture (the WARC
    files of :mod:`archive.export.warc`). Rows come as dicts."""

    def __init__(self, db: str | Path):
        self.conn = sqlite3.connect(f"file:{Path(db).resolve()}?mode=ro", uri=True)
        self.conn.row_factory = sqlite3.Row

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> RunReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def run(self, run_id: int | None) -> dict | None:
        """The crawl run ``run_id`` (the latest when None); None when there is no such run."""
        if run_id is None:
            row = self.conn.execute("select * from crawl_runs order by id desc limit 1").fetchone()
        else:
            row = self.conn.execute("select * from crawl_runs where id = ?", [run_id]).fetchone()
        return dict(row) if row else None

    def schema_version(self) -> int:
        return self.conn.execute("PRAGMA user_version").fetchone()[0]

    def capture_ids(self, run_id: int) -> list[int]:
        """The run's captures in the order they were stored (read one by one: bodies are big)."""
        return [
            r[0]
            for r in self.conn.execute(
                "select id from captures where run_id = ? order by id", [run_id]
            )
        ]

    def capture(self, capture_id: int) -> dict:
        return dict(
            self.conn.execute("select * from captures where id = ?", [capture_id]).fetchone()
        )

    def capture_source(self, capture_id: int) -> dict | None:
        """id, url, final_url, fetched_at and sha256 of a capture (the one holding the bytes
        of a revisit)."""
        row = self.conn.execute(
            "select id, url, final_url, fetched_at, sha256 from captures where id = ?",
            [capture_id],
        ).fetchone()
        return dict(row) if row else None

    def first_with_payload(self, sha: str, before: int, run_id: int | None = None) -> dict | None:
        """The first capture (id, url, final_url, fetched_at, sha256) that holds the body
        with this SHA-256 and came before capture ``before`` — in run ``run_id`` only, if
        given."""
        sql = (
            "select id, url, final_url, fetched_at, sha256 from captures where sha256 = ? "
            "and status is not null and body is not null and id < ?"
        )
        args: list = [sha, before]
        if run_id is not None:
            sql += " and run_id = ?"
            args.append(run_id)
        row = self.conn.execute(sql + " order by id limit 1", args).fetchone()
        return dict(row) if row else None
