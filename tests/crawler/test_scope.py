"""A site's scope: its domains and the hosts below them, the hosts it moved to, and the
non-public addresses its row names exactly, each on its ports — one answer for the
spiders, the network scope middleware and a crawl continued from the archive."""

from __future__ import annotations

import ipaddress
from types import SimpleNamespace

import pytest

from archive.store.registry import RegistryError
from crawler.scope import (
    Allowance,
    CrawlScope,
    Place,
    SiteScope,
    attach,
    check_allowed_domains,
    host_in_domains,
    scope_for,
)

SITE = {
    "site_id": "example",
    "start_url": "http://www.example.gov.cn/",
    "allowed_domains": "example.gov.cn mirror.intra 127.0.0.5",
}


def test_a_host_below_a_domain_is_in_and_a_look_alike_suffix_is_out():
    scope = SiteScope.of(SITE)
    assert scope.admits("http://www.example.gov.cn/xxgk/")
    assert scope.admits("https://a.b.example.gov.cn/x.pdf")
    assert scope.admits("http://EXAMPLE.gov.cn/")
    assert not scope.admits("http://evilexample.gov.cn/")
    assert not scope.admits("http://example.gov.cn.evil.com/")
    assert not scope.admits("http://gov.cn/")
    assert not scope.admits("mailto:office@example.gov.cn")


def test_the_suffix_test_is_by_whole_labels():
    assert host_in_domains("www.example.gov.cn", ["Example.gov.cn"])
    assert not host_in_domains("wwwexample.gov.cn", ["example.gov.cn"])
    assert not host_in_domains("www.example.gov.cn", [])


def test_a_host_the_start_page_moved_to_is_in():
    scope = SiteScope.of(SITE)
    assert not scope.admits("http://www.newhome.gov.cn/xxgk/")
    assert scope.take_move("http://www.newhome.gov.cn/", "start", redirected=True) == (
        "www.newhome.gov.cn"
    )
    assert scope.admits("http://www.newhome.gov.cn/xxgk/")
    assert scope.admits("http://files.www.newhome.gov.cn/a.pdf")
    assert not scope.admits("http://newhome.gov.cn/")  # the host it moved to, not its parent
    assert scope.take_move("http://www.newhome.gov.cn/", "column", redirected=True) is None


def test_only_a_redirected_start_or_column_page_moves_the_site():
    scope = SiteScope.of(SITE)
    assert scope.take_move("http://a.other.gov.cn/", "start", redirected=False) is None
    assert scope.take_move("http://b.other.gov.cn/", "report", redirected=True) is None
    assert scope.take_move("http://c.other.gov.cn/", "listing", redirected=True) is None
    assert scope.take_move("http://oa.example.gov.cn/", "start", redirected=True) is None
    assert scope.moved == set()


def test_a_redirect_hop_of_a_start_page_may_leave_the_scope_a_link_may_not():
    scope = SiteScope.of(SITE)
    assert scope.allows("www.newhome.gov.cn", "start", redirected=True)
    assert scope.allows("www.newhome.gov.cn", "column", redirected=True)
    assert not scope.allows("www.newhome.gov.cn", "report", redirected=True)
    assert not scope.allows("www.newhome.gov.cn", "start", redirected=False)
    assert scope.allows("oa.example.gov.cn", "report", redirected=False)


def test_a_private_address_only_when_the_row_names_it():
    ip = ipaddress.ip_address
    allowance = SiteScope.of(SITE).allowance
    assert allowance.admits("127.0.0.5", ip("127.0.0.5"), 80)  # the address named
    assert allowance.admits("mirror.intra", ip("10.1.2.3"), 443)  # the host named
    assert not allowance.admits("oa.example.gov.cn", ip("10.1.2.3"), 80)  # below a domain: no
    assert not allowance.admits("127.0.0.1", ip("127.0.0.1"), 80)
    assert not allowance.admits("www.example.gov.cn", ip("192.168.1.1"), 80)


def test_a_host_the_site_moved_to_brings_no_private_allowance():
    scope = SiteScope.of(SITE)
    scope.take_move("http://10.23.0.9/", "start", redirected=True)
    assert scope.admits("http://10.23.0.9/xxgknb/")
    assert not scope.allowance.admits("10.23.0.9", ipaddress.ip_address("10.23.0.9"), 80)


