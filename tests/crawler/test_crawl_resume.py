"""Crash-safe resume: ``kill -9`` a crawl of the simulated web at any moment, run the same
command again, and the archive ends with the same content as an uninterrupted crawl's —
nothing lost, nothing stored twice, never corrupt."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time

import pytest

from tests.crawling import command, crawl_args

pytestmark = pytest.mark.e2e

# One connection per host and a small delay: slow enough to be killed part-way.
STEADY = [
    "-s",
    "DOWNLOAD_DELAY=0.03",
    "-s",
    "RANDOMIZE_DOWNLOAD_DELAY=False",
    "-s",
    "AUTOTHROTTLE_ENABLED=False",
    "-s",
    "CONCURRENT_REQUESTS_PER_DOMAIN=1",
    "-s",
    "LOG_LEVEL=WARNING",
    "-s",
    "NIANBAO_COMMIT_EVERY=1",  # each capture visible at once, so kills land at chosen counts
]


def crawl_command(sites_csv, db) -> list[str]:
    return command(*crawl_args(sites_csv, db, *STEADY, fast=False))


def stored(db) -> int:
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        try:
            return conn.execute("select count(*) from captures").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return 0


def crawl_killed_after(sites_csv, db, captures: int) -> int:
    """Start a crawl, SIGKILL it once ``captures`` captures are stored; returns the count
    found just before the kill."""
    proc = subprocess.Popen(
        crawl_command(sites_csv, db), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    try:
        while (seen := stored(db)) < captures:
            assert proc.poll() is None, "the crawl ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.01)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    return seen


def run(cmd: list[str]) -> None:
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-3000:]


def content(db) -> dict:
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"
        rows = conn.execute(
            "select url, final_url, status, sha256, role, error is null from captures"
        ).fetchall()
        bodies = conn.execute(
            "select count(*) from captures where body is not null "
            "group by url, sha256 having count(*) > 1"
        ).fetchall()
        reports = sorted(conn.execute("select url, sha256, year from reports").fetchall())
    finally:
        conn.close()
    return {"captures": sorted(rows), "stored_twice": bodies, "reports": reports}


@pytest.fixture(scope="module")
def uninterrupted(simweb, tmp_path_factory):
    db = tmp_path_factory.mktemp("whole") / "archive.db"
    run(crawl_command(simweb.sites_csv, db))
    run(command("process", "--db", str(db)))
    return content(db)


@pytest.mark.parametrize("kills", [[1], [25], [10, 40]], ids=["at-start", "mid-run", "twice"])
def test_killed_crawl_resumes_to_the_same_archive(simweb, uninterrupted, tmp_path, kills):
    db = tmp_path / "archive.db"
    for at in kills:
        assert crawl_killed_after(simweb.sites_csv, db, at) >= at
    run(crawl_command(simweb.sites_csv, db))
    run(command("process", "--db", str(db)))
    resumed = content(db)
    assert resumed["stored_twice"] == []
    assert len(resumed["captures"]) == len(uninterrupted["captures"])
    assert resumed["captures"] == uninterrupted["captures"]
    assert resumed["reports"] == uninterrupted["reports"]
    conn = sqlite3.connect(db)
    runs = conn.execute("select status, resumes from crawl_runs order by id").fetchall()
    conn.close()
    assert [r[0] for r in runs] == ["interrupted"] * len(kills) + ["finished"]
    assert runs[-1][1] == len(kills)


# -- --jobdir: Scrapy's JOBDIR never makes a resume worse -------------------------------------
def crawl_killed_at(sites_csv, db, seconds: float, jobdir, before: int) -> bool:
    """Start a crawl with ``--jobdir`` and SIGKILL it after ``seconds`` — or sooner, once
    ``before`` captures are stored, so that a loaded machine cannot let it finish first.
    True if it was killed while it ran."""
    proc = subprocess.Popen(
        [*crawl_command(sites_csv, db), "--jobdir", str(jobdir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and stored(db) < before:
        if proc.poll() is not None:
            return False
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return True


@pytest.fixture(scope="module")
def wide_web(tmp_path_factory):
    """Many small sites: enough requests that Scrapy's seen-list reaches the disk (it is
    written through an 8 KiB buffer) long before the crawl ends."""
    from simweb.process import SimWeb

    out = tmp_path_factory.mktemp("wide")
    with SimWeb(out / "web", scale=40, default_world=False) as web:
        db = out / "whole.db"
        started = time.monotonic()
        run(crawl_command(web.sites_csv, db))
        yield web, time.monotonic() - started, content(db)


@pytest.mark.parametrize("seed", [3, 17])
def test_killed_crawl_with_jobdir_resumes_to_the_same_archive(wide_web, tmp_path, seed):
    """kill -9 at a seeded random moment: Scrapy's seen-list is on disk, its queue is not;
    the resume must not trust the one without the other."""
    import random

    web, seconds, whole = wide_web
    db, jobdir = tmp_path / "archive.db", tmp_path / "job"
    at = random.Random(seed).uniform(0.5 * seconds, 0.9 * seconds)
    before = int(0.9 * len(whole["captures"]))
    assert crawl_killed_at(web.sites_csv, db, at, jobdir, before), "finished before the kill"
    run([*crawl_command(web.sites_csv, db), "--jobdir", str(jobdir)])
    resumed = content(db)
    assert resumed["stored_twice"] == []
    assert resumed["captures"] == whole["captures"]


def test_a_jobdir_used_by_a_finished_crawl_does_not_empty_the_next(simweb, tmp_path):
    db, jobdir = tmp_path / "archive.db", tmp_path / "job"
    for _ in range(2):
        run([*crawl_command(simweb.sites_csv, db), "--jobdir", str(jobdir)])
    conn = sqlite3.connect(db)
    first, second = [
        sorted(r[0] for r in conn.execute("select url from captures where run_id = ?", [run_id]))
        for run_id in (1, 2)
    ]
    conn.close()
    assert second == first  # every page asked for again (revalidated), none skipped


def test_a_crawl_paused_cleanly_continues_from_scrapys_queue(simweb, uninterrupted, tmp_path):
    db, jobdir = tmp_path / "archive.db", tmp_path / "job"
    proc = subprocess.Popen(
        [*crawl_command(simweb.sites_csv, db), "--jobdir", str(jobdir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while stored(db) < 15:  # one Ctrl-C once the crawl is under way
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(60) == 1  # stopped, not finished
    assert (jobdir / "nianbao-paused.json").exists()
    result = subprocess.run(
        [*crawl_command(simweb.sites_csv, db), "--jobdir", str(jobdir), "-s", "LOG_LEVEL=INFO"],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "continuing the run paused with it" in result.stderr
    run(command("process", "--db", str(db)))
    resumed = content(db)
    assert resumed["stored_twice"] == []
    assert resumed["captures"] == uninterrupted["captures"]
    assert resumed["reports"] == uninterrupted["reports"]
