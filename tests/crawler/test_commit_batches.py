"""Captures committed in batches: a crawl SIGKILLed at any moment, then run again, ends
with the archive an uninterrupted crawl gives — the lost batch is fetched again, nothing
is stored twice."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import time

import pytest

from tests.crawling import command, crawl_args

pytestmark = pytest.mark.e2e

# Small batches and a quick timer, so that kills land inside batches of every kind.
BATCHED = [
    "-s",
    "DOWNLOAD_DELAY=0.05",
    "-s",
    "AUTOTHROTTLE_ENABLED=False",
    "-s",
    "CONCURRENT_REQUESTS_PER_DOMAIN=2",
    "-s",
    "LOG_LEVEL=WARNING",
    "-s",
    "NIANBAO_COMMIT_EVERY=7",
    "-s",
    "NIANBAO_COMMIT_SECONDS=0.3",
]


def content(db) -> dict:
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"
        return {
            "captures": sorted(
                conn.execute(
                    "select url, final_url, status, sha256, role, error is null from captures"
                ).fetchall()
            ),
            "stored_twice": conn.execute(
                "select url from captures where body is not null "
                "group by url, sha256 having count(*) > 1"
            ).fetchall(),
        }
    finally:
        conn.close()


@pytest.fixture(scope="module")
def whole(simweb, tmp_path_factory):
    db = tmp_path_factory.mktemp("batches") / "whole.db"
    result = subprocess.run(
        command(*crawl_args(simweb.sites_csv, db, *BATCHED, fast=False)),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return content(db)


@pytest.mark.parametrize("trial", range(3))
def test_a_batched_crawl_killed_at_random_resumes_to_the_same_archive(
    simweb, whole, tmp_path, trial
):
    """Killed once a seeded random number of captures is committed (so always mid-crawl,
    however loaded the machine), with the batch after it still open."""
    rng = random.Random(f"batches:{trial}")
    at = rng.randint(3, len(whole["captures"]) - 10)
    db = tmp_path / "archive.db"
    proc = subprocess.Popen(
        command(*crawl_args(simweb.sites_csv, db, *BATCHED, fast=False)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    try:
        while committed(db) < at:
            assert proc.poll() is None, "the crawl ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.005)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    result = subprocess.run(
        command(*crawl_args(simweb.sites_csv, db, *BATCHED, fast=False)),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    resumed = content(db)
    assert resumed["stored_twice"] == []
    assert resumed["captures"] == whole["captures"]
    conn = sqlite3.connect(db)
    statuses = [r[0] for r in conn.execute("select status from crawl_runs order by id")]
    conn.close()
    assert statuses == ["interrupted", "finished"]


def committed(db) -> int:
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        try:
            return conn.execute("select count(*) from captures").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return 0


class _Frontier:
    """A frontier whose commit fails as SQLite fails on a full disk (or otherwise)."""

    commit_seconds = 1.0

    def __init__(self, name: str):
        self.archive = type("Archive", (), {"path": "a.db"})()
        self.error = sqlite3.OperationalError("database or disk is full")
        self.error.sqlite_errorname = name

    def commit(self, older_than: float = 0.0) -> None:
        raise self.error


@pytest.mark.parametrize("name, stops", [("SQLITE_FULL", True), ("SQLITE_IOERR_WRITE", False)])
def test_a_failed_commit_by_the_timer_is_handled_as_at_a_store(name, stops, caplog):
    """The 1-s timer commits a quiet crawl's batch: a full disk there stops the crawl with
    the one line a full disk gives at a store; another error is logged and the timer lives
    on (an exception would have ended it, and every later timed commit)."""
    from archive.store import DiskFull
    from crawler.pipelines import ArchivePipeline

    pipeline = ArchivePipeline(crawler=None, stats=None)
    pipeline.frontier = _Frontier(name)
    stopped: list = []
    pipeline.stop = stopped.append  # type: ignore[method-assign]
    pipeline.commit_quiet_batch()
    if stops:
        assert len(stopped) == 1 and isinstance(stopped[0], DiskFull)
        assert "no space left" in str(stopped[0])
    else:
        assert stopped == []
        assert "could not commit" in caplog.text and "input/output error" in caplog.text
