"""Network scope: a crawl of a hostile world reaches none of the places its pages point at.

The ``scope`` world (simweb/hostile.py) links reports that redirect to a secret on this
machine (127.0.0.1), to 169.254.169.254, to a private address, to a name in the site's
domain that resolves to loopback, and to a host outside the site; one link goes straight
to a name resolving to loopback; one redirects to another port of the site's own address
(its row names the address with its port); ``scopemove``'s start page moves the site to a private
address; ``scoperobots``'s robots.txt redirects to a place only ``scope``'s row names.
The crawl archives none of them as content, the secret and the other host never see a
request, and the per-site counts say what was refused and why.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import sqlite3
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
from scrapy.http import Request

from crawler.middlewares.scope import (
    ROBOTS_FOR,
    Allowance,
    NetworkScopeMiddleware,
    ScopeRefused,
    address_kind,
    pinned_names,
)
from crawler.scope import CrawlScope, attach
from simweb.hostile import SECRET
from tests.crawling import crawl, settings

pytestmark = pytest.mark.e2e

# Refused requests are not retried; a host that does not answer is given 5 s.
SCOPE = settings(RETRY_TIMES=0, DOWNLOAD_TIMEOUT=5)


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    from simweb.process import SimWeb

    out = tmp_path_factory.mktemp("scope")
    with SimWeb(out / "web", extra=("scope",), default_world=False, log_requests=True) as web:
        db = out / "archive.db"
        crawl(
            web.sites_csv, db, *settings(NIANBAO_RESOLVE=web.ready["resolve"]), *SCOPE, timeout=120
        )
        requests = web.requests()
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    yield conn, requests, web.sites
    conn.close()


def _site_counts(conn, site_id: str) -> dict:
    row = conn.execute(
        "select * from crawl_site_counts where site_id = ? order by run_id desc limit 1", [site_id]
    ).fetchone()
    return {**dict(row), "failed_by_reason": json.loads(row["failed_by_reason"] or "{}")}


def test_nothing_outside_the_scope_is_archived_as_content(crawled):
    conn, _, sites = crawled
    own = {urlsplit(sites[s]).netloc for s in ("sim-scope", "sim-scoperobots")}
    bodies = conn.execute("select url, final_url, body from captures where body is not null")
    for url, final_url, body in bodies:
        assert SECRET.encode() not in body, url
        assert urlsplit(final_url or url).netloc in own, f"{final_url or url} archived"


def test_the_secret_and_the_other_host_get_no_request(crawled):
    _, requests, _ = crawled
    hosts = {r["host"] for r in requests}
    assert "127.0.0.1" not in hosts and "127.0.0.22" not in hosts
    assert "127.0.0.21" in hosts  # the crawl did reach the site itself
    # the other port of the site's own address: the site's redirect there is all that was
    # asked (that server would answer 200)
    asked = [r["status"] for r in requests if r["path"] == "/xxgknb/2017.html"]
    assert asked == [302]


def test_each_refusal_is_a_capture_with_its_reason(crawled):
    conn, _, sites = crawled
    base = sites["sim-scope"]
    refused = {
        row["url"].removeprefix(base): (row["error"].split(":")[1].strip(), row["final_url"])
        for row in conn.execute(
            "select url, final_url, error from captures where error like 'refused:%' "
            "and site_id = 'sim-scope'"
        )
    }
    assert refused["xxgknb/2024.html"][0] == "loopback"  # 127.0.0.1:PORT/secret
    assert refused["xxgknb/2023.html"][0] == "link_local"  # 169.254.169.254
    assert refused["xxgknb/2022.html"][0] == "private"  # 10.23.0.7
    assert refused["xxgknb/2021.html"][0] == "loopback"  # internal.hostile.sim → 127.0.0.1
    assert refused["xxgknb/2020.html"][0] == "out_of_scope"  # elsewhere.sim
    assert refused["xxgknb/2017.html"][0] == "loopback"  # another port of its own address
    assert refused["xxgknb/2024.html"][1].startswith("http://127.0.0.1:")  # the refused hop
    direct = [k for k in refused if "intranet.hostile.sim" in k]
    assert len(direct) == 1 and refused[direct[0]] == ("loopback", None)  # before any request
    reports = conn.execute(
        "select url from captures where site_id = 'sim-scope' and role = 'report' and status = 200"
    ).fetchall()
    assert [r[0] for r in reports] == [base + "xxgknb/2019.html"]


def test_a_row_naming_its_address_with_a_port_reaches_that_port_and_no_other(crawled):
    conn, _, sites = crawled
    base = sites["sim-scope"]
    fetched = conn.execute(
        "select url from captures where site_id = 'sim-scope' and status = 200"
    ).fetchall()
    assert {urlsplit(r[0]).netloc for r in fetched} == {urlsplit(base).netloc}
    assert base + "xxgknb/2019.html" in {r[0] for r in fetched}
    final_url, error = conn.execute(
        "select final_url, error from captures where url = ?", [base + "xxgknb/2017.html"]
    ).fetchone()
    other = urlsplit(final_url).port
    assert final_url.startswith("http://127.0.0.21:") and other != urlsplit(base).port
    assert error == (
        f"refused: loopback: port {other} of 127.0.0.21, a loopback address, is not one "
        f"the registry row's allowed_domains names (name it as 127.0.0.21:{other} to crawl it)"
    )


def test_a_robots_txt_is_fetched_in_the_scope_of_the_site_that_asked(crawled):
    """``scoperobots``'s robots.txt redirects to a place only ``scope``'s row names; there
    a robots.txt forbids everything. Refused in the asking site's scope, the redirect is
    not followed, and the site's pages are crawled as when robots.txt cannot be had."""
    conn, requests, sites = crawled
    asked = [r for r in requests if r["host"] == "127.0.0.26" and r["path"] == "/robots.txt"]
    assert len(asked) == 1 and asked[0]["status"] == 302
    reports = conn.execute(
        "select url from captures where site_id = 'sim-scoperobots' and role = 'report' "
        "and status = 200"
    ).fetchall()
    assert [r[0] for r in reports] == [sites["sim-scoperobots"] + "xxgknb/2024.html"]
    stats = json.loads(
        conn.execute("select stats from crawl_runs order by id desc limit 1").fetchone()[0]
    )
    assert stats["robotstxt/request_count"] >= 2 and stats.get("robotstxt/forbidden") is None