@pytest.mark.parametrize(
    "token, place",
    [
        ("www.A.gov.cn", ("www.a.gov.cn", None, None)),
        ("www.a.gov.cn.", ("www.a.gov.cn", None, None)),
        ("www.a.gov.cn:8080", ("www.a.gov.cn", None, 8080)),
        ("政府.cn:81", ("政府.cn", None, 81)),
        ("127.0.0.5", ("127.0.0.5", "127.0.0.5/32", None)),
        ("127.0.0.5:8000", ("127.0.0.5", "127.0.0.5/32", 8000)),
        ("10.1.0.0/16", (None, "10.1.0.0/16", None)),
        ("10.1.0.0/16:8443", (None, "10.1.0.0/16", 8443)),
        ("fd00::5", ("fd00::5", "fd00::5/128", None)),
        ("[FD00::5]:8080", ("fd00::5", "fd00::5/128", 8080)),
        ("[fd00::/8]:8080", (None, "fd00::/8", 8080)),
    ],
)
def test_a_name_of_allowed_domains_may_carry_a_port(token, place):
    parsed = Place.parse(token)
    assert (parsed.name, str(parsed.network) if parsed.network else None, parsed.port) == place


@pytest.mark.parametrize(
    "token, why",
    [
        ("a.gov.cn:http", "port 'http' is not a number"),
        ("a.gov.cn:0", "port '0' is not a number"),
        ("127.0.0.5:65536", "port '65536' is not a number"),
        ("a.gov.cn:", "port '' is not a number"),
        ("http://a.gov.cn/", "a URL, not a host"),
        ("*.a.gov.cn", "not a host name"),
        ("[fd00::5]:x", "not a host name"),
    ],
)
def test_a_name_that_names_no_place_is_refused_before_the_crawl(token, why):
    with pytest.raises(ValueError, match=why):
        Place.parse(token)
    row = {**SITE, "allowed_domains": f"example.gov.cn {token}"}
    with pytest.raises(RegistryError, match="sites.csv: site example: allowed_domains"):
        check_allowed_domains([SITE, row], "sites.csv")
    scope = SiteScope.of(row)  # during a crawl it admits nothing; the rest of the row stays
    assert scope.admits("http://www.example.gov.cn/") and not scope.admits(f"http://{token}/")
    check_allowed_domains([SITE], "sites.csv")


def test_a_public_name_with_a_port_admits_that_port_alone():
    scope = SiteScope.of(
        {
            "site_id": "p",
            "start_url": "http://www.p.gov.cn:8080/",
            "allowed_domains": "p.gov.cn:8080",
        }
    )
    assert scope.admits("http://www.p.gov.cn:8080/xxgk/")
    assert scope.admits("http://p.gov.cn:8080/")
    assert not scope.admits("http://www.p.gov.cn/xxgk/")
    assert not scope.admits("https://www.p.gov.cn/xxgk/")
    assert not scope.admits("http://www.p.gov.cn:8081/")
    assert not scope.admits("http://www.p.gov.cn:99999/")  # no port at all
    bare = SiteScope.of({"site_id": "q", "allowed_domains": "q.gov.cn"})
    assert bare.admits("http://www.q.gov.cn:8081/") and bare.admits("https://q.gov.cn/")


def test_a_private_address_named_with_a_port_is_reached_on_that_port_alone():
    ip = ipaddress.ip_address("127.0.0.21")
    row = {"site_id": "s", "start_url": "http://127.0.0.21:8000/", "allowed_domains": ""}
    named = Allowance.of({**row, "allowed_domains": "127.0.0.21:8000"})
    assert named.admits("127.0.0.21", ip, 8000)
    assert not named.admits("127.0.0.21", ip, 8001)
    assert not named.admits("127.0.0.21", ip, 80)
    assert named.names("127.0.0.21", ip)  # named, on another port: said so when refused
    network = Allowance.of({**row, "allowed_domains": "10.1.0.0/16:8443"})
    assert network.admits("mirror.intra", ipaddress.ip_address("10.1.2.3"), 8443)
    assert not network.admits("mirror.intra", ipaddress.ip_address("10.1.2.3"), 6379)


