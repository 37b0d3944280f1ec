"""Hosts that cannot be crawled cost seconds, say why in one line each, and hold back no
other host; a crawl stops within seconds of SIGTERM and can be continued."""

from __future__ import annotations

import csv
import ipaddress
import json
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from crawler.runner import BUNDLED_REGISTRY
from simweb.process import SimWeb
from tests.crawling import PROJECT, crawl

pytestmark = [pytest.mark.e2e, pytest.mark.timing]

QUICK = [
    "-s",
    "DOWNLOAD_DELAY=0",
    "-s",
    "AUTOTHROTTLE_ENABLED=False",
    "-s",
    "NIANBAO_PROBE_TIMEOUT=2",
]


def captures(db: Path) -> int:
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        try:
            return conn.execute("select count(*) from captures").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return 0


def site_rows(db: Path) -> dict[str, sqlite3.Row]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return {r["site_id"]: r for r in conn.execute("select * from crawl_site_counts")}
    finally:
        conn.close()


@pytest.fixture(scope="module")
def dead_world(tmp_path_factory):
    out = tmp_path_factory.mktemp("dead")
    with SimWeb(out / "web", extra=("nightly",), default_world=False, dead=6) as web:
        db = out / "archive.db"
        result = crawl(web.sites_csv, db, *QUICK, fast=False, ok=None, cwd=PROJECT)
    yield result, db


EXPECTED = {
    "dead-dns-0000": "dns_failed",
    "dead-refused-0001": "refused",
    "dead-blackhole-0002": "timeout",
    "dead-silent-0003": "timeout",
    "dead-tls-0004": "tls_error",
    "dead-slow-0005": "ok",
    "sim-nightly": "ok",
}


def test_each_site_gets_the_status_of_its_failure(dead_world):
    _, db = dead_world
    rows = site_rows(db)
    assert {k: r["status"] for k, r in rows.items()} == EXPECTED
    assert (
        rows["sim-nightly"]["reports_found"] == 3 and rows["dead-slow-0005"]["reports_found"] == 1
    )
    assert "does not resolve" in rows["dead-dns-0000"]["status_detail"]
    # what the resolver said: the network scope resolves before the downloader does
    detail = rows["dead-dns-0000"]["status_detail"]
    assert "DNSLookupError" in detail or "CannotResolveHostError" in detail


def test_a_dead_host_is_one_capture_saying_why(dead_world):
    _, db = dead_world
    conn = sqlite3.connect(db)
    try:
        for site_id, status in EXPECTED.items():
            if status == "ok":
                continue
            if status == "tls_error":  # https fails; asked once over http, it answers 400
                [(url, final_url, code)] = conn.execute(
                    "select url, final_url, status from captures where site_id = ?", [site_id]
                ).fetchall()
                assert (url[:6], final_url[:5], code) == ("https:", "http:", 400)
                continue
            errors = [
                e
                for (e,) in conn.execute("select error from captures where site_id = ?", [site_id])
            ]
            assert len(errors) == 1 and errors[0].startswith(f"{status}: "), (site_id, errors)
    finally:
        conn.close()


def test_one_line_per_failed_site_no_traceback_and_an_alert(dead_world):
    result, _ = dead_world
    assert result.returncode == 3, result.stderr[-3000:]  # 5 of 7 sites failed
    assert "Traceback" not in result.stderr
    assert "ALERT: 5 of 7 sites could not be crawled (2 timeout" in result.stderr
    for site_id, status in EXPECTED.items():
        said = [line for line in result.stderr.splitlines() if site_id in line]
        if status == "ok":
            assert not said, said
        else:
            assert len(said) == 1 and f"site {site_id}: {status}: " in said[0], said


def test_sites_that_answer_but_cannot_be_crawled_say_why(tmp_path):
    """A JS challenge, a robots.txt that forbids the start page, a portal with no 年报
    column: each its own status and one line, and three sites of four failing is an
    alert (exit 3)."""
    with SimWeb(
        tmp_path / "web", extra=("closed", "empty", "rs412", "nightly"), default_world=False
    ) as web:
        db = tmp_path / "archive.db"
        result = crawl(web.sites_csv, db, *QUICK, fast=False, ok=None, cwd=PROJECT)
    expected = {
        "sim-closed": "robots_disallowed",
        "sim-empty": "no_report_column",
        "sim-rs412": "blocked",
        "sim-nightly": "ok",
    }
    rows = site_rows(db)
    assert {k: r["status"] for k, r in rows.items()} == expected
    assert "robots.txt forbids the start page" in rows["sim-closed"]["status_detail"]
    assert "point it at the 年报 column" in rows["sim-empty"]["status_detail"]
    assert rows["sim-empty"]["pages_fetched"] >= 2  # it looked beyond the front page
    assert "rs-412" in rows["sim-rs412"]["status_detail"]
    assert result.returncode == 3, result.stderr[-3000:]
    assert "ALERT: 3 of 4 sites could not be crawled" in result.stderr
    assert "Traceback" not in result.stderr
    for site_id, status in expected.items():
        said = [line for line in result.stderr.splitlines() if f"site {site_id}:" in line]
        assert said == [] if status == "ok" else len(said) == 1 and f": {status}: " in said[0]


