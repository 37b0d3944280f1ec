"""Politeness against misbehaving simulated sites: Crawl-delay, Disallow, Retry-After,
exponential backoff, JS challenges, soft-404s and gzip — measured on the server side."""

from __future__ import annotations

import json
import sqlite3
import time

import pytest

from simweb.process import SimWeb
from tests.crawling import crawl, settings

pytestmark = [pytest.mark.e2e, pytest.mark.timing]

# The politeness middlewares stay on; only Scrapy's own delays are off, so any
# spacing seen by the server comes from Crawl-delay, Retry-After or the backoff.
QUICK = settings(
    CONCURRENT_REQUESTS_PER_DOMAIN=4,
    RETRY_TIMES=2,
    NIANBAO_BACKOFF_BASE=1.5,
    DOWNLOAD_MAXSIZE=2**20,
)


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    out = tmp_path_factory.mktemp("hostile")
    with SimWeb(
        out / "web",
        extra=("polite", "flaky", "rs412", "jsl521"),
        default_world=False,
        log_requests=True,
    ) as web:
        db = out / "archive.db"
        crawl(web.sites_csv, db, *QUICK, timeout=120)
        requests = web.requests()
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    yield web, requests, conn
    conn.close()


def _host(web: SimWeb, site_id: str) -> str:
    return web.sites[site_id].split("//")[1].split(":")[0]


def _asked(requests: list[dict], host: str, path: str | None = None) -> list[dict]:
    return [
        r
        for r in requests
        if r["host"] == host and r["path"] != "/robots.txt" and (path is None or r["path"] == path)
    ]


def _capture(conn, url: str) -> sqlite3.Row:
    rows = conn.execute("select * from captures where url = ?", [url]).fetchall()
    assert len(rows) == 1, url
    return rows[0]


def test_robots_crawl_delay_spaces_every_request_to_the_host(crawled):
    web, requests, _ = crawled
    times = [r["t"] for r in _asked(requests, _host(web, "sim-polite"))]
    assert len(times) >= 5
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert min(gaps) >= 0.95, gaps


def test_robots_disallow_is_obeyed_and_recorded(crawled):
    web, requests, conn = crawled
    host = _host(web, "sim-polite")
    assert not [r for r in requests if r["host"] == host and r["path"].startswith("/private/")]
    capture = _capture(conn, web.sites["sim-polite"] + "private/2021.html")
    assert capture["status"] is None and "robots.txt" in capture["error"]


def test_retry_after_is_honoured_before_the_retry(crawled):
    web, requests, conn = crawled
    asked = _asked(requests, _host(web, "sim-flaky"), "/xxgknb/2024.html")
    assert [r["status"] for r in asked] == [503, 200]
    assert asked[1]["t"] - asked[0]["t"] >= 0.95
    assert _capture(conn, web.sites["sim-flaky"] + "xxgknb/2024.html")["status"] == 200


def test_retries_back_off_exponentially_and_the_failure_is_kept(crawled):
    web, requests, conn = crawled
    asked = _asked(requests, _host(web, "sim-flaky"), "/xxgknb/broken.html")
    assert [r["status"] for r in asked] == [500, 500, 500]
    first, second = asked[1]["t"] - asked[0]["t"], asked[2]["t"] - asked[1]["t"]
    # base 1.5 s × 2^retry × (0.75…1.25): at least 1.1 s, then at least 2.2 s
    assert first >= 1.1 and second >= 2.2 and second > first, (first, second)
    assert _capture(conn, web.sites["sim-flaky"] + "xxgknb/broken.html")["status"] == 500


def test_gzip_bodies_are_stored_decoded(crawled):
    web, _, conn = crawled
    body = _capture(conn, web.sites["sim-flaky"] + "xxgknb/2024.html")["body"]
    assert body.startswith(b"<!DOCTYPE html>") and "易错市".encode() in body


@pytest.mark.parametrize("site_id, kind", [("sim-rs412", "rs-412"), ("sim-jsl521", "jsl-521")])
def test_js_challenge_hosts_are_blocked_not_attacked(crawled, site_id, kind):
    web, requests, conn = crawled
    host = _host(web, site_id)
    assert len([r for r in requests if r["host"] == host]) <= 2  # robots.txt, start page
    counts = conn.execute("select * from crawl_site_counts where site_id = ?", [site_id]).fetchone()
    assert counts["blocked"] == kind
    assert json.loads(counts["failed_by_reason"]) == {"blocked": 1}
    assert counts["reports_found"] == 0


def test_soft_404_is_recorded_as_such(crawled):
    web, _, conn = crawled
    capture = _capture(conn, web.sites["sim-polite"] + "xxgknb/gone.html")
    assert capture["status"] == 200 and capture["error"].startswith("soft_404")


def test_per_site_counts_say_what_failed_and_why(crawled):
    _, _, conn = crawled
    rows = {r["site_id"]: r for r in conn.execute("select * from crawl_site_counts")}
    polite, flaky = rows["sim-polite"], rows["sim-flaky"]
    assert json.loads(polite["failed_by_reason"]) == {"robots": 1, "soft_404": 1}
    assert polite["reports_found"] == 3 and polite["new"] == polite["pages_fetched"] == 7
    assert json.loads(flaky["failed_by_reason"]) == {
        "http_500": 1,
        "ResponseDataLossError": 1,
        "oversize": 1,
    }
    assert flaky["reports_found"] == 1