def test_a_private_place_named_without_a_port_is_a_web_server_and_its_start_urls():
    """Not every service of the machine: its web ports, and the ports its start URLs name."""
    ip = ipaddress.ip_address
    row = {
        "site_id": "m",
        "start_url": "http://mirror.intra:8080/nb/",
        "allowed_domains": "mirror.intra 127.0.0.5",
        "extra": '{"more_urls": "http://127.0.0.5:9000/2023/"}',
    }
    allowance = Allowance.of(row)
    for port in (80, 443, 8080):
        assert allowance.admits("mirror.intra", ip("10.1.2.3"), port)
    assert not allowance.admits("mirror.intra", ip("10.1.2.3"), 6379)
    assert not allowance.admits("mirror.intra", ip("10.1.2.3"), 9000)  # another host's start
    assert allowance.admits("127.0.0.5", ip("127.0.0.5"), 9000)  # its more_urls
    assert not allowance.admits("127.0.0.5", ip("127.0.0.5"), 8080)
    assert not allowance.admits("127.0.0.5", ip("127.0.0.5"), 22)
    # the scope, by name: a bare private address is in scope on every port, as a name is;
    # the allowance decides which ports of it may be reached
    assert SiteScope.of(row).admits("http://127.0.0.5:22/")


def test_a_crawl_keeps_one_scope_per_site_and_the_moves_it_learns_elsewhere():
    crawl = CrawlScope([SITE])
    scope = crawl.of(SITE)
    assert crawl.of({**SITE, "nianbao_lease": "example#1"}) is scope  # a worker's copy
    # A crawl continued from a --jobdir learns the moves from the archive, before or
    # after the site's scope is first asked for.
    crawl.moved.setdefault("example", set()).update({"www.newhome.gov.cn"})
    crawl.moved.setdefault("later", set()).update({"www.later-home.gov.cn"})
    assert scope.admits("http://www.newhome.gov.cn/")
    later = crawl.of({"site_id": "later", "allowed_domains": "later.gov.cn"})
    assert later.admits("http://www.later-home.gov.cn/")
    assert not later.admits("http://www.newhome.gov.cn/")


def test_the_crawler_holds_the_scope_its_spider_attached():
    crawler = SimpleNamespace()
    empty = scope_for(crawler)
    assert scope_for(crawler) is empty and empty.sites == []
    crawl = CrawlScope([SITE])
    attach(crawler, crawl)
    assert scope_for(crawler) is crawl


def test_the_report_spider_shares_its_scope_and_its_moves(tmp_path):
    from crawler.spiders.reports import ReportSpider

    registry = tmp_path / "sites.csv"
    registry.write_text(
        "site_id,agency,region_code,start_url\na,甲县人民政府,410700,http://www.a.gov.cn/\n",
        encoding="utf-8",
    )
    spider = ReportSpider(sites=str(registry))
    site = spider.sites[0]
    spider.moved_to.setdefault("a", set()).add("www.b.gov.cn")  # as JobdirGuard does
    assert spider.scope.of(site).admits("http://www.b.gov.cn/xxgk/")
    assert spider.scope.of(site).admits("http://www.a.gov.cn/xxgk/")


def test_a_continued_crawl_finds_where_its_sites_moved(tmp_path):
    """The redirects of the start and column pages of the run a crawl continues: a host
    below the site's domains is no move; a look-alike of them is."""
    from crawler.scheduling.frontier import ArchiveFrontier

    db = str(tmp_path / "archive.db")
    sites = [
        {
            "site_id": "a",
            "agency": "甲县人民政府",
            "region_code": "410700",
            "start_url": "http://www.a.gov.cn/",
            "allowed_domains": "a.gov.cn",
        }
    ]

    def redirected(url: str, final_url: str, role: str) -> dict:
        return {
            "site_id": "a",
            "url": url,
            "final_url": final_url,
            "redirects": [url, final_url],
            "status": 200,
            "method": "GET",
            "role": role,
            "body": final_url.encode(),
        }

    first = ArchiveFrontier(db, sites, "sites.csv")
    first.store(redirected("http://www.a.gov.cn/", "http://www.b.gov.cn/", "start"))
    first.store(redirected("http://www.a.gov.cn/gk/", "http://gk.a.gov.cn/", "column"))
    first.store(redirected("http://www.a.gov.cn/nb/", "http://evila.gov.cn/nb/", "column"))
    first.store(redirected("http://www.a.gov.cn/r.html", "http://www.c.gov.cn/", "report"))
    first.archive.close()  # killed: the run stays unfinished, its process gone
    second = ArchiveFrontier(db, sites, "sites.csv")
    try:
        assert second.resumed == [first.run_id]
        assert second.moved_hosts() == {"a": {"www.b.gov.cn", "evila.gov.cn"}}
    finally:
        second.archive.close()
