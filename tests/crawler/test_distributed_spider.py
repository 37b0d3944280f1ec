"""The worker spider is the report spider with another source of sites: it must carry
every attribute the report spider's callbacks rely on (kept true as the spider grows)."""

from __future__ import annotations

import pytest

from crawler.distributed.guards import LEASE, lease_of
from crawler.distributed.leases import Crawl
from crawler.distributed.spider import SiteWorkerSpider
from crawler.spiders.reports import ReportSpider

REGISTRY = "site_id,agency,region_code,start_url\na,甲县人民政府,410700,http://www.a.gov.cn/\n"


def test_the_worker_spider_has_what_the_report_spider_has(tmp_path):
    registry = tmp_path / "sites.csv"
    registry.write_text(REGISTRY, encoding="utf-8")
    report = ReportSpider(sites=str(registry))
    crawl = Crawl("c1", "nianbao", str(registry), "2025-01-01", 180.0, 3, 1, 1)
    worker = SiteWorkerSpider(crawl=crawl, worker="w", shard=str(tmp_path / "s.db"))
    missing = set(vars(report)) - set(vars(worker))
    assert not missing, f"SiteWorkerSpider.__init__ lacks {sorted(missing)}"
    assert worker.sites == [] and worker.sites_csv == "redis:nianbao:c1"


def test_a_request_of_a_group_names_its_lease(tmp_path):
    crawl = Crawl("c1", "nianbao", None, "2025-01-01", 180.0, 3, 1, 1)
    worker = SiteWorkerSpider(crawl=crawl, worker="w", shard=str(tmp_path / "s.db"))
    site = {"site_id": "a", "start_url": "http://www.a.gov.cn/", LEASE: "a#2"}
    request = worker.request("http://www.a.gov.cn/x.html", site, "report", worker.parse_report)
    assert lease_of(request) == "a#2"


def test_a_robots_txt_request_goes_by_the_lease_of_its_host():
    """Scrapy asks for robots.txt by itself, without the group's lease in the request: it
    may not reach a host whose lease this worker lost (another worker holds it now)."""
    from scrapy import Request

    from crawler.distributed.guards import LeaseLost, check_lease
    from crawler.distributed.leases import Claim
    from crawler.distributed.tracking import LeaseBook

    book = LeaseBook(lease_ttl=float("inf"), download_timeout=60.0)
    site = {"site_id": "a", "start_url": "http://www.a.gov.cn/", "allowed_domains": "a.gov.cn"}
    claim = Claim(group="a", attempt=1, sites=[site])
    lease = book.hold(claim, "2025-01-01T00:00:00+00:00", hosts=["www.a.gov.cn", "a.gov.cn"])
    robots = Request("http://www.a.gov.cn/robots.txt", meta={"dont_obey_robotstxt": True})
    elsewhere = Request("http://www.b.gov.cn/robots.txt", meta={"dont_obey_robotstxt": True})
    assert book.token_for(lease_of(robots), "www.a.gov.cn") == claim.token
    check_lease(book, robots)
    book.give_up(lease, "lost", "another worker holds the lease now")
    with pytest.raises(LeaseLost):
        check_lease(book, robots)
    assert book.token_for(lease_of(elsewhere), "www.b.gov.cn") is None
    check_lease(book, elsewhere)
    check_lease(None, robots)  # a crawl that is not a worker's holds no leases
