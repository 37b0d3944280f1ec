"""Nightly runs: the second crawl revalidates instead of re-downloading, finds the new
report, stores a corrected report as a new version, and counts all of it per site."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest

from simweb.process import SimWeb
from tests.conftest import free_port
from tests.crawling import crawl

pytestmark = pytest.mark.e2e

SITE = "sim-nightly"
HOST = "127.0.0.15"  # this test's own loopback host


@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    """Three nights of the same site: as first seen, changed, and back as it was."""
    out = tmp_path_factory.mktemp("nightly")
    db, port = out / "archive.db", free_port(HOST)
    requests = {}
    for night, edition in ((1, 1), (2, 2), (3, 1)):
        with SimWeb(
            out / f"web{night}",
            extra=("nightly",),
            default_world=False,
            edition=edition,
            port=port,
            log_requests=True,
        ) as web:
            crawl(web.sites_csv, db, timeout=120)
            requests[night] = web.requests()
            base = web.sites[SITE]
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    yield base, requests, conn
    conn.close()


def _counts(conn, run_id: int) -> sqlite3.Row:
    return conn.execute(
        "select * from crawl_site_counts where run_id = ? and site_id = ?", [run_id, SITE]
    ).fetchone()


def test_second_night_revalidates_pages_and_files_and_rereads_listings(nights):
    _, requests, _ = nights
    second = {r["path"]: r for r in requests[2] if r["path"] != "/robots.txt"}
    for path in (
        "/xxgknb/2022.html",
        "/xxgknb/2024.html",
        "/xxgknb/2022.pdf",
        "/xxgknb/2023.pdf",
        "/xxgknb/2024.pdf",
    ):
        assert second[path]["conditional"] and second[path]["status"] == 304, path
    # Listings are re-read conditionally: the front page did not change (304), the
    # column did (a new report), so it came back in full and the new report was found.
    assert second["/"]["conditional"] and second["/"]["status"] == 304
    assert second["/xxgknb/"]["conditional"] and second["/xxgknb/"]["status"] == 200
    assert second["/xxgknb/2023.html"]["status"] == 200  # corrected: sent again in full
    first_bytes = sum(r["bytes"] for r in requests[1])
    second_bytes = sum(r["bytes"] for r in requests[2])
    assert second_bytes < first_bytes / 2


def test_unchanged_pages_are_revisits_without_a_body(nights):
    base, _, conn = nights
    rows = conn.execute(
        "select * from captures where run_id = 2 and url = ?", [base + "xxgknb/2024.pdf"]
    ).fetchall()
    assert len(rows) == 1 and rows[0]["body"] is None and rows[0]["not_modified"] == 1
    first = conn.execute(
        "select id, sha256 from captures where run_id = 1 and url = ?", [base + "xxgknb/2024.pdf"]
    ).fetchone()
    assert rows[0]["revisit_of"] == first["id"]
    # The unchanged front page was revalidated (304): a revisit without a body.
    front = conn.execute("select * from captures where run_id = 2 and url = ?", [base]).fetchone()
    assert front["body"] is None and front["not_modified"] == 1 and front["revisit_of"]


def test_new_and_changed_reports_are_stored_as_new_versions(nights):
    base, _, conn = nights
    new = conn.execute(
        "select * from captures where url = ? and body is not null", [base + "xxgknb/2025.html"]
    ).fetchall()
    assert [r["run_id"] for r in new] == [2]
    versions = conn.execute(
        "select run_id, sha256 from captures where url = ? and body is not null order by id",
        [base + "xxgknb/2023.html"],
    ).fetchall()
    assert [v["run_id"] for v in versions] == [1, 2, 3]
    assert versions[0]["sha256"] != versions[1]["sha256"]
    assert versions[0]["sha256"] == versions[2]["sha256"]


def test_per_site_counts_of_each_night(nights):
    _, _, conn = nights
    first, second = _counts(conn, 1), _counts(conn, 2)
    assert (first["new"], first["pages_fetched"], first["reports_found"]) == (8, 8, 3)
    assert first["not_modified"] == first["changed"] == first["failed"] == 0
    assert (
        second["pages_fetched"],
        second["not_modified"],
        second["unchanged"],
        second["new"],
        second["changed"],
    ) == (10, 6, 0, 2, 2)  # front page: a 304
    assert second["reports_found"] == 4 and second["alert"] is None


def test_a_site_yielding_fewer_reports_raises_an_alert(nights):
    _, _, conn = nights
    third = _counts(conn, 3)
    assert third["reports_found"] == 3
    assert third["alert"] == "fewer reports than the last good run: 3 < 4"


def test_a_killed_nightly_run_resumes_with_revisits_followed(tmp_path):
    """Night 2 killed after its first few captures (some of them 304s), then run again:
    every page of night 2 is accounted for, attachments of unchanged pages included."""
    import os
    import signal
    import time

    db, port = tmp_path / "archive.db", free_port(HOST)
    with SimWeb(tmp_path / "web1", extra=("nightly",), default_world=False, port=port) as web:
        crawl(web.sites_csv, db, timeout=120)
    slow = [
        "-s",
        "DOWNLOAD_DELAY=0.15",
        "-s",
        "RANDOMIZE_DOWNLOAD_DELAY=False",
        "-s",
        "AUTOTHROTTLE_ENABLED=False",
        "-s",
        "CONCURRENT_REQUESTS_PER_DOMAIN=1",
        "-s",
        "LOG_LEVEL=WARNING",
        "-s",
        "NIANBAO_COMMIT_EVERY=1",  # each capture visible at once: killed after the 2nd 304
    ]
    with SimWeb(
        tmp_path / "web2", extra=("nightly",), default_world=False, edition=2, port=port
    ) as web:
        cmd = [
            sys.executable,
            "-m",
            "nianbao",
            "crawl",
            "--sites",
            str(web.sites_csv),
            "--db",
            str(db),
            *slow,
        ]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120  # the crawl starting on a loaded machine
        while True:
            conn = sqlite3.connect(db, timeout=5)
            done = conn.execute(
                "select count(*) from captures where run_id = 2 and not_modified = 1"
            ).fetchone()[0]
            conn.close()
            if done >= 2 or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        crawl(web.sites_csv, db, timeout=120)
    conn = sqlite3.connect(db)
    urls = {r[0] for r in conn.execute("select url from captures where run_id in (2, 3)")}
    twice = conn.execute(
        "select url from captures where run_id in (2, 3) group by url having count(*) > 1"
    ).fetchall()
    statuses = [r[0] for r in conn.execute("select status from crawl_runs order by id")]
    conn.close()
    assert statuses == ["finished", "interrupted", "finished"]
    base = min(urls, key=len)  # the front page
    assert urls == {base, base + "xxgknb/"} | {
        base + f"xxgknb/{y}.{ext}" for y in (2022, 2023, 2024, 2025) for ext in ("html", "pdf")
    }
    assert twice == []