def test_per_site_summary_says_what_was_refused(crawled):
    conn, _, _ = crawled
    scope = _site_counts(conn, "sim-scope")
    assert scope["failed_by_reason"] == {
        "refused_link_local": 1,
        "refused_loopback": 4,
        "refused_out_of_scope": 1,
        "refused_private": 1,
    }
    assert scope["reports_found"] == 1
    move = _site_counts(conn, "sim-scopemove")
    assert move["failed_by_reason"] == {"refused_private": 1}
    start = conn.execute(
        "select url, final_url, error, redirects from captures where site_id = 'sim-scopemove'"
    ).fetchone()
    assert start["final_url"] == "http://10.23.0.9/" and "10.23.0.9" in start["error"]
    assert len(json.loads(start["redirects"])) == 2


def _middleware(*sites: dict) -> NetworkScopeMiddleware:
    crawler = SimpleNamespace(stats=SimpleNamespace(inc_value=lambda *a, **k: None))
    attach(crawler, CrawlScope(sites))
    return NetworkScopeMiddleware(crawler)


def _refusal(middleware: NetworkScopeMiddleware, request: Request) -> str | None:
    """Why the middleware refuses the request (None: let through); literal addresses only,
    which need no resolver."""
    try:
        asyncio.run(middleware.process_request(request))
    except ScopeRefused as refused:
        return refused.reason
    return None


def test_a_robots_request_goes_by_the_site_that_asked_never_by_every_row():
    hostile = {"site_id": "h", "start_url": "http://127.0.0.26:8026/", "allowed_domains": ""}
    hostile["allowed_domains"] = "127.0.0.26:8026"
    other = {"site_id": "o", "start_url": "http://127.0.0.22:8022/", "allowed_domains": ""}
    other["allowed_domains"] = "127.0.0.22:8022"
    middleware = _middleware(hostile, other)

    def robots(url: str, site: dict | None, host: str, *hops: str) -> Request:
        meta = {"dont_obey_robotstxt": True, ROBOTS_FOR: {"site": site, "host": host}}
        if hops:
            meta["redirect_urls"] = list(hops)
        return Request(url, meta=meta)

    asked = "http://127.0.0.26:8026/robots.txt"
    assert _refusal(middleware, robots(asked, hostile, "127.0.0.26")) is None
    hop = robots("http://127.0.0.22:8022/robots.txt", hostile, "127.0.0.26", asked)
    assert _refusal(middleware, hop) == "loopback"  # the other row's place, not this site's
    own = robots("http://127.0.0.22:8022/robots.txt", other, "127.0.0.22")
    assert _refusal(middleware, own) is None  # the same place, asked for by its own site
    nobody = Request("http://127.0.0.22:8022/robots.txt", meta={"dont_obey_robotstxt": True})
    assert _refusal(middleware, nobody) == "loopback"  # a request of no site: no private place


@pytest.mark.parametrize(
    "address, kind",
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("169.254.169.254", "link_local"),
        ("fe80::1", "link_local"),
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("fd00::1", "private"),
        ("224.0.0.251", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("100.64.0.1", "reserved"),
        ("240.0.0.1", "reserved"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.1.2.3", "private"),
        ("202.96.134.133", None),
        ("2400:da00::6666", None),
    ],
)
def test_address_kinds(address, kind):
    assert address_kind(ipaddress.ip_address(address)) == kind


def test_a_row_allows_only_what_it_names_exactly():
    allowance = Allowance.of({"allowed_domains": "gov.example mirror.intra 127.0.0.5 10.1.0.0/16"})
    ip = ipaddress.ip_address
    assert allowance.admits("mirror.intra", ip("10.9.9.9"), 80)  # named host
    assert allowance.admits("anything", ip("127.0.0.5"), 443)  # named address
    assert allowance.admits("x.intra", ip("10.1.200.3"), 80)  # named network
    assert not allowance.admits("oa.gov.example", ip("10.9.9.9"), 80)  # a parent: not enough
    assert not allowance.admits("127.0.0.1", ip("127.0.0.1"), 80)
    assert not allowance.admits("mirror.intra", ip("10.9.9.9"), 6379)  # another service


def test_pinned_names():
    assert pinned_names("a.sim=127.0.0.1, B.sim.=10.0.0.1") == {
        "a.sim": "127.0.0.1",
        "b.sim": "10.0.0.1",
    }
    with pytest.raises(ValueError):
        pinned_names("a.sim=not-an-address")
