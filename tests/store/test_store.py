"""The archive database: schema, migrations, byte-for-byte captures, report versions."""

from __future__ import annotations

import sqlite3

import pytest

from archive.store import Archive
from archive.store import database as store


def test_new_archive_has_the_current_schema_in_wal_mode(tmp_path):
    with Archive(tmp_path / "a.db") as archive:
        assert archive.schema_version == store.SCHEMA_VERSION
        assert archive.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert {"sites", "captures", "reports", "cells", "findings", "crawl_runs"} <= set(
            archive.db.table_names()
        )


def test_migrations_run_once_and_in_order(tmp_path, monkeypatch):
    path = tmp_path / "a.db"
    Archive(path).close()
    calls = []
    monkeypatch.setattr(
        store,
        "MIGRATIONS",
        store.MIGRATIONS
        + [
            lambda conn: (calls.append(2), conn.execute("ALTER TABLE reports ADD COLUMN note TEXT"))
        ],
    )
    monkeypatch.setattr(store, "SCHEMA_VERSION", len(store.MIGRATIONS))
    with Archive(path) as archive:
        assert (
            archive.schema_version == store.SCHEMA_VERSION
            and "note" in archive.db["reports"].columns_dict
        )
    Archive(path).close()
    assert calls == [2]


def test_a_migration_another_process_applied_meanwhile_is_not_run_again(tmp_path, monkeypatch):
    """A crawl and ``process --follow`` open a new archive at once: the one that read the
    version before the other migrated finds each migration done, under the write lock."""
    path = tmp_path / "a.db"
    Archive(path).close()
    stale = iter([store.SCHEMA_VERSION - 2])  # what it read before the other's migrations
    real = Archive.schema_version
    monkeypatch.setattr(
        Archive, "schema_version", property(lambda self: next(stale, None) or real.fget(self))
    )
    with Archive(path) as archive:
        assert archive.schema_version == store.SCHEMA_VERSION


def test_a_failing_migration_leaves_the_archive_as_it_was(tmp_path, monkeypatch):
    path = tmp_path / "a.db"
    Archive(path).close()

    def broken(conn):
        conn.execute("ALTER TABLE reports ADD COLUMN half_done TEXT")
        raise RuntimeError("boom")

    monkeypatch.setattr(store, "MIGRATIONS", store.MIGRATIONS + [broken])
    monkeypatch.setattr(store, "SCHEMA_VERSION", len(store.MIGRATIONS))
    with pytest.raises(RuntimeError):
        Archive(path)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(store.MIGRATIONS) - 1
    assert "half_done" not in [r[1] for r in conn.execute("PRAGMA table_info(reports)")]


def test_an_archive_newer_than_the_code_is_refused(tmp_path):
    path = tmp_path / "a.db"
    Archive(path).close()
    sqlite3.connect(path).execute("PRAGMA user_version = 99")
    with pytest.raises(RuntimeError, match="newer"):
        Archive(path)


def test_capture_body_is_kept_byte_for_byte(tmp_path):
    body = bytes(range(256)) * 10 + "政府信息公开".encode("gb18030")
    with Archive(tmp_path / "a.db") as archive:
        run = archive.start_run(None, 1)
        cid = archive.add_capture(
            {
                "url": "http://x/",
                "status": 200,
                "body": body,
                "run_id": run,
                "headers": {"a": ["b"]},
            }
        )
        row = archive.db["captures"].get(cid)
    assert row["body"] == body and row["size"] == len(body)
    assert row["sha256"] == store.sha256(body)


def test_a_changed_report_is_a_new_version_linked_to_the_old(tmp_path):
    with Archive(tmp_path / "a.db") as archive:
        base = {"url": "http://x/r.html", "title": "t", "parse_status": "ok"}
        first = archive.save_report({**base, "sha256": "a"}, [], [])
        again = archive.save_report({**base, "sha256": "a"}, [], [])
        second = archive.save_report({**base, "sha256": "b"}, [], [])
        assert first == again != second
        assert archive.db["reports"].get(second)["previous_id"] == first


def test_site_counts_read_no_capture_row(tmp_path):
    """The per-site counts after every crawl (and every SIGTERM) come from an index: a row
    read walks its body's overflow pages (10 s at the end of a 3,000-site crawl); and the
    look-up of an earlier stored copy is made once per capture, not once per sum."""
    archive = Archive(tmp_path / "a.db")
    plan = " ".join(
        row[-1]
        for row in archive.db.execute(
            "explain query plan " + store.site_counts_sql("?, ?"), [1, 2]
        ).fetchall()
    )
    assert "MATERIALIZE c SEARCH captures USING INDEX idx_captures_run_site" in plan, plan
    assert "SCAN captures" not in plan, plan
    # "stored earlier" (a revisit that changed nothing) is asked once per capture
    assert plan.count("CORRELATED SCALAR SUBQUERY") == 1, plan


def test_a_site_left_part_read_by_a_stop_is_not_said_to_lack_a_report_column():
    """Stopped while reading a site (front page read, its reports not reached): the next
    crawl continues it; only a crawl that finished can say the column is missing."""
    counts = {"pages_fetched": 3, "reports_found": 0}
    start = (200, None, "http://a.example/", "http://a.example/")
    assert store.site_status(counts, start, finished=True)[0] == "no_report_column"
    status, detail = store.site_status(counts, start, finished=False)
    assert status == "not_crawled" and "stopped while reading" in detail and "3 pages" in detail
