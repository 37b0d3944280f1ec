"""A stage killed at the worst moment loses nothing, and a nightly's crawl dies with it.

The seeded random kills of every stage are in tests/test_chaos.py; these are the two
moments that used to lose work or let two runs overlap, each provoked on purpose.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from archive.store import Archive
from nianbao import process as process_stage
from nianbao.nightly import LockHeld, RunLock
from tests.conftest import copy_archive
from tests.crawling import command

pytestmark = pytest.mark.e2e


def _reports(db: Path) -> dict:
    conn = sqlite3.connect(db)
    try:
        return {
            "reports": sorted(
                conn.execute("select sha256, year, parse_status, cell_count from reports")
            ),
            "cells": conn.execute("select count(*) from cells").fetchone()[0],
            "findings": conn.execute("select count(*) from findings").fetchone()[0],
            "captures": sorted(
                conn.execute("select id, parse_status, parse_message from captures")
            ),
        }
    finally:
        conn.close()


@pytest.mark.parametrize("dies_at", [1, 4, 9])
def test_process_dying_between_a_status_and_its_report_loses_nothing(
    crawled, tmp_path, monkeypatch, dies_at
):
    whole = copy_archive(crawled, tmp_path / "whole.db")
    with Archive(whole) as archive:
        process_stage.process_captures(archive)
    db = copy_archive(crawled, tmp_path / "killed.db")
    saved = process_stage.save_parsed
    calls = []

    def dies(archive, capture, parsed, *reading):
        calls.append(capture["id"])
        if len(calls) == dies_at:  # the process ends here, as under kill -9
            raise KeyboardInterrupt
        return saved(archive, capture, parsed, *reading)

    monkeypatch.setattr(process_stage, "save_parsed", dies)
    with Archive(db) as archive, pytest.raises(KeyboardInterrupt):
        process_stage.process_captures(archive)
    monkeypatch.setattr(process_stage, "save_parsed", saved)
    with Archive(db) as archive:  # the next run repairs: nothing half-done was kept
        process_stage.process_captures(archive)
    assert _reports(db) == _reports(whole)


# -- the nightly lock covers its crawl child -----------------------------------------------------
def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found += [int(c) for c in text]
    return found


def _running(pid: int) -> bool:
    """Whether the process may still hold files: alive, or a zombie leader whose other
    threads are still exiting (they share its files until the last one is gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
    state, threads = fields.get("State", "X")[:1], int(fields.get("Threads", "0").strip())
    return state not in ("Z", "X") or threads > 1


def _captures(db: Path) -> int:
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        try:
            return conn.execute("select count(*) from captures").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_killed_nightly_takes_its_crawl_with_it_and_the_lock_until_it_is_gone(tmp_path):
    from simweb.process import SimWeb

    with SimWeb(tmp_path / "web", extra=("slow", "nightly"), default_world=False) as web:
        db = tmp_path / "archive.db"
        cmd = command("nightly", "--sites", str(web.sites_csv))
        cmd += ["--db", str(db), "-s", "DOWNLOAD_DELAY=0.5", "-s", "AUTOTHROTTLE_ENABLED=False"]
        cmd += ["-s", "CONCURRENT_REQUESTS_PER_DOMAIN=1", "-s", "RETRY_TIMES=0"]
        nightly = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 180  # a loaded machine starts Python slowly
        crawl = []
        while not crawl:
            assert nightly.poll() is None and time.monotonic() < deadline
            crawl = [c for c in _children(nightly.pid) if _running(c)]
            time.sleep(0.05)
        while _captures(db) < 2:  # the crawl is under way (the slow site: 1.5 s a page)
            assert nightly.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        nightly.send_signal(signal.SIGKILL)
        nightly.wait()
        deadline = time.monotonic() + 60  # for the child to close its run and go
        lock, held_while_crawling = RunLock(tmp_path / "archive.db.nightly.lock"), 0
        while _running(crawl[0]):
            assert time.monotonic() < deadline, "the crawl child outlived its nightly"
            try:
                lock.acquire()
            except LockHeld:
                held_while_crawling += 1
            else:
                alive = _running(crawl[0])
                lock.release()
                assert not alive, "a new nightly could start while the crawl still wrote"
            time.sleep(0.05)
        assert held_while_crawling > 0
        lock.acquire()  # free once the child is gone
        lock.release()
        conn = sqlite3.connect(db)
        [(status,)] = conn.execute("select status from crawl_runs").fetchall()
        conn.close()
        assert status == "stopped: shutdown"  # the child closed its run on the way out
        again = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
        assert again.returncode in (0, 3), again.stdout + again.stderr
