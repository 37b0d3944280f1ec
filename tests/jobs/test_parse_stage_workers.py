"""The parse stage on several workers writes exactly what one worker writes, and beside a
crawl exactly what it writes after the crawl."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import threading
import time

import pytest

from archive.store import Archive
from nianbao.process import process_captures
from tests.crawling import command, crawl

pytestmark = pytest.mark.e2e

# What the parse stage writes, without its timestamps.
TABLES = {
    "captures": "select id, parse_status, parse_message, parser_version from captures",
    "reports": "select id, capture_id, sha256, parse_status, year, template, agency, title, "
    "cell_count, finding_count, warnings, previous_id from reports",
    "cells": "select report_id, table_key, row_key, col_key, value, raw from cells",
    "findings": "select report_id, rule, table_key, row_key, col_key, status, expected, found "
    "from findings",
    "report_originals": "select report_id, capture_id, sha256, role from report_originals",
}


def written(db) -> dict[str, list]:
    conn = sqlite3.connect(db)
    try:
        return {
            name: sorted(conn.execute(sql).fetchall(), key=repr) for name, sql in TABLES.items()
        }
    finally:
        conn.close()


def test_three_workers_write_what_one_writes(crawled, tmp_path):
    outcomes = {}
    for workers in (1, 3):
        db = tmp_path / f"w{workers}.db"
        shutil.copy(crawled, db)
        with Archive(db) as archive:
            summary = process_captures(archive, workers=workers)
        outcomes[workers] = (summary.by_status, written(db))
    assert outcomes[1][0] == outcomes[3][0]
    one, three = outcomes[1][1], outcomes[3][1]
    for table in TABLES:
        assert one[table] == three[table], table
    assert len(one["reports"]) > 20 and len(one["cells"]) > 1000


def _stored_fetches(db) -> tuple[list[dict], list[dict]]:
    """The registry rows and the fetches of a crawled archive, as a crawl stored them."""
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        sites = [dict(r) for r in conn.execute("select * from sites")]
        kept = ("site_id", "url", "final_url", "status", "method", "content_type", "body")
        kept += ("headers", "role", "referer", "redirects", "error")
        fetches = [
            {k: r[k] for k in kept}
            for r in conn.execute(f"select {', '.join(kept)} from captures order by id")
        ]
    finally:
        conn.close()
    for site in sites:
        site.pop("loaded_at", None)
    for fetch in fetches:  # add_capture takes them decoded, as the crawl hands them over
        for key in ("headers", "redirects"):
            fetch[key] = json.loads(fetch[key]) if fetch[key] else None
    return sites, fetches


def _replay(
    db, sites: list[dict], fetches: list[dict], batch: int, pause: float, started=None
) -> None:
    """A crawl storing ``fetches`` into ``db``: committed ``batch`` at a time."""
    with Archive(db) as archive:
        archive.load_sites(sites)
        run_id = archive.start_run("replay", os.getpid())
        if started is not None:
            started.set()
        for start in range(0, len(fetches), batch):
            with archive.transaction():
                for fetch in fetches[start : start + batch]:
                    archive.add_capture({**fetch, "run_id": run_id})
            time.sleep(pause)


def test_a_parse_beside_the_crawl_writes_what_a_parse_after_it_writes(crawled, tmp_path):
    """Captures committed while the parse stage follows the crawl are each read once, in
    capture order, and the last ones — committed as the crawl ends — are not missed."""
    sites, fetches = _stored_fetches(crawled)
    after, beside = tmp_path / "after.db", tmp_path / "beside.db"
    _replay(after, sites, fetches, batch=len(fetches), pause=0)
    with Archive(after) as archive:
        after_summary = process_captures(archive, workers=2)
    started, failed = threading.Event(), []

    def crawl() -> None:
        try:
            _replay(beside, sites, fetches, 7, 0.05, started)
        except BaseException as exc:  # seen by the test, not lost in the thread
            failed.append(exc)
            started.set()

    crawling = threading.Thread(target=crawl)
    crawling.start()
    assert started.wait(60)
    with Archive(beside) as archive:
        beside_summary = process_captures(archive, workers=2, follow=crawling.is_alive)
    crawling.join()
    assert not failed, failed
    assert beside_summary.captures == after_summary.captures > 20
    assert beside_summary.by_status == after_summary.by_status
    assert written(beside) == written(after)


def test_a_reparse_does_not_follow_a_crawl(tmp_path):
    with Archive(tmp_path / "a.db") as archive, pytest.raises(ValueError):
        process_captures(archive, everything=True, follow=lambda: True)


@pytest.mark.e2e
def test_process_follow_beside_a_crawl_reads_what_process_after_it_reads(
    simweb, processed, tmp_path
):
    """`nianbao process --follow` started before `nianbao crawl` on the same archive waits
    for the crawl, reads its captures as they are committed and ends after it."""
    db = tmp_path / "beside.db"
    follow = subprocess.Popen(
        command("process", "--db", db, "--follow", "--json"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(1)  # the parse is waiting for a crawl to start
        crawl(simweb.sites_csv, db)
        out, err = follow.communicate(timeout=300)
    finally:
        follow.kill()
    assert follow.returncode == 0, err[-3000:]
    summary = json.loads(out.splitlines()[-1])
    assert summary["captures"] > 20

    def reports(path) -> list:
        conn = sqlite3.connect(path)
        try:
            return sorted(conn.execute("select url, sha256, parse_status, cell_count from reports"))
        finally:
            conn.close()

    assert reports(db) == reports(processed)


def test_process_follow_says_when_no_crawl_created_the_archive(tmp_path):
    """A crawl that died before it created the archive leaves its follower one line that
    says so (after ``--wait`` seconds), not the plain "does not exist" of a mistyped --db."""
    from click.testing import CliRunner

    from nianbao import cli

    db = tmp_path / "never.db"
    started = time.monotonic()
    result = CliRunner().invoke(cli.main, ["process", "--follow", "--wait", "0.5", "--db", str(db)])
    assert time.monotonic() - started >= 0.5
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        f"nianbao process: error: {db} does not exist: no crawl created it within 0.5 s "
        "(did the crawl start, with the same --db?)"
    ]
    assert not db.exists()


def test_process_wait_without_follow_is_a_usage_error(tmp_path):
    from click.testing import CliRunner

    from nianbao import cli

    result = CliRunner().invoke(cli.main, ["process", "--wait", "5", "--db", str(tmp_path / "a")])
    assert result.exit_code == 2 and "--wait needs --follow" in result.output