def test_a_paused_host_holds_no_place_others_need(tmp_path):
    """One place in the whole crawl (CONCURRENT_REQUESTS=1): while the flaky host waits out
    its Retry-After, the other host's requests go through."""
    with SimWeb(
        tmp_path / "web", extra=("flaky", "nightly"), default_world=False, log_requests=True
    ) as web:
        result = crawl(
            web.sites_csv,
            tmp_path / "archive.db",
            *QUICK,
            "-s",
            "CONCURRENT_REQUESTS=1",
            "-s",
            f"DOWNLOAD_MAXSIZE={2**20}",
            fast=False,
            ok=None,
            cwd=PROJECT,
        )
        time.sleep(0.5)  # the server logs a request once it has answered
        requests = web.requests()
    assert result.returncode == 0, result.stderr[-3000:]
    flaky = web.sites["sim-flaky"].split("//")[1].split(":")[0]
    other = web.sites["sim-nightly"].split("//")[1].split(":")[0]
    during = []
    for first in (r for r in requests if r["host"] == flaky and r["status"] == 503):
        retry = next(
            r
            for r in requests
            if r["host"] == flaky and r["path"] == first["path"] and r["t"] > first["t"]
        )
        assert retry["t"] - first["t"] >= 0.95  # Retry-After: 1 is honoured
        during += [r for r in requests if r["host"] == other and first["t"] < r["t"] < retry["t"]]
    assert len(during) >= 3, during


def test_the_bundled_registry_without_network_ends_quickly_one_line_per_site(tmp_path):
    """Every name fails to resolve (a resolver that refuses all lookups, so the test
    never reaches a real host): one line per site, no traceback, an alert, in seconds."""
    rows = []
    with open(BUNDLED_REGISTRY, encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        fields = reader.fieldnames
        for row in reader:
            host = urlsplit(row["start_url"]).hostname or ""
            try:
                ipaddress.ip_address(host)
            except ValueError:
                rows.append(row)  # an address would bypass the resolver: left out
    registry = tmp_path / "sites.csv"
    with open(registry, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    assert len(rows) >= 100
    started = time.monotonic()
    result = crawl(
        registry,
        tmp_path / "archive.db",
        "-s",
        "DNS_RESOLVER=tests.crawler.offline.NoNetworkResolver",
        fast=False,
        ok=None,
        cwd=PROJECT,
    )
    seconds = time.monotonic() - started
    assert result.returncode == 3, result.stderr[-3000:]
    lines = result.stderr.splitlines()
    assert "Traceback" not in result.stderr
    site_lines = [line for line in lines if "[reports] WARNING: site " in line]
    assert len(site_lines) == len(rows)
    assert all(": dns_failed: the host name does not resolve" in line for line in site_lines)
    assert len(lines) < len(rows) + 200, len(lines)  # nothing per URL, no retry chatter
    assert f"ALERT: {len(rows)} of {len(rows)} sites could not be crawled" in result.stderr
    statuses = {r["status"] for r in site_rows(tmp_path / "archive.db").values()}
    assert statuses == {"dns_failed"}
    assert seconds < 120, seconds  # 324 s before hosts were given up on (issue 12)


@pytest.mark.parametrize("trial", range(2))
def test_sigterm_stops_a_crawl_within_seconds_and_it_can_be_continued(tmp_path, trial):
    """SIGTERM at a random moment (seeded) of a crawl under way, while slow and silent
    hosts hold downloads:
    the crawl exits within 5 s, its run recorded as stopped, the archive whole; the
    next crawl finishes it, and no report page is stored twice."""
    moment = random.Random(f"sigterm:{trial}").uniform(0.0, 3.0)
    with SimWeb(tmp_path / "web", dead=12, dead_kinds=("silent", "slow", "blackhole")) as web:
        db = tmp_path / "archive.db"
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "nianbao",
                "crawl",
                "--sites",
                str(web.sites_csv),
                "--db",
                str(db),
            ]
            + QUICK
            + ["-s", "DOWNLOAD_DELAY=0.1", "-s", "NIANBAO_PROBE_TIMEOUT=30"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            cwd=PROJECT,
        )
        deadline = time.monotonic() + 60
        while not captures(db) and time.monotonic() < deadline:  # the crawl is under way
            time.sleep(0.05)
        time.sleep(moment)
        signalled = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        try:
            _, err = proc.communicate(timeout=30)
        finally:
            proc.kill()
        took = time.monotonic() - signalled
        assert took < 5.0, (took, err[-3000:])
        assert proc.returncode == 1 and "Traceback" not in err, err[-3000:]
        # Sites the stop left unread are one line, not a warning each.
        assert ": not_crawled:" not in err, err[-3000:]
        conn = sqlite3.connect(db)
        try:
            (status,) = conn.execute("select status from crawl_runs").fetchone()
            assert status == "stopped: shutdown"
            assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"
            assert not conn.execute(
                "select count(*) from captures where error like '%stopping%'"
            ).fetchone()[0]
        finally:
            conn.close()
        again = crawl(
            web.sites_csv,
            db,
            *QUICK,
            "-s",
            "NIANBAO_PROBE_TIMEOUT=1",
            fast=False,
            ok=None,
            cwd=PROJECT,
        )
        assert again.returncode in (0, 3), again.stderr[-3000:]
        truth = web.truth
    conn = sqlite3.connect(db)
    try:
        runs = conn.execute("select status from crawl_runs order by id").fetchall()
        assert [r[0] for r in runs] == ["interrupted", "finished"]
        bodies = dict(
            conn.execute(
                "select url, count(*) from captures where body is not null and role = 'report' "
                "group by url"
            ).fetchall()
        )
    finally:
        conn.close()
    pages = {r["url"] for r in truth["reports"]}
    assert pages <= set(bodies), sorted(pages - set(bodies))[:5]
    assert max(bodies.values()) == 1
    assert json.loads(json.dumps(bodies))  # every report page once
