"""Network scope: a crawl of a hostile world reaches none of the places its pages point at.

The ``scope`` world (simweb/hostile.py) links reports that redirect to a secret on this
machine (127.0.0.1), to 169.254.169.254, to a private address, to a name in the site's
domain that resolves to loopback, and to a host outside the site; one link goes straight
to a name resolving to loopback; ``scopemove``'s start page moves the site to a private
address. The crawl archives none of them as content, the secret and the other host
never see a request, and the per-site counts say what was refused and why.
"""

from __future__ import annotations

import ipaddress
import json
import sqlite3

import pytest

from crawler.middlewares.scope import Allowance, address_kind, pinned_names
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
    conn, _, _ = crawled
    bodies = conn.execute("select url, final_url, body from captures where body is not null")
    for url, final_url, body in bodies:
        assert SECRET.encode() not in body, url
        host = (final_url or url).split("/")[2].split(":")[0]
        assert host in ("127.0.0.21",), f"{final_url or url} archived"


def test_the_secret_and_the_other_host_get_no_request(crawled):
    _, requests, _ = crawled
    hosts = {r["host"] for r in requests}
    assert "127.0.0.1" not in hosts and "127.0.0.22" not in hosts
    assert "127.0.0.21" in hosts  # the crawl did reach the site itself


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
    assert refused["xxgknb/2024.html"][1].startswith("http://127.0.0.1:")  # the refused hop
    direct = [k for k in refused if "intranet.hostile.sim" in k]
    assert len(direct) == 1 and refused[direct[0]] == ("loopback", None)  # before any request
    reports = conn.execute(
        "select url from captures where site_id = 'sim-scope' and role = 'report' and status = 200"
    ).fetchall()
    assert [r[0] for r in reports] == [base + "xxgknb/2019.html"]


def test_per_site_summary_says_what_was_refused(crawled):
    conn, _, _ = crawled
    scope = _site_counts(conn, "sim-scope")
    assert scope["failed_by_reason"] == {
        "refused_link_local": 1,
        "refused_loopback": 3,
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
    allowance = Allowance.of(
        [{"allowed_domains": "gov.example mirror.intra 127.0.0.5 10.1.0.0/16"}]
    )
    ip = ipaddress.ip_address
    assert allowance.admits("mirror.intra", ip("10.9.9.9"))  # named host
    assert allowance.admits("anything", ip("127.0.0.5"))  # named address
    assert allowance.admits("x.intra", ip("10.1.200.3"))  # named network
    assert not allowance.admits("oa.gov.example", ip("10.9.9.9"))  # a parent domain is not enough
    assert not allowance.admits("127.0.0.1", ip("127.0.0.1"))


def test_pinned_names():
    assert pinned_names("a.sim=127.0.0.1, B.sim.=10.0.0.1") == {
        "a.sim": "127.0.0.1",
        "b.sim": "10.0.0.1",
    }
    with pytest.raises(ValueError):
        pinned_names("a.sim=not-an-address")