def test_user_agent_names_the_project(crawled):
    _, requests, _ = crawled
    assert requests and all(r["ua"].startswith("nianbao-archive/") for r in requests)


def test_truncated_body_is_retried_then_recorded_as_data_loss(crawled):
    web, requests, conn = crawled
    asked = _asked(requests, _host(web, "sim-flaky"), "/xxgknb/2024.pdf")
    assert [r["status"] for r in asked] == [503, 200, 200]  # RETRY_TIMES=2 in all
    capture = _capture(conn, web.sites["sim-flaky"] + "xxgknb/2024.pdf")
    assert capture["status"] is None and capture["body"] is None
    assert capture["error"].startswith("ResponseDataLossError")


def test_oversize_file_is_not_downloaded_and_says_why(crawled):
    web, requests, conn = crawled
    capture = _capture(conn, web.sites["sim-flaky"] + "xxgknb/2024-scan.pdf")
    assert capture["status"] is None and capture["body"] is None
    assert "max size" in capture["error"], capture["error"]


# -- the pure parts ------------------------------------------------------------------------
def test_crawl_delay_is_read_for_our_agent_or_everyone():
    from crawler.middlewares.politeness import crawl_delay

    robots = b"User-agent: Baiduspider\nCrawl-delay: 30\n\nUser-agent: *\nCrawl-delay: 5\n"
    assert crawl_delay(robots, "nianbao-archive/0.1") == 5.0
    assert crawl_delay(robots, "Baiduspider") == 30.0
    assert crawl_delay(b"User-agent: *\nDisallow: /x/\n", "nianbao-archive/0.1") is None
    assert crawl_delay(b"\xff\xfe garbage", "nianbao-archive/0.1") is None


def test_retry_after_as_seconds_or_http_date():
    from scrapy.http import Response

    from crawler.middlewares.politeness import retry_after

    def with_header(value: str) -> Response:
        return Response("http://a.example.cn/", status=503, headers={"Retry-After": value})

    assert retry_after(with_header("120")) == 120.0
    assert retry_after(with_header("Wed, 21 Oct 2015 07:28:30 GMT"), now=1445412500.0) == 10.0
    assert retry_after(with_header("soon")) is None
    assert retry_after(Response("http://a.example.cn/", status=503)) is None


def test_challenges_are_told_by_status_and_marker():
    from scrapy.http import HtmlResponse

    from crawler.middlewares.politeness import challenge_kind
    from simweb.hostile import JSL_CHALLENGE, RS_CHALLENGE

    def page(status: int, body: str) -> HtmlResponse:
        return HtmlResponse("http://a.example.cn/", status=status, body=body.encode())

    assert challenge_kind(page(412, RS_CHALLENGE)) == "rs-412"
    assert challenge_kind(page(521, JSL_CHALLENGE)) == "jsl-521"
    assert challenge_kind(page(412, "<h1>Precondition Failed</h1>")) is None
    assert challenge_kind(page(200, RS_CHALLENGE)) is None


# -- a host too slow for the timeout ---------------------------------------------------------
def test_slow_host_times_out_backs_off_and_says_so(tmp_path):
    with SimWeb(tmp_path / "web", extra=("slow",), default_world=False, log_requests=True) as web:
        db = tmp_path / "archive.db"
        result = crawl(
            web.sites_csv,
            db,
            *settings(
                DOWNLOAD_DELAY=0,
                AUTOTHROTTLE_ENABLED=False,
                DOWNLOAD_TIMEOUT=0.5,
                RETRY_TIMES=1,
                NIANBAO_BACKOFF_BASE=0.8,
                LOG_LEVEL="WARNING",
            ),
            fast=False,
            ok=None,
            timeout=60,
        )
        deadline = time.monotonic() + 5  # the server logs a request once it has answered
        while len(asked := [r for r in web.requests() if r["path"] == "/"]) < 2:
            if time.monotonic() > deadline:
                break
            time.sleep(0.1)
    # the crawl's only site could not be crawled: an alert (exit 3), said in one line
    assert result.returncode == 3, result.stderr[-3000:]
    assert "ALERT: 1 of 1 sites could not be crawled (1 timeout)" in result.stderr
    assert len(asked) == 2  # tried, then retried once after the pause
    # the retry arrived at least the timeout (0.5 s) plus the backoff (0.8 s × 0.75)
    # after the first attempt
    assert asked[1]["t"] - asked[0]["t"] >= 0.5 + 0.6 - 0.05
    conn = sqlite3.connect(db)
    (error,) = conn.execute("select error from captures where role = 'start'").fetchone()
    (reasons, status) = conn.execute(
        "select failed_by_reason, status from crawl_site_counts"
    ).fetchone()
    conn.close()
    reason = error.split(":")[0]
    assert reason.endswith("TimeoutError")  # DownloadTimeoutError in Scrapy ≥ 2.13
    assert json.loads(reasons) == {reason: 1}
    assert status == "timeout"
